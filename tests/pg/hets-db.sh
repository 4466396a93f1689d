#!/bin/sh
# hets-db on both kinds of store, against a throwaway PostgreSQL cluster
# (tests/pg/pgcluster.sh): init, import (all or nothing), generate, lookup
# and stats give the same output on SQLite and PostgreSQL; copy moves a
# whole store either way; libpq's usual ways to give a password (PGPASSFILE,
# a service file) work with a URI that holds none; a password in a URI
# never shows in output or errors.  The cluster is stopped and removed at
# the end, also on failure.
#
# Environment: top_builddir (hets-db), top_srcdir.  Prints "PASS what" or
# "FAIL what: why", then "N passed, N failed"; exits 1 on a failure, 77
# (SKIP) without PostgreSQL's server programs, 99 when it cannot run.

LC_ALL=C
export LC_ALL
here=$(cd "$(dirname "$0")" && pwd)
: "${top_srcdir:=$here/../..}"
: "${top_builddir:=$here/../..}"
hetsdb=$top_builddir/hets-db
cluster=$top_srcdir/tests/pg/pgcluster.sh
fixtures=$top_srcdir/tests/fixtures

[ -x "$hetsdb" ] || { echo "pg/hets-db: $hetsdb is missing (build it first)" >&2; exit 99; }
bin=$("$cluster" bindir) || exit 77

work=$(mktemp -d "${TMPDIR:-/tmp}/ohets-pg-hetsdb.XXXXXX") || exit 99
pgdir=$(mktemp -d "${TMPDIR:-/tmp}/ohets-pg-hetsdb-db.XXXXXX") || exit 99
trap '"$cluster" destroy "$pgdir"; rm -rf "$work"' EXIT
trap 'exit 130' INT TERM
"$cluster" start "$pgdir" || exit 99
url=$("$cluster" url "$pgdir")
port=$(cat "$pgdir/port")
psql() { "$bin/psql" -X -q -v ON_ERROR_STOP=1 "$url" -c "$1" >/dev/null; }

passed=0
failed=0
pass() { echo "PASS $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1: $2"; failed=$((failed + 1)); }
# expect NAME WANT_RC GOT_RC: the exit status
expect_rc() {
  if [ "$3" -eq "$2" ]; then pass "$1"; else fail "$1" "exit $3, want $2 ($(head -c 300 "$work/err"))"; fi
}
# same NAME FILE_A FILE_B
same() {
  if cmp -s "$2" "$3"; then pass "$1"; else fail "$1" "$(diff "$2" "$3" | head -n 6 | tr '\n' ' ')"; fi
}
# has NAME FILE TEXT / lacks NAME FILE TEXT
has() { if grep -qF -e "$3" "$2"; then pass "$1"; else fail "$1" "no \"$3\" in: $(head -c 300 "$2")"; fi; }
lacks() { if grep -qF -e "$3" "$2"; then fail "$1" "\"$3\" shown: $(head -c 300 "$2")"; else pass "$1"; fi; }

db() { # KIND ARGS...: hets-db on the SQLite file or the cluster
  kind=$1
  shift
  if [ "$kind" = sqlite ]; then "$hetsdb" --db "$work/store.db" "$@"; else "$hetsdb" --db "$url" "$@"; fi
}

# ------------------------------------------------ the same on both kinds
for kind in sqlite pg; do
  db $kind init >"$work/$kind.init" 2>"$work/err"
  expect_rc "$kind: init" 0 $?
  db $kind import "$fixtures/store.jsonl" >"$work/$kind.import" 2>"$work/err"
  expect_rc "$kind: import" 0 $?
  # all or nothing: a bad last line leaves the store as it was
  { head -n 3 "$fixtures/store.jsonl" | sed 's/"1EG4TE5MK73"/"1EG4TE5MK72"/;s/"2C34D56EF78"/"2C34D56EF79"/'
    echo '{"mbi":"3EG4TE5MK75","last":"POE","first":"E","dob":"1949-02-30"}'; } >"$work/bad.jsonl"
  db $kind import "$work/bad.jsonl" >/dev/null 2>"$work/$kind.bad"
  expect_rc "$kind: import of a bad file fails" 1 $?
  db $kind generate --count 2000 --seed 3 >"$work/$kind.generate" 2>"$work/err"
  expect_rc "$kind: generate" 0 $?
  db $kind stats >"$work/$kind.stats" 2>"$work/err"
  expect_rc "$kind: stats" 0 $?
  : >"$work/$kind.lookups"
  for mbi in 1EG4TE5MK73 1eg4te5mk73 9AA0AA0AA00 7EG4TE5MK73 1EG4TE5MK72; do
    db $kind lookup "$mbi" >>"$work/$kind.lookups" 2>&1
    echo "exit $?" >>"$work/$kind.lookups"
  done
