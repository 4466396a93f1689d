#!/bin/sh
# Includes point inward (README, "Layering"):
#   src/core     its own headers and include/openhets/ only
#   src/store    include/openhets/, src/caqh/ (passwords) and its own headers
#   src/common   include/openhets/ and its own header
#   src/tls      include/openhets/, src/common/ and its own headers
#   src/caqh     include/openhets/ and its own headers
#   src/server   include/openhets/, src/common/, src/store/, src/tls/, src/caqh/, its own
#   src/tools    include/openhets/, src/common/, src/store/, src/tls/, src/caqh/, its own
#   bench        include/openhets/, src/common/, src/store/, its own
# so nothing outside the core reaches a core-private header, and the server
# and the tools never include each other.  Every project include of every
# .c and .h under those directories is resolved the way the compiler does
# (the including file's directory first, then -I include and -I src) and
# each one pointing the wrong way, or at nothing, is printed.  The unit
# tests (tests/) may include anything.
#
# Usage: includes.sh [TOP_SRCDIR]; make check runs it with $top_srcdir.
set -u
top=${1:-${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}}
cd "$top" || exit 99
top=$(pwd)

# The area a path (relative to the top) belongs to.
area_of() {
  case $1 in
    include/openhets/*) echo public ;;
    src/core/*) echo core ;;
    src/store/*) echo store ;;
    src/common/*) echo common ;;
    src/tls/*) echo tls ;;
    src/caqh/*) echo caqh ;;
    src/server/*) echo server ;;
    src/tools/*) echo tools ;;
    bench/*) echo bench ;;
    *) echo elsewhere ;;
  esac
}

# The areas a file of area $1 may include.
allowed_for() {
  case $1 in
    core) echo "core public" ;;
    store) echo "store public caqh" ;;
    common) echo "common public" ;;
    tls) echo "tls common public" ;;
    caqh) echo "caqh public" ;;
    server) echo "server public common store tls caqh" ;;
    tools) echo "tools public common store tls caqh" ;;
    bench) echo "bench public common store" ;;
  esac
}

where() {
  case $1 in
    public) echo "include/openhets/" ;;
    bench) echo "bench/" ;;
    *) echo "src/$1/" ;;
  esac
}

# Path of header $2 included by file $1 (quoted when $3 = q), relative to
# the top; empty when no such header is in the tree.
resolve() {
  if [ "$3" = q ] && [ -f "$(dirname "$1")/$2" ]; then
    dir=$(cd "$(dirname "$1")/$(dirname "$2")" && pwd)
    echo "${dir#"$top"/}/$(basename "$2")"
  elif [ -f "include/$2" ]; then
    echo "include/$2"
  elif [ -f "src/$2" ]; then
    echo "src/$2"
  fi
}

out=$(mktemp "${TMPDIR:-/tmp}/includes.XXXXXX") || exit 99
trap 'rm -f "$out"' EXIT
bad=0
checked=0
for f in $(find src/core src/store src/common src/tls src/caqh src/server src/tools bench \
             \( -name '*.c' -o -name '*.h' \) -type f 2>/dev/null | LC_ALL=C sort); do
  from=$(area_of "$f")
  ok=$(allowed_for "$from")
  # "name" includes, and <name> ones whose first directory is the project's.
  grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*["<]' "$f" | while IFS= read -r line; do
    n=${line%%:*}
    text=${line#*:}
    case $text in
      *'"'*) kind=q; name=$(printf '%s\n' "$text" | sed 's/^[^"]*"\([^"]*\)".*/\1/') ;;
      *) kind=a; name=$(printf '%s\n' "$text" | sed 's/^[^<]*<\([^>]*\)>.*/\1/')
         case $name in
           openhets/*|core/*|store/*|common/*|tls/*|caqh/*|server/*|tools/*) ;;
           *) continue ;;
         esac ;;
    esac
    target=$(resolve "$f" "$name" "$kind")
    if [ -z "$target" ]; then
      echo "$f:$n: $text   (no such header in the tree)"
      continue
    fi
    to=$(area_of "$target")
    case " $ok " in
      *" $to "*) ;;
      *) echo "$f:$n: $text   ($from may include only:$(for a in $ok; do printf ' %s' "$(where "$a")"; done))" ;;
    esac
  done >>"$out"
  checked=$((checked + 1))
done
if [ -s "$out" ]; then
  bad=$(wc -l <"$out")
  echo "FAIL: $bad includes point the wrong way"
  cat "$out"
  exit 1
fi
echo "PASS: $checked files, every include points inward"
exit 0
