"""A real HAProxy in front of two openhetsd (issue 12, DESIGN §14).

Each test generates an HAProxy configuration on 127.0.0.1 (TCP mode,
`send-proxy-v2` to both daemons, health checks on each daemon's admin
`/readyz` with `inter 200ms fall 2 rise 1`, `option redispatch 1`,
`retries 3`, client/server timeouts of 60 s so openhetsd decides idleness),
starts `haproxy -f CFG -db` in the foreground and stops it at the end (also
on failure).  The daemons' listeners take the PROXY header from
127.0.0.1/32 only, so a partner's `networks` can only be satisfied by the
address HAProxy passes on.  HAProxy's view of its servers comes from its
stats socket (`show stat`), never from a sleep.

Shown: connections spread over both daemons; clients bound to 127.0.0.2 and
127.0.0.3 are judged by their own address; one daemon SIGKILLed under load
(new connections answered by the other, none of the survivor's fails); one
drained with SIGTERM and drain_grace_ms (/readyz 503 at once, HAProxy marks
it down before the grace ends and sends it nothing more, every request
answered); the idle close through HAProxy at 5.0-5.1 s; and the shipped
etc/ examples (haproxy -c, promtool, --check-config, the Grafana
dashboard's metric names against a live /metrics)."""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time

from harness import (ANSWER_TIMEOUT, Conn, Daemon, Fail, build_270, check, compare, elapsed_ms,
                     hets_code, normalise, test, wrap)

ONCE = ("plain",)
HIT = dict(mbi="1EG4TE5MK73", last="QUILLFEATHER", first="JANE", dob="19400101")
# One BHT03 and one trace for every request: answers to requests that differ
# only in their control numbers normalise to the same bytes, so one
# hets-respond run checks them all.
REF, TRACE = "REQHAPRX", "HAPX0001"
EARLY_MS = 1.0  # as in test_timers: the client stamps the last byte just after the write


def haproxy_bin():
    return shutil.which("haproxy") or next(
        (p for p in ("/usr/sbin/haproxy", "/usr/local/sbin/haproxy") if os.access(p, os.X_OK)), None)


def need_haproxy(report, name):
    path = haproxy_bin()
    if path is None:
        report(name, None, "haproxy is not installed (scripts/test installs Debian's haproxy)")
        raise Fail("haproxy is not installed")
    return path


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def request(control, submitter="SUBMITTER02"):
    return build_270(submitter=submitter, control=control, ref=REF, trace=TRACE, **HIT)


def partners_file(env, work):
    """SUBMITTER01 only from 127.0.0.2; SUBMITTER02 from all of loopback."""
    return env.write_partners(work, [
        {"submitter": "SUBMITTER01", "name": "Example Clearinghouse", "networks": ["127.0.0.2/32"],
         "npis": ["1234567893", "1987654328"]},
        {"submitter": "SUBMITTER02", "name": "Example Provider Group",
         "networks": ["127.0.0.0/8"]}])


def admin_port(d, timeout=10):
    ev = d.wait_event(lambda e: e.get("event") == "admin", timeout)
    check(ev is not None, "daemon %s: no admin event in the log" % d.name)
    return int(ev["port"])


def behind_haproxy(env, name, partners, grace_ms=None):
    """openhetsd with one listener taking PROXY headers from 127.0.0.1 only
    and the admin endpoint on a free port."""
    work = env.scratch(name)
    settings = {"listen": [{"host": "127.0.0.1", "port": 0, "proxy_protocol": True,
                            "trusted_proxies": ["127.0.0.1/32"]}],
                "admin": {"host": "127.0.0.1", "port": 0}, "workers": 1}
    if grace_ms is not None:
        settings["drain_grace_ms"] = grace_ms
    path = env.write_settings(work, settings)
    d = Daemon(env, name, listen=False, partners=partners, args=["-c", path]).start()
    d.admin = admin_port(d)
    return d


def http_get(port, path, timeout=5):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(("GET %s HTTP/1.0\r\n\r\n" % path).encode())
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    finally:
        s.close()
    m = re.match(rb"HTTP/1\.[01] (\d{3}) ", data)
    check(m is not None, "GET %s: not an HTTP answer: %r" % (path, data[:80]))
    return int(m.group(1)), data.partition(b"\r\n\r\n")[2]


