"""Timers (DESIGN §3): the idle disconnect (after an answer and after a bare
connect; once at the real 5 s), no idle close while a request is in flight
or queued, and the frame deadline for a trickling client."""

import threading
import time

from harness import (SLACK_MS, Conn, Daemon, Fail, build_270, check, compare, elapsed_ms,
                     hets_code, test, wrap)

HIT = dict(mbi="1EG4TE5MK73", last="QUILLFEATHER", first="JANE", dob="19400101")


def idle_after_answer(env, d, timeout_ms, upper_ms, control):
    """Sends one request, reads the answer, and returns the ms from the
    answer's last byte to the close."""
    req = build_270(control=control, trace="IDLE%04d" % (control % 10000), **HIT)
    env.note_request(req)
    with Conn(d.port) as c:
        c.send(wrap(req))
        compare(env, c.read_frame(), req)
        last = c.t_last_rx
        t_eof = c.wait_closed((timeout_ms + upper_ms) / 1000.0 + 2)
        return elapsed_ms(last, t_eof)


def idle_after_connect(d, timeout_ms, upper_ms):
    with Conn(d.port) as c:
        t_eof = c.wait_closed((timeout_ms + upper_ms) / 1000.0 + 2)
        return elapsed_ms(c.t_connect, t_eof)


# A close observed up to 1 ms before the nominal time is accepted: the client
# stamps the last byte slightly after the daemon wrote it.
EARLY_MS = 1.0


def check_window(what, ms, lo, hi):
    check(lo - EARLY_MS <= ms <= hi, "%s: closed after %.1f ms, want %.0f-%.0f ms" % (what, ms, lo, hi))


@test("idle close at the real 5 s after an answer and after a bare connect (5.000-5.100 s)")
def idle_real_five_seconds(env, report):
    d = Daemon(env, "idle-5s").start()
    results = {}

    def run(key, fn):
        try:
            results[key] = fn()
        except Exception as e:  # reported below
            results[key] = e

    try:
        threads = [
            threading.Thread(target=run, args=("after an answer",
                                               lambda: idle_after_answer(env, d, 5000, 100, 601))),
            threading.Thread(target=run, args=("after a bare connect",
                                               lambda: idle_after_connect(d, 5000, 100))),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(15)
        problems = []
        for key in ("after an answer", "after a bare connect"):
            r = results.get(key)
            if r is None:
                problems.append("%s: no result" % key)
            elif isinstance(r, Exception):
                problems.append("%s: %s" % (key, r))
            elif not (5000 - EARLY_MS <= r <= 5100):
                problems.append("%s: closed after %.1f ms, want 5000-5100" % (key, r))
            else:
                report("idle 5 s %s: %.1f ms" % (key, r), True, None)
        check(not problems, "; ".join(problems))
        check(d.wait_event(lambda e: e.get("event") == "close" and e.get("reason") == "idle", 2),
              "no close event with reason idle in the log")
    finally:
        d.kill()


@test("idle close with a short timeout, after an answer and after a bare connect")
def idle_short(env, report):
    timeout = 300
    hi = timeout + 100 + SLACK_MS
    d = Daemon(env, "idle-short", args=["--idle-timeout-ms", str(timeout)]).start()
    try:
        ms = idle_after_answer(env, d, timeout, hi, 602)
        check_window("after an answer", ms, timeout, hi)
        ms = idle_after_connect(d, timeout, hi)
        check_window("after a bare connect", ms, timeout, hi)
        # Every byte restarts the clock: keep sending a request's first
        # bytes in pieces, each well inside the timeout; the socket must stay.
        req = build_270(control=603, trace="IDLE0603", **HIT)
        env.note_request(req)
        frame = wrap(req)
        with Conn(d.port) as c:
            pieces = 4
            step = len(frame) // pieces + 1
            for i in range(pieces):
                c.send(frame[i * step:(i + 1) * step])
                if i < pieces - 1:
                    check(c.still_open_after(timeout * 0.6 / 1000.0),
                          "socket closed %.0f ms after a byte, timeout %d ms"
                          % (timeout * 0.6, timeout))
            compare(env, c.read_frame(), req)
            t_eof = c.wait_closed(3)
            check_window("after a pieced request", elapsed_ms(c.t_last_rx, t_eof), timeout, hi)
    finally:
        d.kill()


@test("no idle close while a slow request is in flight or queued")
def no_idle_while_in_flight(env, report):
    timeout, delay = 300, 900
    hi = timeout + 100 + SLACK_MS
    d = Daemon(env, "in-flight", args=["--idle-timeout-ms", str(timeout)], delay_ms=delay).start()
    try:
        reqs = [build_270(control=700 + i, trace="SLOW%04d" % i, **HIT) for i in range(2)]
        for r in reqs:
            env.note_request(r)
        with Conn(d.port) as c:
            c.send(wrap(reqs[0]))
            t_sent = c.t_send_start
            compare(env, c.read_frame(delay / 1000.0 + 10), reqs[0])
            waited = elapsed_ms(t_sent, c.t_last_rx)
            check(waited >= delay - EARLY_MS,
                  "answer after %.0f ms, but the delay hook asks %d ms (is OPENHETS_TEST_DELAY_MS honoured?)"
                  % (waited, delay))
            check_window("after the slow answer", elapsed_ms(c.t_last_rx, c.wait_closed(3 + delay / 1000.0)),
                         timeout, hi)
        # Two pipelined: the second waits in the queue for a whole delay.
        with Conn(d.port) as c:
            c.send(wrap(reqs[0]) + wrap(reqs[1]))
            for r in reqs:
                compare(env, c.read_frame(delay / 1000.0 + 10), r)
            check_window("after the queued answer", elapsed_ms(c.t_last_rx, c.wait_closed(3)), timeout, hi)
    finally:
        d.kill()


@test("a trickled frame gets HTS00003 at the frame deadline, then close")
def frame_deadline(env, report):
    idle, deadline_ms, gap = 500, 1500, 0.2
    hi = deadline_ms + 150 + SLACK_MS
    d = Daemon(env, "deadline", args=["--idle-timeout-ms", str(idle),
                                      "--frame-deadline-ms", str(deadline_ms)]).start()
    try:
        req = build_270(control=801, trace="TRKL0001", **HIT)
        env.note_request(req)
        frame = wrap(req)
        with Conn(d.port) as c:
            t_first = None
            got = None
            # One byte every 200 ms: never idle (500 ms), never whole in time.
            for i in range(len(frame)):
                c.send(frame[i:i + 1])
                if t_first is None:
                    t_first = c.t_send_start
                if not c.still_open_after(gap):
                    break
                check(elapsed_ms(t_first, time.monotonic()) < hi + 1000,
                      "no answer %.0f ms after the first byte (deadline %d ms)"
                      % (elapsed_ms(t_first, time.monotonic()), deadline_ms))
            got = c.read_frame(1)
            at = elapsed_ms(t_first, c.t_last_rx)
            check(hets_code(got) == "HTS00003", "answer is %r, want HTS00003" % got[:70])
            check(deadline_ms - EARLY_MS <= at <= hi,
                  "HTS00003 came %.0f ms after the first byte, deadline %d ms" % (at, deadline_ms))
            c.wait_closed(2)
        check(d.wait_event(lambda e: e.get("event") == "close" and e.get("reason") == "deadline", 3),
              "no close event with reason deadline in the log")
    finally:
        d.kill()
