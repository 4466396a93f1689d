"""Every decision-table row of DESIGN §3.1 over the socket.

The conformance cases (tests/conformance/cases) go, in order, over ONE
wrapped connection; each answer must equal hets-respond's answer to the same
file, apart from the answer's own date/time and control numbers.  Since all
cases share the socket, this also shows the rows that say "keep open" keep
it open (a close would break every later case).  The rows that close the
socket (HTS00001-3) and the overload row are in test_framing, test_timers
and test_lifecycle.
"""

import os

from harness import (Closed, Conn, Daemon, Fail, answer_kind, compare, test, wrap)


@test("conformance: every case over one wrapped socket equals hets-respond")
def conformance_over_one_socket(env, report):
    cases = env.case_files()
    if not cases:
        raise Fail("no conformance cases in %s" % env.cases_dir)
    d = Daemon(env, "conformance").start()
    conn = Conn(d.port)
    kinds = []
    failures = 0
    reconnects = 0
    try:
        for path in cases:
            name = "conformance/" + os.path.basename(path)
            with open(path, "rb") as f:
                request = f.read()
            try:
                if conn is None:
                    conn = Conn(d.port)
                    reconnects += 1
                conn.send(wrap(request))
                got = conn.read_frame()
                kinds.append(answer_kind(got))
                compare(env, got, request)
                report(name, True, None)
            except Closed as e:
                failures += 1
                report(name, False, "%s (socket closed; the row should keep it open)" % e)
                conn.close()
                conn = None
            except Fail as e:
                failures += 1
                report(name, False, str(e))
        if conn is not None:
            conn.close()
            conn = None
        # Cross-check the session log: one request event per case, with the
        # answer type the client saw, in order.
        if not reconnects:
            want = len(cases)
            d.wait_count(lambda e: e.get("event") == "request", want, timeout=5)
            answers = [str(e.get("answer")) for e in d.events("request")]
            if len(answers) != want:
                raise Fail("log has %d request events for %d requests" % (len(answers), want))
            if answers != kinds:
                diffs = [(os.path.basename(cases[i]), answers[i], kinds[i])
                         for i in range(want) if answers[i] != kinds[i]]
                raise Fail("log answer field differs from the answer sent, first: %s logged %s, sent %s"
                           % diffs[0])
        if failures:
            raise Fail("%d of %d cases differ (lines above)" % (failures, len(cases)))
    finally:
        if conn is not None:
            conn.close()
        d.kill()
