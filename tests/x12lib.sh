# Shared by tests/conformance/run.sh and tests/public/run.sh (sourced):
# reading answers from hets-respond.  Needs bash.

# A hung tool must fail its case, not stall make check.
limit=
if command -v timeout >/dev/null 2>&1; then
  limit="timeout 30"
fi

# head_of FILE N: the first N bytes of FILE in $REPLY (a newline survives;
# NUL bytes, which no X12 delimiter can be, are dropped).
head_of() {
  REPLY=
  IFS= read -r -d '' -N "$2" REPLY <"$1"
  return 0
}

# has_isa FILE: 0 when FILE starts with "ISA" and is long enough for the
# 106-byte ISA whose delimiters sit at fixed offsets.
has_isa() {
  head_of "$1" 106
  [ "${REPLY:0:3}" = ISA ] && [ ${#REPLY} -eq 106 ]
}

# normalise FILE: one segment per line, elements split by '*', components by
# ':', repetitions by '^', using the delimiters read from FILE's own ISA
# (element byte 3, repetition byte 82, component byte 104, terminator 105).
# CR, LF and blanks after a terminator are dropped.
normalise() {
  head_of "$1" 106
  tr "${REPLY:3:1}${REPLY:82:1}${REPLY:104:1}${REPLY:105:1}" '*^:\n' <"$1" | tr -d '\r' |
    sed -e 's/^[[:space:]]*//' -e '/^$/d'
}

# check_x12 NORMFILE [SUBMITTER]: envelope and counts of an answer
# interchange from CMS (to SUBMITTER when given).  One line per problem.
check_x12() {
  awk -F'*' -v sub_id="$2" '
    function bad(m) { print m; nbad++ }
    function trim(s) { sub(/^ +/, "", s); sub(/ +$/, "", s); return s }
    NR == 1 {
      if ($1 != "ISA" || NF != 17) { bad("ISA has " NF - 1 " elements, not 16"); exit }
      isa13 = $14
      if (trim($7) != "CMS") bad("answer ISA06 is \"" trim($7) "\", not CMS")
      if (sub_id != "" && trim($9) != sub_id) bad("answer ISA08 is \"" trim($9) "\", not " sub_id)
      if ($13 != "00501") bad("answer ISA12 is " $13)
      if (length($14) != 9 || $14 ~ /[^0-9]/) bad("answer ISA13 is not 9 digits")
      next
    }
    done_iea { bad("segment " $1 " after IEA"); exit }
    $1 == "GS" {
      if (in_gs) bad("GS inside a group")
      in_gs = 1; ngs++; nst = 0; gs06 = $7
      if (sub_id != "" && ($3 != "CMS" || $4 != sub_id)) bad("GS02/GS03 not CMS/" sub_id)
      next
    }
    $1 == "ST" { if (in_st) bad("ST inside a set"); in_st = 1; nst++; st02 = $3; segs = 0 }
    in_st { segs++ }
    $1 == "SE" {
      if (!in_st) { bad("SE without ST"); next }
      if ($2 + 0 != segs) bad("SE01 is " $2 " but the set has " segs " segments")
      if ($3 != st02) bad("SE02 " $3 " differs from ST02 " st02)
      in_st = 0; next
    }
    $1 == "GE" {
      if (!in_gs) { bad("GE without GS"); next }
      if (in_st) bad("GE inside a set")
      if ($2 + 0 != nst) bad("GE01 is " $2 " but the group has " nst " sets")
      if ($3 != gs06) bad("GE02 " $3 " differs from GS06 " gs06)
      in_gs = 0; next
    }
    $1 == "IEA" {
      if (in_gs) bad("IEA inside a group")
      if ($2 + 0 != ngs) bad("IEA01 is " $2 " but the interchange has " ngs " groups")
      if ($3 != isa13) bad("IEA02 " $3 " differs from ISA13 " isa13)
      done_iea = 1; next
    }
    END { if (!done_iea && !nbad) bad("no IEA at the end") }
  ' "$1"
}
