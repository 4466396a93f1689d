"""1,000 concurrent sockets on one daemon; 300 of them each send a request
and all 300 are answered correctly, while the other 700 stay open."""

import errno
import resource
import selectors
import socket
import time

from harness import (ETX, SOH, STX, Daemon, Fail, build_270, check, normalise, test, wrap)

SOCKETS = 1000
ASKING = 300
# SUBMITTER02 has no max_connections in the fixture partners file.
SUBMITTER = "SUBMITTER02"
HIT = dict(mbi="3AC5EF7GH90", last="THORNBURY", first="ALICE", dob="19510704")


def raise_fd_limit(need):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= need:
        return
    if hard != resource.RLIM_INFINITY and hard < need:
        raise Fail("RLIMIT_NOFILE hard limit %d is below the %d descriptors needed" % (hard, need))
    resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))


def trace_of(i):
    return "LOAD%06d" % i


@test("1,000 concurrent sockets, 300 requests all answered", transports=("plain",))
def thousand_sockets(env, report):
    # The daemon inherits the raised limit: it needs one descriptor per socket.
    raise_fd_limit(SOCKETS + 256)
    d = Daemon(env, "load", args=["--idle-timeout-ms", "30000"]).start()
    sel = selectors.DefaultSelector()
    socks = []
    try:
        # Open all 1,000 without blocking, then wait until each is connected.
        for _ in range(SOCKETS):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            rc = s.connect_ex(("127.0.0.1", d.port))
            if rc not in (0, errno.EINPROGRESS):
                s.close()
                raise Fail("connect %d failed: %s" % (len(socks) + 1, errno.errorcode.get(rc, rc)))
            socks.append(s)
        pending = set(range(SOCKETS))
        for i in pending:
            sel.register(socks[i], selectors.EVENT_WRITE, i)
        deadline = time.monotonic() + 20
        while pending and time.monotonic() < deadline:
            for key, _ in sel.select(0.5):
                i = key.data
                err = socks[i].getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                check(err == 0, "socket %d failed to connect: %s" % (i, errno.errorcode.get(err, err)))
                sel.unregister(socks[i])
                pending.discard(i)
        check(not pending, "%d of %d sockets not connected after 20 s" % (len(pending), SOCKETS))
        # Accepted by the daemon (not just queued in the backlog): one open
        # event each.
        check(d.wait_count(lambda e: e.get("event") == "open", SOCKETS, 20),
              "log has %d open events for %d sockets" % (len(d.events("open")), SOCKETS))

        # 300 of them, spread over the set, each send one request at once.
        askers = [i * SOCKETS // ASKING for i in range(ASKING)]
        requests = {}
        template = build_270(submitter=SUBMITTER, control=900000, trace=trace_of(0), ref="LOADREQ", **HIT)
        env.note_request(template)
        for n, i in enumerate(askers):
            req = build_270(submitter=SUBMITTER, control=900000 + n, trace=trace_of(n), ref="LOADREQ", **HIT)
            requests[i] = (n, req)
            socks[i].setblocking(True)
            socks[i].sendall(wrap(req))
            socks[i].setblocking(False)
        # The reference answer, with the trace masked.
        want = normalise(env.expected(template)).replace(trace_of(0).encode(), b"TRACE")
        check(b"TRACE" in want, "hets-respond's answer does not echo the trace")

        bufs = {i: bytearray() for i in askers}
        answered = {}
        closed = []
        for i in askers:
            sel.register(socks[i], selectors.EVENT_READ, i)
        deadline = time.monotonic() + 30
        while len(answered) + len(closed) < ASKING and time.monotonic() < deadline:
            for key, _ in sel.select(0.5):
                i = key.data
                try:
                    data = socks[i].recv(65536)
                except (BlockingIOError, InterruptedError):
                    continue
                except ConnectionResetError:
                    data = b""
                if not data:
                    closed.append(i)
                    sel.unregister(socks[i])
                    continue
                b = bufs[i]
                b += data
                if len(b) >= 12 and b[0:1] == SOH and b[11:12] == STX and bytes(b[1:11]).isdigit():
                    n = int(bytes(b[1:11]))
                    if len(b) >= 13 + n:
                        check(b[12 + n:13 + n] == ETX, "socket %d: answer has no ETX" % i)
                        answered[i] = bytes(b[12:12 + n])
                        sel.unregister(socks[i])
                elif len(b) >= 12:
                    raise Fail("socket %d: answer wrapper broken: %r" % (i, bytes(b[:20])))
        check(not closed, "%d asking sockets closed without an answer" % len(closed))
        check(len(answered) == ASKING, "%d of %d requests answered within 30 s" % (len(answered), ASKING))
        wrong = []
        for i, payload in answered.items():
            n, _ = requests[i]
            got = normalise(payload).replace(trace_of(n).encode(), b"TRACE")
            if got != want:
                wrong.append(n)
        check(not wrong, "%d answers differ from hets-respond's (first: request %d)"
              % (len(wrong), wrong[0] if wrong else -1))
        # The 700 that said nothing are still open (within the 30 s idle time).
        silent = [i for i in range(SOCKETS) if i not in requests]
        dead = 0
        for i in silent:
            try:
                if socks[i].recv(1, socket.MSG_PEEK) == b"":
                    dead += 1
            except BlockingIOError:
                pass
            except OSError:
                dead += 1
        check(dead == 0, "%d of %d silent sockets were closed" % (dead, len(silent)))
    finally:
        sel.close()
        for s in socks:
            s.close()
        d.kill()