def _pdeathsig():
    """In the child before exec: die with the suite (its watchdog exits hard)."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:
        pass


class HAProxy:
    """haproxy -db with a generated configuration: one TCP frontend on a free
    port of 127.0.0.1, backend `openhetsd` with one server per daemon."""

    def __init__(self, env, name, daemons, extra_backend=()):
        self.work = env.scratch(name)
        self.port = free_port()
        self.sock_path = os.path.join(self.work, "stats.sock")
        self.cfg = os.path.join(self.work, "haproxy.cfg")
        servers = "".join("    server %s 127.0.0.1:%d send-proxy-v2 check port %d\n"
                          % (d.server, d.port, d.admin) for d in daemons)
        text = (
            "global\n"
            "    maxconn 4000\n"
            "    stats socket %s mode 600 level admin\n"
            "defaults\n"
            "    mode tcp\n"
            "    timeout connect 1s\n"
            "    timeout client 60s\n"
            "    timeout server 60s\n"
            "    timeout check 1s\n"
            "    retries 3\n"
            "    option redispatch 1\n"
            "frontend hets\n"
            "    bind 127.0.0.1:%d\n"
            "    default_backend openhetsd\n"
            "backend openhetsd\n"
            "    balance roundrobin\n"
            "    option httpchk\n"
            "    http-check send meth GET uri /readyz\n"
            "    http-check expect status 200\n"
            "    default-server inter 200ms fall 2 rise 1\n"
            "%s%s" % (self.sock_path, self.port, "".join("    %s\n" % l for l in extra_backend),
                      servers))
        with open(self.cfg, "w", encoding="ascii") as f:
            f.write(text)
        self.proc = None
        self.stderr = b""
        self._lock = threading.Lock()
        self._thread = None

    def start(self, bin_path, timeout=10):
        self.proc = subprocess.Popen([bin_path, "-f", self.cfg, "-db"], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     preexec_fn=_pdeathsig)
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while True:
            check(self.proc.poll() is None, "haproxy exited %s: %s"
                  % (self.proc.returncode, self.output()[-400:]))
            st = self.stat(quiet=True)
            if st and all(v == "UP" for k, v in st.items() if k != "BACKEND"):
                return self
            check(time.monotonic() < deadline, "haproxy servers not all UP within %.0f s: %s; %s"
                  % (timeout, st, self.output()[-400:]))
            time.sleep(0.02)  # polling the stats socket, bounded by the deadline

    def _read(self):
        for chunk in iter(lambda: self.proc.stdout.read1(65536), b""):
            with self._lock:
                self.stderr += chunk

    def output(self):
        with self._lock:
            return self.stderr.decode("utf-8", "replace")

    def wait_output(self, pattern, timeout):
        """The first line of HAProxy's output matching pattern, or None."""
        deadline = time.monotonic() + timeout
        while True:
            m = re.search(pattern, self.output(), re.M)
            if m:
                return m.group(0)
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.01)  # polling HAProxy's output, bounded by the deadline

    def stat(self, quiet=False):
        """{server: status} of backend openhetsd, from `show stat`."""
        try:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(2)
            s.connect(self.sock_path)
            s.sendall(b"show stat\n")
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
            s.close()
        except OSError as e:
            if quiet:
                return None
            raise Fail("haproxy stats socket: %s" % e)
        lines = data.decode("ascii", "replace").splitlines()
        if not lines or not lines[0].startswith("# "):
            return None
        cols = lines[0][2:].split(",")
        i_px, i_sv, i_st = cols.index("pxname"), cols.index("svname"), cols.index("status")
        out = {}
        for line in lines[1:]:
            f = line.split(",")
            if len(f) > i_st and f[i_px] == "openhetsd":
                out[f[i_sv]] = f[i_st]
        return out

    def wait_status(self, server, want, timeout):
        """The monotonic time `server` was first seen in status `want`, or
        None after timeout."""
        deadline = time.monotonic() + timeout
        while True:
            st = self.stat()
            if st and st.get(server) == want:
                return time.monotonic()
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.005)  # polling the stats socket, bounded by the deadline

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        if self._thread:
            self._thread.join(timeout=5)


