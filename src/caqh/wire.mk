# src/caqh/wire.mk: the CORE door's wire formats (see src/caqh/local.mk):
# HTTP/1.1 messages over libhttp-parser and multipart/form-data, their
# unit tests and their fuzz targets' replays (tests/fuzz/replay.sh).
libohcaqh_a_SOURCES += src/caqh/http_reader.h src/caqh/http_reader.c \
	src/caqh/multipart.h src/caqh/multipart.c

check_PROGRAMS += tests/unit/test_http_reader tests/unit/test_multipart
TESTS += tests/unit/test_http_reader tests/unit/test_multipart
tests_unit_test_http_reader_SOURCES = tests/unit/test_http_reader.c
tests_unit_test_http_reader_CFLAGS = $(AM_CFLAGS) $(CAQH_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_http_reader_LDADD = $(CAQH_LIBS) $(CHECK_LIBS)
tests_unit_test_multipart_SOURCES = tests/unit/test_multipart.c
tests_unit_test_multipart_CFLAGS = $(AM_CFLAGS) $(CAQH_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_multipart_LDADD = $(CAQH_LIBS) $(CHECK_LIBS)

check_PROGRAMS += tests/fuzz/replay_http tests/fuzz/replay_multipart
tests_fuzz_replay_http_SOURCES = tests/fuzz/fuzz_http.c tests/fuzz/replay_main.c
tests_fuzz_replay_http_CFLAGS = $(AM_CFLAGS) $(CAQH_CFLAGS)
tests_fuzz_replay_http_LDADD = $(CAQH_LIBS)
tests_fuzz_replay_multipart_SOURCES = tests/fuzz/fuzz_multipart.c tests/fuzz/replay_main.c
tests_fuzz_replay_multipart_CFLAGS = $(AM_CFLAGS) $(CAQH_CFLAGS)
tests_fuzz_replay_multipart_LDADD = $(CAQH_LIBS)
