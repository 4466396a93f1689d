# openhetsd: the Extranet socket server.  Included from Makefile.am (after
# the tools and tests sections, which define bin_PROGRAMS and
# check_PROGRAMS).  openhetsd-test is the same program with the test-only
# hooks (env OPENHETS_TEST_DELAY_MS: each job sleeps that long in the
# worker) for the integration tests; it is never installed.
OPENHETSD_SOURCES = \
	src/server/server.h src/server/main.c src/server/config.c \
	src/server/listener.c src/server/session.c src/server/worker.c \
	src/server/slog.c src/server/mutex.c src/server/partners_ref.c \
	src/tools/tool_util.h src/tools/tool_util.c
OPENHETSD_CFLAGS = $(AM_CFLAGS) $(UV_CFLAGS) $(JANSSON_CFLAGS) \
	$(SQLITE_CFLAGS) $(CRYPTO_CFLAGS)
OPENHETSD_LIBS = libohstore.a libopenhets.a $(UV_LIBS) $(JANSSON_LIBS) \
	$(SQLITE_LIBS) $(CRYPTO_LIBS)

bin_PROGRAMS += openhetsd
openhetsd_SOURCES = $(OPENHETSD_SOURCES)
openhetsd_CFLAGS = $(OPENHETSD_CFLAGS)
openhetsd_LDADD = $(OPENHETSD_LIBS)

check_PROGRAMS += openhetsd-test
openhetsd_test_SOURCES = $(OPENHETSD_SOURCES)
openhetsd_test_CFLAGS = $(OPENHETSD_CFLAGS) -DOHETS_TEST_HOOKS
openhetsd_test_LDADD = $(OPENHETSD_LIBS)

# The session log on its own: request lines as operators read them.
check_PROGRAMS += tests/unit/test_slog
TESTS += tests/unit/test_slog
tests_unit_test_slog_SOURCES = tests/unit/test_slog.c src/server/slog.c \
	src/server/mutex.c src/server/server.h
tests_unit_test_slog_CFLAGS = $(OPENHETSD_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_slog_LDADD = libopenhets.a $(UV_LIBS) $(JANSSON_LIBS) $(CHECK_LIBS)
