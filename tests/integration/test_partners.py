"""Trading partners (DESIGN §4): an unknown submitter and a submitter from
the wrong network get SBY00502 (and the socket stays open); SIGHUP reloads
the partners file without dropping sockets and reopens the log file; a
partners file with an unknown key stops the start and is refused on reload."""

import os
import signal
import subprocess
import time

from harness import (TODAY, Conn, Daemon, Fail, build_270, check, compare, hets_code, test,
                     wrap)

HIT = dict(mbi="1EG4TE5MK73", last="QUILLFEATHER", first="JANE", dob="19400101")
HIT2 = dict(mbi="2C34D56EF78", last="MAPLEWOOD", first="ROBERT", dob="19480315")


def expect_sby(payload, control):
    check(hets_code(payload) == "SBY00502", "answer is %r, want a HETS SBY00502 record" % payload[:70])
    want_trace = ("%09d" % control).rjust(30).encode()
    check(payload[4:34] == want_trace, "trace is %r, want the ISA13 right-justified" % payload[4:34])


@test("unknown submitter gets SBY00502 and the socket stays open")
def unknown_submitter(env, report):
    d = Daemon(env, "unknown-submitter").start()
    try:
        stranger = build_270(submitter="SUBMITTER99", control=1001, trace="UNKN0001", **HIT)
        known = build_270(control=1002, trace="UNKN0002", **HIT)
        for r in (stranger, known):
            env.note_request(r)
        with Conn(d.port) as c:
            c.send(wrap(stranger))
            got = c.read_frame()
            expect_sby(got, 1001)
            compare(env, got, stranger)
            c.send(wrap(known))
            compare(env, c.read_frame(), known)
    finally:
        d.kill()


@test("submitter from the wrong network gets SBY00502")
def wrong_network(env, report):
    work = env.scratch("wrong-network")
    partners = env.write_partners(work, [
        {"submitter": "SUBMITTER01", "name": "Example Clearinghouse", "networks": ["10.20.0.0/16"],
         "npis": ["1234567893", "1987654328"]},
        {"submitter": "SUBMITTER02", "name": "Example Provider Group", "networks": ["192.0.2.0/24"]},
    ])
    d = Daemon(env, "wrong-network", partners=partners).start()
    try:
        reqs = [build_270(submitter=s, control=1100 + n, trace="WNET%04d" % n, **HIT)
                for n, s in enumerate(("SUBMITTER01", "SUBMITTER02"))]
        with Conn(d.port) as c:
            for n, r in enumerate(reqs):
                env.note_request(r)
                c.send(wrap(r))
                expect_sby(c.read_frame(), 1100 + n)
            # Still open: the same request again gets the same answer.
            c.send(wrap(reqs[0]))
            expect_sby(c.read_frame(), 1100)
    finally:
        d.kill()


@test("SIGHUP reloads partners; open sockets survive")
def sighup_reload(env, report):
    work = env.scratch("reload")
    only01 = [{"submitter": "SUBMITTER01", "name": "Example Clearinghouse", "networks": ["127.0.0.0/8"]}]
    both = only01 + [{"submitter": "SUBMITTER02", "name": "Example Provider Group",
                      "networks": ["127.0.0.0/8"]}]
    partners = env.write_partners(work, only01)
    d = Daemon(env, "reload", partners=partners, args=["--idle-timeout-ms", "20000"]).start()
    try:
        as02 = build_270(submitter="SUBMITTER02", control=1201, trace="RELD0001", **HIT2)
        as01 = build_270(submitter="SUBMITTER01", control=1202, trace="RELD0002", **HIT2)
        for r in (as01, as02):
            env.note_request(r)
        with Conn(d.port) as old, Conn(d.port) as idle_one:
            old.send(wrap(as02))
            expect_sby(old.read_frame(), 1201)
            old.send(wrap(as01))
            compare(env, old.read_frame(), as01)

            env.write_partners(work, both)
            reloads = len(d.events("reload"))
            d.send_signal(signal.SIGHUP)
            check(d.wait_event(lambda e: e.get("event") == "reload", 5, skip=reloads),
                  "no reload event within 5 s of SIGHUP")
            check(d.alive(), "daemon exited on SIGHUP")
            # The change holds on the socket opened before the reload ...
            old.send(wrap(as02))
            compare(env, old.read_frame(), as02)
            # ... on the one that sat silent through it, and on a new one.
            idle_one.send(wrap(as02))
            compare(env, idle_one.read_frame(), as02)
            with Conn(d.port) as new:
                new.send(wrap(as02))
                compare(env, new.read_frame(), as02)

            # And back: SUBMITTER02 removed again is refused again.
            env.write_partners(work, only01)
            d.send_signal(signal.SIGHUP)
            check(d.wait_event(lambda e: e.get("event") == "reload", 5, skip=reloads + 1),
                  "no second reload event")
            old.send(wrap(as02))
            expect_sby(old.read_frame(), 1201)
        closes = [e.get("reason") for e in d.events("close")]
        check("shutdown" not in closes and "limit" not in closes,
              "reload closed sockets: close reasons %s" % closes)
    finally:
        d.kill()


# "npi" for "npis": loaded, it would silently lift SUBMITTER02's NPI limit.
MISSPELT = [
    {"submitter": "SUBMITTER01", "name": "Example Clearinghouse", "networks": ["127.0.0.0/8"]},
    {"submitter": "SUBMITTER02", "name": "Example Provider Group", "networks": ["127.0.0.0/8"],
     "npi": ["1234567893"]},
]


