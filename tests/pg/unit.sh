#!/bin/sh
# The store's unit tests (tests/unit/test_store) on PostgreSQL: starts a
# throwaway cluster (tests/pg/pgcluster.sh), points OHETS_TEST_PG_URL at it
# and runs the test program's "pg" test case (the same Check tests as the
# SQLite leg, plus the PostgreSQL-only ones).  The cluster is stopped and
# removed at the end, also on failure.  Exits 77 (SKIP) when PostgreSQL's
# server programs are not installed.
#
# Environment: top_builddir (tests/unit/test_store) and top_srcdir, both
# defaulting to two levels above this script.
here=$(cd "$(dirname "$0")" && pwd)
: "${top_srcdir:=$here/../..}"
: "${top_builddir:=$here/../..}"
prog=$top_builddir/tests/unit/test_store
cluster=$top_srcdir/tests/pg/pgcluster.sh

if [ ! -x "$prog" ]; then
  echo "pg/unit: $prog is missing (build it first)" >&2
  exit 99
fi
"$cluster" bindir >/dev/null || exit 77

pgdir=$(mktemp -d "${TMPDIR:-/tmp}/ohets-pg-unit.XXXXXX") || exit 99
trap '"$cluster" destroy "$pgdir"' EXIT
trap 'exit 130' INT TERM
"$cluster" start "$pgdir" || exit 99
OHETS_TEST_PG_URL=$("$cluster" url "$pgdir")
CK_RUN_CASE=pg
export OHETS_TEST_PG_URL CK_RUN_CASE
"$prog"
