"""Lifecycle (issue 3 item 8) and the last decision-table row: SIGTERM with
requests in flight and queued (answered, then exit 0), and a store that goes
unavailable (271 with 2000A AAA*N**42*R, the daemon keeps serving)."""

import os
import shutil
import signal

from harness import (Conn, Daemon, Fail, build_270, check, compare, segments, test, wrap)

HIT = dict(mbi="1EG4TE5MK73", last="QUILLFEATHER", first="JANE", dob="19400101")
HIT2 = dict(mbi="2C34D56EF78", last="MAPLEWOOD", first="ROBERT", dob="19480315")


def sent_and_read(conn, payload):
    """Sends and waits until the daemon has read every byte, so the request
    is really in its hands before the signal."""
    conn.send(payload)
    conn.wait_drained()


def still_in_flight(*conns):
    """Fails if an answer already came: the request was not in flight when
    the signal went (is the delay hook working?)."""
    for c in conns:
        c._fill(0)
        check(not c.buf and not c.eof,
              "an answer (or a close) came before the signal: the request was not in flight")


def expect_aaa42(got, when):
    """A 271 whose 2000A holds AAA*N**42*R and that gives no benefits."""
    segs = segments(got)
    ids = [s[0] for s in segs]
    check(b"ST" in ids and segs[ids.index(b"ST")][1] == b"271",
          "answer %s is %r, want a 271" % (when, got[:80]))
    # 2000A: the AAA between HL*1 and HL*2.
    hl1 = next((i for i, s in enumerate(segs) if s[0] == b"HL"), 0)
    hl2 = next((i for i, s in enumerate(segs) if s[0] == b"HL" and s[1:2] == [b"2"]), len(segs))
    aaa = [s for s in segs[hl1:hl2] if s[0] == b"AAA"]
    check(aaa and aaa[0][1:5] == [b"N", b"", b"42", b"R"],
          "2000A AAA %s is %s, want AAA*N**42*R" % (when, [b"*".join(s) for s in aaa]))
    check(not any(s[0] == b"EB" for s in segs), "benefits given %s" % when)


@test("SIGTERM with a request in flight: answered, then exit 0")
def sigterm_in_flight(env, report):
    delay = 800
    d = Daemon(env, "sigterm", delay_ms=delay).start()
    try:
        req = build_270(control=1401, trace="TERM0001", **HIT)
        env.note_request(req)
        with Conn(d.port) as c:
            sent_and_read(c, wrap(req))
            still_in_flight(c)
            d.send_signal(signal.SIGTERM)
            compare(env, c.read_frame(delay / 1000.0 + 10), req)
            took = (c.t_last_rx - c.t_send_start) * 1000.0
            check(took >= delay - 1,
                  "answer %.0f ms after the request, but the delay hook asks %d ms: "
                  "it was not in flight at SIGTERM" % (took, delay))
            c.wait_closed(5)
        rc = d.wait_exit(10)
        check(rc is not None, "daemon still running 10 s after SIGTERM")
        check(rc == 0, "daemon exited %d after SIGTERM, want 0" % rc)
        check(d.events("shutdown"), "no shutdown event in the log")
        reasons = d.close_reasons()
        check(reasons and all(r == "shutdown" for r in reasons),
              "close reasons after SIGTERM are %s, want shutdown" % reasons)
    finally:
        d.kill()


@test("SIGTERM with requests queued on two sockets: all answered in order, exit 0")
def sigterm_queued(env, report):
    delay = 500
    d = Daemon(env, "sigterm-queued", delay_ms=delay).start()
    try:
        reqs = [build_270(control=1500 + i, trace="TERQ%04d" % i, **(HIT if i % 2 else HIT2))
                for i in range(3)]
        for r in reqs:
            env.note_request(r)
        with Conn(d.port) as a, Conn(d.port) as b:
            sent_and_read(a, wrap(reqs[0]) + wrap(reqs[1]))
            sent_and_read(b, wrap(reqs[2]))
            still_in_flight(a, b)
            d.send_signal(signal.SIGTERM)
            compare(env, b.read_frame(delay / 1000.0 + 10), reqs[2])
            for r in reqs[:2]:
                compare(env, a.read_frame(2 * delay / 1000.0 + 10), r)
            # The second on `a` waited behind the first: two delays.
            took = (a.t_last_rx - a.t_send_start) * 1000.0
            check(took >= 2 * delay - 1,
                  "queued answer %.0f ms after the requests, want at least %d ms: "
                  "they were not in flight and queued at SIGTERM" % (took, 2 * delay))
            a.wait_closed(5)
            b.wait_closed(5)
        rc = d.wait_exit(10)
        check(rc == 0, "daemon exit status %s after SIGTERM, want 0" % rc)
    finally:
        d.kill()


@test("store unavailable: 271 with 2000A AAA*N**42*R, daemon keeps serving")
def store_unavailable(env, report):
    work = env.scratch("store-down")
    db = os.path.join(work, "store.db")
    shutil.copyfile(env.db, db)
    d = Daemon(env, "store-down", db=db).start()
    try:
        req = build_270(control=1601, trace="DOWN0001", **HIT)
        env.note_request(req)
        with Conn(d.port) as c:
            c.send(wrap(req))
            compare(env, c.read_frame(), req)
            # The store's file turns into garbage under the running daemon.
            with open(db, "r+b") as f:
                size = f.seek(0, os.SEEK_END)
                f.seek(0)
                f.write(b"\xa5" * max(size, 4096))
            for n in range(2):
                c.send(wrap(req))
                expect_aaa42(c.read_frame(), "with the store unavailable")
            check(d.alive(), "daemon died with the store unavailable")
    finally:
        d.kill()


@test("overloaded (queue wait over the budget): 271 with 2000A AAA*N**42*R")
def overloaded(env, report):
    delay, budget = 600, 100
    d = Daemon(env, "overload", delay_ms=delay,
               args=["--workers", "1", "--queue-budget-ms", str(budget)]).start()
    try:
        first = build_270(control=1701, trace="OVLD0001", **HIT)
        second = build_270(control=1702, trace="OVLD0002", **HIT2)
        for r in (first, second):
            env.note_request(r)
        with Conn(d.port) as a, Conn(d.port) as b:
            # The one worker is busy with the first request for 600 ms; the
            # second waits in the queue far past the 100 ms budget.
            sent_and_read(a, wrap(first))
            sent_and_read(b, wrap(second))
            got = b.read_frame(delay / 1000.0 + 10)
            expect_aaa42(got, "with the queue over budget")
            compare(env, a.read_frame(delay / 1000.0 + 10), first)
            # Load gone: the same request is answered normally again.
            b.send(wrap(second))
            compare(env, b.read_frame(delay / 1000.0 + 10), second)
    finally:
        d.kill()
