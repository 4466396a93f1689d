#!/usr/bin/env bash
# Conformance suite: runs hets-respond on every case of expect.tsv against the
# fixture store and partner list, and checks each answer against its row.
# The row format is described in tests/conformance/README.md.
#
# Environment: top_builddir (hets-respond, hets-db), top_srcdir (fixtures);
# both default to two levels above this script.  Prints "PASS file" or
# "FAIL file: why" per case, then "N passed, N failed"; exits 1 on a failure.

LC_ALL=C
export LC_ALL
here=$(cd "$(dirname "$0")" && pwd)
: "${top_srcdir:=$here/../..}"
: "${top_builddir:=$here/../..}"
suite=$top_srcdir/tests/conformance
fixtures=$top_srcdir/tests/fixtures
respond=$top_builddir/hets-respond
hetsdb=$top_builddir/hets-db
today=2026-11-23

scratch=$(mktemp -d "${TMPDIR:-/tmp}/ohets-conformance.XXXXXX") || exit 99
trap 'rm -rf "$scratch"' EXIT
trap 'exit 130' INT TERM

for tool in "$respond" "$hetsdb"; do
  if [ ! -x "$tool" ]; then
    echo "conformance: $tool is missing (build it first)" >&2
    exit 99
  fi
done

# --------------------------------------------------------------- helpers

. "$top_srcdir/tests/x12lib.sh"

# field NORMFILE SEGID N: element N of the first SEGID segment.
field() {
  awk -F'*' -v id="$2" -v n="$3" '$1 == id { print $(n + 1); exit }' "$1"
}

trim() {
  printf '%s' "$1" | sed -e 's/^ *//' -e 's/ *$//'
}


# aaa_list NORMFILE: "loop:code:aaa01:aaa04" of every AAA of a 271, the loop
# told by the HL level (20 A, 21 B, 22 C, 23 D) and the position in it.
aaa_list() {
  awk -F'*' '
    $1 == "HL" { lv = ($4 == "20") ? "A" : ($4 == "21") ? "B" : ($4 == "22") ? "C" : ($4 == "23") ? "D" : "?"; pos = "2000"; next }
    $1 == "NM1" && pos == "2000" { pos = "2100"; next }
    $1 == "EB" { pos = "2110"; next }
    $1 == "AAA" { print pos lv ":" $4 ":" $2 ":" $5 }
  ' "$1"
}

