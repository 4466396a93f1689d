# Integration tests of openhetsd (included from the top Makefile.am).
# The runner needs the daemon built with the test delay hook
# (openhetsd-test), hets-respond and hets-db in $(top_builddir).
TESTS += tests/integration/run.sh tests/integration/run-tls.sh
EXTRA_DIST += \
	tests/integration/run.sh \
	tests/integration/suite.py \
	tests/integration/harness.py \
	tests/integration/test_conformance.py \
	tests/integration/test_framing.py \
	tests/integration/test_timers.py \
	tests/integration/test_load.py \
	tests/integration/test_partners.py \
	tests/integration/test_lifecycle.py \
	tests/integration/test_hardening.py \
	tests/integration/test_tls.py \
	tests/integration/test_scaleout.py \
	tests/integration/test_admin.py \
	tests/integration/test_haproxy.py \
	tests/integration/run-tls.sh \
	tests/integration/test_disk.py \
	tests/integration/test_log.py \
	tests/integration/test_core.py \
	tests/integration/core_zeep_client.py \
	tests/integration/README.md