def read_frame(s, deadline):
    buf = b""
    while True:
        if len(buf) >= 12:
            if buf[:1] != b"\x01" or not buf[1:11].isdigit():
                raise Fail("not a wrapped answer: %r" % buf[:40])
            n = int(buf[1:11])
            if len(buf) >= 13 + n:
                return buf[12:12 + n]
        left = deadline - time.monotonic()
        if left <= 0:
            raise Fail("no whole answer in time (have %d bytes)" % len(buf))
        s.settimeout(left)
        chunk = s.recv(65536)
        if not chunk:
            raise Fail("closed before a whole answer (have %d bytes: %r)" % (len(buf), buf[:40]))
        buf += chunk


def attempt(port, payload, src="127.0.0.1", timeout=None):
    """One request on a new connection from `src`: {start, end, peer,
    answer, why}.  why is None when an answer came."""
    timeout = ANSWER_TIMEOUT if timeout is None else timeout
    a = {"start": time.monotonic(), "end": None, "peer": None, "answer": None, "why": None}
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind((src, 0))
        a["peer"] = "%s:%d" % s.getsockname()
        s.settimeout(timeout)
        s.connect(("127.0.0.1", port))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.sendall(wrap(payload))
        a["answer"] = read_frame(s, a["start"] + timeout)
    except (OSError, Fail) as e:
        a["why"] = str(e) or e.__class__.__name__
    finally:
        s.close()
        a["end"] = time.monotonic()
    return a


class Load(threading.Thread):
    """Requests on new connections, one after another (paced at `gap`
    seconds between starts) until stopped; each answer checked against
    hets-respond's (normalised)."""

    def __init__(self, env, port, partners, first_control, gap=0.003):
        super().__init__(daemon=True)
        self.port = port
        self.first = first_control
        self.gap = gap
        self.want = normalise(env.expected(request(first_control), partners))
        self.attempts = []
        self.lock = threading.Lock()
        self.halt = threading.Event()

    def run(self):
        control = self.first
        while not self.halt.is_set():
            t0 = time.monotonic()
            a = attempt(self.port, request(control))
            a["isa13"] = "%09d" % control
            if a["why"] is None and normalise(a["answer"]) != self.want:
                a["why"] = "wrong answer: %r" % a["answer"][:80]
            with self.lock:
                self.attempts.append(a)
            control += 1
            left = t0 + self.gap - time.monotonic()
            if left > 0:
                time.sleep(left)  # a paced client loop

    def stop(self):
        self.halt.set()
        self.join(ANSWER_TIMEOUT + 5)
        check(not self.is_alive(), "the load thread did not stop")
        with self.lock:
            return list(self.attempts)

    def count(self):
        with self.lock:
            return len(self.attempts)

    def wait_count(self, n, timeout):
        deadline = time.monotonic() + timeout
        while self.count() < n:
            check(time.monotonic() < deadline, "the load made %d of %d requests in %.0f s"
                  % (self.count(), n, timeout))
            time.sleep(0.01)  # waiting on the client's own progress, bounded


def answered_isa13(d):
    return {e.get("isa13") for e in d.events("request")}


def sessions_without_request(d):
    """Peers of sessions that opened but wrote no answer."""
    with_req = {e.get("session") for e in d.events("request")}
    return {e.get("peer") for e in d.events("open") if e.get("session") not in with_req}


def wait_open(peer, daemons, timeout):
    """The daemon whose log has an open event naming peer, or None."""
    deadline = time.monotonic() + timeout
    while True:
        for d in daemons:
            if any(e.get("peer") == peer for e in d.events("open")):
                return d
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.01)  # log lines land within ms; bounded by the deadline


def setup_pair(env, report, name, grace_b=None):
    """Partners file, daemons a and b behind one HAProxy (all UP)."""
    bin_path = need_haproxy(report, name)
    work = env.scratch(name)
    partners = partners_file(env, work)
    a = behind_haproxy(env, name + "-a", partners)
    b = behind_haproxy(env, name + "-b", partners, grace_ms=grace_b)
    a.server, b.server = "a", "b"
    ha = HAProxy(env, name + "-haproxy", [a, b])
    try:
        ha.start(bin_path)
    except Exception:
        ha.stop()
        raise
    env.note_request(request(1))
    return partners, a, b, ha


