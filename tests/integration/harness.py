"""Integration-test harness for openhetsd: a tiny test registry, the daemon
under test, client connections on 127.0.0.1, the wire wrapper (DESIGN §3),
the answer normalisation used to compare the daemon with hets-respond, and
the shared state the log checks read at the end.

Standard library only.  Every wait has a deadline; no test synchronises on a
fixed sleep (the only pauses are the deliberate gaps of a trickling client).
"""

import errno
import hashlib
import json
import os
import re
import selectors
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import tempfile
import threading
import time

TODAY = "2026-11-23"
SOH, STX, ETX = b"\x01", b"\x02", b"\x03"

# Generous bound for "the answer should come": covers slow sanitizer builds.
ANSWER_TIMEOUT = float(os.environ.get("OPENHETS_TEST_ANSWER_TIMEOUT", "10"))
# Extra tolerance (ms) added to the upper bound of the short-timer checks
# only; the Must-show 5.000-5.100 s window is never widened.
SLACK_MS = float(os.environ.get("OPENHETS_TEST_SLACK_MS", "0"))
# The transport the suite runs its socket tests over: "plain" (TCP) or
# "tls" (every daemon's default listener carries TLS with a required client
# certificate, and Conn speaks TLS to it).
TRANSPORT = os.environ.get("OPENHETS_TEST_TRANSPORT", "plain")
# Ports whose listen event said "tls": true (Conn speaks TLS to them).
TLS_PORTS = set()


class Fail(Exception):
    """A test assertion that failed; the message says what was seen."""


def check(cond, why):
    if not cond:
        raise Fail(why)


# ------------------------------------------------------------------ registry

_TESTS = []


def test(name, transports=("plain", "tls")):
    """Registers fn(env, report) as a test.  The test passes when it returns
    without raising; it may also call report(subname, ok, why) for results of
    its own (conformance cases), each printed as a PASS or FAIL line.
    transports: the suite's transports it runs under (a test of TLS itself,
    or one that drives raw sockets, runs once)."""

    def deco(fn):
        _TESTS.append((name, fn, tuple(transports)))
        return fn

    return deco


def registered():
    """(name, fn) of the tests that run under this suite's transport."""
    return [(name, fn) for name, fn, modes in _TESTS if TRANSPORT in modes]


# ------------------------------------------------------------------ wire

def wrap(payload):
    return SOH + b"%010d" % len(payload) + STX + payload + ETX


def isa_delims(payload):
    """(element, repetition, component, segment) separators of an ISA."""
    return (payload[3:4], payload[82:83], payload[104:105], payload[105:106])


# Fields that legitimately differ between two answers to the same request:
# the answer's own date/time and control numbers (the lead's list).
_IGNORED = {
    b"ISA": (9, 10, 13),
    b"IEA": (2,),
    b"GS": (4, 5, 6),
    b"GE": (2,),
    b"BHT": (4, 5),
}


def normalise(payload):
    """The answer with its date/time and control numbers masked: ISA09/ISA10,
    ISA13/IEA02, GS04/GS05, GS06/GE02, BHT04/BHT05, the TRN*1 reference, and
    a HETS record's date/time (offsets 34-50).  Everything else must match."""
    if payload.startswith(b"HETS") and len(payload) >= 51:
        return payload[:34] + b"#" * 17 + payload[51:]
    if not (payload.startswith(b"ISA") and len(payload) >= 106):
        return payload
    es, _, _, ss = isa_delims(payload)
    out = []
    for seg in payload.split(ss):
        body = seg.lstrip(b"\r\n")
        lead = seg[: len(seg) - len(body)]
        els = body.split(es)
        masked = list(_IGNORED.get(els[0], ()))
        if els[0] == b"TRN" and len(els) > 2 and els[1] == b"1":
            masked.append(2)
        for i in masked:
            if i < len(els):
                els[i] = b"#"
        out.append(lead + es.join(els))
    return ss.join(out)


def segments(payload):
    if payload.startswith(b"ISA") and len(payload) >= 106:
        es, _, _, ss = isa_delims(payload)
        return [s.strip(b"\r\n").split(es) for s in payload.split(ss) if s.strip(b"\r\n")]
    return []


def answer_kind(payload):
    if payload.startswith(b"HETS"):
        return "HETS"
    segs = segments(payload)
    ids = [s[0] for s in segs]
    for s in segs:
        if s[0] == b"ST" and len(s) > 1:
            return s[1].decode("ascii", "replace")
    if b"TA1" in ids:
        return "TA1"
    return "unknown"


