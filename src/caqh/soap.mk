# src/caqh/soap.mk: the SOAP 1.2 envelope, its XSD and the WSDL (soap.h;
# included from src/caqh/local.mk).  The XSD is compiled into the library
# as a C string made from src/caqh/CORERule2.2.0.xsd at build time (an
# ordinary source of the library, so no BUILT_SOURCES is needed).
libohcaqh_a_SOURCES += src/caqh/soap.h src/caqh/soap.c
nodist_libohcaqh_a_SOURCES = src/caqh/caqh_xsd.c
CLEANFILES += src/caqh/caqh_xsd.c
EXTRA_DIST += src/caqh/CORERule2.2.0.xsd

# Each line becomes a string literal: backslashes and quotes escaped, and
# '?' too (no trigraphs under -std=c11).
src/caqh/caqh_xsd.c: $(srcdir)/src/caqh/CORERule2.2.0.xsd $(srcdir)/src/caqh/soap.mk
	$(AM_V_GEN)$(MKDIR_P) src/caqh && { \
	  echo '/* Generated from src/caqh/CORERule2.2.0.xsd by src/caqh/soap.mk. */'; \
	  echo 'extern const char ohets_caqh_xsd[];'; \
	  echo 'const char ohets_caqh_xsd[] ='; \
	  sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/?/\\?/g' -e 's/^/  "/' -e 's/$$/\\n"/' \
	    $(srcdir)/src/caqh/CORERule2.2.0.xsd; \
	  echo '  ;'; \
	} > $@.tmp && mv $@.tmp $@

SOAP_TEST_CFLAGS = $(AM_CFLAGS) $(CAQH_CFLAGS) $(CHECK_CFLAGS)
SOAP_TEST_LIBS = $(CAQH_LIBS) $(CHECK_LIBS)
check_PROGRAMS += tests/unit/test_soap tests/unit/test_caqh_checks
TESTS += tests/unit/test_soap tests/unit/test_caqh_checks
tests_unit_test_soap_SOURCES = tests/unit/test_soap.c
tests_unit_test_soap_CFLAGS = $(SOAP_TEST_CFLAGS)
tests_unit_test_soap_LDADD = $(SOAP_TEST_LIBS)
tests_unit_test_caqh_checks_SOURCES = tests/unit/test_caqh_checks.c
tests_unit_test_caqh_checks_CFLAGS = $(SOAP_TEST_CFLAGS)
tests_unit_test_caqh_checks_LDADD = $(SOAP_TEST_LIBS)

# The WSDL through python3-zeep, a SOAP client nobody here wrote
# (SKIP when zeep is not installed).
check_PROGRAMS += tests/caqh/print_wsdl
tests_caqh_print_wsdl_SOURCES = tests/caqh/print_wsdl.c
tests_caqh_print_wsdl_CFLAGS = $(AM_CFLAGS) $(CAQH_CFLAGS)
tests_caqh_print_wsdl_LDADD = $(CAQH_LIBS)
TESTS += tests/caqh/zeep_wsdl.sh
EXTRA_DIST += tests/caqh/zeep_wsdl.sh tests/caqh/zeep_wsdl.py

check_PROGRAMS += tests/fuzz/replay_soap
tests_fuzz_replay_soap_SOURCES = tests/fuzz/fuzz_soap.c tests/fuzz/replay_main.c
tests_fuzz_replay_soap_CFLAGS = $(AM_CFLAGS) $(CAQH_CFLAGS)
tests_fuzz_replay_soap_LDADD = $(CAQH_LIBS)