@test("HAProxy: connections spread over two openhetsd; partner networks judge the client's own "
      "127.0.0.x, and the open events name it", transports=ONCE)
def haproxy_spread_and_sources(env, report):
    partners, a, b, ha = setup_pair(env, report, "ha-spread")
    try:
        base = request(7001)
        attempts = []
        for i in range(40):
            at = attempt(ha.port, request(7001 + i))
            check(at["why"] is None, "connection %d through HAProxy: %s" % (i + 1, at["why"]))
            compare(env, at["answer"], base, partners)
            attempts.append(at)
        check(a.wait_count(lambda e: e.get("event") == "request", 1, 5)
              and b.wait_count(lambda e: e.get("event") == "request", 1, 5),
              "requests did not reach both daemons")
        deadline = time.monotonic() + 5
        while len(a.events("request")) + len(b.events("request")) < 40:
            check(time.monotonic() < deadline, "the logs hold %d + %d of 40 requests"
                  % (len(a.events("request")), len(b.events("request"))))
            time.sleep(0.01)  # the log lines of answered requests land within ms
        na, nb = len(a.events("request")), len(b.events("request"))
        check(na > 0 and nb > 0 and na + nb == 40, "40 connections went %d / %d" % (na, nb))
        report("HAProxy spread: 40 sequential connections -> %d to a, %d to b" % (na, nb), True, None)
        peers = [e.get("peer") for e in a.events("open") + b.events("open")]
        missing = [at["peer"] for at in attempts if at["peer"] not in peers]
        check(not missing, "open events do not name clients %s (they name %s)"
              % (missing[:3], peers[:3]))

        # Source addresses: two connections from each, so roundrobin gives
        # each daemon one of each.
        s01 = build_270(submitter="SUBMITTER01", control=7101, ref=REF, trace=TRACE, **HIT)
        env.note_request(s01)
        seen = []
        for src, i in (("127.0.0.2", 0), ("127.0.0.2", 1), ("127.0.0.3", 2), ("127.0.0.3", 3)):
            req = build_270(submitter="SUBMITTER01", control=7101 + i, ref=REF, trace=TRACE, **HIT)
            at = attempt(ha.port, req, src=src)
            check(at["why"] is None, "from %s: %s" % (src, at["why"]))
            if src == "127.0.0.2":
                compare(env, at["answer"], s01, partners)  # allowed: a 271
            else:
                check(hets_code(at["answer"]) == "SBY00502", "SUBMITTER01 from %s got %r"
                      % (src, at["answer"][:70]))
            seen.append((src, at["peer"], "%09d" % (7101 + i)))
        where = {}
        for src, peer, isa13 in seen:
            d = wait_open(peer, (a, b), 5)
            check(d is not None, "no open event names %s (client bound to %s)" % (peer, src))
            where[peer] = d.name
            req_ev = d.wait_event(lambda e: e.get("event") == "request" and e.get("isa13") == isa13, 5)
            check(req_ev is not None, "no request event for %s from %s" % (isa13, src))
            want = ("271", None) if src == "127.0.0.2" else ("HETS", "SBY00502")
            got = (str(req_ev.get("answer")), req_ev.get("error"))
            check(got == want, "request from %s logged %s, want %s" % (src, got, want))
        for src in ("127.0.0.2", "127.0.0.3"):
            check({where[p] for s_, p, _ in seen if s_ == src} == {a.name, b.name},
                  "the connections from %s did not reach both daemons: %s" % (src, where))
        report("HAProxy sources: 127.0.0.2 -> 271, 127.0.0.3 -> SBY00502 on both daemons; "
               "open events name %s" % ", ".join(p for _, p, _ in seen), True, None)
    finally:
        ha.stop()
        a.kill()
        b.kill()


@test("HAProxy: one openhetsd SIGKILLed mid-load: new connections answered, none to the "
      "survivor fails", transports=ONCE)
