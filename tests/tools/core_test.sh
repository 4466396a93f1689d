#!/usr/bin/env bash
# hets-query --core and hets-load --core against the real openhetsd's CAQH
# CORE door (DESIGN §13), SOAP and MIME.  Certificates from
# tests/tls/mkcerts.sh; one core listener on 127.0.0.1 port 0 (TLS, client
# certificates optional); partners:
#   SUBMITTER01  client1's certificate
#   SUBMITTER02  client2's certificate
#   SUBMITTER03  the user alice (password in OPENHETS_PASSWORD, an scrypt PHC
#                string in partners.json)
# the fixture store, --today 2026-11-23.  The session log's `request` events
# show what reached the server (door, envelope, payload_id).
#
# Environment: top_builddir, top_srcdir (see tests/tools/lib.sh).  Prints
# "PASS what" or "FAIL what: why" per check, then "N passed, N failed";
# exits 1 on a failure, 77 (skip) without python3 or the openssl command.

NAME=core_test
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
need_tools "$daemon" "$hetsdb" "$query" "$load"
need_commands python3 openssl

# ------------------------------------------------ certificates, store, daemon
certs=$scratch/certs
if ! "$top_srcdir/tests/tls/mkcerts.sh" "$certs" >"$scratch/mkcerts.out" 2>&1; then
  echo "$NAME: mkcerts.sh failed: $(cat "$scratch/mkcerts.out")" >&2
  exit 99
fi
db=$scratch/store.db
if ! "$hetsdb" --db "$db" import "$fix/store.jsonl" >/dev/null 2>"$scratch/import.err"; then
  echo "$NAME: hets-db import failed: $(cat "$scratch/import.err")" >&2
  exit 99
fi
fp() { openssl x509 -in "$certs/$1.pem" -noout -fingerprint -sha256 | sed 's/.*=//'; }
password='correct horse battery staple'
phc=$(printf '%s' "$password" | "$daemon" --hash-password 2>/dev/null)
case $phc in
'$scrypt$'*) ;;
*) echo "$NAME: openhetsd --hash-password gave no PHC string: $phc" >&2; exit 99 ;;
esac
cat >"$scratch/partners.json" <<EOF
{"partners":[
  {"submitter":"SUBMITTER01","networks":["127.0.0.0/8"],"npis":["1234567893","1987654328"],
   "certs":["$(fp client1)"]},
  {"submitter":"SUBMITTER02","networks":["127.0.0.0/8"],"certs":["$(fp client2)"]},
  {"submitter":"SUBMITTER03","networks":["127.0.0.0/8"],
   "users":[{"username":"alice","password":"$phc"}]}
]}
EOF
cat >"$scratch/settings.json" <<EOF
{"listen": [
  {"host": "127.0.0.1", "port": 0, "protocol": "core",
   "tls": {"cert": "$certs/server.pem", "key": "$certs/server.key", "ca": "$certs/ca.pem",
           "client_cert": "optional"}}
]}
EOF
start_daemon 1 -c "$scratch/settings.json" --db "$db" --partners "$scratch/partners.json" \
  --today 2026-11-23
port=${ports[0]}
base=https://127.0.0.1:$port/eligibility/realtime

# requests EXPR: how many `request` events e in the session log make the
# Python expression true.
requests() {
  python3 -c '
import json, sys
n = 0
for line in open(sys.argv[1]):
    try: e = json.loads(line)
    except ValueError: continue
    if e.get("event") == "request" and eval("(" + sys.argv[2] + ")", {"e": e}): n += 1
print(n)
' "$log" "$1"
}
opens() { grep -c '"event":"open"' "$log"; }