# check_token TOKEN ANSWERFILE NORMFILE REQISA13: one "codes" token; prints a
# problem or nothing.
check_token() {
  local tok=$1 ans=$2 norm=$3 rec got want rest t104 t105 seg first s c p
  tok=$1 ans=$2 norm=$3
  head_of "$ans" 64
  rec=$REPLY
  case $tok in
  HETS:*)
    got=${rec:53:8}
    [ "$got" = "${tok#HETS:}" ] || echo "HETS code is \"$got\", want ${tok#HETS:}"
    ;;
  TRACE:blank)
    got=${rec:4:30}
    [ "$got" = "                              " ] || echo "trace is \"$got\", want blanks"
    ;;
  TRACE:*)
    got=${rec:4:30}
    want=$(printf '%30s' "${tok#TRACE:}")
    [ "$got" = "$want" ] || echo "trace is \"$got\", want \"$want\""
    ;;
  TA1:*)
    rest=${tok#TA1:}
    t104=${rest%%:*} t105=${rest#*:}
    awk -F'*' -v a="$t104" -v c="$t105" -v ctl="$4" -v tok="$tok" '
      $1 == "GS" && !seen_gs { seen_gs = NR }
      $1 == "TA1" && $5 == a && $6 == c { hit = NR; t101 = $2 }
      END {
        if (!hit) { print "no TA1 with TA104 " a " and TA105 " c; exit }
        if (length(ctl) == 9 && ctl !~ /[^0-9]/ && t101 != ctl) print "TA101 " t101 " is not the request ISA13 " ctl
        if (seen_gs && seen_gs < hit) print "TA1 follows the GS"
        if (a == "A" && !seen_gs) print "accepted TA1 without the GS of the answer"
      }' "$norm"
    ;;
  AK9:* | IK5:*)
    seg=${tok%%:*}
    grep -Eq "^$seg\\*${tok#*:}(\\*|\$)" "$norm" || echo "no $seg with code ${tok#*:}"
    ;;
  AK905:* | IK502:*)
    case $tok in AK905:*) seg=AK9 first=6 ;; *) seg=IK5 first=3 ;; esac
    awk -F'*' -v s="$seg" -v f="$first" -v c="${tok#*:}" '
      $1 == s { for (i = f; i <= NF; i++) if ($i == c) hit = 1 }
      END { if (!hit) print "no " s " with syntax error code " c }' "$norm"
    ;;
  IK3:*)
    rest=${tok#IK3:}
    s=${rest%%:*} c=
    case $rest in *:*) c=${rest#*:} ;; esac
    awk -F'*' -v s="$s" -v c="$c" '
      $1 == "IK3" && (s == "*" || $2 == s) && (c == "" || $5 == c) { hit = 1 }
      END { if (!hit) print "no IK3 for segment " s (c == "" ? "" : " with IK304 " c) }' "$norm"
    ;;
  IK4:*)
    rest=${tok#IK4:}
    p=${rest%%:*} c=
    case $rest in *:*) c=${rest#*:} ;; esac
    awk -F'*' -v p="$p" -v c="$c" '
      $1 == "IK4" { split($2, pos, ":"); if (pos[1] == p && (c == "" || $4 == c)) hit = 1 }
      END { if (!hit) print "no IK4 for element " p (c == "" ? "" : " with IK403 " c) }' "$norm"
    ;;
  AAA:*)
    # AAA tokens are gathered by the caller and compared as a whole.
    ;;
  *)
    echo "unknown token $tok in expect.tsv"
    ;;
  esac
}

# check_aaa NORMFILE TOKENS: the AAA segments must be exactly those listed.
check_aaa() {
  local want got t key
  want=$(for t in $2; do
    case $t in AAA:*) printf '%s\n' "$t" | cut -d: -f2,3 ;; esac
  done | sort)
  got=$(aaa_list "$1" | cut -d: -f1,2 | sort)
  if [ "$want" != "$got" ]; then
    echo "AAA are [$(printf '%s' "$got" | tr '\n' ' ')], want [$(printf '%s' "$want" | tr '\n' ' ')]"
  fi
  for t in $2; do
    case $t in
    AAA:*:*:*:*) # AAA:loop:code:aaa01:aaa04
      key=$(printf '%s' "$t" | cut -d: -f2-)
      aaa_list "$1" | grep -qx "$key" || echo "no AAA $key (loop:code:AAA01:AAA04)"
      ;;
    AAA:*:*:*)
      key=$(printf '%s' "$t" | cut -d: -f2-)
      aaa_list "$1" | cut -d: -f1-3 | grep -qx "$key" || echo "no AAA $key (loop:code:AAA01)"
      ;;
    esac
  done
}

# --------------------------------------------------------------- store

store=$scratch/store.db
if ! "$hetsdb" --db "$store" import "$fixtures/store.jsonl" \
    >"$scratch/import.out" 2>"$scratch/import.err"; then
  echo "conformance: hets-db import of the fixture store failed:" >&2
  cat "$scratch/import.err" >&2
  exit 1
fi
for mbi in $(grep -oE '"mbi":"[^"]*"' "$fixtures/store.jsonl" | cut -d'"' -f4); do
  if grep -qF "$mbi" "$scratch/import.err"; then
    echo "FAIL hets-db import: an MBI appears on stderr"
    echo "0 passed, 1 failed"
    exit 1
  fi
done

# --------------------------------------------------------------- cases

passed=0
failed=0
tab=$(printf '\t')

