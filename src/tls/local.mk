# src/tls: the TLS engine (OpenSSL over an in-memory BIO; no sockets, loop
# or threads) that openhetsd's transport and the tools drive, and its unit
# test.  Included at the end of Makefile.am (after noinst_LIBRARIES,
# check_PROGRAMS, TESTS and EXTRA_DIST are first set):
#   include $(srcdir)/src/tls/local.mk
# Users link $(TLS_LIBS); the engine calls libcrypto directly, so it is
# named as well as libssl.
noinst_LIBRARIES += libohtls.a
libohtls_a_SOURCES = src/tls/tls.h src/tls/tls_private.h src/tls/tls.c
libohtls_a_CFLAGS = $(AM_CFLAGS) $(SSL_CFLAGS) $(CRYPTO_CFLAGS)
TLS_CFLAGS = $(SSL_CFLAGS) $(CRYPTO_CFLAGS)
TLS_LIBS = libohtls.a $(SSL_LIBS) $(CRYPTO_LIBS)

# Certificates are made at test time by tests/tls/mkcerts.sh (found through
# $top_srcdir, which make check exports, or the source path built in).
check_PROGRAMS += tests/unit/test_tls
TESTS += tests/unit/test_tls
tests_unit_test_tls_SOURCES = tests/unit/test_tls.c
tests_unit_test_tls_CFLAGS = $(AM_CFLAGS) $(TLS_CFLAGS) $(CHECK_CFLAGS) \
	-DOHETS_TOP_SRCDIR='"$(abs_top_srcdir)"'
tests_unit_test_tls_LDADD = $(TLS_LIBS) $(CHECK_LIBS)
EXTRA_DIST += tests/tls/mkcerts.sh
