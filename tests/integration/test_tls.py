"""TLS on a listener (DESIGN §12), against clients nobody here wrote
(Python's ssl module and `openssl s_client`): versions and the open event,
client certificates required / optional and the ones that must fail, the
partners' `certs`, a plain client on a TLS port and a TLS client on a plain
one, a handshake that stalls, renegotiation, a peer that closes in the
middle of a record, and certificates reloaded on SIGHUP.  The rest of the
suite also runs over TLS (OPENHETS_TEST_TRANSPORT=tls); these run once."""

import hashlib
import os
import shutil
import signal
import socket
import ssl
import subprocess
import time

from harness import (Closed, Conn, Daemon, Fail, build_270, check, compare, hets_code, test,
                     wrap)

HIT = dict(mbi="1EG4TE5MK73", last="QUILLFEATHER", first="JANE", dob="19400101")
ONCE = ("plain",)


def cert_sha256(env, name):
    with open(env.cert(name + ".pem"), encoding="ascii") as f:
        return hashlib.sha256(ssl.PEM_cert_to_DER_cert(f.read())).hexdigest()


def tls_daemon(env, name, listeners, partners=None, args=(), **kw):
    work = env.scratch(name)
    settings = env.write_settings(work, {"listen": listeners})
    return Daemon(env, name, listen=False, listeners=len(listeners), partners=partners,
                  args=["-c", settings] + list(args), **kw).start()


def close_of(d, port, timeout=5):
    """The close event of the session whose client used local port `port`."""
    ev = d.wait_event(lambda e: e.get("event") == "open"
                      and str(e.get("peer", "")).endswith(":%d" % port), timeout)
    check(ev is not None, "no open event for the client on port %d" % port)
    session = ev["session"]
    close = d.wait_event(lambda e: e.get("event") == "close" and e.get("session") == session,
                         timeout)
    check(close is not None, "no close event for session %s" % session)
    return ev, close


def request(n):
    return build_270(control=3000 + n, trace="TLS%05d" % n, **HIT)


@test("TLS 1.3 and 1.2: answered like plain TCP; open event names version, cipher, client cert",
      transports=ONCE)
def tls_versions(env, report):
    d = tls_daemon(env, "tls-versions", [env.tls_listener()])
    try:
        for version, n in (("1.3", 1), ("1.2", 2)):
            req = request(n)
            env.note_request(req)
            with Conn(d.port, tls_version=version if version == "1.2" else None) as c:
                c.send(wrap(req))
                compare(env, c.read_frame(), req)
                port = c.local_port
            ev, close = close_of(d, port)
            tls = ev.get("tls") or {}
            check(tls.get("version") == "TLSv" + version, "open event tls %s, want TLSv%s"
                  % (tls, version))
            check(tls.get("cipher"), "open event names no cipher: %s" % tls)
            check(tls.get("client_cert_sha256") == cert_sha256(env, "client1"),
                  "client_cert_sha256 %s, want client1's" % tls.get("client_cert_sha256"))
            check(close.get("reason") == "peer", "close reason %s" % close.get("reason"))
    finally:
        d.kill()


@test("openssl s_client with a client certificate gets the answer", transports=ONCE)
def tls_s_client(env, report):
    if shutil.which("openssl") is None:
        raise Fail("the openssl command is missing (scripts/deps.sh installs it)")
    d = tls_daemon(env, "tls-s-client", [env.tls_listener()])
    try:
        req = request(3)
        env.note_request(req)
        r = subprocess.run(["openssl", "s_client", "-quiet", "-connect", "127.0.0.1:%d" % d.port,
                            "-cert", env.cert("client1.pem"), "-key", env.cert("client1.key"),
                            "-CAfile", env.cert("ca.pem"), "-verify_return_error",
                            "-ign_eof"],
                           input=wrap(req), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=30)
        out = r.stdout
        check(out[:1] == b"\x01" and len(out) >= 13, "s_client got %r (stderr %s)"
              % (out[:60], r.stderr.decode(errors="replace")[-300:]))
        n = int(out[1:11])
        compare(env, out[12:12 + n], req)
    finally:
        d.kill()


@test("client certificates: none, expired, untrusted, wrong purpose fail (close reason tls); "
      "optional takes none", transports=ONCE)
