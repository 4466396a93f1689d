# src/caqh/phc.mk: scrypt PHC password strings (DESIGN §13) and their test.
libohcaqh_a_SOURCES += src/caqh/phc.h src/caqh/phc.c
check_PROGRAMS += tests/unit/test_phc
TESTS += tests/unit/test_phc
tests_unit_test_phc_SOURCES = tests/unit/test_phc.c
tests_unit_test_phc_CFLAGS = $(UNIT_CFLAGS) $(CRYPTO_CFLAGS)
tests_unit_test_phc_LDADD = libohcaqh.a $(CRYPTO_LIBS) $(CHECK_LIBS)