def hets_code(payload):
    return payload[53:61].decode("ascii", "replace") if payload.startswith(b"HETS") else None


def _terminator(norm):
    """The segment terminator of a normalised interchange (masking moved
    it from offset 105): the byte after ISA16."""
    if not norm.startswith(b"ISA") or len(norm) < 4:
        return None
    parts = norm.split(norm[3:4], 16)
    return parts[16][1:2] if len(parts) == 17 and len(parts[16]) >= 2 else None


def describe_diff(got, want):
    """One line naming the first difference between two normalised answers."""
    if got == want:
        return "identical"
    ss_got, ss_want = _terminator(got), _terminator(want)
    if ss_got and ss_want:
        gs = got.split(ss_got)
        ws = want.split(ss_want)
        for i in range(max(len(gs), len(ws))):
            g = gs[i] if i < len(gs) else b"<none>"
            w = ws[i] if i < len(ws) else b"<none>"
            if g != w:
                return "segment %d is %r, hets-respond has %r" % (i + 1, g[:160], w[:160])
    return "answer %r..., hets-respond %r..." % (got[:100], want[:100])


# ------------------------------------------------------------------ requests

ISA_TIME = "0930"


def build_270(submitter="SUBMITTER01", control=1, mbi="1EG4TE5MK73", last="QUILLFEATHER",
              first="JANE", dob="19400101", trace="TRC0001", npi="1234567893",
              date="20261123", receiver="CMS", ref=None):
    """A valid 270 (one inquiry) with the usual delimiters * ^ : ~."""
    ctl = "%09d" % control
    segs = [
        "ISA*00*          *00*          *ZZ*%-15s*ZZ*%-15s*261123*%s*^*00501*%s*0*T*:"
        % (submitter, receiver, ISA_TIME, ctl),
        "GS*HS*%s*CMS*20261123*%s*%d*X*005010X279A1" % (submitter, ISA_TIME, control),
        "ST*270*0001*005010X279A1",
        "BHT*0022*13*%s*20261123*%s" % (ref or "REQ%06d" % (control % 1000000), ISA_TIME),
        "HL*1**20*1",
        "NM1*PR*2*CMS*****PI*CMS",
        "HL*2*1*21*1",
        "NM1*1P*2*EXAMPLE CLINIC*****XX*%s" % npi,
        "HL*3*2*22*0",
        "TRN*1*%s*9ABCDEFGHI" % trace,
        "NM1*IL*1*%s*%s****MI*%s" % (last, first, mbi),
        "DMG*D8*%s" % dob,
        "DTP*291*D8*%s" % date,
        "EQ*30",
    ]
    st_count = len(segs) - 2 + 1  # ST..EQ plus SE
    segs += ["SE*%d*0001" % st_count, "GE*1*%d" % control, "IEA*1*%s" % ctl]
    return ("~".join(segs) + "~").encode("ascii")


# ------------------------------------------------------------------ environment

