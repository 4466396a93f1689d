#!/usr/bin/env bash
# hets-query --tls and hets-load --tls / --new-conn against the real
# openhetsd (DESIGN §12).  Certificates are made here by tests/tls/mkcerts.sh;
# openhetsd runs from a settings file with three listeners on 127.0.0.1
# port 0 (ports read from the `listen` log lines, in listener order):
#   0 plain TCP, 1 TLS with client certificates required (ca.pem), 2 TLS
#   without client certificates
# the fixture store and partners, --today 2026-11-23.  The session log's
# `open` events (listener, tls fields) show what really reached the server.
#
# Environment: top_builddir (openhetsd, hets-db, hets-query, hets-load),
# top_srcdir; both default to two levels above this script.  Prints "PASS
# what" or "FAIL what: why" per check, then "N passed, N failed"; exits 1
# on a failure, 77 (skip) without python3 or the openssl command.

LC_ALL=C
export LC_ALL
here=$(cd "$(dirname "$0")" && pwd)
: "${top_srcdir:=$here/../..}"
: "${top_builddir:=$here/../..}"
daemon=$top_builddir/openhetsd
hetsdb=$top_builddir/hets-db
query=$top_builddir/hets-query
load=$top_builddir/hets-load
fix=$top_srcdir/tests/fixtures

for tool in "$daemon" "$hetsdb" "$query" "$load"; do
  if [ ! -x "$tool" ]; then
    echo "tls_test: $tool is missing (build it first)" >&2
    exit 99
  fi
done
for cmd in python3 openssl; do
  if ! command -v $cmd >/dev/null 2>&1; then
    echo "tls_test: $cmd not found; skipped" >&2
    exit 77
  fi
done
limit=
if command -v timeout >/dev/null 2>&1; then
  limit="timeout 30"
fi

scratch=$(mktemp -d "${TMPDIR:-/tmp}/ohets-tls-tools.XXXXXX") || exit 99
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
# from FILE, must be true; on failure the object (or the file) is shown.
check() {
  local name=$1 file=$2 expr=$3 why
  why=$(python3 - "$file" "$expr" <<'PY' 2>&1
import json, sys
try:
    d = json.loads(open(sys.argv[1]).read())
except Exception as e:
    print("output is not one JSON object: %s: %r" % (e, open(sys.argv[1]).read()[:300])); sys.exit(1)
ok = eval("(" + sys.argv[2] + ")", {"d": d})
if not ok:
    print("got %s" % json.dumps(d)); sys.exit(1)
PY
)
  if [ $? -eq 0 ]; then pass "$name"; else fail "$name" "$why"; fi
}

# ------------------------------------------------ certificates, store, daemon
certs=$scratch/certs
if ! "$top_srcdir/tests/tls/mkcerts.sh" "$certs" >"$scratch/mkcerts.out" 2>&1; then
  echo "tls_test: mkcerts.sh failed: $(cat "$scratch/mkcerts.out")" >&2
  exit 99
fi
db=$scratch/store.db
if ! "$hetsdb" --db "$db" import "$fix/store.jsonl" >/dev/null 2>"$scratch/import.err"; then
  echo "tls_test: hets-db import failed: $(cat "$scratch/import.err")" >&2
  exit 99
fi
cat >"$scratch/settings.json" <<EOF
{"listen": [
  {"host": "127.0.0.1", "port": 0},
  {"host": "127.0.0.1", "port": 0,
   "tls": {"cert": "$certs/server.pem", "key": "$certs/server.key", "ca": "$certs/ca.pem"}},
  {"host": "127.0.0.1", "port": 0,
   "tls": {"cert": "$certs/server.pem", "key": "$certs/server.key"}}
]}
EOF
log=$scratch/session.log
"$daemon" -c "$scratch/settings.json" --db "$db" --partners "$fix/partners.json" \
  --today 2026-11-23 --log "$log" >"$scratch/daemon.out" 2>&1 </dev/null &
