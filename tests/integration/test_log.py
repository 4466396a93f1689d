"""The session log (DESIGN §9), checked over every daemon the suite ran (so
this module runs last): each line is a JSON object with ts and event (and a
session on the per-connection events), the event fields are there, the close
reasons idle, protocol and deadline all appeared, and no MBI, name or date
of birth from any request appears in any log line or on stderr."""

import re

from harness import Fail, check, test

TS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}(Z|[+-]\d{2}:\d{2})$")
SESSION_EVENTS = ("open", "request", "close")
FIELDS = {
    "open": ("peer", "listener", "framing"),
    "request": ("seq", "submitter", "isa13", "st02", "bytes_in", "bytes_out", "answer",
                "queue_ms", "work_ms", "total_ms"),
    "close": ("reason", "requests", "bytes", "duration_ms"),
}
ANSWERS = ("271", "999", "TA1", "HETS")
REASONS = ("idle", "peer", "protocol", "deadline", "shutdown", "limit", "tls")


def all_lines(d):
    lines = [text for text, _ in d.lines]
    return lines + list(getattr(d, "extra_log_lines", []))


def line_problems(text):
    import json
    try:
        obj = json.loads(text)
    except ValueError:
        return ["not JSON: %r" % text[:120]]
    if not isinstance(obj, dict):
        return ["not a JSON object: %r" % text[:120]]
    out = []
    ev = obj.get("event")
    if not isinstance(ev, str) or not ev:
        out.append("no event: %r" % text[:120])
    ts = obj.get("ts")
    if not isinstance(ts, str) or not TS.match(ts):
        out.append("ts %r is not RFC 3339 with ms" % (ts,))
    if ev in SESSION_EVENTS and obj.get("session") in (None, ""):
        out.append("%s event without a session" % ev)
    core = obj.get("protocol") == "core" or obj.get("door") == "core"
    for field in FIELDS.get(ev, ()):
        if ev == "open" and field == "framing" and core:
            continue  # DESIGN §13: a core listener says protocol instead
        if field not in obj:
            out.append("%s event lacks %s" % (ev, field))
    if ev == "request":
        if obj.get("door") not in ("extranet", "core"):
            out.append("request door %r not extranet or core" % (obj.get("door"),))
        if core:
            # DESIGN §13: the envelope fields; no X12 answer (null) for an
            # envelope or HTTP error.
            if not isinstance(obj.get("http_status"), int):
                out.append("core request lacks http_status")
            if obj.get("answer") is not None and str(obj.get("answer")) not in ANSWERS:
                out.append("request answer %r not one of %s or null" % (obj.get("answer"), ANSWERS))
        elif str(obj.get("answer")) not in ANSWERS:
            out.append("request answer %r not one of %s" % (obj.get("answer"), ANSWERS))
        if not any(k in obj for k in ("aaa", "aaa_codes")):
            out.append("request event lacks the aaa codes")
    if ev == "open" and "tls" in obj:  # DESIGN §12: version, cipher, client cert (or why not)
        tls = obj["tls"]
        if not isinstance(tls, dict) or not (
                "error" in tls or all(k in tls for k in ("version", "cipher", "client_cert_sha256"))):
            out.append("open event tls %r lacks version, cipher, client_cert_sha256" % (tls,))
    if ev == "close" and obj.get("reason") not in REASONS:
        out.append("close reason %r not one of %s" % (obj.get("reason"), REASONS))
    return out


@test("log: every line is JSON with ts, event and the fields DESIGN §9 names")
def log_lines_json(env, report):
    problems = {}
    total = 0
    for d in env.daemons:
        for text in all_lines(d):
            total += 1
            for p in line_problems(text):
                key = p.split(":")[0] if p.startswith("not") else p
                problems.setdefault(key, (d.name, p))
    check(total > 0, "no log lines at all")
    if problems:
        raise Fail("%d kinds of problem, e.g. %s" % (
            len(problems), "; ".join("[%s] %s" % v for v in list(problems.values())[:6])))
    notes = sorted({d.port_note for d in env.daemons if d.port_note})
    for n in notes:
        report("log: note", None, n)


@test("log: close reasons idle, protocol and deadline appear")
def log_close_reasons(env, report):
    seen = set()
    for d in env.daemons:
        seen.update(str(r) for r in d.close_reasons())
    # Under -k only the reasons whose tests ran are required.
    ran = getattr(env, "ran", None)
    producers = {"idle": "idle close", "protocol": "broken wrapper",
                 "deadline": "gets HTS00003 at the frame deadline"}
    wanted = [r for r, t in producers.items() if ran is None or any(t in n for n in ran)]
    missing = [r for r in wanted if r not in seen]
    check(not missing, "close reasons %s never logged (seen: %s)" % (missing, sorted(seen)))


@test("log and stderr: no MBI, name or date of birth")
def log_no_phi(env, report):
    check(env.phi, "no PHI values collected to look for")
    pattern = re.compile(r"(?<![A-Za-z0-9])(" + "|".join(
        re.escape(v) for v in sorted(env.phi, key=len, reverse=True)) + r")(?![A-Za-z0-9])",
        re.IGNORECASE)
    hits = []
    for d in env.daemons:
        for where, text in [("log", t) for t in all_lines(d)] + [("stderr", d.stderr_text())]:
            m = pattern.search(text)
            if m:
                # Say which kind of value leaked, never the value itself.
                v = m.group(1)
                kind = "date of birth" if v.replace("-", "").isdigit() else \
                    ("MBI" if any(ch.isdigit() for ch in v) else "name")
                hits.append("%s of daemon %s holds a %s" % (where, d.name, kind))
    check(not hits, "; ".join(sorted(set(hits))[:8]))
