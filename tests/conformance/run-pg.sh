#!/bin/sh
# The conformance suite on the PostgreSQL store (tests/conformance/README.md,
# "On PostgreSQL").  Starts a throwaway cluster (tests/pg/pgcluster.sh), then
#  1. runs run.sh unchanged with hets-db and hets-respond wrapped so that
#     every --db names the cluster: the fixture store is imported into
#     PostgreSQL and every case of expect.tsv is answered from it and judged
#     against the same expected answers;
#  2. answers every case again from the fixture store in SQLite and in
#     PostgreSQL and compares the two answers byte for byte, only the
#     answer's own date/time and control fields masked (ISA09/10/13,
#     GS04-06, BHT04/05, IEA02, GE02, the TRN*1 reference, a HETS record's
#     time: tests/integration/harness.py's normalise);
#  3. compares hets-db lookup (every MBI and retired MBI of the fixture
#     store) and hets-db stats on both, byte for byte.
# The cluster is stopped and removed at the end, also on failure.
#
# Environment: top_builddir (hets-respond, hets-db), top_srcdir; both
# default to two levels above this script.  Prints run.sh's lines, then
# "PASS same-bytes FILE" / "FAIL ..." per case, then "N passed, N failed".
# Exits 1 on a failure, 77 (SKIP) when PostgreSQL's server programs are
# not installed, 99 when the suite cannot run.

LC_ALL=C
PYTHONDONTWRITEBYTECODE=1
export LC_ALL PYTHONDONTWRITEBYTECODE
here=$(cd "$(dirname "$0")" && pwd)
: "${top_srcdir:=$here/../..}"
: "${top_builddir:=$here/../..}"
top_srcdir=$(cd "$top_srcdir" && pwd)
top_builddir=$(cd "$top_builddir" && pwd)
respond=$top_builddir/hets-respond
hetsdb=$top_builddir/hets-db
cluster=$top_srcdir/tests/pg/pgcluster.sh
fixtures=$top_srcdir/tests/fixtures
today=2026-11-23

for tool in "$respond" "$hetsdb"; do
  if [ ! -x "$tool" ]; then
    echo "conformance-pg: $tool is missing (build it first)" >&2
    exit 99
  fi
done
if ! command -v python3 >/dev/null 2>&1; then
  echo "conformance-pg: python3 is missing (scripts/deps.sh installs it)" >&2
  exit 99
fi
"$cluster" bindir >/dev/null || exit 77

scratch=$(mktemp -d "${TMPDIR:-/tmp}/ohets-conformance-pg.XXXXXX") || exit 99
pgdir=$(mktemp -d "${TMPDIR:-/tmp}/ohets-conformance-pg-db.XXXXXX") || exit 99
trap '"$cluster" destroy "$pgdir"; rm -rf "$scratch"' EXIT
trap 'exit 130' INT TERM
"$cluster" start "$pgdir" || exit 99
url=$("$cluster" url "$pgdir")

# ------------------------------------------------ 1. run.sh on PostgreSQL

# A tool that runs the real one with every --db VALUE turned into the
# cluster's URI.
wrap() { # NAME REAL
  cat >"$scratch/bin/$1" <<EOF
#!/bin/sh
next=0
for a in "\$@"; do
  if [ "\$next" = 0 ]; then set --; next=1; fi
  if [ "\$next" = 2 ]; then set -- "\$@" '$url'; next=1; continue; fi
  [ "\$a" = --db ] && next=2
  set -- "\$@" "\$a"
done
exec '$2' "\$@"
EOF
  chmod +x "$scratch/bin/$1"
}
mkdir "$scratch/bin"
wrap hets-respond "$respond"
wrap hets-db "$hetsdb"

top_builddir=$scratch/bin top_srcdir=$top_srcdir "$here/run.sh"
suite_rc=$?

# --------------------------------------- 2. the same bytes from both stores

sqlite_db=$scratch/store.db
if ! "$hetsdb" --db "$sqlite_db" import "$fixtures/store.jsonl" >/dev/null; then
  echo "conformance-pg: hets-db import into SQLite failed" >&2
  exit 1
fi

python3 - "$respond" "$sqlite_db" "$url" "$fixtures/partners.json" "$today" \
  "$top_srcdir" "$hetsdb" "$fixtures/store.jsonl" <<'EOF'
import json, os, subprocess, sys
respond, sqlite_db, url, partners, today, top, hetsdb, store = sys.argv[1:9]
sys.path.insert(0, os.path.join(top, "tests", "integration"))
from harness import normalise, describe_diff  # noqa: E402

cases = os.path.join(top, "tests", "conformance", "cases")
passed = failed = 0


def answer(db, path):
    with open(path, "rb") as f:
        r = subprocess.run([respond, "--db", db, "--partners", partners, "--today", today],
                           stdin=f, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    return r.returncode, r.stdout, r.stderr


def report(name, why):
    global passed, failed
    if why:
        print("FAIL %s: %s" % (name, why))
        failed += 1
    else:
        print("PASS %s" % name)
        passed += 1


for name in sorted(os.listdir(cases)):
    if not name.endswith(".x12"):
        continue
    path = os.path.join(cases, name)
    rs, a, ea = answer(sqlite_db, path)
    rp, b, eb = answer(url, path)
    why = None
    if rs != 0 or rp != 0:
        why = "hets-respond exited %d (SQLite), %d (PostgreSQL): %s" % (
            rs, rp, (ea + eb).decode(errors="replace").strip()[:200])
    elif not a:
        why = "empty answer"
    elif normalise(a) != normalise(b):
        why = describe_diff(normalise(b), normalise(a)).replace("hets-respond", "SQLite")
    report("same-bytes " + name, why)


def tool(db, *args):
    r = subprocess.run([hetsdb, "--db", db] + list(args), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60)
    return r.returncode, r.stdout, r.stderr


mbis = []
with open(store) as f:
    for line in f:
        if line.strip():
            rec = json.loads(line)
            if "mbi" in rec:
                mbis.append(rec["mbi"])
                mbis.extend(rec.get("retired_mbis") or [])
for mbi in mbis:
    s, p = tool(sqlite_db, "lookup", mbi), tool(url, "lookup", mbi)
    report("same-bytes hets-db lookup " + mbi,
           None if s == p and s[0] in (0, 1) else "SQLite %r, PostgreSQL %r" % (s, p))
s, p = tool(sqlite_db, "stats"), tool(url, "stats")
report("same-bytes hets-db stats", None if s == p and s[0] == 0 else "SQLite %r, PostgreSQL %r" % (s, p))
print("%d passed, %d failed" % (passed, failed))
sys.exit(0 if failed == 0 and passed > 0 else 1)
EOF
same_rc=$?

[ "$suite_rc" -eq 0 ] && [ "$same_rc" -eq 0 ]