daemon_pid=$!
ports=
for _ in $(seq 100); do
  ports=$(python3 -c '
import json, sys
p = {}
for line in open(sys.argv[1]):
    try: e = json.loads(line)
    except ValueError: continue
    if e.get("event") == "listen": p[e["listener"]] = e["port"]
if len(p) == 3: print(p[0], p[1], p[2])
' "$log" 2>/dev/null)
  [ -n "$ports" ] && break
  kill -0 "$daemon_pid" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$ports" ]; then
  echo "tls_test: openhetsd gave no three listen events within 10 s: $(cat "$scratch/daemon.out")" >&2
  exit 99
fi
read -r plain_port mtls_port tls_port <<<"$ports"

# opens LISTENER: how many connections the server has logged as opened on
# that listener so far (after their handshake, on a TLS one).
opens() {
  grep '"event":"open"' "$log" | grep -c "\"listener\":$1,"
}
# last_open LISTENER EXPR: the expression over the last open event e there.
last_open() {
  python3 -c '
import json, sys
last = None
for line in open(sys.argv[1]):
    try: e = json.loads(line)
    except ValueError: continue
    if e.get("event") == "open" and e.get("listener") == int(sys.argv[2]): last = e
print(eval(sys.argv[3], {"e": last}) if last else "none")
' "$log" "$1" "$2"
}
# normalise FILE: the X12 answer with what differs between two runs blanked
# (dates and times, control numbers, our reference and the traces).
normalise() {
  python3 -c '
import sys
blank = {"ISA": (9, 10, 13), "GS": (4, 5, 6), "BHT": (3, 4, 5), "TRN": (2,), "GE": (2,), "IEA": (2,)}
out = []
for seg in open(sys.argv[1]).read().split("~"):
    el = seg.split("*")
    for i in blank.get(el[0], ()):
        if i < len(el): el[i] = "#"
    out.append("*".join(el))
print("~".join(out))
' "$1"
}

HIT="--mbi 1EG4TE5MK73 --last QUILLFEATHER --first JANE --dob 19400101 --date 20261123"
client1=(--cert "$certs/client1.pem" --key "$certs/client1.key")
# q NAME ARGS...: hets-query; stdout in $scratch/NAME.out, stderr in NAME.err,
# status in $rc.
q() {
  local name=$1
  shift
  $limit "$query" "$@" >"$scratch/$name.out" 2>"$scratch/$name.err"
  rc=$?
}
lines() { wc -l <"$1" | tr -d ' '; }

# ------------------------------------------------------------- hets-query
q plain -p "$plain_port" $HIT --raw
q mtls -p "$mtls_port" --tls "${client1[@]}" --ca "$certs/ca.pem" $HIT --raw
if [ $rc -eq 0 ] && [ ! -s "$scratch/mtls.err" ] && grep -q 'ST\*271\*' "$scratch/mtls.out" &&
  grep -q 'EB\*1\*\*30\*MA' "$scratch/mtls.out" &&
  [ "$(normalise "$scratch/mtls.out")" = "$(normalise "$scratch/plain.out")" ]; then
  pass "hets-query --tls with client1 and --ca: the same --raw 271 as over plain TCP"
else
  fail "hets-query --tls with client1 and --ca: the same --raw 271 as over plain TCP" \
    "exit $rc: $(cat "$scratch/mtls.err") $(diff <(normalise "$scratch/plain.out" | tr '~' '\n') \
      <(normalise "$scratch/mtls.out" | tr '~' '\n') | head -5)"
fi
want=$(openssl x509 -in "$certs/client1.pem" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' |
       tr 'A-F' 'a-f')
got=$(last_open 1 'e["tls"]["version"] + " " + str(e["tls"]["client_cert_sha256"])')
if [ "$got" = "TLSv1.3 $want" ]; then
  pass "the server saw TLS 1.3 and client1's certificate"
else
  fail "the server saw TLS 1.3 and client1's certificate" "open event: $got, want TLSv1.3 $want"
fi

q summary -p "$tls_port" --tls --ca "$certs/ca.pem" $HIT
if [ $rc -eq 0 ] && grep -q '^Part A: active since 2005-01-01' "$scratch/summary.out" &&
  [ ! -s "$scratch/summary.err" ]; then
  pass "hets-query --tls --ca: the summary, nothing on stderr"
else
  fail "hets-query --tls --ca: the summary, nothing on stderr" "exit $rc: $(cat "$scratch/summary.err")"
fi

q noca -p "$tls_port" --tls $HIT --json
if [ $rc -eq 0 ] && grep -q '"answer": "271"' "$scratch/noca.out" &&
  [ "$(lines "$scratch/noca.err")" = 1 ] &&
  grep -q '^hets-query: warning: --tls without --ca: the server.s certificate is not verified$' \
    "$scratch/noca.err"; then
  pass "hets-query --tls without --ca: answered, one warning line"
else
  fail "hets-query --tls without --ca: answered, one warning line" "exit $rc: $(cat "$scratch/noca.err")"
fi

q nocert -p "$mtls_port" --tls --ca "$certs/ca.pem" $HIT --raw
if [ $rc -eq 1 ] && [ ! -s "$scratch/nocert.out" ] && [ "$(lines "$scratch/nocert.err")" = 1 ] &&
  grep -q "^hets-query: tls 127.0.0.1:$mtls_port: handshake: .*certificate required.*--cert" \
    "$scratch/nocert.err"; then
  pass "hets-query without a client certificate: exit 1, one line ($(cat "$scratch/nocert.err"))"
else
  fail "hets-query without a client certificate: exit 1, one line" "exit $rc: $(cat "$scratch/nocert.err")"
fi

q wrongca -p "$mtls_port" --tls "${client1[@]}" --ca "$certs/ca2.pem" $HIT --raw
if [ $rc -eq 1 ] && [ ! -s "$scratch/wrongca.out" ] && [ "$(lines "$scratch/wrongca.err")" = 1 ] &&
  grep -q "^hets-query: tls 127.0.0.1:$mtls_port: handshake: certificate verify failed: " \
    "$scratch/wrongca.err"; then
  pass "hets-query --ca of another CA: verify error, exit 1 ($(cat "$scratch/wrongca.err"))"
else
  fail "hets-query --ca of another CA: verify error, exit 1" "exit $rc: $(cat "$scratch/wrongca.err")"
fi

# 127.1 is 127.0.0.1 to the resolver but not a name the certificate carries.
q wrongname -H 127.1 -p "$tls_port" --tls --ca "$certs/ca.pem" $HIT --raw
if [ $rc -eq 1 ] && grep -q "handshake: certificate verify failed: .*mismatch" "$scratch/wrongname.err"; then
  pass "hets-query --ca checks -H against the certificate"
else
  fail "hets-query --ca checks -H against the certificate" "exit $rc: $(cat "$scratch/wrongname.err")"
fi

q expired -p "$mtls_port" --tls --cert "$certs/client-expired.pem" --key "$certs/client-expired.key" \
  --ca "$certs/ca.pem" $HIT --raw
if [ $rc -eq 1 ] && [ "$(lines "$scratch/expired.err")" = 1 ] &&
  grep -q "handshake: .*certificate expired" "$scratch/expired.err"; then
  pass "hets-query with an expired client certificate: the server's refusal, exit 1"
else
  fail "hets-query with an expired client certificate: the server's refusal, exit 1" \
    "exit $rc: $(cat "$scratch/expired.err")"
fi

q onplain -p "$plain_port" --tls --ca "$certs/ca.pem" $HIT --raw
if [ $rc -eq 1 ] && [ "$(lines "$scratch/onplain.err")" = 1 ] &&
  grep -q "^hets-query: tls 127.0.0.1:$plain_port: handshake: not TLS" "$scratch/onplain.err"; then
  pass "hets-query --tls against a plain listener: exit 1, one line"
else
  fail "hets-query --tls against a plain listener: exit 1, one line" "exit $rc: $(cat "$scratch/onplain.err")"
fi

q nofile -p "$tls_port" --tls --ca "$scratch/missing.pem" $HIT
if [ $rc -eq 1 ] && [ "$(lines "$scratch/nofile.err")" = 1 ] && grep -q 'missing.pem' "$scratch/nofile.err"; then
  pass "hets-query --ca of a missing file: exit 1, names it"
else
  fail "hets-query --ca of a missing file: exit 1, names it" "exit $rc: $(cat "$scratch/nofile.err")"
fi
for args in "--cert $certs/client1.pem --key $certs/client1.key" "--tls --cert $certs/client1.pem" \
  "--ca $certs/ca.pem"; do
  q usage -p "$tls_port" $HIT $args
  if [ $rc -eq 2 ] && [ "$(lines "$scratch/usage.err")" = 1 ]; then
    pass "hets-query usage error (2): ${args//$certs\//}"
  else
    fail "hets-query usage error (2): ${args//$certs\//}" "exit $rc: $(cat "$scratch/usage.err")"
  fi
done

# -------------------------------------------------------------- hets-load
run() { $limit "$load" --submitter SUBMITTER02 --db "$db" --json "$@"; }
keys='["connections","seconds","requests","tps","latency_us","answers","aaa","errors","unexpected_closes"'

before=$(opens 1)
run -p "$mtls_port" --tls "${client1[@]}" --ca "$certs/ca.pem" -c 4 -n 200 \
  >"$scratch/l_tls.json" 2>"$scratch/l_tls.err"
check "hets-load --tls -c 4 -n 200: 200 answers, no errors" "$scratch/l_tls.json" \
  'd["requests"] == 200 and sum(d["answers"].values()) == 200 and d["errors"] == 0
   and d["unexpected_closes"] == 0'
check "hets-load --tls --json: the documented keys, then handshakes and handshake_us" \
  "$scratch/l_tls.json" \
  "list(d) == $keys"',"handshakes","handshake_us"] and list(d["handshake_us"]) == ["p50","p99"]'
after=$(opens 1)
if [ $((after - before)) -eq 4 ] && [ ! -s "$scratch/l_tls.err" ]; then
  pass "hets-load --tls keeps its 4 connections (4 TLS opens on the server)"
else
  fail "hets-load --tls keeps its 4 connections" "$((after - before)) opens; $(cat "$scratch/l_tls.err")"
fi

before=$(opens 2)
run -p "$tls_port" --tls --ca "$certs/ca.pem" --new-conn -c 4 -n 50 \
  >"$scratch/l_new.json" 2>"$scratch/l_new.err"
check "hets-load --tls --new-conn -n 50: 50 answers, 50 handshakes, no errors" "$scratch/l_new.json" \
  'd["requests"] == 50 and d["handshakes"] == 50 and d["errors"] == 0 and d["unexpected_closes"] == 0
   and d["new_conn"] is True and 0 < d["handshake_us"]["p50"] <= d["handshake_us"]["p99"]'
check "hets-load --tls --new-conn --json: the documented keys, then handshakes, handshake_us, new_conn" \
  "$scratch/l_new.json" "list(d) == $keys"',"handshakes","handshake_us","new_conn"]'
after=$(opens 2)
if [ $((after - before)) -ge 50 ]; then
  pass "hets-load --new-conn: a TLS connection per request on the server ($((after - before)) opens)"
else
  fail "hets-load --new-conn: a TLS connection per request on the server" "$((after - before)) opens"
fi

run -p "$tls_port" --tls --ca "$certs/ca.pem" --new-conn --resume -c 2 -n 50 \
  >"$scratch/l_resume.json" 2>"$scratch/l_resume.err"
check "hets-load --tls --new-conn --resume: sessions resumed" "$scratch/l_resume.json" \
  'd["requests"] == 50 and d["handshakes"] == 50 and d["errors"] == 0 and 25 <= d["resumed"] <= 50'

before=$(opens 0)
run -p "$plain_port" --new-conn -c 4 -n 50 >"$scratch/l_plain_new.json" 2>"$scratch/l_plain_new.err"
check "hets-load --new-conn without TLS: 50 answers, no errors, no TLS keys" "$scratch/l_plain_new.json" \
  'd["requests"] == 50 and d["errors"] == 0 and d["unexpected_closes"] == 0
   and list(d) == '"$keys"',"new_conn"] and d["new_conn"] is True'
