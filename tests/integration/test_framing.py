"""Framing (DESIGN §3): raw and auto listeners, several listeners from a
config file, frames split byte by byte, many frames in one write, a broken
wrapper (HTS00001 then close) and an oversize declared length (HTS00002
before the body, then close)."""

import json
import os

from harness import (ETX, SOH, STX, Closed, Conn, Daemon, Fail, build_270, check, compare,
                     hets_code, test, wrap)

HIT = dict(mbi="1EG4TE5MK73", last="QUILLFEATHER", first="JANE", dob="19400101")
HIT2 = dict(mbi="2C34D56EF78", last="MAPLEWOOD", first="ROBERT", dob="19480315")


def three_requests(env):
    """A hit, a miss (AAA 75 style: well-formed MBI not on file) and a 999
    (GS08 wrong), each distinguishable in its answer."""
    hit = build_270(control=101, trace="PIPE0001", **HIT)
    miss = build_270(control=102, trace="PIPE0002", mbi="7AA0AA0AA07", last="NOBODY",
                     first="NONE", dob="19500101")
    bad = build_270(control=103, trace="PIPE0003", **HIT2).replace(
        b"*X*005010X279A1~", b"*X*004010X092A1~", 1)
    for r in (hit, miss, bad):
        env.note_request(r)
    return [hit, miss, bad]


def raw_payload(request):
    """The bytes a raw client sends: the interchange up to the IEA's
    terminator (no trailing line break)."""
    return request.rstrip(b"\r\n")


@test("raw framing: bare X12 in, bare X12 out, pipelined with line breaks")
def raw_framing(env, report):
    d = Daemon(env, "raw", args=["--framing", "raw"]).start()
    try:
        reqs = three_requests(env)
        with Conn(d.port) as c:
            c.send(raw_payload(reqs[0]))
            got = c.read_raw()
            compare(env, got, raw_payload(reqs[0]))
            # Two more in one write, separated by CR LF as raw clients do.
            c.send(raw_payload(reqs[1]) + b"\r\n" + raw_payload(reqs[2]) + b"\n")
            for r in reqs[1:]:
                compare(env, c.read_raw(), raw_payload(r))
            check(not c.buf, "extra bytes after the raw answers: %r" % bytes(c.buf[:60]))
    finally:
        d.kill()


@test("auto framing: a wrapped client gets wrapped answers, a raw one raw")
def auto_framing(env, report):
    d = Daemon(env, "auto", args=["--framing", "auto"]).start()
    try:
        req = build_270(control=201, trace="AUTO0001", **HIT)
        env.note_request(req)
        with Conn(d.port) as wrapped, Conn(d.port) as raw:
            wrapped.send(wrap(req))
            raw.send(raw_payload(req))
            compare(env, wrapped.read_frame(), req)
            compare(env, raw.read_raw(), raw_payload(req))
            # And a second request on each, to see the mode holds.
            wrapped.send(wrap(req))
            raw.send(raw_payload(req))
            compare(env, wrapped.read_frame(), req)
            compare(env, raw.read_raw(), raw_payload(req))
        opens = d.events("open")
        framings = sorted(str(e.get("framing")) for e in opens)
        check(len(opens) == 2, "log has %d open events for 2 connections" % len(opens))
        check(all(f in ("auto", "hets", "raw") for f in framings),
              "open events' framing fields are %s" % framings)
    finally:
        d.kill()