class Env:
    """What every test shares: paths, the fixture store, hets-respond answers,
    PHI values to look for, and every daemon started (for the log checks)."""

    def __init__(self):
        here = os.path.dirname(os.path.abspath(__file__))
        self.top_srcdir = os.path.abspath(os.environ.get("top_srcdir") or os.path.join(here, "..", ".."))
        self.top_builddir = os.path.abspath(os.environ.get("top_builddir") or os.path.join(here, "..", ".."))
        self.daemon_bin = os.environ.get("OPENHETS_DAEMON") or os.path.join(self.top_builddir, "openhetsd-test")
        self.respond_bin = os.path.join(self.top_builddir, "hets-respond")
        self.hetsdb_bin = os.path.join(self.top_builddir, "hets-db")
        self.fixtures = os.path.join(self.top_srcdir, "tests", "fixtures")
        self.cases_dir = os.path.join(self.top_srcdir, "tests", "conformance", "cases")
        self.partners = os.path.join(self.fixtures, "partners.json")
        self.store_jsonl = os.path.join(self.fixtures, "store.jsonl")
        self.tmp = tempfile.mkdtemp(prefix="ohets-integration.")
        self.certs = os.path.join(self.tmp, "certs")  # made by tests/tls/mkcerts.sh
        _CERTS_DIR[0] = self.certs
        self.db = os.path.join(self.tmp, "store.db")
        self.daemons = []  # every Daemon started, for the suite-wide log checks
        self.phi = set()
        self._expected = {}
        self._seq = 0
        self._lock = threading.Lock()

    def missing_tools(self):
        return [p for p in (self.daemon_bin, self.respond_bin, self.hetsdb_bin)
                if not os.access(p, os.X_OK)]

    def setup(self):
        r = subprocess.run([os.path.join(self.top_srcdir, "tests", "tls", "mkcerts.sh"), self.certs],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
        if r.returncode != 0:
            raise RuntimeError("tests/tls/mkcerts.sh failed: %s"
                               % r.stdout.decode(errors="replace").strip()[-300:])
        r = subprocess.run([self.hetsdb_bin, "--db", self.db, "import", self.store_jsonl],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        if r.returncode != 0:
            raise RuntimeError("hets-db import of %s failed: %s"
                               % (self.store_jsonl, r.stderr.decode(errors="replace").strip()))
        self._collect_phi()

    def cleanup(self):
        for d in self.daemons:
            d.kill()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def scratch(self, name):
        with self._lock:
            self._seq += 1
            path = os.path.join(self.tmp, "%02d-%s" % (self._seq, name))
        os.makedirs(path)
        return path

    # -- PHI: every name, MBI and date of birth in the store and the requests
    def _add_phi(self, value):
        value = (value or "").strip()
        if len(value) >= 3:
            self.phi.add(value)

    def _collect_phi(self):
        with open(self.store_jsonl, encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if not line:
                    continue
                rec = json.loads(line)
                for key in ("mbi", "last", "first"):
                    self._add_phi(rec.get(key))
                for mbi in rec.get("retired_mbis") or []:
                    self._add_phi(mbi)
                dob = rec.get("dob")
                if dob:
                    self._add_phi(dob)
                    self._add_phi(dob.replace("-", ""))
        for path in self.case_files():
            with open(path, "rb") as f:
                self.note_request(f.read())

    def note_request(self, payload):
        """Remembers the PHI of a request sent to a daemon."""
        for seg in segments(payload):
            sid = seg[0].decode("ascii", "replace")
            vals = [v.decode("latin-1") for v in seg]
            if sid == "NM1" and len(vals) > 1 and vals[1] == "IL":
                for i in (3, 4, 9):
                    if i < len(vals):
                        self._add_phi(vals[i])
            elif sid == "DMG" and len(vals) > 2:
                self._add_phi(vals[2])

    def case_files(self):
        if not os.path.isdir(self.cases_dir):
            return []
        return sorted(os.path.join(self.cases_dir, n) for n in os.listdir(self.cases_dir)
                      if n.endswith(".x12"))

    # -- the reference: what hets-respond answers for the same bytes
    def expected(self, payload, partners=None):
        partners = partners or self.partners
        key = (payload, partners)
        if key not in self._expected:
            r = subprocess.run([self.respond_bin, "--db", self.db, "--partners", partners,
                                "--today", TODAY],
                               input=payload, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               timeout=60)
            if r.returncode != 0:
                raise Fail("hets-respond exited %d: %s"
                           % (r.returncode, r.stderr.decode(errors="replace").strip()))
            self._expected[key] = r.stdout
        return self._expected[key]

    def cert(self, name):
        """Path of a file made by mkcerts.sh (server.pem, client1.key, ...)."""
        return os.path.join(self.certs, name)

    def tls_listener(self, host="127.0.0.1", port=0, **tls):
        """A listener object with TLS: the ECDSA server certificate, client
        certificates required against the test CA, unless tls says otherwise."""
        t = {"cert": self.cert("server.pem"), "key": self.cert("server.key"),
             "ca": self.cert("ca.pem")}
        t.update(tls)
        return {"host": host, "port": port, "tls": {k: v for k, v in t.items() if v is not None}}

    def write_settings(self, directory, settings, name="openhetsd.json"):
        path = os.path.join(directory, name)
        with open(path, "w", encoding="utf-8") as f:
            json.dump(settings, f)
        return path

    def core_listener(self, host="127.0.0.1", port=0, client_cert="optional",
                      idle_timeout_ms=None, **tls):
        """A CORE door listener (DESIGN §13): protocol core over TLS with the
        test server certificate and CA, client certificates optional unless
        said otherwise; idle_timeout_ms: the listener's own, when given."""
        lst = self.tls_listener(host, port, client_cert=client_cert, **tls)
        lst["protocol"] = "core"
        if idle_timeout_ms is not None:
            lst["idle_timeout_ms"] = idle_timeout_ms
        return lst

    def cert_sha256(self, name):
        """SHA-256 (lower-case hex) of a mkcerts.sh certificate's DER."""
        with open(self.cert(name + ".pem"), encoding="ascii") as f:
            return hashlib.sha256(ssl.PEM_cert_to_DER_cert(f.read())).hexdigest()

    def hash_password(self, password):
        """A PHC string for password from `openhetsd --hash-password`."""
        r = subprocess.run([self.daemon_bin, "--hash-password"], input=password.encode(),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
        phc = r.stdout.decode(errors="replace").strip()
        if r.returncode != 0 or not phc.startswith("$scrypt$"):
            raise Fail("openhetsd --hash-password exited %d, printed %r: %s"
                       % (r.returncode, phc[:80], r.stderr.decode(errors="replace").strip()))
        return phc

    def write_partners(self, directory, partners, name="partners.json"):
        path = os.path.join(directory, name)
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump({"partners": partners}, f)
        os.replace(tmp, path)
        return path


# ------------------------------------------------------------------ the daemon

class Daemon:
    """openhetsd under test, its JSON log read from stdout, its stderr kept.

    args: extra command-line settings.  listen: add --listen 127.0.0.1:0
    (off when a config file names the listeners)."""

    def __init__(self, env, name, args=(), partners=None, db=None, delay_ms=None,
                 listen=True, log="-", listeners=1):
        self.env = env
        self.name = name
        self.cmd = [env.daemon_bin]
        if listen and TRANSPORT == "tls":
            settings = env.write_settings(env.scratch(name + "-tls"), {"listen": [env.tls_listener()]})
            self.cmd += ["-c", settings]
        elif listen:
            self.cmd += ["--listen", "127.0.0.1:0"]
        self.cmd += ["--db", db or env.db, "--partners", partners or env.partners,
                     "--log", log, "--today", TODAY]
        self.cmd += list(args)
        self.environ = dict(os.environ)
        self.environ.pop("OPENHETS_TEST_DELAY_MS", None)
        if delay_ms is not None:
            self.environ["OPENHETS_TEST_DELAY_MS"] = str(delay_ms)
        self.expect_listeners = listeners
        self.lines = []      # (raw text, parsed dict or None), in order
        self.stderr = b""
        self.proc = None
        self.ports = []
        self.listen_events = []
        self.port_note = None
        self.expect_exit = False
        self.died = None
        self.killed = False
        self._cv = threading.Condition()
        self._threads = []
        env.daemons.append(self)

    # -- start and stop
    def start(self, timeout=15):
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=self.environ)
        for fn in (self._read_stdout, self._read_stderr):
            t = threading.Thread(target=fn, daemon=True)
            t.start()
            self._threads.append(t)
        deadline = time.monotonic() + timeout
        while len(self.ports) < self.expect_listeners:
            ev = self.wait_event(lambda e: e.get("event") == "listen", timeout=deadline - time.monotonic(),
                                 skip=len(self.listen_events))
            if ev is None:
                rc = self.proc.poll()
                raise Fail("daemon gave %d of %d listen events within %.0f s (%s); stderr: %s"
                           % (len(self.ports), self.expect_listeners, timeout,
                              "exited %s" % rc if rc is not None else "still running",
                              self.stderr_text()[-400:]))
            self.listen_events.append(ev)
            self.ports.append(self._port_of(ev))
        return self

    def _port_of(self, ev):
        """The port of a listen event; notes whether Conn must speak TLS to it."""
        port = self._port_number(ev)
        if ev.get("tls") is True:
            TLS_PORTS.add(port)
        else:
            TLS_PORTS.discard(port)
        return port

    def _port_number(self, ev):
        port = ev.get("port")
        if isinstance(port, int) or (isinstance(port, str) and port.isdigit()):
            return int(port)
        for key in ("address", "addr", "listen", "listener", "bind"):
            v = ev.get(key)
            if isinstance(v, str):
                m = re.search(r":(\d+)$", v)
                if m:
                    self.port_note = "listen event gives the port in %r, not 'port'" % key
                    return int(m.group(1))
        raise Fail("listen event has no port: %s" % json.dumps(ev))

    @property
    def port(self):
        return self.ports[0]

    def kill(self):
        """Stops the daemon (SIGKILL) if it still runs; notes an exit nobody
        asked for (a crash) in self.died."""
        if self.proc and self.proc.poll() is not None and not self.expect_exit \
                and not self.killed and self.died is None:
            self.died = self.proc.returncode
        if self.proc and self.proc.poll() is None:
            self.killed = True
            self.proc.kill()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        for t in self._threads:
            t.join(timeout=5)

    def send_signal(self, sig):
        if sig in (signal.SIGTERM, signal.SIGINT):
            self.expect_exit = True
        check(self.proc.poll() is None, "daemon already exited (%s) before signal %d"
              % (self.proc.returncode, sig))
        self.proc.send_signal(sig)

    def wait_exit(self, timeout):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    # -- output readers
    def _read_stdout(self):
        for raw in iter(self.proc.stdout.readline, b""):
            text = raw.decode("utf-8", "replace").rstrip("\n")
            try:
                obj = json.loads(text)
                if not isinstance(obj, dict):
                    obj = None
            except ValueError:
                obj = None
            with self._cv:
                self.lines.append((text, obj))
                self._cv.notify_all()
        with self._cv:
            self._cv.notify_all()

    def _read_stderr(self):
        chunks = []
        for raw in iter(lambda: self.proc.stderr.read1(65536), b""):
            chunks.append(raw)
            with self._cv:
                self.stderr = b"".join(chunks)
                self._cv.notify_all()

    def stderr_text(self):
        with self._cv:
            return self.stderr.decode("utf-8", "replace")

    def wait_stderr(self, text, timeout):
        """True once `text` is on the daemon's stderr, False after timeout
        seconds: a line the daemon writes as it logs an event may reach
        the stderr reader after the event reached the stdout reader."""
        deadline = time.monotonic() + timeout
        with self._cv:
            while text not in self.stderr.decode("utf-8", "replace"):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cv.wait(left)
            return True

    # -- events
    def events(self, name=None):
        with self._cv:
            objs = [o for _, o in self.lines if o is not None]
        return [o for o in objs if name is None or o.get("event") == name]

    def wait_event(self, pred, timeout, skip=0):
        """The first event (after `skip` matching ones) for which pred is true,
        or None after timeout seconds or once the daemon's stdout closed."""
        deadline = time.monotonic() + max(timeout, 0)
        with self._cv:
            while True:
                hits = [o for _, o in self.lines if o is not None and pred(o)]
                if len(hits) > skip:
                    return hits[skip]
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and self.proc.stdout.closed):
                    return None
                self._cv.wait(min(left, 0.2))

    def wait_count(self, pred, count, timeout):
        """True once `count` events satisfy pred, within timeout seconds."""
        deadline = time.monotonic() + timeout
        with self._cv:
            while True:
                n = sum(1 for _, o in self.lines if o is not None and pred(o))
                if n >= count:
                    return True
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    return n >= count
                self._cv.wait(min(left, 0.2))

    def close_reasons(self):
        return [e.get("reason") for e in self.events("close")]


# ------------------------------------------------------------------ connections

def rx_queue_of(server_port, client_port):
    """Bytes waiting unread in the daemon's receive queue for the connection
    from client_port, from /proc/net/tcp; None when unknown."""
    try:
        with open("/proc/net/tcp", encoding="ascii") as f:
            next(f)
            for line in f:
                parts = line.split()
                if len(parts) < 5:
                    continue
                local, remote, queues = parts[1], parts[2], parts[4]
                if int(local.split(":")[1], 16) == server_port and \
                        int(remote.split(":")[1], 16) == client_port:
                    return int(queues.split(":")[1], 16)
    except (OSError, ValueError, IndexError, StopIteration):
        return None
    return None


SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)  # Linux value


class Closed(Fail):
    pass


_CERTS_DIR = [None]  # set by the suite: where mkcerts.sh put the files


class Conn:
    """One client socket to the daemon on 127.0.0.1, non-blocking, with its
    own receive buffer and the times of its last byte in and out."""

    def __init__(self, port, connect_timeout=5.0, tls=None, cert="client1", verify=True,
                 tls_version=None):
        """tls: None speaks TLS when the port's listener has it; cert: the
        client certificate (a mkcerts.sh name, or None for none)."""
        self.port = port
        # Taken before connecting: the daemon's clock for this socket can
        # only start later, so a measured idle time is never too short.
        self.t_connect = time.monotonic()
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=connect_timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        # Kernel arrival times for received bytes: a busy test process may
        # wake up late, and a late stamp on the last byte would make an idle
        # close look early.
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
            self.kernel_stamps = True
        except OSError:
            self.kernel_stamps = False
        self.sock.setblocking(False)
        self.local_port = self.sock.getsockname()[1]
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.sock, selectors.EVENT_READ)
        self.buf = bytearray()
        self.eof = False
        self.t_eof = None
        self.t_last_rx = None
        self.t_last_tx = None
        self.t_first_tx = None  # when the first send began
        self.t_send_start = None  # when the latest send began
        self.tls = None
        if tls is None:
            tls = port in TLS_PORTS
        if tls:
            self._start_tls(cert, verify, tls_version, connect_timeout)

    # -- TLS: an SSLObject over memory BIOs, so the raw socket keeps its
    # kernel receive stamps and the tests their view of raw bytes.
    def _start_tls(self, cert, verify, version, timeout):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        certs = _CERTS_DIR[0]
        if verify:
            ctx.load_verify_locations(os.path.join(certs, "ca.pem"))
        else:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        if cert:
            ctx.load_cert_chain(os.path.join(certs, cert + ".pem"), os.path.join(certs, cert + ".key"))
        if version == "1.2":
            ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        self.tls_in, self.tls_out = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.tls = ctx.wrap_bio(self.tls_in, self.tls_out, server_hostname="localhost")
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                self._tls_flush(deadline)
                if not self._raw_fill(deadline):
                    raise Closed("connection closed during the TLS handshake")
                if time.monotonic() > deadline:
                    raise Fail("no TLS handshake within %.0f s" % timeout)
        self._tls_flush(deadline)

    def _tls_flush(self, deadline):
        data = self.tls_out.read()
        if data:
            self._raw_send(memoryview(data), deadline)

    def _raw_fill(self, deadline):
        """One raw read into the TLS engine; False at EOF."""
        left = max(deadline - time.monotonic(), 0)
        if not self.sel.select(left):
            return True
        try:
            data = self.sock.recv(65536)
        except BlockingIOError:
            return True
        except ConnectionResetError:
            data = b""
        if not data:
            return False
        self.tls_in.write(data)
        return True

    def close(self):
        try:
            self.sel.close()
        finally:
            self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, data, timeout=10.0):
        self.t_send_start = time.monotonic()
        if self.t_first_tx is None:
            self.t_first_tx = self.t_send_start
        deadline = time.monotonic() + timeout
        if self.tls is not None:
            try:
                self.tls.write(data)
            except ssl.SSLError as e:
                raise Closed("TLS write failed (%s)" % e)
            view = memoryview(self.tls_out.read())
        else:
            view = memoryview(data)
        self._raw_send(view, deadline)
        self.t_last_tx = time.monotonic()

    def _raw_send(self, view, deadline):
        while view:
            try:
                n = self.sock.send(view)
                view = view[n:]
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise Fail("could not send %d bytes in time" % len(view))
                _, w, _ = select_one(self.sock, write=True, timeout=0.05)
            except (BrokenPipeError, ConnectionResetError) as e:
                raise Closed("connection closed while sending (%s)" % e.strerror)

    def wait_drained(self, timeout=5.0):
        """Waits until the daemon has read every byte sent so far (its receive
        queue is empty).  Returns False when that cannot be observed."""
        deadline = time.monotonic() + timeout
        while True:
            q = rx_queue_of(self.port, self.local_port)
            if q is None:
                return False
            if q == 0:
                return True
            if time.monotonic() > deadline:
                raise Fail("daemon left %d bytes unread for %.1f s" % (q, timeout))
            time.sleep(0.0005)

    def _fill(self, deadline):
        """Reads what is available, waiting at most until deadline (a
        deadline already past just polls).  Returns False at EOF (or reset)."""
        if self.eof:
            return False
        left = max(deadline - time.monotonic(), 0)
        if not self.sel.select(left):
            return True
        try:
            data, anc, _, _ = self.sock.recvmsg(65536, socket.CMSG_SPACE(16))
        except BlockingIOError:
            return True
        except ConnectionResetError:
            data, anc = b"", []
        now = time.monotonic()
        if not data:
            self.eof = True
            self.t_eof = now
            return False
        if self.tls is not None:
            self.tls_in.write(data)
            plain = bytearray()
            while True:
                try:
                    chunk = self.tls.read(65536)
                except ssl.SSLWantReadError:
                    break
                except ssl.SSLZeroReturnError:  # close_notify: the daemon ends
                    self.eof = True
                    self.t_eof = now
                    break
                except ssl.SSLError:
                    self.eof = True
                    self.t_eof = now
                    break
                if not chunk:
                    break
                plain += chunk
            self._tls_flush(time.monotonic() + 1)
            data = bytes(plain)
            if not data:
                return not self.eof  # handshake or ticket bytes only
        self.buf += data
        self.t_last_rx = now
        for level, kind, raw in anc:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(raw) >= 16:
                sec, nsec = struct.unpack("qq", raw[:16])
                self.t_last_rx = min(now, now - (time.time() - (sec + nsec / 1e9)))
        return True

    def read_frame(self, timeout=None):
        """The payload of the next wrapped answer (SOH, 10 digits, STX,
        payload, ETX).  Fails on a broken wrapper, EOF or timeout."""
        timeout = ANSWER_TIMEOUT if timeout is None else timeout
        deadline = time.monotonic() + timeout
        while True:
            b = self.buf
            if b:
                check(b[0:1] == SOH, "answer does not start with SOH: %r" % bytes(b[:40]))
            if len(b) >= 12:
                digits = bytes(b[1:11])
                check(digits.isdigit(), "answer length is not 10 digits: %r" % digits)
                check(b[11:12] == STX, "answer has no STX after the length: %r" % bytes(b[:16]))
                n = int(digits)
                if len(b) >= 13 + n:
                    check(b[12 + n:13 + n] == ETX, "answer has no ETX after %d payload bytes" % n)
                    payload = bytes(b[12:12 + n])
                    del b[:13 + n]
                    return payload
            if time.monotonic() >= deadline:
                raise Fail("no whole answer within %.1f s (have %d bytes: %r)"
                           % (timeout, len(b), bytes(b[:60])))
            if not self._fill(deadline):
                raise Closed("connection closed before a whole answer (have %d bytes: %r)"
                             % (len(self.buf), bytes(self.buf[:60])))

    def read_raw(self, timeout=None):
        """The next bare X12 answer: ISA ... up to the IEA segment's
        terminator (line breaks before it are skipped)."""
        timeout = ANSWER_TIMEOUT if timeout is None else timeout
        deadline = time.monotonic() + timeout
        while True:
            b = self.buf
            while b[:1] in (b"\r", b"\n"):
                del b[:1]
            if b:
                check(b[:1] in (b"I", b"H"), "raw answer starts with %r" % bytes(b[:40]))
            if len(b) >= 106 and b[:3] == b"ISA":
                es, ss = b[3:4], b[105:106]
                m = re.search(re.escape(ss) + rb"[\r\n]*IEA" + re.escape(es) + rb"[^" + re.escape(ss) + rb"]*"
                              + re.escape(ss), bytes(b))
                if m:
                    payload = bytes(b[:m.end()])
                    del b[:m.end()]
                    return payload
            if time.monotonic() >= deadline:
                raise Fail("no whole raw answer within %.1f s (have %d bytes: %r)"
                           % (timeout, len(b), bytes(b[:60])))
            if not self._fill(deadline):
                raise Closed("connection closed before a whole raw answer (have %r)" % bytes(b[:60]))

    def wait_closed(self, timeout):
        """Waits for the daemon to close; returns the monotonic time of EOF.
        Fails if bytes arrive instead or nothing happens within timeout."""
        deadline = time.monotonic() + timeout
        while not self.eof:
            check(not self.buf, "unexpected bytes instead of a close: %r" % bytes(self.buf[:60]))
            if time.monotonic() >= deadline:
                raise Fail("connection still open after %.2f s" % timeout)
            self._fill(deadline)
        check(not self.buf, "unexpected bytes before the close: %r" % bytes(self.buf[:60]))
        return self.t_eof

    def still_open_after(self, seconds):
        """True when nothing (no byte, no close) arrives for `seconds`."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if not self._fill(deadline):
                return False
            if self.buf:
                return False
        return True


def select_one(sock, write=False, timeout=0.05):
    import select
    if write:
        return select.select([], [sock], [], timeout)
    return select.select([sock], [], [], timeout)


def exchange(conn, payload, timeout=None):
    """Sends one wrapped request and returns the answer's payload."""
    conn.send(wrap(payload))
    return conn.read_frame(timeout)