done
sed 's|^postgresql://.*: schema|STORE: schema|; s|^/.*/store.db: schema|STORE: schema|' \
  "$work/sqlite.init" >"$work/sqlite.init.n"
sed 's|^postgresql://.*: schema|STORE: schema|' "$work/pg.init" >"$work/pg.init.n"
same "init says the same" "$work/sqlite.init.n" "$work/pg.init.n"
has "init names the URI" "$work/pg.init" "$url: schema version 2"
for what in import bad generate stats lookups; do
  same "$what: the same output" "$work/sqlite.$what" "$work/pg.$what"
done
has "a bad file: line and field named" "$work/pg.bad" 'line 4: "dob": not a date (YYYY-MM-DD) (nothing imported)'
has "lookup: a retired MBI said so" "$work/pg.lookups" "retired MBI"
# Generated records the same on both: every 20th MBI (from PostgreSQL's
# table; each hets-db run is a new connection, ~0.1 s here; the unit tests
# compare whole stores).
"$bin/psql" -X -At "$url" -c "SELECT mbi FROM beneficiaries ORDER BY mbi" >"$work/all-mbis"
if [ "$(wc -l <"$work/all-mbis")" -eq 2015 ]; then pass "pg: 2015 MBIs in the table"; else
  fail "pg: 2015 MBIs in the table" "$(wc -l <"$work/all-mbis")"; fi
awk 'NR % 20 == 1' "$work/all-mbis" >"$work/mbis"
while read -r mbi; do db sqlite lookup "$mbi"; done <"$work/mbis" >"$work/sqlite.all" 2>&1
while read -r mbi; do db pg lookup "$mbi"; done <"$work/mbis" >"$work/pg.all" 2>&1
same "$(wc -l <"$work/mbis") generated records the same on both" "$work/sqlite.all" "$work/pg.all"

# ------------------------------------------------------------------ copy
psql "CREATE SCHEMA copy2"
url2="$url&options=-csearch_path%3Dcopy2"
"$hetsdb" copy --from "$url" --to "$work/copy.db" >"$work/out" 2>"$work/err"
expect_rc "copy PostgreSQL -> SQLite" 0 $?
has "copy says what it copied" "$work/out" \
  "copied 2015 beneficiaries ($(sed 's/.*"retired_mbis":\([0-9]*\).*/\1/' "$work/pg.stats") retired MBIs) and 4 program years from $url to $work/copy.db"
"$hetsdb" copy --from "$work/copy.db" --to "$url2" >"$work/out" 2>"$work/err"
expect_rc "copy SQLite -> PostgreSQL" 0 $?
"$hetsdb" --db "$url2" stats >"$work/copy2.stats"
same "the copy of the copy: same stats" "$work/pg.stats" "$work/copy2.stats"
while read -r mbi; do "$hetsdb" --db "$url2" lookup "$mbi"; done <"$work/mbis" >"$work/copy2.all" 2>&1
same "the copy of the copy: same records" "$work/pg.all" "$work/copy2.all"
"$hetsdb" --db "$url2" lookup 9AA0AA0AA00 >"$work/out" 2>&1
has "the copy keeps retired MBIs" "$work/out" "retired MBI"
"$hetsdb" copy --from "$url" --to "$url" >/dev/null 2>"$work/err"
expect_rc "copy onto itself: usage error" 2 $?
"$hetsdb" --db "$url" copy --from "$url" --to "$work/x.db" >/dev/null 2>"$work/err"
expect_rc "copy with --db: usage error" 2 $?
"$hetsdb" copy --from "$url" >/dev/null 2>"$work/err"
expect_rc "copy without --to: usage error" 2 $?
"$hetsdb" --db "$url" stats --from x >/dev/null 2>"$work/err"
expect_rc "--from outside copy: usage error" 2 $?

