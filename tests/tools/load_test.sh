#!/usr/bin/env bash
# hets-load against the real openhetsd: a store made by `hets-db generate`,
# the fixture partners, submitter SUBMITTER02 (SUBMITTER01 is capped at 200
# sockets).  Checks the documented JSON keys, a 50-socket run, -n, the
# answer classification (mix and files), --idle-check, and exit statuses.
#
# Environment: top_builddir (openhetsd, hets-db, hets-load), top_srcdir
# (fixtures); both default to two levels above this script.  Prints
# "PASS what" or "FAIL what: why" per check, then "N passed, N failed";
# exits 1 on a failure, 77 (skip) without python3.  Every wait is bounded.

LC_ALL=C
export LC_ALL
here=$(cd "$(dirname "$0")" && pwd)
: "${top_srcdir:=$here/../..}"
: "${top_builddir:=$here/../..}"
daemon=$top_builddir/openhetsd
hetsdb=$top_builddir/hets-db
load=$top_builddir/hets-load
partners=$top_srcdir/tests/fixtures/partners.json
cases=$top_srcdir/tests/conformance/cases

for tool in "$daemon" "$hetsdb" "$load"; do
  if [ ! -x "$tool" ]; then
    echo "load_test: $tool is missing (build it first)" >&2
    exit 99
  fi
done
if ! command -v python3 >/dev/null 2>&1; then
  echo "load_test: python3 not found (needed to read JSON); skipped" >&2
  exit 77
fi
limit=
if command -v timeout >/dev/null 2>&1; then
  limit="timeout 25"
fi

