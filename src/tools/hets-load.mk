# hets-load: the load generator (docs/hets-load.md), its histogram unit
# test and its test against the real openhetsd.  Included at the end of
# Makefile.am (after bin_PROGRAMS, check_PROGRAMS, TESTS and EXTRA_DIST are
# first set, and after UNIT_CFLAGS is defined):
#   include $(srcdir)/src/tools/hets-load.mk
bin_PROGRAMS += hets-load
hets_load_SOURCES = \
	src/tools/hets-load.c \
	src/tools/load_hist.h src/tools/load_hist.c \
	src/tools/load_req.h src/tools/load_req.c \
	src/tools/load_report.h src/tools/load_report.c \
	src/tools/core_client.h src/tools/core_client.c
hets_load_CFLAGS = $(AM_CFLAGS) $(UV_CFLAGS) $(SQLITE_CFLAGS) $(JANSSON_CFLAGS) $(CAQH_CFLAGS)
hets_load_LDFLAGS = $(PTHREAD_CFLAGS)
# --tls: the engine (src/tls/local.mk defines TLS_LIBS); --core: the CORE
# envelopes (src/caqh/local.mk defines CAQH_LIBS).
hets_load_LDADD = libohcommon.a libohstore.a $(CAQH_LIBS) libopenhets.a $(TLS_LIBS) $(UV_LIBS) \
	$(SQLITE_LIBS) $(PQ_LIBS) $(JANSSON_LIBS) -lm

check_PROGRAMS += tests/unit/test_load_hist
tests_unit_test_load_hist_SOURCES = tests/unit/test_load_hist.c \
	src/tools/load_hist.h src/tools/load_hist.c
tests_unit_test_load_hist_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_load_hist_LDADD = $(CHECK_LIBS) -lm

# load_test.sh and report_test.sh need openhetsd, hets-db and hets-load
# built; report_test.sh also Debian's chromium (scripts/deps.sh).
TESTS += tests/unit/test_load_hist tests/tools/load_test.sh tests/tools/report_test.sh
EXTRA_DIST += tests/tools/load_test.sh tests/tools/report_test.sh