# ----------------------------------------------------------- credentials
# A role that must give a password (SCRAM), with a database of its own.
psql "CREATE ROLE pwuser LOGIN PASSWORD 'pw-Secret-9'"
psql "CREATE DATABASE pwdb OWNER pwuser"
{ echo "local all pwuser scram-sha-256"; cat "$pgdir/data/pg_hba.conf"; } >"$work/hba"
cat "$work/hba" >"$pgdir/data/pg_hba.conf"
"$cluster" reload "$pgdir"
pwurl="postgresql://pwuser@/pwdb?host=$pgdir&port=$port"
# The reload is a signal: wait (at most 10 s) until a password is asked for.
i=0
until PGPASSFILE=/dev/null "$hetsdb" --db "$pwurl" stats 2>&1 | grep -q password || [ $i -ge 100 ]; do
  sleep 0.1
  i=$((i + 1))
done
PGPASSFILE=/dev/null "$hetsdb" --db "$pwurl" init >/dev/null 2>"$work/err"
expect_rc "no password: refused" 1 $?
has "no password: libpq says why" "$work/err" "password"
echo "$pgdir:$port:pwdb:pwuser:pw-Secret-9" >"$work/pgpass"
chmod 600 "$work/pgpass"
PGPASSFILE=$work/pgpass "$hetsdb" --db "$pwurl" init >"$work/out" 2>"$work/err"
expect_rc "PGPASSFILE: init" 0 $?
PGPASSFILE=$work/pgpass "$hetsdb" --db "$pwurl" import "$fixtures/store.jsonl" >/dev/null 2>"$work/err"
expect_rc "PGPASSFILE: import" 0 $?
printf '[ohets]\nhost=%s\nport=%s\ndbname=pwdb\nuser=pwuser\n' "$pgdir" "$port" >"$work/pg_service.conf"
PGSERVICEFILE=$work/pg_service.conf PGPASSFILE=$work/pgpass \
  "$hetsdb" --db "postgresql://?service=ohets" stats >"$work/out" 2>"$work/err"
expect_rc "service file + PGPASSFILE: stats" 0 $?
has "service file: pwuser's own store" "$work/out" '"beneficiaries":15'
# A password in the URI works and never shows (output, errors).
"$hetsdb" --db "postgresql://pwuser:pw-Secret-9@/pwdb?host=$pgdir&port=$port" init \
  >"$work/out" 2>"$work/err"
expect_rc "password in the URI: init" 0 $?
lacks "init output: no password" "$work/out" "pw-Secret-9"
has "init output: masked" "$work/out" "postgresql://pwuser:***@/pwdb"
"$hetsdb" --db "postgresql://pwuser:pw-Wrong-7@/pwdb?host=$pgdir&port=$port" stats \
  >"$work/out" 2>"$work/err"
expect_rc "wrong password: refused" 1 $?
lacks "wrong password: not shown" "$work/err" "pw-Wrong-7"
has "wrong password: masked URI named" "$work/err" "pwuser:***@"
"$hetsdb" --db "postgresql://pwuser@/pwdb?host=$pgdir&port=$port&password=pw-Wrong-7" \
  lookup 1EG4TE5MK73 >"$work/out" 2>"$work/err"
lacks "password= in the query: not shown" "$work/err" "pw-Wrong-7"
"$hetsdb" copy --from "postgresql://pwuser:pw-Wrong-7@/pwdb?host=$pgdir&port=$port" \
  --to "$work/y.db" >"$work/out" 2>"$work/err"
expect_rc "copy from a refused source" 1 $?
lacks "copy: password not shown" "$work/err" "pw-Wrong-7"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