@test("partners file with an unknown key: openhetsd exits 1 naming key and entry")
def unknown_key_at_start(env, report):
    work = env.scratch("unknown-key-start")
    partners = env.write_partners(work, MISSPELT)
    cmd = [env.daemon_bin, "--listen", "127.0.0.1:0", "--db", env.db, "--partners", partners,
           "--log", "-", "--today", TODAY]
    try:
        r = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=15)
    except subprocess.TimeoutExpired:
        raise Fail("openhetsd still running 15 s after start with an unknown key in %s" % partners)
    err = r.stderr.decode("utf-8", "replace")
    check(r.returncode == 1, "exit status %d, want 1; stderr: %r" % (r.returncode, err[-300:]))
    lines = err.splitlines()
    check(len(lines) == 1, "stderr has %d lines, want 1: %r" % (len(lines), err[-400:]))
    for part in (partners, "partner 1 (SUBMITTER02)", 'unknown key "npi"'):
        check(part in lines[0], "stderr line %r does not name %r" % (lines[0], part))
    check(b'"event":"listen"' not in r.stdout, "openhetsd listened before refusing the file")


@test("SIGHUP with an unknown key in partners keeps the old table")
def unknown_key_on_reload(env, report):
    work = env.scratch("unknown-key-reload")
    both = [{"submitter": "SUBMITTER01", "name": "Example Clearinghouse", "networks": ["127.0.0.0/8"]},
            {"submitter": "SUBMITTER02", "name": "Example Provider Group", "networks": ["127.0.0.0/8"]}]
    partners = env.write_partners(work, both)
    d = Daemon(env, "unknown-key-reload", partners=partners,
               args=["--idle-timeout-ms", "20000"]).start()
    try:
        as02 = build_270(submitter="SUBMITTER02", control=1401, trace="UKEY0001", **HIT2)
        env.note_request(as02)
        with Conn(d.port) as old:
            old.send(wrap(as02))
            compare(env, old.read_frame(), as02)

            # Loaded, this file would drop SUBMITTER02: only SUBMITTER01,
            # with a misspelt key.
            env.write_partners(work, [{"submitter": "SUBMITTER01", "networks": ["127.0.0.0/8"],
                                       "npi": ["1234567893"]}])
            reloads = len(d.events("reload"))
            d.send_signal(signal.SIGHUP)
            ev = d.wait_event(lambda e: e.get("event") == "reload", 5, skip=reloads)
            check(ev is not None, "no reload event within 5 s of SIGHUP")
            check(ev.get("ok") is False, "reload event has ok=%r, want false: %s" % (ev.get("ok"), ev))
            why = ev.get("error") or ""
            for part in (partners, "partner 0 (SUBMITTER01)", 'unknown key "npi"'):
                check(part in why, "reload error %r does not name %r" % (why, part))
            check(d.alive(), "daemon exited on SIGHUP")
            # The old table still answers: SUBMITTER02 is still allowed, on
            # the socket opened before and on a new one.
            old.send(wrap(as02))
            compare(env, old.read_frame(), as02)
            with Conn(d.port) as new:
                new.send(wrap(as02))
                compare(env, new.read_frame(), as02)
    finally:
        d.kill()


def file_events(path):
    import json
    out = []
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                try:
                    out.append(json.loads(line))
                except ValueError:
                    out.append({"event": "<not JSON>", "line": line})
    except FileNotFoundError:
        pass
    return out


def wait_file_event(path, pred, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for e in file_events(path):
            if pred(e):
                return e
        time.sleep(0.02)
    return None


@test("SIGHUP reopens the log file (logrotate)")
def sighup_log_reopen(env, report):
    work = env.scratch("reopen")
    log = os.path.join(work, "openhetsd.log")
    d = Daemon(env, "reopen", log=log, listeners=0).start()
    try:
        ev = wait_file_event(log, lambda e: e.get("event") == "listen", 10)
        check(ev is not None, "no listen event in %s within 10 s" % log)
        port = d._port_of(ev)
        req = build_270(control=1301, trace="ROTA0001", **HIT)
        env.note_request(req)
        with Conn(port) as c:
            c.send(wrap(req))
            compare(env, c.read_frame(), req)
            check(wait_file_event(log, lambda e: e.get("event") == "request", 5),
                  "no request event in the log file")
            os.rename(log, log + ".1")
            d.send_signal(signal.SIGHUP)
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and not any(
                    e.get("event") == "reload" for e in file_events(log) + file_events(log + ".1")):
                time.sleep(0.02)
            check(any(e.get("event") == "reload" for e in file_events(log) + file_events(log + ".1")),
                  "no reload event within 5 s of SIGHUP")
            c.send(wrap(req))
            compare(env, c.read_frame(), req)
            check(wait_file_event(log, lambda e: e.get("event") == "request", 5),
                  "request after SIGHUP not logged to the reopened %s" % os.path.basename(log))
        rotated = [e.get("event") for e in file_events(log + ".1")]
        check(rotated.count("request") == 1,
              "rotated file holds %d request events, want 1" % rotated.count("request"))
        # Both files go through the suite-wide log checks.
        d.extra_logs = [log, log + ".1"]
        d.extra_log_lines = []
        for p in d.extra_logs:
            with open(p, encoding="utf-8", errors="replace") as f:
                d.extra_log_lines += [l.rstrip("\n") for l in f]
    finally:
        d.kill()