scratch=$(mktemp -d "${TMPDIR:-/tmp}/ohets-load.XXXXXX") || exit 99
daemon_pid=
cleanup() {
  if [ -n "$daemon_pid" ]; then
    kill -TERM "$daemon_pid" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$daemon_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$daemon_pid" 2>/dev/null
  fi
  rm -rf "$scratch"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

passed=0
failed=0
pass() { echo "PASS $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1: $2"; failed=$((failed + 1)); }

# check NAME FILE PYTHON-EXPR: the expression, over the JSON object d read
# from FILE, must be true; on failure the object is shown.
check() {
  local name=$1 file=$2 expr=$3 why
  why=$(python3 - "$file" "$expr" <<'PY' 2>&1
import json, sys
try:
    d = json.loads(open(sys.argv[1]).read())
except Exception as e:
    print("output is not one JSON object: %s" % e); sys.exit(1)
ok = eval("(" + sys.argv[2] + ")", {"d": d})
if not ok:
    print("got %s" % json.dumps(d)); sys.exit(1)
PY
)
  if [ $? -eq 0 ]; then pass "$name"; else fail "$name" "$why"; fi
}

# ------------------------------------------------------------- the daemon
db=$scratch/load.db
if ! "$hetsdb" --db "$db" init >/dev/null || ! "$hetsdb" --db "$db" generate --count 2000 --seed 4 >/dev/null; then
  echo "load_test: hets-db could not make the store" >&2
  exit 99
fi
"$daemon" --listen 127.0.0.1:0 --db "$db" --partners "$partners" --log "$scratch/session.log" \
  >"$scratch/daemon.out" 2>&1 </dev/null &
daemon_pid=$!
port=
for _ in $(seq 100); do
  port=$(python3 -c '
import json, sys
for line in open(sys.argv[1]):
    try: e = json.loads(line)
    except ValueError: continue
    if e.get("event") == "listen": print(e["port"]); break
' "$scratch/session.log" 2>/dev/null)
  [ -n "$port" ] && break
  kill -0 "$daemon_pid" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$port" ]; then
  echo "load_test: openhetsd gave no listen event within 10 s: $(cat "$scratch/daemon.out")" >&2
  exit 99
fi
run() { $limit "$load" -p "$port" --submitter SUBMITTER02 "$@"; }

# ----------------------------------------------- idle check, in background
# (its 5 s overlap the load runs below; two at once: text and JSON)
run --idle-check >"$scratch/idle.txt" 2>"$scratch/idle.err" &
idle_txt_pid=$!
run --idle-check --json >"$scratch/idle.json" 2>"$scratch/idle_json.err" &
idle_json_pid=$!

# ------------------------------------------------------ 50 sockets for 3 s
run --db "$db" --json -c 50 -d 3 >"$scratch/c50.json" 2>"$scratch/c50.err"
rc=$?
if [ $rc -eq 0 ]; then pass "-c 50 -d 3 exits 0"; else fail "-c 50 -d 3 exits 0" "exit $rc: $(cat "$scratch/c50.err")"; fi
check "--json has exactly the documented keys" "$scratch/c50.json" \
  'list(d) == ["connections","seconds","requests","tps","latency_us","answers","aaa","errors","unexpected_closes"]
   and list(d["latency_us"]) == ["p50","p90","p99","p999","max"]
   and list(d["answers"]) == ["271","999","TA1","HETS"] and isinstance(d["aaa"], dict)'
check "-c 50 -d 3 makes over 1,000 requests" "$scratch/c50.json" \
  'd["connections"] == 50 and d["requests"] > 1000 and 2.9 <= d["seconds"] <= 4.0'
check "-c 50 -d 3: no errors, no unexpected closes" "$scratch/c50.json" \
  'd["errors"] == 0 and d["unexpected_closes"] == 0'
check "-c 50 -d 3: answers add up, mix is about 80/15/5" "$scratch/c50.json" \
  'sum(d["answers"].values()) == d["requests"]
   and 0.02 < d["answers"]["999"] / d["requests"] < 0.08
   and 0.10 < d["aaa"].get("75", 0) / d["requests"] < 0.20
   and d["answers"]["TA1"] == 0 and d["answers"]["HETS"] == 0'
check "-c 50 -d 3: percentiles ordered" "$scratch/c50.json" \
  '0 < d["latency_us"]["p50"] <= d["latency_us"]["p90"] <= d["latency_us"]["p99"]
   <= d["latency_us"]["p999"] <= d["latency_us"]["max"]
   and abs(d["tps"] - d["requests"] / d["seconds"]) < 0.01 * d["tps"] + 1'

# ------------------------------------------------------------- -n stops
run --db "$db" --json -c 16 -n 200 >"$scratch/n200.json" 2>"$scratch/n200.err"
check "-n 200 stops at exactly 200 requests" "$scratch/n200.json" \
  'd["requests"] == 200 and sum(d["answers"].values()) == 200 and d["errors"] == 0'

# ------------------------------------------- classification of answers
run --db "$db" --json -c 4 -n 100 --mix 0,100,0 >"$scratch/miss.json" 2>&1
check "--mix 0,100,0: every answer a 271 with AAA 75" "$scratch/miss.json" \
  'd["answers"]["271"] == 100 and d["aaa"] == {"75": 100}'
run --db "$db" --json -c 4 -n 100 --mix 0,0,100 >"$scratch/bad.json" 2>&1
check "--mix 0,0,100: every answer a 999" "$scratch/bad.json" \
  'd["answers"]["999"] == 100 and d["aaa"] == {}'
run --db "$db" --json -c 4 -n 100 --mix 100,0,0 >"$scratch/hit.json" 2>&1
check "--mix 100,0,0: every answer a 271 without AAA" "$scratch/hit.json" \
  'd["answers"]["271"] == 100 and d["aaa"] == {}'
run --json -c 3 -n 30 "$cases/01_hets_empty_payload.x12" "$cases/07_ta1_017_version_00401.x12" \
  "$cases/22_999_se_count.x12" >"$scratch/files.json" 2>&1
check "FILES sent round-robin: HETS, TA1, 999 ten each" "$scratch/files.json" \
  'd["answers"] == {"271": 0, "999": 10, "TA1": 10, "HETS": 10} and d["errors"] == 0'

# ------------------------------------------------------ usage and failure
run --db "$db" -d 1 -n 5 >/dev/null 2>"$scratch/usage.err"
rc=$?
if [ $rc -eq 2 ] && [ "$(wc -l <"$scratch/usage.err")" -eq 1 ]; then pass "-d with -n is a usage error (2)"
else fail "-d with -n is a usage error (2)" "exit $rc: $(cat "$scratch/usage.err")"; fi
run --db "$scratch/missing.db" -n 5 >/dev/null 2>"$scratch/nodb.err"
rc=$?
if [ $rc -eq 1 ]; then pass "a missing store exits 1"; else fail "a missing store exits 1" "exit $rc"; fi

# ------------------------------------------------------------ idle check
wait "$idle_txt_pid"
rc=$?
line=$(cat "$scratch/idle.txt")
if [ $rc -eq 0 ] && [[ $line =~ ^idle\ after\ answer:\ ([0-9]+)\ ms,\ after\ bare\ connect:\ ([0-9]+)\ ms$ ]] &&
  [ "${BASH_REMATCH[1]}" -ge 4900 ] && [ "${BASH_REMATCH[1]}" -le 5300 ] &&
  [ "${BASH_REMATCH[2]}" -ge 4900 ] && [ "${BASH_REMATCH[2]}" -le 5300 ]; then
  pass "--idle-check reports about 5,000 ms for both ($line)"
else
  fail "--idle-check reports about 5,000 ms for both" "exit $rc: $line $(cat "$scratch/idle.err")"
fi
wait "$idle_json_pid"
check "--idle-check --json" "$scratch/idle.json" \
  'list(d) == ["idle_after_answer_ms","idle_after_connect_ms"]
   and all(4900 <= v <= 5300 for v in d.values())'

# ------------------------------------------ no server: could not run (1)
kill -TERM "$daemon_pid"
for _ in $(seq 100); do kill -0 "$daemon_pid" 2>/dev/null || break; sleep 0.1; done
daemon_pid=
run --db "$db" -c 5 -d 1 >/dev/null 2>"$scratch/refused.err"
rc=$?
if [ $rc -eq 1 ]; then pass "connection refused on every socket exits 1"
else fail "connection refused on every socket exits 1" "exit $rc: $(cat "$scratch/refused.err")"; fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
