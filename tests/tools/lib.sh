# tests/tools/lib.sh: what the tools' tests against the real openhetsd
# share.  Sourced (bash) after setting NAME (the test's name, for messages);
# sets LC_ALL, top_srcdir, top_builddir (both default to two levels above
# this file), daemon, hetsdb, query, load, fix, limit and scratch (removed
# at exit, with the daemon stopped).
#
#   need_tools TOOL...      exit 99 when one is not built
#   need_commands CMD...    exit 77 (skip) when one is not installed
#   pass WHAT / fail WHAT WHY, and summary (the last line; its status)
#   check WHAT FILE EXPR    EXPR (Python, over the JSON object d in FILE) holds
#   start_daemon N ARGS...  openhetsd ARGS --log $scratch/session.log; waits
#                           for N `listen` events; ports[i] is listener i's
#   lines FILE              its number of lines

LC_ALL=C
export LC_ALL
lib_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${top_srcdir:=$lib_here/../..}"
: "${top_builddir:=$lib_here/../..}"
daemon=$top_builddir/openhetsd
hetsdb=$top_builddir/hets-db
query=$top_builddir/hets-query
load=$top_builddir/hets-load
fix=$top_srcdir/tests/fixtures

need_tools() {
  local tool
  for tool in "$@"; do
    if [ ! -x "$tool" ]; then
      echo "$NAME: $tool is missing (build it first)" >&2
      exit 99
    fi
  done
}

need_commands() {
  local cmd
  for cmd in "$@"; do
    if ! command -v "$cmd" >/dev/null 2>&1; then
      echo "$NAME: $cmd not found; skipped" >&2
      exit 77
    fi
  done
}

limit=
if command -v timeout >/dev/null 2>&1; then
  limit="timeout 60"
fi

scratch=$(mktemp -d "${TMPDIR:-/tmp}/ohets-$NAME.XXXXXX") || exit 99
daemon_pid=
lib_cleanup() {
  if [ -n "$daemon_pid" ]; then
    kill -TERM "$daemon_pid" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$daemon_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$daemon_pid" 2>/dev/null
  fi
  rm -rf "$scratch"
}
trap lib_cleanup EXIT
trap 'exit 130' INT TERM

passed=0
failed=0
pass() { echo "PASS $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1: $2"; failed=$((failed + 1)); }
summary() {
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ]
}

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

lines() { wc -l <"$1" | tr -d ' '; }

ports=()
start_daemon() {
  local want=$1 got=
  shift
  log=$scratch/session.log
  "$daemon" "$@" --log "$log" >"$scratch/daemon.out" 2>&1 </dev/null &
  daemon_pid=$!
  for _ in $(seq 100); do
    got=$(python3 -c '
import json, sys
p = {}
for line in open(sys.argv[1]):
    try: e = json.loads(line)
    except ValueError: continue
    if e.get("event") == "listen": p[e["listener"]] = e["port"]
if len(p) == int(sys.argv[2]): print(" ".join(str(p[i]) for i in sorted(p)))
' "$log" "$want" 2>/dev/null)
    [ -n "$got" ] && break
    kill -0 "$daemon_pid" 2>/dev/null || break
    sleep 0.1
  done
  if [ -z "$got" ]; then
    echo "$NAME: openhetsd gave no $want listen events within 10 s: $(cat "$scratch/daemon.out")" >&2
    exit 99
  fi
  read -r -a ports <<<"$got"
}