def haproxy_kill(env, report):
    partners, a, b, ha = setup_pair(env, report, "ha-kill")
    load = None
    try:
        load = Load(env, ha.port, partners, 100000)
        load.start()
        check(a.wait_count(lambda e: e.get("event") == "request", 20, 15)
              and b.wait_count(lambda e: e.get("event") == "request", 20, 15),
              "both daemons did not answer 20 requests under load")
        a.proc.kill()
        a.expect_exit = True
        a.proc.wait(10)
        t_kill = time.monotonic()
        n_at_kill = load.count()
        t_down = ha.wait_status("a", "DOWN", 5)
        check(t_down is not None, "HAProxy did not mark the killed daemon down: %s" % ha.stat())
        after_down = load.count()
        load.wait_count(after_down + 150, 20)  # 150 more connections after it is down
        attempts = load.stop()
        load = None

        after = [x for x in attempts if x["start"] >= t_kill]
        deadline = time.monotonic() + 5
        while True:  # the survivor's last log lines land within ms
            b_isa13 = answered_isa13(b)
            if all(x["isa13"] in b_isa13 for x in after if x["why"] is None) or \
                    time.monotonic() >= deadline:
                break
            time.sleep(0.01)
        b_unanswered = sessions_without_request(b)
        failed = [x for x in attempts if x["why"] is not None]
        survivor_failed = [x for x in failed if x["isa13"] in b_isa13 or x["peer"] in b_unanswered]
        late_failed = [x for x in failed if x["start"] >= t_kill]
        before = [x for x in attempts if x["start"] < t_kill and x["why"] is None]
        by_b_before = sum(1 for x in before if x["isa13"] in b_isa13)
        by_b_after = sum(1 for x in after if x["isa13"] in b_isa13)
        check(not survivor_failed, "%d connections to the survivor failed, e.g. %s"
              % (len(survivor_failed), survivor_failed[0]["why"] if survivor_failed else ""))
        check(not late_failed, "%d of %d connections begun after the kill failed, e.g. %s"
              % (len(late_failed), len(after), late_failed[0]["why"] if late_failed else ""))
        check(by_b_after == len(after), "of %d connections after the kill, the survivor's log "
              "holds %d" % (len(after), by_b_after))
        check(len(after) >= 150, "only %d connections after the kill" % len(after))
        line = ha.wait_output(r"^.*Server openhetsd/a is DOWN.*$", 5)
        check(line is not None, "HAProxy said nothing about a going down: %s" % ha.output()[-300:])
        report("HAProxy kill: HAProxy said %r" % line[line.find("Server"):][:120], True, None)
        a_peers = {e.get("peer") for e in a.events("open")}
        for x in failed:
            report("HAProxy kill", None, "failed connection %s (begun %.0f ms before the kill; "
                   "%s in a's log): %s" % (x["peer"], (t_kill - x["start"]) * 1000,
                                           "opened" if x["peer"] in a_peers else "not", x["why"]))
        report("HAProxy kill: %d requests before the kill (a %d, b %d), %d after it (all answered "
               "by b, %d of them before HAProxy marked a down %.0f ms after the kill); %d failed "
               "(in flight on a at the kill), 0 on the survivor"
               % (len(before), len(before) - by_b_before, by_b_before, len(after),
                  after_down - n_at_kill, (t_down - t_kill) * 1000, len(failed)), True, None)
    finally:
        if load is not None:
            load.halt.set()
            load.join(ANSWER_TIMEOUT + 5)
        ha.stop()
        a.kill()
        b.kill()


@test("HAProxy: one openhetsd drained with SIGTERM: /readyz 503 at once, HAProxy stops sending, "
      "nothing lost", transports=ONCE)
