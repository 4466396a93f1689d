# src/caqh: CAQH CORE envelopes (DESIGN §13) -- the SOAP 1.2 envelope with
# its XSD and WSDL (libxml2), multipart/form-data, HTTP messages
# (libhttp-parser) and scrypt PHC passwords.  Pure like the core: bytes in,
# bytes out.  openhetsd's CORE door and the tools (hets-query, hets-load
# --core) link it.  Included at the end of Makefile.am; the parts below add
# their sources, tests and fuzz targets.
noinst_LIBRARIES += libohcaqh.a
libohcaqh_a_SOURCES = src/caqh/envelope.h src/caqh/envelope.c
libohcaqh_a_CFLAGS = $(AM_CFLAGS) $(XML_CFLAGS) $(CRYPTO_CFLAGS)
CAQH_CFLAGS = $(XML_CFLAGS)
CAQH_LIBS = libohcaqh.a libopenhets.a $(XML_LIBS) $(HTTP_PARSER_LIBS) $(CRYPTO_LIBS)

include $(srcdir)/src/caqh/wire.mk
include $(srcdir)/src/caqh/soap.mk
include $(srcdir)/src/caqh/phc.mk
