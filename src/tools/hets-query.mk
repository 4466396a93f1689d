# hets-query: one eligibility inquiry, the answer in words, X12 or JSON.
# Included at the end of Makefile.am.  Its test starts the real openhetsd
# (with hets-db to build the fixture store), so it needs both built.
bin_PROGRAMS += hets-query
hets_query_SOURCES = src/tools/hets-query.c src/tools/query.h \
	src/tools/query_decode.c src/tools/query_summary.c src/tools/query_codes.c \
	src/tools/core_client.h src/tools/core_client.c
hets_query_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(CAQH_CFLAGS)
# --tls: the engine (src/tls/local.mk defines TLS_LIBS); --core: the CORE
# envelopes (src/caqh/local.mk defines CAQH_LIBS, which ends with the core).
hets_query_LDADD = libohcommon.a $(CAQH_LIBS) libopenhets.a $(TLS_LIBS) $(JANSSON_LIBS)

TESTS += tests/tools/query_test.sh
EXTRA_DIST += tests/tools/query_test.sh

# hets-query --tls and hets-load --tls / --new-conn against openhetsd's TLS
# listeners, with certificates made by tests/tls/mkcerts.sh; needs
# hets-load built as well.
TESTS += tests/tools/tls_test.sh
EXTRA_DIST += tests/tools/tls_test.sh

# hets-query --core and hets-load --core against openhetsd's CORE door
# (DESIGN §13): needs openhetsd, hets-db and hets-load built.
TESTS += tests/tools/core_test.sh
EXTRA_DIST += tests/tools/core_test.sh tests/tools/lib.sh
