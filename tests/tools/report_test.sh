#!/usr/bin/env bash
# hets-load --report against the real openhetsd, and the page in headless
# Chromium (Debian's chromium).  The page must be one well-formed,
# self-contained HTML file: exactly two SVG charts with their data drawn,
# the --json summary in a <pre> equal to what --json printed, no reference
# to anything outside the file; Chromium must render it (the DOM it builds
# has both charts, a screenshot shows both charts' lines) and must make no
# network request for it.  Each detector is also run on a copy of the page
# with external references added, and must catch them: a check that cannot
# fail proves nothing.
#
# Environment: top_builddir (openhetsd, hets-db, hets-load), top_srcdir
# (fixtures); both default to two levels above this script.  Prints
# "PASS what" or "FAIL what: why" per check, then "N passed, N failed";
# exits 1 on a failure (also when chromium is not installed: scripts/test
# installs it), 77 (skip) without python3.  Every wait is bounded.

LC_ALL=C
export LC_ALL
here=$(cd "$(dirname "$0")" && pwd)
: "${top_srcdir:=$here/../..}"
: "${top_builddir:=$here/../..}"
daemon=$top_builddir/openhetsd
hetsdb=$top_builddir/hets-db
load=$top_builddir/hets-load
partners=$top_srcdir/tests/fixtures/partners.json

for tool in "$daemon" "$hetsdb" "$load"; do
  if [ ! -x "$tool" ]; then
    echo "report_test: $tool is missing (build it first)" >&2
    exit 99
  fi
done
if ! command -v python3 >/dev/null 2>&1; then
  echo "report_test: python3 not found (needed to read HTML and JSON); skipped" >&2
  exit 77
fi
limit=
climit=
if command -v timeout >/dev/null 2>&1; then
  limit="timeout 25"
  climit="timeout 90"
fi

scratch=$(mktemp -d "${TMPDIR:-/tmp}/ohets-report.XXXXXX") || exit 99
daemon_pid=
cleanup() {
  if [ -n "$daemon_pid" ]; then
    kill -TERM "$daemon_pid" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$daemon_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$daemon_pid" 2>/dev/null
  fi
  rm -rf "$scratch"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

passed=0
failed=0
pass() { echo "PASS $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1: $2"; failed=$((failed + 1)); }

# check NAME FILE PYTHON-EXPR: the expression, over the JSON object d read
# from FILE (and j, the --json summary, when $scratch/c4.json holds one),
# must be true; on failure the object is shown.
check() {
  local name=$1 file=$2 expr=$3 why
  why=$(python3 - "$file" "$expr" "$scratch/c4.json" <<'PY' 2>&1
import json, sys
try:
    d = json.loads(open(sys.argv[1]).read())
except Exception as e:
    print("not one JSON object: %s" % e); sys.exit(1)
try:
    j = json.loads(open(sys.argv[3]).read())
except Exception:
    j = None
try:
    ok = eval("(" + sys.argv[2] + ")", {"d": d, "j": j})
except Exception as e:
    ok = False
    print("%s: %s" % (type(e).__name__, e))
if not ok:
    s = json.dumps(d)
    print("got %s" % (s if len(s) < 1500 else s[:1500] + "..."))
    sys.exit(1)
PY
)
  if [ $? -eq 0 ]; then pass "$name"; else fail "$name" "$why"; fi
}

# facts HTML OUT: what the page holds, as JSON in OUT, read with python3's
# html.parser: tags that do not nest, the SVG elements and the most
# coordinate pairs any one <path d> or <polyline points> of each holds, the
# text of <pre id="json">, every reference to something outside the file.
cat >"$scratch/facts.py" <<'PY'
import json, re, sys
from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
        "source", "track", "wbr"}
REF_ATTRS = {"src", "href", "xlink:href", "srcset", "action", "formaction", "poster",
             "data", "background", "longdesc", "cite", "manifest", "ping"}
OUTSIDE = re.compile(r"(?i)(https?:|ftp:|wss?:|^\s*//)")