def compare(env, got, request, partners=None):
    """Fails unless got equals hets-respond's answer to request, after
    normalise()."""
    want = env.expected(request, partners)
    g, w = normalise(got), normalise(want)
    check(g == w, describe_diff(g, w))


class HttpResponse:
    """One HTTP/1.1 response read off a Conn: status, reason, headers (a
    list of (lower-case name, value)), body (chunked coding undone)."""

    def __init__(self, status, reason, headers, body, raw_head):
        self.status, self.reason, self.headers, self.body = status, reason, headers, body
        self.raw_head = raw_head

    def header(self, name, default=None):
        name = name.lower()
        for k, v in self.headers:
            if k == name:
                return v
        return default

    def __repr__(self):
        return "HTTP %d %s (%d body bytes: %r)" % (self.status, self.reason, len(self.body),
                                                  self.body[:120])


def _http_take(conn, n, deadline):
    while len(conn.buf) < n:
        if time.monotonic() >= deadline:
            raise Fail("no whole HTTP response in time (have %d bytes: %r)"
                       % (len(conn.buf), bytes(conn.buf[:80])))
        if not conn._fill(deadline):
            raise Closed("connection closed inside an HTTP response (have %r)"
                         % bytes(conn.buf[:80]))
    out = bytes(conn.buf[:n])
    del conn.buf[:n]
    return out


