#!/bin/sh
# Replays the fuzz corpora through the fuzz targets' entry points, built
# with a plain main (tests/fuzz/replay_main.c), so `make check` runs every
# seed and every crasher found so far with the ordinary compiler.
here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$here/../..}
top_builddir=${top_builddir:-$here/../..}

status=0
for target in frame respond proxy http multipart soap; do
  replay="$top_builddir/tests/fuzz/replay_$target"
  corpus="$top_srcdir/tests/fuzz/corpus/$target"
  if [ ! -x "$replay" ]; then
    echo "replay.sh: $replay is not built (make check builds it)" >&2
    status=1
    continue
  fi
  printf 'replay_%s: ' "$target"
  "$replay" "$corpus" || { echo "replay.sh: replay_$target failed on $corpus" >&2; status=1; }
done
exit $status