def tls_client_certs(env, report):
    d = tls_daemon(env, "tls-certs", [env.tls_listener(),
                                      env.tls_listener(client_cert="optional")])
    try:
        bad = (None, "client-expired", "client-untrusted", "client-wrongpurpose")
        for n, cert in enumerate(bad, 1):
            try:
                c = Conn(d.ports[0], cert=cert)
                # TLS 1.3: the client finishes first; the refusal comes next.
                c.send(wrap(request(4)))
                c.read_frame(5)
                c.close()
                raise Fail("client cert %s was accepted" % cert)
            except (Closed, ssl.SSLError, ConnectionResetError, BrokenPipeError):
                pass
            check(d.wait_count(lambda e: e.get("event") == "close" and e.get("reason") == "tls",
                               n, 5), "no close with reason tls for client cert %s" % cert)
        opens = [e for e in d.events("open") if "error" in (e.get("tls") or {})]
        check(len(opens) == 4, "open events with a TLS error: %d, want 4" % len(opens))
        req = request(5)
        env.note_request(req)
        with Conn(d.ports[1], cert=None) as c:  # optional: no certificate is fine
            c.send(wrap(req))
            compare(env, c.read_frame(), req)
            port = c.local_port
        ev, _ = close_of(d, port)
        check(ev["tls"].get("client_cert_sha256") is None,
              "client_cert_sha256 without a certificate: %s" % ev["tls"])
    finally:
        d.kill()


@test("partners' certs: only a listed client certificate may send for that submitter",
      transports=ONCE)
def tls_partner_certs(env, report):
    work = env.scratch("tls-partner-certs")
    fp = cert_sha256(env, "client1").upper()
    listed = ":".join(fp[i:i + 2] for i in range(0, 64, 2))  # colons and case ignored
    partners = env.write_partners(work, [
        {"submitter": "SUBMITTER01", "name": "Example Clearinghouse",
         "networks": ["127.0.0.0/8"], "npis": ["1234567893", "1987654328"],
         "certs": [listed]},
        {"submitter": "SUBMITTER02", "name": "Example Provider Group",
         "networks": ["127.0.0.0/8"]}])
    d = tls_daemon(env, "tls-partner-certs", [env.tls_listener(), {"host": "127.0.0.1", "port": 0}],
                   partners=partners)
    try:
        req = request(6)
        env.note_request(req)
        with Conn(d.ports[0], cert="client1") as c:
            c.send(wrap(req))
            compare(env, c.read_frame(), req, partners)
        with Conn(d.ports[0], cert="client2") as c:
            c.send(wrap(req))
            got = c.read_frame()
            check(hets_code(got) == "SBY00502", "client2 for SUBMITTER01 got %r" % got[:70])
            # The socket stays open, as for any unauthorized submitter.
            c.send(wrap(req))
            check(hets_code(c.read_frame()) == "SBY00502", "second refusal missing")
        with Conn(d.ports[1]) as c:  # plain listener: certs do not apply
            c.send(wrap(req))
            compare(env, c.read_frame(), req, partners)
    finally:
        d.kill()


@test("a plain client on a TLS port and a TLS client on a plain port close cleanly",
      transports=ONCE)
def tls_wrong_transport(env, report):
    d = tls_daemon(env, "tls-wrong", [env.tls_listener(), {"host": "127.0.0.1", "port": 0}])
    try:
        req = request(7)
        env.note_request(req)
        # Plain bytes to the TLS port: no HETS record, closed, reason tls.
        s = socket.create_connection(("127.0.0.1", d.ports[0]), timeout=5)
        port = s.getsockname()[1]
        s.sendall(wrap(req))
        got = b""
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                got += chunk
        except (ConnectionResetError, socket.timeout):
            pass
        s.close()
        check(b"HETS" not in got and b"ISA" not in got, "plaintext came back: %r" % got[:60])
        _, close = close_of(d, port)
        check(close.get("reason") == "tls", "plain client on TLS port: close reason %s"
              % close.get("reason"))
        # A TLS client on the plain port: its ClientHello is a broken wrapper.
        try:
            Conn(d.ports[1], tls=True).close()
            raise Fail("TLS handshake succeeded on a plain port")
        except (Closed, ssl.SSLError, ConnectionResetError):
            pass
        ev = d.wait_event(lambda e: e.get("event") == "close" and e.get("reason") == "protocol", 5)
        check(ev is not None, "TLS client on the plain port: no close with reason protocol")
    finally:
        d.kill()


@test("a stalled handshake is closed at the frame deadline (reason tls), one mid-record at EOF",
      transports=ONCE)