while IFS= read -r row; do
  case $row in '' | '#'*) continue ;; esac
  file=${row%%"$tab"*}
  rest=${row#*"$tab"}
  kind=${rest%%"$tab"*}
  rest=${rest#*"$tab"}
  codes=${rest%%"$tab"*}
  case $rest in *"$tab"*) pats=${rest#*"$tab"} ;; *) pats= ;; esac
  [ "$codes" = - ] && codes=
  codes=$(printf '%s' "$codes" | tr ',' ' ')

  req=$suite/cases/$file
  ans=$scratch/answer
  why=$scratch/why
  : >"$why"
  if [ ! -f "$req" ]; then
    echo "FAIL $file: case file missing"
    failed=$((failed + 1))
    continue
  fi

  $limit "$respond" --db "$store" --partners "$fixtures/partners.json" --today "$today" \
    "$req" >"$ans" 2>"$scratch/err"
  rc=$?
  if [ "$rc" -eq 124 ] && [ -n "$limit" ]; then
    echo "hets-respond did not finish within 30 s" >>"$why"
  elif [ "$rc" -ge 128 ]; then
    echo "hets-respond crashed (exit $rc)" >>"$why"
  elif [ "$rc" -ne 0 ]; then
    echo "hets-respond exited $rc" >>"$why"
  fi

  # What the request said, to compare with the answer and to find PHI.
  req_sub='' req_isa13='' req_es='' req_ss='' req_bht03='' phi=''

  if has_isa "$req"; then
    req_sub=$(trim "${REPLY:35:15}")
    req_isa13=${REPLY:90:9}
    req_es=${REPLY:3:1}
    req_ss=${REPLY:105:1}
    normalise "$req" >"$scratch/req.norm"
    req_bht03=$(field "$scratch/req.norm" BHT 3)
    phi=$(awk -F'*' '$1 == "NM1" && $2 == "IL" { print $4; print $10 } $1 == "DMG" { print $3 }' \
      "$scratch/req.norm")
  fi
  if [ -s "$scratch/err" ] && [ -n "$phi" ]; then
    printf '%s\n' "$phi" | while IFS= read -r v; do
      [ ${#v} -ge 3 ] || continue
      if grep -qwF -e "$v" "$scratch/err"; then
        echo "PHI (name, MBI or date of birth) on stderr" >>"$why"
        break
      fi
    done
  fi

  # Kind of answer.
  got=none
  head_of "$ans" 106
  ans_head=$REPLY
  if [ ! -s "$ans" ]; then
    echo "empty answer" >>"$why"
  elif [ "${ans_head:0:4}" = HETS ]; then
    got=HETS
  elif has_isa "$ans"; then
    normalise "$ans" >"$scratch/ans.norm"
    if grep -q '^ST\*271\*' "$scratch/ans.norm"; then
      got=271
    elif grep -q '^ST\*999\*' "$scratch/ans.norm"; then
      got=999
    elif grep -q '^TA1\*' "$scratch/ans.norm"; then
      got=TA1
    else
      got=X12
    fi
  else
    got=unknown
  fi
  if [ "$got" != "$kind" ] && [ "$got" != none ]; then
    echo "answer is $got, want $kind" >>"$why"
  fi

  if [ "$got" = HETS ]; then
    # Fixed positions of DESIGN §3.2.
    len=$(wc -c <"$ans")
    [ "$len" -ge 64 ] || echo "HETS record only $len bytes" >>"$why"
    case ${ans_head:34:17} in
    *[!0-9]* | '') echo "HETS date/time not digits" >>"$why" ;;
    esac
    [ "${ans_head:51:2}" = " I" ] || echo "HETS response code is not \" I\"" >>"$why"
    [ "${ans_head:61:3}" = " - " ] || echo "HETS record lacks \" - \" before the text" >>"$why"
  fi

  if [ "$got" = 271 ] || [ "$got" = 999 ] || [ "$got" = TA1 ] || [ "$got" = X12 ]; then
    norm=$scratch/ans.norm
    check_x12 "$norm" "$req_sub" >>"$why"
    if [ -n "$req_es" ]; then
      [ "${ans_head:3:1}" = "$req_es" ] || echo "element separator not mirrored" >>"$why"
      [ "${ans_head:105:1}" = "$req_ss" ] || echo "segment terminator not mirrored" >>"$why"
    fi
    case $got in
    271)
      grep -Eq '^GS\*HB\*.*\*005010X279A1$' "$norm" || echo "GS is not HB ... 005010X279A1" >>"$why"
      grep -Eq '^ST\*271\*[^*]*\*005010X279A1$' "$norm" || echo "ST03 is not 005010X279A1" >>"$why"
      [ "$(grep -c '^ST\*' "$norm")" -eq 1 ] || echo "more than one ST in the 271" >>"$why"
      bht=$(grep -E '^BHT\*' "$norm" | head -n 1)
      case $bht in
      "BHT*0022*11*$req_bht03*"* | "BHT*0022*11*$req_bht03") ;;
      *) echo "BHT is \"$bht\", want BHT*0022*11*$req_bht03" >>"$why" ;;
      esac
      grep -Eq '^NM1\*PR\*2\*CMS\*\*\*\*\*PI\*CMS$' "$norm" || echo "no NM1*PR*2*CMS*****PI*CMS" >>"$why"
      check_aaa "$norm" "$codes" >>"$why"
      # DESIGN §6: 2000B echoes the provider, 2000C every TRN as TRN*2 plus
      # one TRN*1 of CMS's own.
      if grep -q '^HL\*[^*]*\*[^*]*\*21' "$norm"; then
        prov=$(awk -F'*' '$1 == "HL" { lv = $4 } $1 == "NM1" && lv == "21" { print; exit }' "$scratch/req.norm")
        [ -z "$prov" ] || grep -qxF -e "$prov" "$norm" || echo "2100B does not echo $prov" >>"$why"
      fi
      if grep -q '^HL\*[^*]*\*[^*]*\*22' "$norm"; then
        grep '^TRN\*1\*' "$scratch/req.norm" | sed 's/^TRN\*1\*/TRN*2*/' | while IFS= read -r trn; do
          grep -qxF -e "$trn" "$norm" || echo "2000C does not echo the request TRN as $trn" >>"$why"
        done
        n=$(grep -c '^TRN\*1\*' "$norm")
        [ "$n" -eq 1 ] || echo "$n TRN*1 in the answer, want CMS's one" >>"$why"
      fi
      ;;
    999)
      grep -Eq '^GS\*FA\*.*\*005010X231A1$' "$norm" || echo "GS is not FA ... 005010X231A1" >>"$why"
      grep -Eq '^ST\*999\*[^*]*\*005010X231A1$' "$norm" || echo "ST03 is not 005010X231A1" >>"$why"
      grep -q '^AK1\*' "$norm" || echo "no AK1" >>"$why"
      grep -q '^AK9\*' "$norm" || echo "no AK9" >>"$why"
      ;;
    TA1)
      grep -q '^GS\*' "$norm" && echo "TA1 answer holds a GS" >>"$why"
      ;;
    esac
  fi

  if [ "$got" = "$kind" ]; then
    for t in $codes; do
      check_token "$t" "$ans" "$scratch/ans.norm" "$req_isa13" >>"$why"
    done
    if [ -n "$pats" ]; then
      printf '%s\n' "$pats" | tr '\t' '\n' >"$scratch/pats"
      while IFS= read -r p; do
        [ -n "$p" ] || continue
        case $p in
        '!'*)
          grep -Eq -e "${p#!}" "$scratch/ans.norm" && echo "unwanted segment matching ${p#!}" >>"$why"
          ;;
        '#'*:*)
          n=${p%%:*}
          n=${n#\#}
          re=${p#*:}
          c=$(grep -Ec -e "$re" "$scratch/ans.norm")
          [ "$c" -eq "$n" ] || echo "$c segments match $re, want $n" >>"$why"
          ;;
        *)
          grep -Eq -e "$p" "$scratch/ans.norm" || echo "no segment matching $p" >>"$why"
          ;;
        esac
      done <"$scratch/pats"
    fi
  fi

  if [ -s "$why" ]; then
    echo "FAIL $file: $(paste -sd ';' "$why" | sed 's/;/; /g')"
    failed=$((failed + 1))
  else
    echo "PASS $file"
    passed=$((passed + 1))
  fi
  rm -f "$scratch/ans.norm" "$scratch/req.norm"
done <"$suite/expect.tsv"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
