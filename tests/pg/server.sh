#!/bin/sh
# openhetsd on the PostgreSQL store: answers as from SQLite, a database
# restart and a failover to a streaming replica under load
# (tests/pg/test_server.py says what is checked).  Throwaway clusters on
# Unix sockets only (tests/pg/pgcluster.sh), stopped and removed at the end.
#
# Environment: top_builddir (openhetsd-test, hets-respond, hets-db) and
# top_srcdir, both defaulting to two levels above this script;
# OPENHETS_DAEMON names another daemon binary.  Exits 1 on a failure, 77
# (SKIP) without PostgreSQL's server programs, 99 when it cannot run.
here=$(cd "$(dirname "$0")" && pwd)
: "${top_srcdir:=$here/../..}"
: "${top_builddir:=$here/../..}"
export top_srcdir top_builddir
LC_ALL=C
PYTHONDONTWRITEBYTECODE=1
PYTHONUNBUFFERED=1
export LC_ALL PYTHONDONTWRITEBYTECODE PYTHONUNBUFFERED
if ! command -v python3 >/dev/null 2>&1; then
  echo "pg/server: python3 is missing (scripts/deps.sh installs it)" >&2
  exit 99
fi
"$here/pgcluster.sh" bindir >/dev/null || exit 77
exec python3 "$here/test_server.py" "$@"