HIT="--mbi 1EG4TE5MK73 --last QUILLFEATHER --first JANE --dob 19400101 --date 20261123"
MISS="--mbi 8XY1AC2DE78 --last QUILLFEATHER --first JANE --dob 19400101 --date 20261123"
BAD999=$top_srcdir/tests/conformance/cases/27_999_dtp_bad_date.x12
ca=(--ca "$certs/ca.pem")
client1=(--cert "$certs/client1.pem" --key "$certs/client1.key" "${ca[@]}")
client2=(--cert "$certs/client2.pem" --key "$certs/client2.key" "${ca[@]}")
# q NAME ARGS...: hets-query; stdout in $scratch/NAME.out, stderr in NAME.err,
# status in $rc.
q() {
  local name=$1
  shift
  $limit "$query" "$@" >"$scratch/$name.out" 2>"$scratch/$name.err"
  rc=$?
}
quiet() { [ ! -s "$scratch/$1.err" ]; }
UUID4='^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$'

# ------------------------------------------------------------- hets-query
for kind in soap mime; do
  url=$base/$kind
  q hit_$kind --core $kind --url "$url" "${client1[@]}" $HIT --raw
  if [ $rc -eq 0 ] && quiet hit_$kind && grep -q 'ST\*271\*' "$scratch/hit_$kind.out" &&
    grep -q 'EB\*1\*\*30\*MA' "$scratch/hit_$kind.out" && ! grep -q 'AAA\*' "$scratch/hit_$kind.out"; then
    pass "hets-query --core $kind --raw: a hit's 271, nothing on stderr"
  else
    fail "hets-query --core $kind --raw: a hit's 271" "exit $rc: $(cat "$scratch/hit_$kind.err")"
  fi

  q json_$kind --core $kind --url "$url" "${client1[@]}" $HIT --json
  check "hets-query --core $kind --json: the 271 decoded, with \"core\"" "$scratch/json_$kind.out" \
    'd["answer"] == "271" and d["core"]["http_status"] == 200 and d["core"]["error_code"] == "Success"
     and d["core"]["payload_type"] == "X12_271_Response_005010X279A1"
     and __import__("re").match(r"'"$UUID4"'", d["core"]["payload_id"]) is not None
     and sorted(d["core"]) == ["error_code","error_message","http_status","payload_id","payload_type"]'
  id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["core"]["payload_id"])' \
    "$scratch/json_$kind.out" 2>/dev/null)
  n=$(requests 'e.get("door") == "core" and e.get("envelope") == "'$kind'" and e.get("payload_id") == "'"$id"'"
                and e.get("http_status") == 200 and e.get("answer") == "271"')
  if [ "$n" = 1 ]; then
    pass "the server logged that request: door core, envelope $kind, our PayloadID, 271"
  else
    fail "the server logged that request: door core, envelope $kind, our PayloadID, 271" \
      "$n events; the last: $(grep '"event":"request"' "$log" | tail -1)"
  fi

  q miss_$kind --core $kind --url "$url" "${client1[@]}" $MISS
  if [ $rc -eq 0 ] && quiet miss_$kind && grep -q '75' "$scratch/miss_$kind.out" &&
    grep -qi 'not found' "$scratch/miss_$kind.out"; then
    pass "hets-query --core $kind: a miss's summary (AAA 75 in words)"
  else
    fail "hets-query --core $kind: a miss's summary" "exit $rc: $(cat "$scratch/miss_$kind.out" "$scratch/miss_$kind.err")"
  fi

  q e999_$kind --core $kind --url "$url" "${client1[@]}" "$BAD999"
  if [ $rc -eq 0 ] && quiet e999_$kind &&
    grep -q '^999 acknowledgment: rejected (AK901 R)' "$scratch/e999_$kind.out" &&
    grep -q 'element DTP03' "$scratch/e999_$kind.out"; then
    pass "hets-query --core $kind FILE: the 999 in words"
  else
    fail "hets-query --core $kind FILE: the 999 in words" "exit $rc: $(head -3 "$scratch/e999_$kind.out") $(cat "$scratch/e999_$kind.err")"
  fi

  # client1 is SUBMITTER01's; a 270 from SUBMITTER02 is not its to send.
  q sender_$kind --core $kind --url "$url" "${client1[@]}" --submitter SUBMITTER02 $HIT
  if [ $rc -eq 1 ] && [ ! -s "$scratch/sender_$kind.out" ] && [ "$(lines "$scratch/sender_$kind.err")" = 1 ] &&
    grep -q '^hets-query: core: HTTP 403 UnAuthorized: .' "$scratch/sender_$kind.err"; then
    pass "hets-query --core $kind, a SenderID not the certificate's: one line, exit 1 ($(cat "$scratch/sender_$kind.err"))"
  else
    fail "hets-query --core $kind, a SenderID not the certificate's: one 403 line, exit 1" \
      "exit $rc: $(cat "$scratch/sender_$kind.err")"
  fi
  q senderj_$kind --core $kind --url "$url" "${client1[@]}" --submitter SUBMITTER02 $HIT --json
  if [ $rc -eq 1 ]; then
    check "hets-query --core $kind --json of a 403: the \"core\" object" "$scratch/senderj_$kind.out" \
      'd["core"]["http_status"] == 403 and d["core"]["error_code"] == "UnAuthorized"
       and d["core"]["error_message"]'
  else
    fail "hets-query --core $kind --json of a 403: exit 1" "exit $rc"
  fi

  OPENHETS_PASSWORD=$password q user_$kind --core $kind --url "$url" "${ca[@]}" --user alice \
    --submitter SUBMITTER03 $HIT --raw
  if [ $rc -eq 0 ] && quiet user_$kind && grep -q 'EB\*1\*\*30\*MA' "$scratch/user_$kind.out"; then
    pass "hets-query --core $kind --user with OPENHETS_PASSWORD (no certificate): the 271"
  else
    fail "hets-query --core $kind --user with OPENHETS_PASSWORD: the 271" "exit $rc: $(cat "$scratch/user_$kind.err")"
  fi

  OPENHETS_PASSWORD=wrong q badpw_$kind --core $kind --url "$url" "${ca[@]}" --user alice \
    --submitter SUBMITTER03 $HIT
  if [ $rc -eq 1 ] && [ "$(lines "$scratch/badpw_$kind.err")" = 1 ] &&
    grep -q '^hets-query: core: HTTP 403 UnAuthorized' "$scratch/badpw_$kind.err"; then
    pass "hets-query --core $kind --user with a wrong password: 403, exit 1"
  else
    fail "hets-query --core $kind --user with a wrong password: 403, exit 1" "exit $rc: $(cat "$scratch/badpw_$kind.err")"
  fi

  q nocred_$kind --core $kind --url "$url" "${ca[@]}" --submitter SUBMITTER03 $HIT
  if [ $rc -eq 1 ] && [ "$(lines "$scratch/nocred_$kind.err")" = 1 ] &&
    grep -q '^hets-query: core: HTTP 401 UnAuthorized' "$scratch/nocred_$kind.err"; then
    pass "hets-query --core $kind with no credential: 401, exit 1"
  else
    fail "hets-query --core $kind with no credential: 401, exit 1" "exit $rc: $(cat "$scratch/nocred_$kind.err")"
  fi
done

q notfound --core soap --url "https://127.0.0.1:$port/nowhere" "${client1[@]}" $HIT
if [ $rc -eq 1 ] && [ "$(lines "$scratch/notfound.err")" = 1 ] &&
  grep -q '^hets-query: core: HTTP 404 ' "$scratch/notfound.err"; then
  pass "hets-query --core, a wrong path: the plain HTTP error in one line"
else
  fail "hets-query --core, a wrong path: the plain HTTP error in one line" "exit $rc: $(cat "$scratch/notfound.err")"
fi

for args in "--core soap --url http://127.0.0.1:$port/eligibility/realtime/soap" \
  "--core soap --url $base/soap -p $port" "--core soap --url $base/soap -H 127.0.0.1" \
  "--core soap" "--url $base/soap" "--core xml --url $base/soap" \
  "--core soap --url $base/soap --user alice" "--user alice -p $port" \
  "--core mime --url $base/mime --unwrapped"; do
  env -u OPENHETS_PASSWORD $limit "$query" $args $HIT >/dev/null 2>"$scratch/usage.err"
  rc=$?
  if [ $rc -eq 2 ] && [ "$(lines "$scratch/usage.err")" = 1 ]; then
    pass "hets-query usage error (2): $args"
  else
    fail "hets-query usage error (2): $args" "exit $rc: $(cat "$scratch/usage.err")"
  fi
done

# -------------------------------------------------------------- hets-load
keys='["connections","seconds","requests","tps","latency_us","answers","aaa","errors","unexpected_closes","handshakes","handshake_us","core_errors"]'
run() { $limit "$load" --db "$db" --json "$@"; }
for kind in soap mime; do
  url=$base/$kind
  before_req=$(requests 'e.get("envelope") == "'$kind'"')
  before_open=$(opens)
  run --core $kind --url "$url" "${client2[@]}" --submitter SUBMITTER02 -n 200 -c 4 \
    >"$scratch/l_$kind.json" 2>"$scratch/l_$kind.err"
  check "hets-load --core $kind -n 200 -c 4: 200 answers that add up, no errors" "$scratch/l_$kind.json" \
    'd["requests"] == 200 and sum(d["answers"].values()) == 200 and d["answers"]["271"] > 0
     and d["answers"]["999"] > 0 and d["errors"] == 0 and d["unexpected_closes"] == 0
     and d["core_errors"] == {}'
  check "hets-load --core $kind --json: the documented keys, the TLS ones, then core_errors" \
    "$scratch/l_$kind.json" "list(d) == $keys"
  after_req=$(requests 'e.get("envelope") == "'$kind'"')
  after_open=$(opens)
  if [ $((after_req - before_req)) -eq 200 ] && [ $((after_open - before_open)) -eq 4 ] &&
    [ ! -s "$scratch/l_$kind.err" ]; then
    pass "hets-load --core $kind: 200 $kind requests on the server over 4 keep-alive connections"
  else
    fail "hets-load --core $kind: 200 requests over 4 connections" \
      "$((after_req - before_req)) requests, $((after_open - before_open)) opens; $(cat "$scratch/l_$kind.err")"
  fi

  run --core $kind --url "$url" "${client1[@]}" --submitter SUBMITTER02 -n 20 -c 2 \
    >"$scratch/l_sender_$kind.json" 2>"$scratch/l_sender_$kind.err"
  check "hets-load --core $kind, a SenderID not the certificate's: errors by ErrorCode" \
    "$scratch/l_sender_$kind.json" \
    'd["requests"] == 0 and d["errors"] == 20 and d["core_errors"] == {"UnAuthorized": 20}'

  OPENHETS_PASSWORD=$password run --core $kind --url "$url" "${ca[@]}" --user alice \
    --submitter SUBMITTER03 -n 50 -c 2 >"$scratch/l_user_$kind.json" 2>"$scratch/l_user_$kind.err"
  check "hets-load --core $kind --user: 50 answers, no errors" "$scratch/l_user_$kind.json" \
    'd["requests"] == 50 and d["errors"] == 0 and d["core_errors"] == {}'
done

run --core soap --url "https://127.0.0.1:$port/nowhere" "${client2[@]}" --submitter SUBMITTER02 \
  -n 10 -c 1 >"$scratch/l_404.json" 2>"$scratch/l_404.err"
check "hets-load --core, a wrong path: HTTP errors counted as http_404" "$scratch/l_404.json" \
  'd["requests"] == 0 and d["errors"] == 10 and d["core_errors"] == {"http_404": 10}'

for args in "--core soap --url http://127.0.0.1:$port/x" "--core mime --url $base/mime -p $port" \
  "--core soap --url $base/soap --idle-check" "--url $base/soap" \
  "--core soap --url $base/soap --user alice"; do
  env -u OPENHETS_PASSWORD $limit "$load" --db "$db" -n 1 $args >/dev/null 2>"$scratch/l_usage.err"
  rc=$?
  if [ $rc -eq 2 ] && [ "$(lines "$scratch/l_usage.err")" = 1 ]; then
    pass "hets-load usage error (2): $args"
  else
    fail "hets-load usage error (2): $args" "exit $rc: $(cat "$scratch/l_usage.err")"
  fi
done

summary
