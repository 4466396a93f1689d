"""Behind a balancer (issue 12, DESIGN §14): the PROXY protocol header (v1
and v2) before the first request, and before TLS; the address it carries
is the peer for partner networks and the log; bad, missing, untrusted and
late headers are closed with no record (reason protocol); SO_REUSEPORT;
the drain grace after SIGTERM."""

import ipaddress
import signal
import ssl
import socket
import struct
import time

from harness import (Conn, Daemon, Fail, build_270, check, compare, hets_code, test, wrap)

HIT = dict(mbi="1EG4TE5MK73", last="QUILLFEATHER", first="JANE", dob="19400101")
ONCE = ("plain",)
V2_SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def v1(src="203.0.113.9", sport=4444, dst="127.0.0.1", dport=5270, proto=None):
    proto = proto or ("TCP6" if ":" in src else "TCP4")
    return ("PROXY %s %s %s %d %d\r\n" % (proto, src, dst, sport, dport)).encode()


def v2(src="203.0.113.9", sport=4444, dst="127.0.0.1", dport=5270, cmd=1, tlv=b""):
    if cmd == 0:
        return V2_SIG + bytes([0x20, 0x00]) + struct.pack("!H", 0)
    s, d = ipaddress.ip_address(src), ipaddress.ip_address(dst)
    fam = 0x11 if s.version == 4 else 0x21
    body = s.packed + d.packed + struct.pack("!HH", sport, dport) + tlv
    return V2_SIG + bytes([0x20 | cmd, fam]) + struct.pack("!H", len(body)) + body


def proxy_daemon(env, name, partners=None, trusted=("127.0.0.0/8",), args=(), tls=False, **kw):
    work = env.scratch(name)
    listener = env.tls_listener() if tls else {"host": "127.0.0.1", "port": 0}
    listener.update({"proxy_protocol": True, "trusted_proxies": list(trusted)})
    settings = env.write_settings(work, {"listen": [listener]})
    return Daemon(env, name, listen=False, partners=partners, args=["-c", settings] + list(args),
                  **kw).start()