def tls_stall_and_truncation(env, report):
    d = tls_daemon(env, "tls-stall", [env.tls_listener()], args=["--frame-deadline-ms", "600"])
    try:
        s = socket.create_connection(("127.0.0.1", d.port), timeout=5)
        port = s.getsockname()[1]
        t0 = time.monotonic()
        s.sendall(b"\x16\x03\x01\x00")  # the first bytes of a ClientHello, no more
        s.settimeout(5)
        try:
            check(s.recv(1) == b"", "bytes instead of a close")
        except ConnectionResetError:
            pass
        took = (time.monotonic() - t0) * 1000
        s.close()
        check(590 <= took <= 2000, "closed %.0f ms after the first bytes, want ~600" % took)
        _, close = close_of(d, port)
        check(close.get("reason") == "tls", "stalled handshake: close reason %s" % close.get("reason"))
        # Established, then half a record and a FIN: the peer's close.
        c = Conn(d.port)
        c.tls.write(wrap(request(8)))
        raw = c.tls_out.read()
        c._raw_send(memoryview(raw[:len(raw) // 2]), time.monotonic() + 5)
        c.sock.shutdown(socket.SHUT_WR)
        c.wait_closed(5)
        _, close = close_of(d, c.local_port)
        check(close.get("reason") in ("peer", "tls"), "mid-record EOF: close reason %s"
              % close.get("reason"))
        check(close.get("requests") == 0, "a half record was answered")
        c.close()
    finally:
        d.kill()


@test("renegotiation (TLS 1.2, openssl s_client's R) is refused: close reason tls",
      transports=ONCE)
def tls_renegotiation(env, report):
    if shutil.which("openssl") is None:
        raise Fail("the openssl command is missing")
    d = tls_daemon(env, "tls-reneg", [env.tls_listener()])
    try:
        p = subprocess.Popen(["openssl", "s_client", "-tls1_2", "-connect",
                              "127.0.0.1:%d" % d.port, "-cert", env.cert("client1.pem"),
                              "-key", env.cert("client1.key"), "-CAfile", env.cert("ca.pem")],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT)
        check(d.wait_event(lambda e: e.get("event") == "open", 10) is not None,
              "s_client did not finish its handshake")
        p.stdin.write(b"R\n")
        p.stdin.flush()
        ev = d.wait_event(lambda e: e.get("event") == "close", 10)
        p.kill()
        p.wait(5)
        check(ev is not None and ev.get("reason") == "tls",
              "after a renegotiation request: %s" % ev)
    finally:
        d.kill()


@test("SIGHUP reloads certificates; a certificate that does not load keeps the old one",
      transports=ONCE)
def tls_reload(env, report):
    work = env.scratch("tls-reload")
    cert, key = os.path.join(work, "server.pem"), os.path.join(work, "server.key")
    shutil.copyfile(env.cert("server.pem"), cert)
    shutil.copyfile(env.cert("server.key"), key)
    d = tls_daemon(env, "tls-reload", [env.tls_listener(cert=cert, key=key)])

    def served_cert():
        c = Conn(d.port)
        der = c.tls.getpeercert(binary_form=True)
        c.close()
        return hashlib.sha256(der).hexdigest()

    def reload_event(n):
        ev = d.wait_event(lambda e: e.get("event") == "reload", 10, skip=n)
        check(ev is not None, "no reload event %d after SIGHUP" % (n + 1))
        return ev

    try:
        ecdsa = served_cert()
        check(ecdsa == cert_sha256(env, "server"), "first certificate is not server.pem")
        old = Conn(d.port)  # stays open across the reloads
        shutil.copyfile(env.cert("server-rsa.pem"), cert + ".new")
        shutil.copyfile(env.cert("server-rsa.key"), key + ".new")
        os.replace(key + ".new", key)
        os.replace(cert + ".new", cert)
        d.send_signal(signal.SIGHUP)
        ev = reload_event(0)
        check(ev.get("certificates") is True, "reload event: %s" % ev)
        check(served_cert() == cert_sha256(env, "server-rsa"), "new connections do not get the RSA certificate")
        with open(cert, "w", encoding="ascii") as f:
            f.write("not a certificate\n")
        d.send_signal(signal.SIGHUP)
        ev = reload_event(1)
        check(ev.get("certificates") is False and ev.get("tls_error"), "reload event: %s" % ev)
        check(d.wait_stderr("kept the old certificates", 5), "no stderr line for the failed reload")
        check(served_cert() == cert_sha256(env, "server-rsa"), "a bad file replaced the certificate")
        req = request(9)
        env.note_request(req)
        old.send(wrap(req))
        compare(env, old.read_frame(), req)
        old.close()
    finally:
        d.kill()