@test("several listeners from a config file, each with its framing and submitters")
def config_listeners(env, report):
    work = env.scratch("listeners")
    # Settings file format: README "Configuration" (listen: host, port,
    # framing, submitters).
    cfg = {"listen": [{"host": "127.0.0.1", "port": 0, "framing": "hets"},
                      {"host": "127.0.0.1", "port": 0, "framing": "raw"},
                      {"host": "127.0.0.1", "port": 0, "framing": "hets",
                       "submitters": ["SUBMITTER02"]}]}
    path = os.path.join(work, "openhetsd.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(cfg, f)
    d = Daemon(env, "listeners", args=["-c", path], listen=False, listeners=3).start()
    try:
        # The listen events come in the config file's order; where they name
        # their framing it must agree.
        for n, (ev, want) in enumerate(zip(d.listen_events, ("hets", "raw", "hets"))):
            if "framing" in ev:
                check(ev["framing"] == want, "listen event %d says framing %r, want %r"
                      % (n + 1, ev["framing"], want))
        check(len(set(d.ports)) == 3, "listeners share ports: %s" % d.ports)
        hets_port, raw_port, only02_port = d.ports
        req = build_270(control=301, trace="LSTN0001", **HIT)
        req02 = build_270(submitter="SUBMITTER02", control=302, trace="LSTN0002", **HIT)
        for r in (req, req02):
            env.note_request(r)
        with Conn(hets_port) as h, Conn(raw_port) as r, Conn(only02_port) as o:
            h.send(wrap(req))
            r.send(raw_payload(req))
            o.send(wrap(req))
            compare(env, h.read_frame(), req)
            compare(env, r.read_raw(), raw_payload(req))
            # SUBMITTER01 is known but not allowed on the third listener.
            got = o.read_frame()
            check(hets_code(got) == "SBY00502",
                  "SUBMITTER01 on a SUBMITTER02-only listener got %r, want SBY00502" % got[:70])
            o.send(wrap(req02))
            compare(env, o.read_frame(), req02)
    finally:
        d.kill()


@test("frames split byte by byte are answered")
def split_byte_by_byte(env, report):
    d = Daemon(env, "split").start()
    try:
        reqs = three_requests(env)[:2]
        data = wrap(reqs[0]) + wrap(reqs[1])
        with Conn(d.port) as c:
            observed = True
            for i in range(len(data)):
                c.send(data[i:i + 1])
                # Make the daemon read each byte on its own (its receive
                # queue empties) so every byte is a separate read.
                observed = c.wait_drained() and observed
                check(not c.eof, "daemon closed after byte %d of %d" % (i + 1, len(data)))
            for r in reqs:
                compare(env, c.read_frame(), r)
            if not observed:
                report("split: note", None, "/proc/net/tcp unreadable: byte reads not confirmed")
    finally:
        d.kill()


@test("three pipelined requests in one write are answered in order")
def pipelined_three(env, report):
    d = Daemon(env, "pipeline").start()
    try:
        reqs = three_requests(env)
        with Conn(d.port) as c:
            c.send(b"".join(wrap(r) for r in reqs))
            for i, r in enumerate(reqs):
                try:
                    compare(env, c.read_frame(), r)
                except Fail as e:
                    raise Fail("answer %d: %s" % (i + 1, e))
            # The frame boundary falling inside the next header.
            data = b"".join(wrap(r) for r in reqs)
            cut = len(wrap(reqs[0])) + 5
            c.send(data[:cut])
            c.send(data[cut:])
            for i, r in enumerate(reqs):
                try:
                    compare(env, c.read_frame(), r)
                except Fail as e:
                    raise Fail("second round, answer %d: %s" % (i + 1, e))
    finally:
        d.kill()


def expect_error_then_close(conn, code, timeout=None):
    got = conn.read_frame(timeout)
    check(hets_code(got) == code, "answer is %r, want a HETS %s record" % (got[:70], code))
    check(got[51:53] == b" I", "HETS response code is %r" % got[51:53])
    conn.wait_closed(2.0)
    return got


@test("broken wrapper gets HTS00001 then close")
def broken_wrapper(env, report):
    d = Daemon(env, "broken").start()
    req = build_270(control=401, trace="BRKN0001", **HIT)
    env.note_request(req)
    good = wrap(req)
    variants = [
        ("first byte not SOH", b"X" + good[1:]),
        ("raw X12 on a wrapped listener", req),
        ("non-digit in the length", SOH + b"00000A0100" + STX + req + ETX),
        ("STX missing", SOH + b"%010d" % len(req) + b"X" + req + ETX),
        ("ETX missing where due", good[:-1] + b"X"),
        ("a good frame, then a broken one", good + b"\x05garbage"),
    ]
    failed = []
    try:
        for label, data in variants:
            try:
                with Conn(d.port) as c:
                    c.send(data)
                    if label.startswith("a good frame"):
                        compare(env, c.read_frame(), req)
                    expect_error_then_close(c, "HTS00001")
                report("broken wrapper: " + label, True, None)
            except Fail as e:
                failed.append(label)
                report("broken wrapper: " + label, False, str(e))
        check(not failed, "%d of %d variants failed" % (len(failed), len(variants)))
        check(d.wait_event(lambda e: e.get("event") == "close" and e.get("reason") == "protocol", 3),
              "no close event with reason protocol in the log")
    finally:
        d.kill()


@test("declared length over the limit gets HTS00002 before the body, then close")
def oversize(env, report):
    req = build_270(control=501, trace="SIZE0001", **HIT)
    env.note_request(req)
    limit = len(req)
    d = Daemon(env, "oversize", args=["--max-frame-bytes", str(limit)]).start()
    try:
        # One byte over: only the header goes; the answer must come anyway.
        with Conn(d.port) as c:
            c.send(SOH + b"%010d" % (limit + 1) + STX)
            got = expect_error_then_close(c, "HTS00002")
            check(got[4:34] == b" " * 30, "trace of an unread frame is %r, want blanks" % got[4:34])
        # A huge declared length, header only.
        with Conn(d.port) as c:
            c.send(SOH + b"9999999999" + STX)
            expect_error_then_close(c, "HTS00002")
        # Exactly at the limit is accepted and answered.
        with Conn(d.port) as c:
            c.send(wrap(req))
            compare(env, c.read_frame(), req)
    finally:
        d.kill()
