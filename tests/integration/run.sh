#!/bin/sh
# Integration tests of openhetsd: start the real daemon on 127.0.0.1 port 0
# and talk to it over sockets (tests/integration/README.md).
#
# Environment: top_builddir (openhetsd-test, hets-respond, hets-db) and
# top_srcdir (fixtures, conformance cases), both defaulting to two levels
# above this script; OPENHETS_DAEMON names another daemon binary (e.g. a
# ThreadSanitizer build).  Arguments go to suite.py (-k TEXT, --list).
# Prints "PASS name" / "FAIL name: why", then "N passed, N failed"; exits 1
# on a failure and 99 when the suite cannot run.

here=$(cd "$(dirname "$0")" && pwd)
: "${top_srcdir:=$here/../..}"
: "${top_builddir:=$here/../..}"
export top_srcdir top_builddir
LC_ALL=C
PYTHONDONTWRITEBYTECODE=1
PYTHONUNBUFFERED=1
export LC_ALL PYTHONDONTWRITEBYTECODE PYTHONUNBUFFERED

if ! command -v python3 >/dev/null 2>&1; then
  echo "integration: python3 is missing (scripts/deps.sh installs it)" >&2
  exit 99
fi
exec python3 "$here/suite.py" "$@"
