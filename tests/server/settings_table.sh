#!/bin/sh
# The README's settings table against openhetsd's option table
# (`openhetsd --print-options`): every setting is in both, with the same
# key, option and default.  Exit 0 when they agree, 1 naming each mismatch.
set -eu
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
daemon="$top_builddir/openhetsd"
[ -x "$daemon" ] || { echo "settings_table: $daemon not built" >&2; exit 99; }
command -v python3 >/dev/null || { echo "settings_table: python3 missing" >&2; exit 77; }
"$daemon" --print-options | python3 -c '
import re, sys
readme_path = sys.argv[1]
table = []
for line in sys.stdin:
    key, opt, default = line.rstrip("\n").split("\t")
    table.append((key, opt, default))

rows = {}
in_settings = False
with open(readme_path, encoding="utf-8") as f:
    for line in f:
        if line.startswith("### "):
            in_settings = line.strip() == "### Settings"
            continue
        if not in_settings or not line.startswith("| `"):
            continue
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
        key = cells[0].strip("`")
        rows[key] = cells

def plain(cell):
    return cell.replace("`", "").replace("\\|", "|").strip()

problems = []
seen = set()
for key, opt, default in table:
    name = key if key != "-" else None
    if name is None:  # a command-line-only option: find the row naming it
        flag = opt.split()[0]
        cand = [k for k, c in rows.items() if plain(c[1]).startswith(flag + " ")]
        if not cand:
            problems.append("README has no row for %s" % opt)
            continue
        name = cand[0]
    cells = rows.get(name)
    if cells is None:
        problems.append("README has no row for key %s" % name)
        continue
    seen.add(name)
    want_opt = "—" if opt == "-" else opt
    got_opt = plain(cells[1])
    if not (got_opt == want_opt or got_opt.startswith(want_opt + " ")):
        problems.append("%s: README option %r, openhetsd has %r" % (name, got_opt, want_opt))
    got_def = plain(cells[2])
    if default == "none":
        ok = got_def in ("none", "null", "absent")
    else:
        ok = got_def == default or got_def.startswith(default + " ")
    if not ok:
        problems.append("%s: README default %r, openhetsd has %r" % (name, got_def, default))
for name in rows:
    if name not in seen and not name.startswith("listen[]."):
        problems.append("README row %s is not an option of openhetsd" % name)
for p in problems:
    print("settings_table: " + p)
print("settings_table: %d settings, %d problems" % (len(table), len(problems)))
sys.exit(1 if problems else 0)
' "$top_srcdir/README.md"
