#!/usr/bin/env bash
# Public-sample suite: every file under tests/fixtures/public/{270,271,999}
# (public 270s, and 271s and 999s that a confused submitter might send us) is
# fed to hets-respond with the fixture store.  Each must get a defined answer:
# exit 0, no crash, nothing on stderr, and on stdout either a HETS error
# record or a whole X12 interchange (ISA ... IEA with consistent counts).
#
# Environment: top_builddir (hets-respond, hets-db), top_srcdir (fixtures);
# both default to two levels above this script.  Prints one line per file
# with the answer kind, then "N passed, N failed"; exits 1 on a failure.

LC_ALL=C
export LC_ALL
here=$(cd "$(dirname "$0")" && pwd)
: "${top_srcdir:=$here/../..}"
: "${top_builddir:=$here/../..}"
fixtures=$top_srcdir/tests/fixtures
respond=$top_builddir/hets-respond
hetsdb=$top_builddir/hets-db
today=2026-11-23

scratch=$(mktemp -d "${TMPDIR:-/tmp}/ohets-public.XXXXXX") || exit 99
trap 'rm -rf "$scratch"' EXIT
trap 'exit 130' INT TERM

for tool in "$respond" "$hetsdb"; do
  if [ ! -x "$tool" ]; then
    echo "public: $tool is missing (build it first)" >&2
    exit 99
  fi
done

. "$top_srcdir/tests/x12lib.sh"

store=$scratch/store.db
if ! "$hetsdb" --db "$store" import "$fixtures/store.jsonl" >/dev/null 2>"$scratch/import.err"; then
  echo "public: hets-db import of the fixture store failed:" >&2
  cat "$scratch/import.err" >&2
  exit 1
fi

# to_cms FILE OUT: FILE with its ISA08 set to CMS, when its ISA is readable
# at fixed positions; most public samples are addressed to someone else and
# would stop at TA1 008 otherwise.  Returns 1 when FILE has no such ISA.
to_cms() {
  head_of "$1" 106
  [ "${REPLY:0:3}" = ISA ] && [ ${#REPLY} -eq 106 ] || return 1
  local e=${REPLY:3:1}
  [ "${REPLY:53:1}" = "$e" ] && [ "${REPLY:69:1}" = "$e" ] || return 1
  { head -c 54 "$1"; printf 'CMS            '; tail -c +70 "$1"; } >"$2"
}

passed=0
failed=0
run_case() { # $1: request file, $2: name to print
  local req=$1 name=$2
  local ans=$scratch/answer why=$scratch/why kind rc
  : >"$why"

  $limit "$respond" --db "$store" --today "$today" "$req" >"$ans" 2>"$scratch/err"
  rc=$?
  if [ "$rc" -eq 124 ] && [ -n "$limit" ]; then
    echo "did not finish within 30 s" >>"$why"
  elif [ "$rc" -ge 128 ]; then
    echo "crashed (exit $rc)" >>"$why"
  elif [ "$rc" -ne 0 ]; then
    echo "exit $rc" >>"$why"
  fi
  if [ -s "$scratch/err" ]; then
    echo "stderr: $(head -n 1 "$scratch/err" | cut -c1-80)" >>"$why"
  fi

  kind=none
  head_of "$ans" 106
  if [ ! -s "$ans" ]; then
    echo "empty answer" >>"$why"
  elif [ "${REPLY:0:4}" = HETS ]; then
    kind="HETS ${REPLY:53:8}"
    [ "$(wc -c <"$ans")" -ge 64 ] || echo "HETS record too short" >>"$why"
  elif [ "${REPLY:0:3}" = ISA ] && [ ${#REPLY} -eq 106 ]; then
    normalise "$ans" >"$scratch/norm"
    if grep -q '^ST\*271\*' "$scratch/norm"; then
      kind="271 $(grep '^AAA\*' "$scratch/norm" | cut -d'*' -f4 | paste -sd, -)"
    elif grep -q '^ST\*999\*' "$scratch/norm"; then
      kind="999 $(grep '^AK9\*' "$scratch/norm" | head -n 1)"
    elif grep -q '^TA1\*' "$scratch/norm"; then
      kind="TA1 $(grep '^TA1\*' "$scratch/norm" | head -n 1 | cut -d'*' -f5,6)"
    else
      kind=X12
      echo "interchange holds no 271, 999 or TA1" >>"$why"
    fi
    check_x12 "$scratch/norm" >>"$why"
  else
    echo "answer is neither a HETS record nor an ISA interchange" >>"$why"
  fi

  if [ -s "$why" ]; then
    echo "FAIL $name ($kind): $(paste -sd ';' "$why" | sed 's/;/; /g')"
    failed=$((failed + 1))
  else
    echo "PASS $name: $kind"
    passed=$((passed + 1))
  fi
}

for req in "$fixtures"/public/270/* "$fixtures"/public/271/* "$fixtures"/public/999/*; do
  [ -f "$req" ] || continue
  name=${req#"$fixtures"/public/}
  run_case "$req" "$name"
  if to_cms "$req" "$scratch/to-cms"; then
    run_case "$scratch/to-cms" "$name (ISA08 set to CMS)"
  fi
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