def haproxy_drain(env, report):
    grace = 1500
    partners, a, b, ha = setup_pair(env, report, "ha-drain", grace_b=grace)
    load = None
    try:
        load = Load(env, ha.port, partners, 200000)
        load.start()
        check(a.wait_count(lambda e: e.get("event") == "request", 20, 15)
              and b.wait_count(lambda e: e.get("event") == "request", 20, 15),
              "both daemons did not answer 20 requests under load")
        t_term = time.monotonic()
        b.send_signal(signal.SIGTERM)
        check(b.wait_event(lambda e: e.get("event") == "shutdown", 5) is not None,
              "no shutdown event")
        status, body = http_get(b.admin, "/readyz")
        t_503 = time.monotonic()
        check(status == 503, "/readyz right after SIGTERM: %d %r" % (status, body))
        t_down = ha.wait_status("b", "DOWN", grace / 1000.0)
        check(t_down is not None, "HAProxy did not mark the draining daemon down within the "
              "%d ms grace: %s" % (grace, ha.stat()))
        rc = b.wait_exit(grace / 1000.0 + 10)
        t_exit = time.monotonic()
        check(rc == 0, "the drained daemon exited %s, want 0" % rc)
        load.wait_count(load.count() + 100, 20)  # and 100 more once it is gone
        attempts = load.stop()
        load = None

        failed = [x for x in attempts if x["why"] is not None]
        check(not failed, "%d of %d requests not answered, e.g. %s"
              % (len(failed), len(attempts), failed[0]["why"] if failed else ""))
        b_peers = {e.get("peer") for e in b.events("open")}
        b_isa13 = answered_isa13(b)
        a_isa13 = answered_isa13(a)
        after_down = [x for x in attempts if x["start"] >= t_down]
        to_b = [x for x in after_down if x["peer"] in b_peers]
        check(not to_b, "%d connections begun after HAProxy marked b down reached b"
              % len(to_b))
        during = [x for x in attempts if t_term <= x["start"] < t_exit]
        during_b = sum(1 for x in during if x["isa13"] in b_isa13)
        # Every answer is in one daemon's log: nothing answered twice or by nobody.
        deadline = time.monotonic() + 5
        while True:
            a_isa13 = answered_isa13(a)
            nobody = [x for x in attempts if x["isa13"] not in a_isa13 | b_isa13]
            if not nobody or time.monotonic() >= deadline:
                break
            time.sleep(0.01)  # a's log lines land within ms
        check(not nobody, "%d answers are in neither daemon's log" % len(nobody))
        # Down because /readyz said 503, not because the listener went away.
        line = ha.wait_output(r"^.*Server openhetsd/b is DOWN.*$", 5)
        check(line is not None and "code: 503" in line,
              "HAProxy's reason for marking b down: %r" % line)
        report("HAProxy drain: HAProxy said %r" % line[line.find("Server"):][:120], True, None)
        check(not (a_isa13 & b_isa13 - {None}), "requests answered by both daemons")
        report("HAProxy drain: /readyz 503 %.0f ms after SIGTERM, b marked down after %.0f ms "
               "(grace %d ms), b exited 0 after %.0f ms; %d requests during the drain (%d by b, "
               "%d by a), %d after b was down all by a, %d requests in all, 0 lost"
               % ((t_503 - t_term) * 1000, (t_down - t_term) * 1000, grace,
                  (t_exit - t_term) * 1000, len(during), during_b, len(during) - during_b,
                  len(after_down), len(attempts)), True, None)
    finally:
        if load is not None:
            load.halt.set()
            load.join(ANSWER_TIMEOUT + 5)
        ha.stop()
        a.kill()
        b.kill()


@test("HAProxy: the idle close through HAProxy lands 5.0-5.1 s after the last byte",
      transports=ONCE)
def haproxy_idle(env, report):
    partners, a, b, ha = setup_pair(env, report, "ha-idle")
    try:
        req = request(9001)
        with Conn(ha.port, tls=False) as c:
            c.send(wrap(req))
            compare(env, c.read_frame(), req, partners)
            last = c.t_last_rx
            ms = elapsed_ms(last, c.wait_closed(8))
        check(5000 - EARLY_MS <= ms <= 5100, "closed %.1f ms after the answer's last byte, want "
              "5000-5100" % ms)
        ev = None
        for d in (a, b):
            ev = ev or d.wait_event(lambda e: e.get("event") == "close" and e.get("reason") == "idle", 2)
        check(ev is not None, "no close event with reason idle in either daemon's log")
        report("HAProxy idle: closed %.1f ms after the last byte (through HAProxy)" % ms, True, None)
    finally:
        ha.stop()
        a.kill()
        b.kill()


# ------------------------------------------------------------------ etc/