def raw_conn(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def read_frame(s, timeout=10):
    s.settimeout(timeout)
    buf = b""
    while True:
        if len(buf) >= 12:
            n = int(buf[1:11])
            if len(buf) >= 13 + n:
                return buf[12:12 + n]
        chunk = s.recv(65536)
        if not chunk:
            raise Fail("closed before a whole answer (have %r)" % buf[:60])
        buf += chunk


def closed_without_bytes(s, timeout=5):
    s.settimeout(timeout)
    got = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
    except ConnectionResetError:
        pass
    except socket.timeout:
        raise Fail("still open after %.0f s" % timeout)
    check(got == b"", "bytes before the close: %r" % got[:60])


def partners_at(env, directory, network):
    """SUBMITTER01 allowed only from `network`, SUBMITTER02 from loopback."""
    return env.write_partners(directory, [
        {"submitter": "SUBMITTER01", "name": "Example Clearinghouse", "networks": [network],
         "npis": ["1234567893", "1987654328"]},
        {"submitter": "SUBMITTER02", "name": "Example Provider Group",
         "networks": ["127.0.0.0/8"]}])


@test("PROXY v1 and v2: the header's address is the peer for partner networks and the log",
      transports=ONCE)
def proxy_address(env, report):
    work = env.scratch("proxy-address")
    partners = partners_at(env, work, "203.0.113.0/24")
    d = proxy_daemon(env, "proxy-address", partners=partners)
    try:
        req1 = build_270(control=4001, trace="PRXY0001", **HIT)
        req2 = build_270(submitter="SUBMITTER02", control=4002, trace="PRXY0002", **HIT)
        for r in (req1, req2):
            env.note_request(r)
        cases = [("v1", v1(sport=4441)), ("v2", v2(sport=4442)),
                 ("v2 with TLVs", v2(sport=4443, tlv=b"\x04\x00\x02zz"))]
        for name, header in cases:
            s = raw_conn(d.port)
            s.sendall(header + wrap(req1))  # header and request in one write
            compare(env, read_frame(s), req1, partners)
            s.sendall(wrap(req2))  # SUBMITTER02 is allowed from loopback only
            got = read_frame(s)
            check(hets_code(got) == "SBY00502", "%s: SUBMITTER02 from 203.0.113.9 got %r"
                  % (name, got[:70]))
            s.close()
        d.wait_count(lambda e: e.get("event") == "open", 3, 5)
        peers = sorted(e.get("peer") for e in d.events("open"))
        check(peers == ["203.0.113.9:4441", "203.0.113.9:4442", "203.0.113.9:4443"],
              "open events name %s" % peers)
        # v2 LOCAL (a health check) and v1 UNKNOWN: the socket's own address.
        for header in (v2(cmd=0), b"PROXY UNKNOWN\r\n"):
            s = raw_conn(d.port)
            s.sendall(header + wrap(req2))
            compare(env, read_frame(s), req2, partners)
            s.close()
        # A header sent a byte at a time.
        s = raw_conn(d.port)
        for b in v1(src="2001:db8::9", sport=4444, dst="::1"):
            s.send(bytes([b]))
        s.sendall(wrap(req2))
        got = read_frame(s)
        check(hets_code(got) == "SBY00502", "SUBMITTER02 from 2001:db8::9 got %r" % got[:70])
        s.close()
        check(d.wait_event(lambda e: e.get("event") == "open" and e.get("peer") == "[2001:db8::9]:4444",
                           5) is not None, "no open event for [2001:db8::9]:4444")
    finally:
        d.kill()


@test("PROXY: missing, broken, untrusted and late headers are closed with no record",
      transports=ONCE)
def proxy_bad_headers(env, report):
    d = proxy_daemon(env, "proxy-bad", args=["--frame-deadline-ms", "500"])
    untrusting = proxy_daemon(env, "proxy-untrusted", trusted=("10.0.0.0/8",))
    try:
        req = build_270(control=4011, trace="PRXY0011", **HIT)
        env.note_request(req)
        bad = [b"",  # no header: the request itself
               b"PROXY TCP4 203.0.113.9 127.0.0.1 4444\r\n",
               b"PROXY TCP4 203.0.113.9 127.0.0.1 4444 5270\n",
               b"PROXY TCP5 203.0.113.9 127.0.0.1 4444 5270\r\n",
               V2_SIG + b"\x11\x11\x00\x0c" + b"\x00" * 12,  # version 1
               V2_SIG + b"\x21\x12\x00\x0c" + b"\x00" * 12,  # DGRAM
               V2_SIG + b"\x21\x11\xff\xff"]                 # too long
        for header in bad:
            s = raw_conn(d.port)
            s.sendall(header + wrap(req))
            closed_without_bytes(s)
            s.close()
        check(d.wait_count(lambda e: e.get("event") == "close" and e.get("reason") == "protocol",
                           len(bad), 5),
              "closes with reason protocol: %s" % d.close_reasons())
        # Late: half a header, then nothing; closed at the frame deadline.
        s = raw_conn(d.port)
        t0 = time.monotonic()
        s.sendall(b"PROXY TCP4 203.0.")
        closed_without_bytes(s, 5)
        took = (time.monotonic() - t0) * 1000
        check(490 <= took <= 1500, "late header closed after %.0f ms, want ~500" % took)
        s.close()
        # A peer outside trusted_proxies, even with a good header.
        s = raw_conn(untrusting.port)
        s.sendall(v1() + wrap(req))
        closed_without_bytes(s)
        s.close()
        ev = untrusting.wait_event(lambda e: e.get("event") == "close", 5)
        check(ev is not None and ev.get("reason") == "protocol", "untrusted peer: %s" % ev)
        opens = [e for e in untrusting.events("open")]
        check(opens and "trusted" in str(opens[0].get("proxy_error")),
              "open event does not say why: %s" % opens)
    finally:
        d.kill()
        untrusting.kill()


@test("PROXY before TLS: header, then the handshake; the header's address in the log",
      transports=ONCE)
def proxy_then_tls(env, report):
    partners = partners_at(env, env.scratch("proxy-tls-partners"), "198.51.100.0/24")
    d = proxy_daemon(env, "proxy-tls", tls=True, partners=partners)
    try:
        req = build_270(control=4021, trace="PRXY0021", **HIT)
        env.note_request(req)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(env.cert("ca.pem"))
        ctx.load_cert_chain(env.cert("client1.pem"), env.cert("client1.key"))
        raw = raw_conn(d.port)
        raw.sendall(v1(src="198.51.100.21", sport=5556))
        t = ctx.wrap_socket(raw, server_hostname="localhost")
        t.sendall(wrap(req))
        compare(env, read_frame(t), req, partners)
        t.close()
        check(d.wait_event(lambda e: e.get("event") == "open"
                           and e.get("peer") == "198.51.100.21:5556"
                           and (e.get("tls") or {}).get("version"), 5) is not None,
              "no TLS open event for 198.51.100.21:5556: %s" % d.events("open"))
    finally:
        d.kill()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@test("reuse_port: two daemons share one port; one killed, the other keeps answering",
      transports=ONCE)
def reuse_port(env, report):
    port = free_port()
    work = env.scratch("reuse-port")
    settings = env.write_settings(work, {"listen": [{"host": "127.0.0.1", "port": port,
                                                     "reuse_port": True}]})
    a = Daemon(env, "reuse-a", listen=False, args=["-c", settings]).start()
    b = Daemon(env, "reuse-b", listen=False, args=["-c", settings]).start()
    try:
        req = build_270(control=4031, trace="PRXY0031", **HIT)
        env.note_request(req)
        for _ in range(40):
            with Conn(port) as c:
                c.send(wrap(req))
                compare(env, c.read_frame(), req)
        deadline = time.monotonic() + 5
        while len(a.events("open")) + len(b.events("open")) < 40 and time.monotonic() < deadline:
            time.sleep(0.02)  # the log lines of 40 closed connections land within ms
        na, nb = len(a.events("open")), len(b.events("open"))
        check(na + nb >= 40 and na > 0 and nb > 0,
              "40 connections went %d / %d to the two daemons" % (na, nb))
        a.proc.kill()
        a.proc.wait(10)
        a.expect_exit = True
        for _ in range(10):
            with Conn(port) as c:
                c.send(wrap(req))
                compare(env, c.read_frame(), req)
    finally:
        a.kill()
        b.kill()


@test("drain_grace_ms: after SIGTERM new connections are still answered for the grace, then exit 0",
      transports=ONCE)
def drain_grace(env, report):
    d = Daemon(env, "grace", args=["--drain-grace-ms", "1500"]).start()
    try:
        req = build_270(control=4041, trace="PRXY0041", **HIT)
        env.note_request(req)
        t0 = time.monotonic()
        d.send_signal(signal.SIGTERM)
        check(d.wait_event(lambda e: e.get("event") == "shutdown", 5) is not None, "no shutdown event")
        with Conn(d.port) as c:  # within the grace: accepted and answered
            c.send(wrap(req))
            compare(env, c.read_frame(), req)
        check(time.monotonic() - t0 < 1.5, "the grace test ran late")
        rc = d.wait_exit(10)
        took = time.monotonic() - t0
        check(rc == 0, "exit status %s, want 0" % rc)
        check(took >= 1.5, "exited %.2f s after SIGTERM, before the 1.5 s grace" % took)
    finally:
        d.kill()