after=$(opens 0)
if [ $((after - before)) -ge 50 ]; then
  pass "hets-load --new-conn without TLS: a connection per request ($((after - before)) opens)"
else
  fail "hets-load --new-conn without TLS: a connection per request" "$((after - before)) opens"
fi

run -p "$mtls_port" --tls --ca "$certs/ca.pem" -c 2 -n 6 >"$scratch/l_nocert.json" 2>"$scratch/l_nocert.err"
check "hets-load --tls without a client certificate: every request an error" "$scratch/l_nocert.json" \
  'd["requests"] == 0 and d["errors"] >= 6'
if grep -q "^hets-load: tls 127.0.0.1:$mtls_port: [0-9]* TLS connections failed; the first: handshake: .*certificate required" \
  "$scratch/l_nocert.err"; then
  pass "hets-load --tls without a client certificate: the reason on stderr"
else
  fail "hets-load --tls without a client certificate: the reason on stderr" "$(cat "$scratch/l_nocert.err")"
fi

run -p "$mtls_port" --tls "${client1[@]}" --ca "$certs/ca2.pem" -c 2 -n 6 \
  >"$scratch/l_wrongca.json" 2>"$scratch/l_wrongca.err"
rc=$?
if [ $rc -eq 1 ] && [ ! -s "$scratch/l_wrongca.json" ] &&
  grep -q "^hets-load: tls 127.0.0.1:$mtls_port: handshake: certificate verify failed: .*(no socket connected)" \
    "$scratch/l_wrongca.err"; then
  pass "hets-load --ca of another CA: could not run (1), the verify error"
else
  fail "hets-load --ca of another CA: could not run (1), the verify error" \
    "exit $rc: $(cat "$scratch/l_wrongca.err")"
fi

run -p "$plain_port" --tls -c 2 -n 6 >/dev/null 2>"$scratch/l_onplain.err"
rc=$?
if [ $rc -eq 1 ] && grep -q "handshake: not TLS" "$scratch/l_onplain.err"; then
  pass "hets-load --tls against a plain listener: could not run (1)"
else
  fail "hets-load --tls against a plain listener: could not run (1)" "exit $rc: $(cat "$scratch/l_onplain.err")"
fi

for args in "--cert $certs/client1.pem --key $certs/client1.key" "--tls --key $certs/client1.key" \
  "--resume" "--tls --idle-check"; do
  run -p "$tls_port" -n 1 $args >/dev/null 2>"$scratch/l_usage.err"
  rc=$?
  if [ $rc -eq 2 ] && [ "$(lines "$scratch/l_usage.err")" = 1 ]; then
    pass "hets-load usage error (2): ${args//$certs\//}"
  else
    fail "hets-load usage error (2): ${args//$certs\//}" "exit $rc: $(cat "$scratch/l_usage.err")"
  fi
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