def metric_names(body):
    """Sample names of /metrics, and the families its TYPE lines declare."""
    names = {m.group(1) for m in re.finditer(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{| )", body, re.M)}
    return names | set(re.findall(r"^# TYPE (\S+) ", body, re.M))


def sample_labels(body):
    """{metric name: set of label names} over /metrics' samples."""
    out = {}
    for m in re.finditer(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}", body, re.M):
        out.setdefault(m.group(1), set()).update(re.findall(r"([a-zA-Z_]\w*)=", m.group(2)))
    return out


def dashboard_exprs(node, out):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "expr" and isinstance(v, str):
                out.append(v)
            else:
                dashboard_exprs(v, out)
    elif isinstance(node, list):
        for v in node:
            dashboard_exprs(v, out)
    return out


def panels(dash):
    for p in dash.get("panels", []):
        yield p
        for q in p.get("panels", []):
            yield q


def haproxy_cfg_values(text):
    """inter (ms), fall, the longest timeout client/server (s) of etc/haproxy.cfg."""
    def ms(v):
        m = re.match(r"^(\d+)(ms|s|m)?$", v)
        check(m is not None, "etc/haproxy.cfg: a time %r" % v)
        return int(m.group(1)) * {"ms": 1, None: 1, "s": 1000, "m": 60000}[m.group(2)]
    body = "\n".join(l.split("#", 1)[0] for l in text.splitlines())
    inter = [ms(v) for v in re.findall(r"\binter\s+(\S+)", body)]
    fall = [int(v) for v in re.findall(r"\bfall\s+(\d+)", body)]
    tmo = {k: ms(v) for k, v in re.findall(r"timeout\s+(client|server)\s+(\S+)", body)}
    return inter, fall, tmo, body


@test("HAProxy: etc/ examples: haproxy.cfg valid and consistent with openhetsd-behind-haproxy.json, "
      "prometheus.yml, the Grafana dashboard's metrics in /metrics", transports=ONCE)
def haproxy_etc_examples(env, report):
    bin_path = need_haproxy(report, "HAProxy etc")
    etc = os.path.join(env.top_srcdir, "etc")
    cfg_path = os.path.join(etc, "haproxy.cfg")
    r = subprocess.run([bin_path, "-c", "-f", cfg_path], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=30)
    check(r.returncode == 0, "haproxy -c -f etc/haproxy.cfg: %s" % r.stdout.decode()[-400:])
    with open(cfg_path, encoding="utf-8") as f:
        inter, fall, tmo, body = haproxy_cfg_values(f.read())
    check("send-proxy-v2" in body and "/readyz" in body, "etc/haproxy.cfg lacks send-proxy-v2 "
          "or the /readyz check")
    check("shutdown-sessions" not in body, "etc/haproxy.cfg cuts sessions when a server goes down")
    check(inter and fall, "etc/haproxy.cfg: no inter/fall")

    # The instance's settings: valid, and consistent with the balancer's.
    js_path = os.path.join(etc, "openhetsd-behind-haproxy.json")
    with open(js_path, encoding="utf-8") as f:
        settings = json.load(f)
    r = subprocess.run([env.daemon_bin, "-c", js_path, "--check-config", "--db", env.db,
                        "--partners", env.partners, "--log", "-"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
    check(r.returncode == 0, "openhetsd --check-config etc/openhetsd-behind-haproxy.json: %s"
          % r.stdout.decode()[-400:])
    idle = settings.get("idle_timeout_ms", 5000)
    check(min(tmo.values() or [0]) > idle, "etc/haproxy.cfg timeouts %s ms not longer than the idle "
          "timeout %d ms" % (tmo, idle))
    grace = settings.get("drain_grace_ms", 0)
    check(grace > max(inter) * max(fall), "drain_grace_ms %d not longer than inter %d ms x fall %d"
          % (grace, max(inter), max(fall)))
    lst = settings["listen"][0]
    check(lst.get("proxy_protocol") is True and lst.get("trusted_proxies") and lst.get("reuse_port"),
          "the example listener lacks proxy_protocol, trusted_proxies or reuse_port")
    check(re.search(r"server\s+\S+\s+%s:%d\s.*send-proxy-v2.*check port %d"
                    % (re.escape(lst["host"]), lst["port"], settings["admin"]["port"]), body),
          "etc/haproxy.cfg has no server line for %s:%d checking port %d"
          % (lst["host"], lst["port"], settings["admin"]["port"]))

    # Prometheus.
    promtool = shutil.which("promtool")
    if promtool:
        r = subprocess.run([promtool, "check", "config", os.path.join(etc, "prometheus.yml")],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
        check(r.returncode == 0, "promtool check config etc/prometheus.yml: %s"
              % r.stdout.decode()[-400:])
    else:
        report("HAProxy etc", None, "promtool is not installed: etc/prometheus.yml not checked")

    # The dashboard: JSON, the datasource a variable, every metric it names
    # (and every label it groups or filters by) in a live /metrics.
    with open(os.path.join(etc, "grafana-dashboard.json"), encoding="utf-8") as f:
        dash = json.load(f)
    check(any(i.get("name") == "DS_PROMETHEUS" for i in dash.get("__inputs", [])),
          "the dashboard has no DS_PROMETHEUS input")
    for p in panels(dash):
        if p.get("type") == "row":
            continue
        uid = (p.get("datasource") or {}).get("uid")
        check(uid == "${DS_PROMETHEUS}", "panel %r datasource %r" % (p.get("title"), p.get("datasource")))
        for t in p.get("targets", []):
            tuid = (t.get("datasource") or {}).get("uid", uid)
            check(tuid == "${DS_PROMETHEUS}", "panel %r target datasource %r"
                  % (p.get("title"), t.get("datasource")))
    exprs = dashboard_exprs(dash, [])
    check(exprs, "no expressions in the dashboard")
    d = Daemon(env, "ha-etc-metrics", args=["--admin", "127.0.0.1:0"]).start()
    try:
        port = admin_port(d)
        # Traffic first, so that labelled families with no fixed label set
        # (openhets_aaa_total{code}) have samples: a hit and an AAA reject.
        aaa = build_270(control=9301, trace=TRACE, mbi="1EG4TE5MK73", last="WRONGNAME",
                        first="JANE", dob="19400101")
        env.note_request(aaa)
        with Conn(d.port) as c:
            for r in (request(9300), aaa):
                c.send(wrap(r))
                c.read_frame()
        check(d.wait_count(lambda e: e.get("event") == "request", 2, 5), "requests not logged")
        status, body_m = http_get(port, "/metrics")
        check(status == 200, "/metrics: %d" % status)
    finally:
        d.kill()
    text = body_m.decode()
    have = metric_names(text)
    labels = sample_labels(text)
    used, problems = set(), []
    for e in exprs:
        for name in re.findall(r"\b(openhets_[a-z_]+)\b", e):
            used.add(name)
            if name not in have:
                problems.append("%s (in %r)" % (name, e))
        for name, sel in re.findall(r"\b(openhets_[a-z_]+)\{([^}]*)\}", e):
            for lab in re.findall(r"([a-zA-Z_]\w*)\s*[=!~]", sel):
                if lab not in {"le", "instance", "job"} and lab not in labels.get(name, set()):
                    problems.append("label %s of %s" % (lab, name))
        for grp in re.findall(r"\bby\s*\(([^)]*)\)", e):
            for lab in (x.strip() for x in grp.split(",")):
                if lab and lab not in {"le", "instance", "job"} and \
                        not any(lab in labels.get(n, set()) for n in re.findall(r"openhets_[a-z_]+", e)):
                    problems.append("by (%s) in %r" % (lab, e))
    for v in dash.get("templating", {}).get("list", []):
        for name, lab in re.findall(r"label_values\(\s*(openhets_[a-z_]+)\s*,\s*(\w+)\s*\)",
                                    str(v.get("definition", ""))):
            used.add(name)
            if name not in have:
                problems.append("%s (variable %s)" % (name, v.get("name")))
    check(not problems, "the dashboard uses what /metrics lacks: %s" % "; ".join(problems[:6]))
    wanted = {"openhets_requests_total", "openhets_aaa_total", "openhets_request_duration_seconds_bucket",
              "openhets_connections_open", "openhets_closes_total", "openhets_log_dropped_total",
              "openhets_store_errors_total", "openhets_tls_handshakes_total"}
    check(wanted <= used, "the dashboard does not show %s" % sorted(wanted - used))
    quantiles = set(re.findall(r"histogram_quantile\(\s*(0\.\d+)", " ".join(exprs)))
    check({"0.5", "0.9", "0.99"} <= quantiles, "latency quantiles %s" % sorted(quantiles))
    report("HAProxy etc: %d dashboard expressions over %d metric names, all in /metrics"
           % (len(exprs), len(used)), True, None)
