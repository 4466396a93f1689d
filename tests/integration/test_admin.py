"""The admin endpoint and systemd (issue 12, DESIGN §14): /healthz, /readyz
(503 while draining or while the store fails), /metrics in the Prometheus
text format checked by promtool with counters equal to what the session
log says, bad HTTP answered, and sd_notify's READY / RELOADING / STOPPING /
WATCHDOG messages on a NOTIFY_SOCKET the test listens on."""

import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from harness import (Conn, Daemon, Fail, build_270, check, test, wrap)

HIT = dict(mbi="1EG4TE5MK73", last="QUILLFEATHER", first="JANE", dob="19400101")
ONCE = ("plain",)


def admin_port(d, timeout=10):
    ev = d.wait_event(lambda e: e.get("event") == "admin", timeout)
    check(ev is not None, "no admin event in the log")
    return int(ev["port"])


def http(port, request, timeout=5):
    """Sends raw request bytes; returns (status, headers text, body)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.sendall(request)
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    m = re.match(rb"HTTP/1\.[01] (\d{3}) ", head)
    check(m is not None, "not an HTTP answer: %r" % data[:80])
    return int(m.group(1)), head.decode("latin-1"), body


def get(port, path, version="1.1"):
    host = "Host: 127.0.0.1\r\n" if version == "1.1" else ""
    return http(port, ("GET %s HTTP/%s\r\n%s\r\n" % (path, version, host)).encode())


def metric(body, name, labels=""):
    m = re.search(r"^%s%s (\S+)$" % (re.escape(name), re.escape(labels)), body.decode(), re.M)
    return float(m.group(1)) if m else None


@test("admin: /healthz, /readyz, /metrics (promtool), bad HTTP; counters equal the session log",
      transports=ONCE)
def admin_endpoint(env, report):
    d = Daemon(env, "admin", args=["--admin", "127.0.0.1:0"]).start()
    try:
        port = admin_port(d)
        status, _, body = get(port, "/healthz")
        check(status == 200 and body == b"ok\n", "/healthz: %d %r" % (status, body))
        status, _, body = get(port, "/readyz", version="1.0")  # HTTP/1.0, no Host
        check(status == 200, "/readyz: %d %r" % (status, body))
        # Traffic of every kind: 271s (one with AAA), a 999, a HETS record.
        hit = build_270(control=5001, trace="ADMN0001", **HIT)
        aaa = build_270(control=5002, trace="ADMN0002", mbi="1EG4TE5MK73", last="WRONGNAME",
                        first="JANE", dob="19400101")
        for r in (hit, aaa):
            env.note_request(r)
        bad_999 = hit.replace(b"005010X279A1", b"005010X279")
        with Conn(d.port) as c:
            for r in (hit, aaa, bad_999, hit):
                c.send(wrap(r))
                c.read_frame()
        with Conn(d.port) as c:
            c.send(b"junk")  # HTS00001, then the daemon closes (protocol)
            c.read_frame()
            c.wait_closed(5)
        check(d.wait_count(lambda e: e.get("event") == "close", 2, 5), "closes not logged")
        status, head, body = get(port, "/metrics")
        check(status == 200 and "version=0.0.4" in head, "/metrics: %d %s" % (status, head))
        for family in ("openhets_requests_total", "openhets_aaa_total", "openhets_closes_total",
                       "openhets_connections_open", "openhets_request_duration_seconds",
                       "openhets_queue_depth", "openhets_workers_busy",
                       "openhets_log_dropped_total", "openhets_store_errors_total",
                       "openhets_tls_handshakes_total", "openhets_build_info"):
            check(("# TYPE %s " % family).encode() in body, "/metrics lacks %s" % family)
        promtool = shutil.which("promtool")
        if promtool:
            r = subprocess.run([promtool, "check", "metrics"], input=body, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, timeout=30)
            check(r.returncode == 0, "promtool check metrics: %s" % r.stdout.decode()[-400:])
        else:
            print("NOTE promtool is not installed: the format check was skipped")
        # The counters against the log.
        reqs = d.events("request")
        for answer in ("271", "999", "TA1", "HETS"):
            want = sum(1 for e in reqs if str(e.get("answer")) == answer)
            got = metric(body, "openhets_requests_total", '{door="extranet",answer="%s"}' % answer)
            check(got == want, "requests_total{answer=%s} %s, log says %d" % (answer, got, want))
        codes = {}
        for e in reqs:
            for code in e.get("aaa") or []:
                codes[code] = codes.get(code, 0) + 1
        check(codes, "no AAA codes in the log to compare")
        for code, n in codes.items():
            got = metric(body, "openhets_aaa_total", '{code="%s"}' % code)
            check(got == n, "aaa_total{code=%s} %s, log says %d" % (code, got, n))
        reasons = {}
        for e in d.events("close"):
            reasons[e["reason"]] = reasons.get(e["reason"], 0) + 1
        for reason, n in reasons.items():
            got = metric(body, "openhets_closes_total", '{reason="%s"}' % reason)
            check(got == n, "closes_total{reason=%s} %s, log says %d" % (reason, got, n))
        count = metric(body, "openhets_request_duration_seconds_count")
        check(count == len(reqs), "duration count %s, %d requests" % (count, len(reqs)))
        # Bad HTTP gets its status, the endpoint stays up.
        for request, want in ((b"GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n", 404),
                              (b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", 405),
                              (b"BLAH\x01\x02 nonsense\r\n\r\n", 400),
                              (b"GET /" + b"a" * 400 + b" HTTP/1.1\r\n\r\n", 414)):
            status, _, _ = http(port, request)
            check(status == want, "%r: %d, want %d" % (request[:30], status, want))
        status, _, _ = get(port, "/healthz")
        check(status == 200, "/healthz after bad requests: %d" % status)
    finally:
        d.kill()


@test("admin: /readyz says 503 while draining (drain_grace_ms) and while the store fails",
      transports=ONCE)
def admin_readyz(env, report):
    work = env.scratch("admin-ready")
    db = os.path.join(work, "store.db")
    shutil.copyfile(env.db, db)
    d = Daemon(env, "admin-ready", db=db, args=["--admin", "127.0.0.1:0", "--drain-grace-ms", "2000"]).start()
    try:
        port = admin_port(d)
        req = build_270(control=5011, trace="ADMN0011", **HIT)
        env.note_request(req)
        with Conn(d.port) as c:
            c.send(wrap(req))
            c.read_frame()
            with open(db, "r+b") as f:
                size = f.seek(0, os.SEEK_END)
                f.seek(0)
                f.write(b"\xa5" * max(size, 4096))
            c.send(wrap(req))  # the lookup that finds the store broken
            c.read_frame()
            status, _, body = get(port, "/readyz")
            check(status == 503 and b"store" in body, "/readyz with the store failing: %d %r"
                  % (status, body))
            fresh = os.path.join(work, "fresh.db")
            shutil.copyfile(env.db, fresh)
            os.replace(fresh, db)
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                c.send(wrap(req))
                c.read_frame()
                status, _, _ = get(port, "/readyz")
                if status == 200:
                    break
                time.sleep(0.1)  # a paced client
            check(status == 200, "/readyz still %d 5 s after the store came back" % status)
        d.send_signal(signal.SIGTERM)
        check(d.wait_event(lambda e: e.get("event") == "shutdown", 5) is not None, "no shutdown event")
        status, _, body = get(port, "/readyz")
        check(status == 503 and b"draining" in body, "/readyz while draining: %d %r" % (status, body))
        status, _, _ = get(port, "/healthz")
        check(status == 200, "/healthz while draining: %d" % status)
        check(d.wait_exit(10) == 0, "exit status after the drain")
    finally:
        d.kill()


@test("systemd: READY=1 after binding, RELOADING=1 / READY=1 around SIGHUP, WATCHDOG=1, STOPPING=1",
      transports=ONCE)
def sd_notify(env, report):
    sock_dir = tempfile.mkdtemp(prefix="ohets-notify.")
    path = os.path.join(sock_dir, "notify")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    s.settimeout(5)
    d = Daemon(env, "notify")
    d.environ["NOTIFY_SOCKET"] = path
    d.environ["WATCHDOG_USEC"] = "400000"
    got = []

    def expect(word, timeout=5):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(word in m for m in got):
                return
            try:
                got.append(s.recv(4096).decode())
            except socket.timeout:
                break
        raise Fail("no %s from the daemon (got %s)" % (word, got))

    try:
        d.start()
        expect("READY=1")
        got.clear()
        expect("WATCHDOG=1", 2)
        got.clear()
        d.send_signal(signal.SIGHUP)
        expect("RELOADING=1")
        expect("READY=1")
        d.send_signal(signal.SIGTERM)
        expect("STOPPING=1")
        check(d.wait_exit(10) == 0, "exit status after SIGTERM")
    finally:
        d.kill()
        s.close()
        shutil.rmtree(sock_dir, ignore_errors=True)