class Facts(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.problems, self.svgs = [], [], []
        self.count = {}
        self.pre, self.in_pre = None, False
        self.external, self.script_src, self.fetching = [], [], []
        self.css = []
        self.in_style = False

    def element(self, tag, attrs):
        if tag == "title" and "svg" in self.stack:
            tag_key = "svg title"  # a chart's accessible name, not the page's
        else:
            tag_key = tag
        self.count[tag_key] = self.count.get(tag_key, 0) + 1
        a = dict(attrs)
        for k, v in attrs:
            if v is None:
                continue
            if k.lower() in REF_ATTRS and OUTSIDE.search(v):
                self.external.append("%s %s=%s" % (tag, k, v))
            if k.lower() == "style":
                self.css.append(v)
        if tag == "script" and "src" in a:
            self.script_src.append(a["src"])
        if tag in ("link", "img", "iframe", "object", "embed", "image", "use", "frame",
                   "audio", "video", "source", "base"):
            self.fetching.append(tag)
        if tag == "svg":
            self.svgs.append({"id": a.get("id"), "points": 0})
        if tag in ("path", "polyline") and self.svgs and "svg" in self.stack + [tag]:
            nums = re.findall(r"-?\d+(?:\.\d+)?", a.get("d") or a.get("points") or "")
            self.svgs[-1]["points"] = max(self.svgs[-1]["points"], len(nums) // 2)

    def handle_starttag(self, tag, attrs):
        self.element(tag, attrs)
        if tag in VOID:
            return
        self.stack.append(tag)
        if tag == "pre" and dict(attrs).get("id") == "json":
            self.in_pre, self.pre = True, ""
        if tag == "style":
            self.in_style = True

    def handle_startendtag(self, tag, attrs):
        self.element(tag, attrs)

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.problems.append("</%s> closes <%s> at line %d" %
                                 (tag, self.stack[-1] if self.stack else "nothing",
                                  self.getpos()[0]))
            if tag in self.stack:
                while self.stack.pop() != tag:
                    pass
            return
        self.stack.pop()
        if tag == "pre":
            self.in_pre = False
        if tag == "style":
            self.in_style = False

    def handle_data(self, data):
        if self.in_pre and self.pre is not None:
            self.pre += data
        if self.in_style:
            self.css.append(data)

path, out = sys.argv[1], sys.argv[2]
p = Facts()
try:
    text = open(path, encoding="utf-8").read()
    p.feed(text)
    p.close()
except Exception as e:
    p.problems.append("%s: %s" % (type(e).__name__, e))
    text = ""
if p.stack:
    p.problems.append("never closed: %s" % p.stack)
try:
    pre_json = json.loads(p.pre) if p.pre is not None else None
except ValueError as e:
    pre_json = "not JSON: %s" % e
css = " ".join(p.css)
json.dump({
    "problems": p.problems,
    "count": {t: p.count.get(t, 0) for t in ("html", "head", "body", "title", "svg", "pre", "script", "style")},
    "svgs": p.svgs,
    "pre_json": pre_json,
    "external": p.external,
    "script_src": p.script_src,
    "fetching": p.fetching,
    "css_fetch": re.findall(r"(?i)url\s*\(|@import", css),
    "http_anywhere": len(re.findall(r"(?i)https?://", text)),
}, open(out, "w"))
PY
facts() { python3 "$scratch/facts.py" "$1" "$2"; }

# ------------------------------------------------------------- the daemon
db=$scratch/load.db
if ! "$hetsdb" --db "$db" init >/dev/null || ! "$hetsdb" --db "$db" generate --count 2000 --seed 4 >/dev/null; then
  echo "report_test: hets-db could not make the store" >&2
  exit 99
fi
"$daemon" --listen 127.0.0.1:0 --db "$db" --partners "$partners" --log "$scratch/session.log" \
  >"$scratch/daemon.out" 2>&1 </dev/null &
daemon_pid=$!
port=
for _ in $(seq 100); do
  port=$(python3 -c '
import json, sys
for line in open(sys.argv[1]):
    try: e = json.loads(line)
    except ValueError: continue
    if e.get("event") == "listen": print(e["port"]); break
' "$scratch/session.log" 2>/dev/null)
  [ -n "$port" ] && break
  kill -0 "$daemon_pid" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$port" ]; then
  echo "report_test: openhetsd gave no listen event within 10 s: $(cat "$scratch/daemon.out")" >&2
  exit 99
fi
run() { $limit "$load" -p "$port" --submitter SUBMITTER02 "$@"; }

# ------------------------------------------ 4 sockets for 3 s, --json too
out=$scratch/out.html
run --db "$db" --json -c 4 -d 3 --report "$out" >"$scratch/c4.json" 2>"$scratch/c4.err"
rc=$?
if [ $rc -eq 0 ] && [ -s "$out" ]; then pass "-c 4 -d 3 --report exits 0 and writes the page"
else fail "-c 4 -d 3 --report exits 0 and writes the page" "exit $rc: $(cat "$scratch/c4.err")"; fi
leftover=$(find "$scratch" -maxdepth 1 -name 'out.html.*' | head -1)
if [ -z "$leftover" ]; then pass "no temporary file left beside the page"
else fail "no temporary file left beside the page" "$leftover"; fi
check "--json is unchanged by --report (the documented keys)" "$scratch/c4.json" \
  'list(d) == ["connections","seconds","requests","tps","latency_us","answers","aaa","errors","unexpected_closes"]
   and d["requests"] > 1000 and d["errors"] == 0'

facts "$out" "$scratch/facts.json"
check "the page walks through html.parser: tags nest, one html/head/body/title" "$scratch/facts.json" \
  'd["problems"] == [] and all(d["count"][t] == 1 for t in ("html","head","body","title"))'
check "exactly two <svg>, each with a path holding points" "$scratch/facts.json" \
  'd["count"]["svg"] == 2 and len(d["svgs"]) == 2
   and [s["id"] for s in d["svgs"]] == ["throughput","percentiles"]
   and d["svgs"][0]["points"] >= 6 and d["svgs"][1]["points"] >= 100'
check "the JSON in <pre> is the --json summary (requests equal)" "$scratch/facts.json" \
  'isinstance(d["pre_json"], dict) and j is not None
   and d["pre_json"]["requests"] == j["requests"] and d["pre_json"] == j'
check "no http(s):// in any src/href, no <script src>, nothing fetched by CSS" "$scratch/facts.json" \
  'd["external"] == [] and d["script_src"] == [] and d["fetching"] == [] and d["css_fetch"] == []
   and d["count"]["script"] == 0 and d["http_anywhere"] == 0'

# The static detectors on a page with external references added.
python3 - "$out" "$scratch/bad_static.html" <<'PY'
import sys
t = open(sys.argv[1], encoding="utf-8").read()
t = t.replace("<main>", '<main><img src="https://example.invalid/x.png">'
              '<script src="http://example.invalid/x.js"></script>', 1)
open(sys.argv[2], "w", encoding="utf-8").write(t)
PY
facts "$scratch/bad_static.html" "$scratch/bad_facts.json"
check "control: the static check sees an added <img src=https://...> and <script src>" \
  "$scratch/bad_facts.json" \
  'any("https://example.invalid/x.png" in e for e in d["external"])
   and "http://example.invalid/x.js" in d["script_src"]'

# --------------------------------------- without --json; -n; what fails
run --db "$db" -c 4 -n 300 --report "$scratch/n300.html" >"$scratch/n300.txt" 2>"$scratch/n300.err"
rc=$?
first=$(head -1 "$scratch/n300.txt")
facts "$scratch/n300.html" "$scratch/n300_facts.json"
if [ $rc -eq 0 ] && [[ $first == "127.0.0.1:$port "* ]]; then
  pass "without --json: the text summary on stdout, and the page"
else
  fail "without --json: the text summary on stdout, and the page" "exit $rc: $first $(cat "$scratch/n300.err")"
fi
check "-n 300: the page's summary says 300 requests, two charts" "$scratch/n300_facts.json" \
  'd["problems"] == [] and d["pre_json"]["requests"] == 300 and d["count"]["svg"] == 2
   and min(s["points"] for s in d["svgs"]) >= 2'

start=$(date +%s)
run --db "$db" -c 4 -d 5 --report "$scratch/no/such/dir/r.html" >/dev/null 2>"$scratch/nodir.err"
rc=$?
took=$(($(date +%s) - start))
if [ $rc -eq 1 ] && [ "$(wc -l <"$scratch/nodir.err")" -eq 1 ] && grep -q -- "--report" "$scratch/nodir.err" &&
  [ "$took" -lt 4 ]; then
  pass "an unwritable --report: one line, exit 1, before the run ($(cat "$scratch/nodir.err"))"
else
  fail "an unwritable --report: one line, exit 1, before the run" "exit $rc after ${took}s: $(cat "$scratch/nodir.err")"
fi
run --db "$db" -c 4 -n 10 --report "$scratch" >/dev/null 2>"$scratch/isdir.err"
rc=$?
if [ $rc -eq 1 ] && [ "$(wc -l <"$scratch/isdir.err")" -eq 1 ]; then
  pass "--report naming a directory: one line, exit 1"
else
  fail "--report naming a directory: one line, exit 1" "exit $rc: $(cat "$scratch/isdir.err")"
fi
if [ -c /dev/full ]; then # written in place (not a regular file): the write fails after the run
  run --db "$db" -c 4 -n 100 --report /dev/full >"$scratch/full.txt" 2>"$scratch/full.err"
  rc=$?
  if [ $rc -eq 1 ] && [ "$(wc -l <"$scratch/full.err")" -eq 1 ] && grep -q "/dev/full: cannot write" "$scratch/full.err" &&
    grep -q "^requests   100 " "$scratch/full.txt"; then
    pass "a failed write (--report /dev/full): the summary, one line, exit 1"
  else
    fail "a failed write (--report /dev/full): the summary, one line, exit 1" "exit $rc: $(cat "$scratch/full.err")"
  fi
fi
run --idle-check --report "$scratch/idle.html" >/dev/null 2>"$scratch/idle.err"
rc=$?
if [ $rc -eq 2 ] && [ ! -e "$scratch/idle.html" ]; then pass "--report with --idle-check is a usage error (2)"
else fail "--report with --idle-check is a usage error (2)" "exit $rc: $(cat "$scratch/idle.err")"; fi

kill -TERM "$daemon_pid"
for _ in $(seq 100); do kill -0 "$daemon_pid" 2>/dev/null || break; sleep 0.1; done
daemon_pid=

# ------------------------------------------------------ headless Chromium
chrome=
for c in chromium chromium-browser; do
  if command -v "$c" >/dev/null 2>&1; then chrome=$(command -v "$c"); break; fi
done
if [ -z "$chrome" ]; then
  fail "headless Chromium" "chromium is not installed (Debian package chromium; scripts/test installs it)"
  echo "$passed passed, $failed failed"
  exit 1
fi
mkdir -p "$scratch/home"
# chrome OUTPUT-PREFIX ARGS...: one headless Chromium with its own profile;
# stdout to PREFIX.out, stderr to PREFIX.err.  Its exit status.
chrome() {
  local prefix=$1 profile
  shift
  profile=$(mktemp -d "$scratch/profile.XXXXXX")
  HOME=$scratch/home $climit "$chrome" --headless --no-sandbox --disable-gpu --disable-quic \
    --no-first-run --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$profile" "$@" >"$prefix.out" 2>"$prefix.err" </dev/null
}

# --dump-dom: the DOM Chromium built from the page.
chrome "$scratch/dom" --dump-dom "file://$out"
rc=$?
facts "$scratch/dom.out" "$scratch/dom_facts.json"
if [ $rc -eq 0 ] && [ -s "$scratch/dom.out" ]; then pass "chromium --dump-dom succeeds"
else fail "chromium --dump-dom succeeds" "exit $rc: $(tail -3 "$scratch/dom.err")"; fi
check "the DOM Chromium built has both SVG charts with their data" "$scratch/dom_facts.json" \
  'd["count"]["svg"] == 2 and [s["id"] for s in d["svgs"]] == ["throughput","percentiles"]
   and d["svgs"][0]["points"] >= 6 and d["svgs"][1]["points"] >= 100 and d["count"]["pre"] == 1'

# --screenshot: a PNG, decoded here; both charts' line colours
# (load_report.c: .line #2f6fdb, .pline #d9480f, each used by nothing else
# that large) must be drawn.
png=$scratch/out.png
chrome "$scratch/shot" --screenshot="$png" --window-size=1200,1600 "file://$out"
rc=$?
python3 - "$png" >"$scratch/png.json" 2>&1 <<'PY'
import json, struct, sys, zlib
facts = {"ok": False}
try:
    d = open(sys.argv[1], "rb").read()
    facts["bytes"] = len(d)
    if d[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat = 8, b""
    while pos < len(d):
        n, = struct.unpack(">I", d[pos:pos + 4])
        typ, body = d[pos + 4:pos + 8], d[pos + 8:pos + 8 + n]
        pos += 12 + n
        if typ == b"IHDR":
            w, h, depth, ct, _, _, il = struct.unpack(">IIBBBBB", body)
        elif typ == b"IDAT":
            idat += body
    facts.update(width=w, height=h)
    if depth != 8 or ct not in (2, 6) or il != 0:
        raise ValueError("PNG kind not decoded here: depth %d colour type %d" % (depth, ct))
    raw, bpp = zlib.decompress(idat), (3 if ct == 2 else 4)
    stride, prev, pixels = w * bpp, bytearray(w * bpp), []
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        if f == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 255
        elif f == 2:
            line = bytearray((a + b) & 255 for a, b in zip(line, prev))
        elif f == 3:
            for i in range(stride):
                line[i] = (line[i] + ((line[i - bpp] if i >= bpp else 0) + prev[i]) // 2) & 255
        elif f == 4:
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b, c = prev[i], (prev[i - bpp] if i >= bpp else 0)
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        prev = line
        pixels.append(bytes(line) if bpp == 3 else
                      b"".join(bytes(line[x:x + 3]) for x in range(0, stride, 4)))
    img = b"".join(pixels)
    for name, rgb in (("throughput_line", "2f6fdb"), ("percentile_line", "d9480f")):
        col, n, i = bytes.fromhex(rgb), 0, img.find(bytes.fromhex(rgb))
        while i >= 0:
            n += i % 3 == 0
            i = img.find(col, i + 1)
        facts[name] = n
    facts["ok"] = True
except Exception as e:
    facts["error"] = "%s: %s" % (type(e).__name__, e)
print(json.dumps(facts))
PY
if [ $rc -eq 0 ] && [ -s "$png" ]; then pass "chromium --screenshot writes a PNG ($(wc -c <"$png") bytes)"
else fail "chromium --screenshot writes a PNG" "exit $rc: $(tail -3 "$scratch/shot.err")"; fi
check "the screenshot is 1200x1600 and shows both charts' lines" "$scratch/png.json" \
  'd["ok"] and d["width"] == 1200 and d["height"] == 1600
   and d["throughput_line"] >= 300 and d["percentile_line"] >= 300'

# No network: every name resolves to nothing, and Chromium's net log must
# hold no URL request made for the page (initiated by it, or isolated to
# its file:// site).  Chromium's own background requests (initiator "not
# an origin") are not the page's and are ignored; a file:// URL is the
# page itself.
netcheck() { # PAGE PREFIX: writes PREFIX.json
  chrome "$2" --host-resolver-rules="MAP * ~NOTFOUND" --log-net-log="$2.netlog" \
    --dump-dom "file://$1"
  local rc=$?
  python3 - "$2.netlog" "$rc" >"$2.json" 2>&1 <<'PY'
import json, sys
out = {"rc": int(sys.argv[2]), "page": [], "requests": 0}
try:
    text = open(sys.argv[1]).read()
    try:
        d = json.loads(text)
    except ValueError:  # a log cut short at exit: close it
        d = json.loads(text.rstrip().rstrip(",") + "]}")
    names = {v: k for k, v in d["constants"]["logEventTypes"].items()}
    out["events"] = len(d["events"])
    for e in d["events"]:
        p = e.get("params") or {}
        if names.get(e["type"]) != "URL_REQUEST_START_JOB" or "url" not in p:
            continue
        out["requests"] += 1
        if p["url"].startswith("file:"):
            continue
        if (p.get("initiator", "not an origin") != "not an origin"
                or "file://" in p.get("network_isolation_key", "")
                or "file://" in p.get("site_for_cookies", "")):
            out["page"].append(p["url"])
except Exception as e:
    out["error"] = "%s: %s" % (type(e).__name__, e)
print(json.dumps(out))
PY
}
netcheck "$out" "$scratch/net"
check "Chromium makes no network request for the page (net log)" "$scratch/net.json" \
  'd["rc"] == 0 and "error" not in d and d["events"] > 0 and d["page"] == []'

python3 - "$out" "$scratch/bad.html" <<'PY'
import sys
t = open(sys.argv[1], encoding="utf-8").read()
t = t.replace("</head>", '<link rel="stylesheet" href="https://example.invalid/x.css"></head>', 1)
t = t.replace("<main>", '<main><img src="https://example.invalid/x.png" alt="">', 1)
open(sys.argv[2], "w", encoding="utf-8").write(t)
PY
netcheck "$scratch/bad.html" "$scratch/netbad"
check "control: the net log shows the requests of a page with an external <img> and <link>" \
  "$scratch/netbad.json" \
  '"error" not in d and set(d["page"]) >= {"https://example.invalid/x.png", "https://example.invalid/x.css"}'

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