def _http_line(conn, deadline, limit=65536):
    while True:
        i = conn.buf.find(b"\r\n")
        if i >= 0:
            return _http_take(conn, i + 2, deadline)[:-2]
        check(len(conn.buf) < limit, "no line end in %d bytes" % len(conn.buf))
        if time.monotonic() >= deadline:
            raise Fail("no whole HTTP line in time (have %r)" % bytes(conn.buf[:80]))
        if not conn._fill(deadline):
            raise Closed("connection closed before a whole HTTP line (have %r)"
                         % bytes(conn.buf[:80]))


def read_http(conn, timeout=None, head_request=False):
    """The next HTTP/1.1 response on conn (a Conn, plain or TLS): status line,
    headers, then a body of Content-Length bytes, chunked, or up to EOF when
    neither is given.  An interim 1xx response is returned like any other
    (its body is empty).  Fails on EOF or after timeout seconds."""
    timeout = ANSWER_TIMEOUT if timeout is None else timeout
    deadline = time.monotonic() + timeout
    status_line = _http_line(conn, deadline)
    m = re.match(rb"HTTP/1\.[01] (\d{3})(?: (.*))?$", status_line)
    check(m is not None, "not an HTTP status line: %r" % status_line[:100])
    status = int(m.group(1))
    reason = (m.group(2) or b"").decode("latin-1")
    headers, raw = [], [status_line]
    while True:
        line = _http_line(conn, deadline)
        raw.append(line)
        if not line:
            break
        check(b":" in line, "header line without a colon: %r" % line[:100])
        k, v = line.split(b":", 1)
        headers.append((k.strip().decode("latin-1").lower(), v.strip().decode("latin-1")))
    resp = HttpResponse(status, reason, headers, b"", b"\r\n".join(raw))
    if 100 <= status < 200 or status in (204, 304) or head_request:
        return resp
    te = (resp.header("transfer-encoding") or "").lower()
    if "chunked" in te:
        body = bytearray()
        for _ in range(100000):
            size = int(_http_line(conn, deadline).split(b";")[0], 16)
            if size == 0:
                while _http_line(conn, deadline):
                    pass
                break
            body += _http_take(conn, size, deadline)
            check(_http_take(conn, 2, deadline) == b"\r\n", "chunk not followed by CRLF")
        resp.body = bytes(body)
    elif resp.header("content-length") is not None:
        resp.body = _http_take(conn, int(resp.header("content-length")), deadline)
    else:
        while not conn.eof and time.monotonic() < deadline:
            conn._fill(deadline)
        resp.body = bytes(conn.buf)
        del conn.buf[:]
    return resp


def elapsed_ms(t0, t1):
    return (t1 - t0) * 1000.0


def is_errno(exc, *codes):
    return isinstance(exc, OSError) and exc.errno in codes


__all__ = [n for n in dir() if not n.startswith("_")] + ["errno", "signal", "os", "time", "json"]
