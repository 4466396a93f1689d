#!/bin/sh
# What `make install` installs as libopenhets.a exports the public API of
# include/openhets/openhets.h and nothing else: no ohets__ symbol (the
# core's internals, hidden and made local when the archive is built) and
# no other name outside the ohets_ prefix (toolchain names starting with
# __ aside).  Prints each offending symbol.
#
# Usage: exports.sh [ARCHIVE]; make check runs it on $top_builddir's.
set -u
top_builddir=${top_builddir:-.}
lib=${1:-$top_builddir/libopenhets.a}
NM=${NM:-nm}
if [ ! -f "$lib" ]; then
  echo "SKIP: $lib not built"
  exit 77
fi
syms=$($NM -g --defined-only "$lib" | awk 'NF == 3 { print $3 }' | LC_ALL=C sort -u) || exit 99

private=$(printf '%s\n' "$syms" | grep '^ohets__')
foreign=$(printf '%s\n' "$syms" | grep -v '^ohets_' | grep -v '^__' | grep -v '^$')
status=0
if [ -n "$private" ]; then
  echo "FAIL: $lib exports core-internal symbols:"
  printf '%s\n' "$private" | sed 's/^/  /'
  status=1
fi
if [ -n "$foreign" ]; then
  echo "FAIL: $lib exports symbols outside the ohets_ prefix:"
  printf '%s\n' "$foreign" | sed 's/^/  /'
  status=1
fi
# An empty or broken archive must not pass for a clean one.
if ! printf '%s\n' "$syms" | grep -qx 'ohets_respond'; then
  echo "FAIL: $lib does not export ohets_respond"
  status=1
fi
[ $status -eq 0 ] && echo "PASS: $(printf '%s\n' "$syms" | grep -c .) public symbols, none internal"
exit $status
