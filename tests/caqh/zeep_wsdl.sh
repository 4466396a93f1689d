#!/bin/sh
# The WSDL, requests and responses through python3-zeep (DESIGN §13: tested
# against clients nobody here wrote).  SKIP (77) without zeep.
here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$here/../..}
top_builddir=${top_builddir:-$here/../..}

# zeep comes from Debian's python3-zeep: the system interpreter has it even
# when another python3 is first on PATH.
py=
for cand in python3 /usr/bin/python3; do
  if command -v "$cand" >/dev/null 2>&1 && "$cand" -c 'import zeep' >/dev/null 2>&1; then
    py=$cand
    break
  fi
done
if [ -z "$py" ]; then
  echo "zeep_wsdl.sh: SKIP: python3-zeep is not importable"
  exit 77
fi

helper="$top_builddir/tests/caqh/print_wsdl"
[ -x "$helper" ] || { echo "zeep_wsdl.sh: $helper is not built" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/zeep_wsdl.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT INT TERM

"$helper" 'https://hets.example:8443/eligibility/realtime/soap?a=1&b=2' > "$work/core.wsdl" || exit 1
"$helper" --response > "$work/response.xml" || exit 1
"$py" "$top_srcdir/tests/caqh/zeep_wsdl.py" "$work" "$helper"
