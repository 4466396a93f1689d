#!/bin/sh
# hets-query against a real openhetsd: the fixture store, the fixture
# partners, --today 2026-11-23, a wrapped and a raw listener on 127.0.0.1
# port 0 (the port read from the `listen` log line).
#
# Needs hets-query, openhetsd and hets-db in $top_builddir.  Prints one line
# per check and "N passed, N failed"; exits 1 when a check failed, 77
# (skipped) when the programs are not built.
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
Q=$top_builddir/hets-query
D=$top_builddir/openhetsd
DB=$top_builddir/hets-db
FIX=$top_srcdir/tests/fixtures
CASES=$top_srcdir/tests/conformance/cases
TODAY=2026-11-23

for p in "$Q" "$D" "$DB"; do
  if [ ! -x "$p" ]; then
    echo "SKIP: $p not built"
    exit 77
  fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/query-test.XXXXXX") || exit 1
pids=""
cleanup() {
  for p in $pids; do kill "$p" 2>/dev/null; done
  for p in $pids; do wait "$p" 2>/dev/null; done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "PASS: $1"; }
bad() { failed=$((failed + 1)); echo "FAIL: $1"; [ $# -gt 1 ] && printf '%s\n' "$2" | sed 's/^/      /' | head -20; }

# Starts openhetsd with extra args; sets $port and $daemon_pid.
start_daemon() {
  name=$1
  shift
  "$D" --listen 127.0.0.1:0 --db "$tmp/store.db" --partners "$FIX/partners.json" \
    --today "$TODAY" --log "$tmp/$name.log" "$@" 2>"$tmp/$name.err" &
  daemon_pid=$!
  pids="$pids $daemon_pid"
  port=""
  i=0
  while [ $i -lt 100 ]; do
    port=$(sed -n 's/.*"event":"listen".*"port":\([0-9][0-9]*\).*/\1/p' "$tmp/$name.log" 2>/dev/null | head -1)
    [ -n "$port" ] && return 0
    kill -0 "$daemon_pid" 2>/dev/null || break
    sleep 0.1
    i=$((i + 1))
  done
  echo "could not start openhetsd ($name): $(cat "$tmp/$name.err")"
  exit 1
}

"$DB" --db "$tmp/store.db" import "$FIX/store.jsonl" >/dev/null 2>"$tmp/import.err" || {
  echo "hets-db import failed: $(cat "$tmp/import.err")"
  exit 1
}
start_daemon wrapped
WP=$port
WPID=$daemon_pid
start_daemon raw --framing raw
RP=$port

# Runs hets-query; leaves stdout in $out, stderr in $err, status in $rc.
run() {
  "$Q" "$@" >"$tmp/out" 2>"$tmp/err"
  rc=$?
  out=$(cat "$tmp/out")
  err=$(cat "$tmp/err")
  cat "$tmp/err" >>"$tmp/all.err"
}

HIT="--mbi 1EG4TE5MK73 --last QUILLFEATHER --first JANE --dob 19400101 --date 20261123"
MISS="--mbi 8XY1AC2DE78 --last QUILLFEATHER --first JANE --dob 19400101 --date 20261123"

has() { printf '%s' "$1" | grep -q -- "$2"; }
json_get() { # json_get EXPR: evaluates a Python expression on the document d
  python3 -c "import json,sys; d=json.load(sys.stdin); print($1)" <"$tmp/out" 2>&1
}

# -- --raw: a 271 without AAA for a matched beneficiary
run -p "$WP" $HIT --raw
if [ $rc -eq 0 ] && has "$out" '^ISA\*' && has "$out" 'ST\*271\*' && ! has "$out" 'AAA\*' \
   && has "$out" 'NM1\*IL\*1\*QUILLFEATHER\*JANE' && has "$out" 'EB\*1\*\*30\*MA'; then
  ok "--raw: 271 with benefits and no AAA for a hit"
else
  bad "--raw: 271 with benefits and no AAA for a hit (rc $rc)" "$out$err"
fi

# -- --json: a document naming the MBI
run -p "$WP" $HIT --json
if [ $rc -eq 0 ] && command -v python3 >/dev/null 2>&1; then
  got=$(json_get 'd["answer"], d["mbi"], d["found"], len(d["aaa"]), d["part_a"][0]["active"], d["part_a"][0]["start"], d["part_b"][0]["start"], d["medicare_advantage"][0]["contract"], d["part_d"][0]["plan"], d["preventive"][0]["next_eligible"], d["subscriber"]["dob"]')
  want="271 1EG4TE5MK73 True 0 True 2005-01-01 2005-01-01 H1234 002 2027-01-01 1940-01-01"
  if [ "$got" = "$want" ]; then ok "--json: decoded document names the MBI"; else bad "--json: decoded document names the MBI" "got:  $got
want: $want"; fi
elif [ $rc -eq 0 ] && has "$out" '"mbi": "1EG4TE5MK73"' && has "$out" '"answer": "271"'; then
  ok "--json: document names the MBI (no python3: text check only)"
else
  bad "--json: decoded document names the MBI (rc $rc)" "$out$err"
fi

# -- summary of a hit: Part A and Part B with dates, plans, deductibles
run -p "$WP" $HIT
if [ $rc -eq 0 ] && has "$out" '^Part A: active since 2005-01-01' \
   && has "$out" '^Part B: active since 2005-01-01' \
   && has "$out" 'Part A deductible remaining: \$1736.00' \
   && has "$out" '^Medicare Advantage: EXAMPLE HMO' && has "$out" '^Part D: EXAMPLE RX' \
   && has "$out" '^MSP: EMPLOYER GROUP PLAN' && has "$out" '^Hospice: EXAMPLE HOSPICE' \
   && has "$out" 'G0438: next eligible 2027-01-01'; then
  ok "summary of a hit speaks of Part A and Part B, plans, deductibles"
else
  bad "summary of a hit speaks of Part A and Part B, plans, deductibles (rc $rc)" "$out$err"
fi

# -- summary of a miss: reason 75 in words, the follow-up action
run -p "$WP" $MISS
if [ $rc -eq 0 ] && has "$out" 'reason 75, subscriber/insured not found' \
   && has "$out" 'follow-up C: please correct and resubmit' && ! has "$out" '^Part A'; then
  ok "summary of a miss names reason 75 (not found)"
else
  bad "summary of a miss names reason 75 (not found) (rc $rc)" "$out$err"
fi

run -p "$WP" $MISS --json
if [ $rc -eq 0 ] && command -v python3 >/dev/null 2>&1; then
  got=$(json_get 'd["mbi"], d["found"], d["aaa"][0]["loop"], d["aaa"][0]["code"], d["aaa"][0]["action"]')
  if [ "$got" = "8XY1AC2DE78 False 2100C 75 C" ]; then ok "--json of a miss: aaa 75 in 2100C"; else bad "--json of a miss: aaa 75 in 2100C" "$got"; fi
fi

# -- several AAA at once (bad NPI check digit, wrong name and DOB)
run -p "$WP" --npi 1234567890 --mbi 1EG4TE5MK73 --last QUILLFETHER --first JANE --dob 19410101 --date 20261123
if [ $rc -eq 0 ] && has "$out" '2100B provider: reason 43' && has "$out" 'reason 73' && has "$out" 'reason 71'; then
  ok "summary lists every AAA (43, 73, 71)"
else
  bad "summary lists every AAA (43, 73, 71) (rc $rc)" "$out$err"
fi

# -- answers that are not 271s, from files sent as is
run -p "$WP" "$CASES/27_999_dtp_bad_date.x12"
if [ $rc -eq 0 ] && has "$out" '^999 acknowledgment: rejected (AK901 R)' \
   && has "$out" 'segment DTP' && has "$out" 'element DTP03' && has "$out" 'invalid date'; then
  ok "999 in words (IK3/IK4)"
else
  bad "999 in words (IK3/IK4) (rc $rc)" "$out$err"
fi
run -p "$WP" "$CASES/06_ta1_008_receiver_not_cms.x12"
if [ $rc -eq 0 ] && has "$out" 'TA105 008: invalid interchange receiver ID'; then
  ok "TA1 in words (TA105)"
else
  bad "TA1 in words (TA105) (rc $rc)" "$out$err"
fi
run -p "$WP" "$CASES/05_sby_unknown_submitter.x12"
if [ $rc -eq 0 ] && has "$out" '^HETS error SBY00502: Authorization for this transaction cannot be validated'; then
  ok "HETS error record in words"
else
  bad "HETS error record in words (rc $rc)" "$out$err"
fi

# -- raw X12 on a raw listener: the 271, and a bare HETS record
run -p "$RP" --unwrapped $HIT
if [ $rc -eq 0 ] && has "$out" '^Part A: active'; then ok "--unwrapped against a raw listener"; else bad "--unwrapped against a raw listener (rc $rc)" "$out$err"; fi
run -p "$RP" --unwrapped "$CASES/05_sby_unknown_submitter.x12"
if [ $rc -eq 0 ] && has "$out" 'SBY00502'; then ok "--unwrapped reads a bare HETS record"; else bad "--unwrapped reads a bare HETS record (rc $rc)" "$out$err"; fi

# -- the core checks the built 270 before anything is sent
before=$(grep -c '"event":"request"' "$tmp/wrapped.log")
run -p "$WP" $HIT --stc ZZ
after=$(grep -c '"event":"request"' "$tmp/wrapped.log")
if [ $rc -eq 2 ] && has "$err" 'fails validation' && has "$err" '--stc' && [ "$before" = "$after" ]; then
  ok "a 270 the core's validator refuses is not sent (exit 2)"
else
  bad "a 270 the core's validator refuses is not sent (exit 2) (rc $rc, requests $before -> $after)" "$err"
fi

# -- usage errors: exit 2, one line
run -p "$WP" --last QUILLFEATHER --first JANE --dob 19400101
if [ $rc -eq 2 ] && has "$err" '--mbi is required' && [ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] && [ -z "$out" ]; then
  ok "missing --mbi: exit 2, one stderr line"
else
  bad "missing --mbi: exit 2, one stderr line (rc $rc)" "$err"
fi
for args in "--dob 19401301" "--date 2026112" "-p 0" "--read-timeout x" "--raw --json" "--bogus"; do
  run $HIT $args
  if [ $rc -eq 2 ]; then ok "usage error exits 2: $args"; else bad "usage error exits 2: $args (rc $rc)" "$err"; fi
done
run --help
if [ $rc -eq 0 ] && has "$out" '^usage: hets-query'; then ok "--help"; else bad "--help (rc $rc)"; fi

# -- a connection that is refused: exit 1, one clear line
kill "$WPID" 2>/dev/null
wait "$WPID" 2>/dev/null
run -p "$WP" $HIT
if [ $rc -eq 1 ] && [ "$err" = "hets-query: connect 127.0.0.1:$WP: connection refused" ] && [ -z "$out" ]; then
  ok "refused connection: exit 1, one clear line"
else
  bad "refused connection: exit 1, one clear line (rc $rc)" "$err"
fi

# -- a server that accepts and never answers: the read timeout, exit 1
if command -v python3 >/dev/null 2>&1; then
  python3 -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(4)
print(s.getsockname()[1], flush=True)
c, _ = s.accept(); time.sleep(10)
' >"$tmp/silent.port" &
  spid=$!
  pids="$pids $spid"
  i=0
  while [ ! -s "$tmp/silent.port" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
  SP=$(cat "$tmp/silent.port")
  start=$(date +%s)
  run -p "$SP" --read-timeout 300 $HIT
  took=$(( $(date +%s) - start ))
  if [ $rc -eq 1 ] && has "$err" 'no answer within 300 ms' && [ $took -lt 5 ]; then
    ok "read timeout: exit 1"
  else
    bad "read timeout: exit 1 (rc $rc, ${took}s)" "$err"
  fi
  kill "$spid" 2>/dev/null
fi

# -- no PHI on stderr, in any run above
phi=""
for v in 1EG4TE5MK73 8XY1AC2DE78 QUILLFEATHER QUILLFETHER JANE 19400101 19410101 19401301; do
  grep -q "$v" "$tmp/all.err" && phi="$phi $v"
done
if [ -z "$phi" ]; then ok "no PHI on stderr"; else bad "no PHI on stderr:$phi"; fi

echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
