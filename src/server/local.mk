# openhetsd: the Extranet socket server.  Included from Makefile.am (after
# the tools and tests sections, which define bin_PROGRAMS and
# check_PROGRAMS).  openhetsd-test is the same program with the test-only
# hooks (env OPENHETS_TEST_DELAY_MS: each job sleeps that long in the
# worker) for the integration tests; it is never installed.
OPENHETSD_SOURCES = \
	src/server/server.h src/server/main.c \
	src/server/config.h src/server/config.c \
	src/server/listener.h src/server/listener.c \
	src/server/session.h src/server/session.c \
	src/server/transport.h src/server/transport_tcp.c src/server/transport_tls.c \
	src/server/door.h src/server/door_extranet.c src/server/door_core.c \
	src/server/replay.h src/server/replay.c \
	src/server/credcache.h src/server/credcache.c \
	src/server/conntable.h src/server/conntable.c \
	src/server/sublimits.h src/server/sublimits.c \
	src/server/dispatch.h src/server/dispatch.c src/server/job.h \
	src/server/pool.h src/server/worker.c \
	src/server/slog.h src/server/slog.c \
	src/server/mutex.h src/server/mutex.c \
	src/server/partners_ref.h src/server/partners_ref.c \
	src/server/now.h src/server/now.c \
	src/server/proxy.h src/server/proxy.c \
	src/server/proxy_accept.h src/server/proxy_accept.c \
	src/server/metrics.h src/server/metrics.c \
	src/server/admin.h src/server/admin.c
OPENHETSD_CFLAGS = $(AM_CFLAGS) $(UV_CFLAGS) $(JANSSON_CFLAGS) \
	$(SQLITE_CFLAGS) $(SSL_CFLAGS) $(CRYPTO_CFLAGS) $(SYSTEMD_CFLAGS) $(XML_CFLAGS)
OPENHETSD_LIBS = libohcommon.a libohstore.a libohcaqh.a libopenhets.a libohtls.a $(UV_LIBS) \
	$(JANSSON_LIBS) $(XML_LIBS) \
	$(SQLITE_LIBS) $(SSL_LIBS) $(CRYPTO_LIBS) $(SYSTEMD_LIBS) $(HTTP_PARSER_LIBS) $(PQ_LIBS)

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
	src/server/mutex.c src/server/slog.h src/server/mutex.h
tests_unit_test_slog_CFLAGS = $(OPENHETSD_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_slog_LDADD = libopenhets.a $(UV_LIBS) $(JANSSON_LIBS) $(CHECK_LIBS)

# The README's settings table against the option table.
TESTS += tests/server/settings_table.sh
EXTRA_DIST += tests/server/settings_table.sh

# The settings: the option table from the file and the command line alike.
check_PROGRAMS += tests/unit/test_config
TESTS += tests/unit/test_config
tests_unit_test_config_SOURCES = tests/unit/test_config.c src/server/config.c \
	src/server/config.h
tests_unit_test_config_CFLAGS = $(OPENHETSD_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_config_LDADD = libohstore.a libohcaqh.a libopenhets.a $(JANSSON_LIBS) \
	$(SQLITE_LIBS) $(PQ_LIBS) $(CRYPTO_LIBS) $(CHECK_LIBS)

# The PROXY protocol header parser (pure).
check_PROGRAMS += tests/unit/test_proxy
TESTS += tests/unit/test_proxy
tests_unit_test_proxy_SOURCES = tests/unit/test_proxy.c src/server/proxy.c src/server/proxy.h
tests_unit_test_proxy_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_proxy_LDADD = $(CHECK_LIBS)

# CORE's PayloadID cache on its own (threads included: scripts/test runs it
# under ThreadSanitizer too).
check_PROGRAMS += tests/unit/test_replay
TESTS += tests/unit/test_replay
tests_unit_test_replay_SOURCES = tests/unit/test_replay.c src/server/replay.c \
	src/server/replay.h
tests_unit_test_replay_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_replay_LDADD = libohcaqh.a libopenhets.a $(CHECK_LIBS)

# CORE's checked-password cache on its own.
check_PROGRAMS += tests/unit/test_credcache
TESTS += tests/unit/test_credcache
tests_unit_test_credcache_SOURCES = tests/unit/test_credcache.c src/server/credcache.c \
	src/server/credcache.h
tests_unit_test_credcache_CFLAGS = $(AM_CFLAGS) $(CRYPTO_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_credcache_LDADD = $(CRYPTO_LIBS) $(CHECK_LIBS)
