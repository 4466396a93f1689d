"""The session log on a full disk (issue 9, item 2): a small tmpfs holds the
log, a filler file takes nearly all of it, and requests fill the rest.  The
daemon must keep answering, say once on stderr that the log can't be
written, keep only whole JSON lines in the file (a line cut by the full disk
is truncated back off), and once space is freed report every lost line in
log_dropped (and log_write_lost) on the next line it writes.

Needs root (mount); otherwise it prints a NOTE and passes as skipped."""

import errno
import json
import os
import signal
import subprocess
import time

from harness import Conn, Daemon, Fail, build_270, check, compare, test, wrap

HIT = dict(mbi="1EG4TE5MK73", last="QUILLFEATHER", first="JANE", dob="19400101")
NAME = "log on a full disk: one stderr line, whole lines only, the loss in log_dropped"
ROOM = 8192          # bytes left free for the log once the filler is written
MAX_REQUESTS = 400   # bound on the requests sent to fill the disk
FILL_TIMEOUT = 60.0  # bound on the time to see the failure


def read_log(path):
    """(lines as text, parsed objects or None) of the log file."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return b"", []
    out = []
    for raw in data.split(b"\n")[:-1] if data.endswith(b"\n") else data.split(b"\n"):
        text = raw.decode("utf-8", "replace")
        try:
            obj = json.loads(text)
            if not isinstance(obj, dict):
                obj = None
        except ValueError:
            obj = None
        out.append((text, obj))
    return data, out


def wait_log(path, pred, timeout):
    """The first event of the file for which pred is true, polling until
    the deadline (the daemon writes the file, not a pipe we can wait on)."""
    deadline = time.monotonic() + timeout
    while True:
        for _, obj in read_log(path)[1]:
            if obj is not None and pred(obj):
                return obj
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.01)


def failure_lines(d):
    return [l for l in d.stderr_text().splitlines() if "session log" in l and "write failed" in l]


def fill(path, room):
    """Fills the file system with path, then gives `room` bytes back."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        size, chunk = 0, b"\0" * 4096
        while True:
            try:
                n = os.write(fd, chunk)
            except OSError as e:
                if e.errno != errno.ENOSPC:
                    raise
                break
            size += n
        os.ftruncate(fd, max(size - room, 0))
        return size
    finally:
        os.close(fd)


@test(NAME)
def log_disk_full(env, report):
    if os.geteuid() != 0:
        report(NAME, None, "skipped: not root, no tmpfs can be mounted")
        return
    mnt = env.scratch("disk")
    try:
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs", mnt],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
        why = r.stderr.decode(errors="replace").strip() if r.returncode != 0 else None
    except (OSError, subprocess.TimeoutExpired) as e:  # no mount program, say
        why = str(e)
    if why is not None:
        report(NAME, None, "skipped: mount tmpfs failed: %s" % why)
        return
    d = None
    try:
        log = os.path.join(mnt, "session.log")
        d = Daemon(env, "disk-full", log=log, listeners=0).start()
        ev = wait_log(log, lambda e: e.get("event") == "listen", 10)
        check(ev is not None, "no listen event in the log within 10 s")
        port = d._port_of(ev)
        req = build_270(control=1901, trace="DISK0001", **HIT)
        env.note_request(req)
        answered = 0
        with Conn(port) as c:
            # The open event reaches the file before the disk fills: from
            # then on only request lines are written (or lost).
            check(wait_log(log, lambda e: e.get("event") == "open", 10),
                  "no open event in the log within 10 s")
            filled = fill(os.path.join(mnt, "filler"), ROOM)
            check(filled > ROOM, "the tmpfs took only %d bytes of filler" % filled)

            # Requests until the daemon says the log can't be written.
            deadline = time.monotonic() + FILL_TIMEOUT
            while not failure_lines(d):
                check(answered < MAX_REQUESTS and time.monotonic() < deadline,
                      "no write failure on stderr after %d requests (%.0f s) with %d bytes free"
                      % (answered, FILL_TIMEOUT, ROOM))
                c.send(wrap(req))
                compare(env, c.read_frame(), req)
                answered += 1
            # The disk is still full: requests are answered all the same.
            for _ in range(5):
                c.send(wrap(req))
                compare(env, c.read_frame(), req)
                answered += 1

            os.unlink(os.path.join(mnt, "filler"))
            for _ in range(5):
                c.send(wrap(req))
                compare(env, c.read_frame(), req)
                answered += 1
            check(wait_log(log, lambda e: "log_dropped" in e, 10),
                  "no line with log_dropped within 10 s of freeing the disk")
        d.send_signal(signal.SIGTERM)
        rc = d.wait_exit(10)
        check(rc == 0, "daemon exit status %s after SIGTERM, want 0" % rc)

        data, lines = read_log(log)
        d.extra_log_lines = [text for text, _ in lines]  # for the suite-wide log checks
        check(data.endswith(b"\n"), "the log ends in a partial line")
        bad = [text for text, obj in lines if obj is None]
        check(not bad, "%d of %d log lines are not JSON objects (a cut line left in), e.g. %r"
              % (len(bad), len(lines), bad[0][:100] if bad else ""))
        objs = [obj for _, obj in lines]
        requests = sum(1 for o in objs if o.get("event") == "request")
        dropped = sum(o.get("log_dropped", 0) for o in objs)
        lost = sum(o.get("log_write_lost", 0) for o in objs)
        episodes = sum(1 for o in objs if "log_write_lost" in o)
        check(requests < answered, "all %d requests were logged: the disk never filled" % answered)
        check(requests + dropped == answered,
              "%d request lines + log_dropped %d != %d requests answered"
              % (requests, dropped, answered))
        check(lost == dropped, "log_write_lost %d != log_dropped %d (no queue was full)"
              % (lost, dropped))
        check(any(o.get("event") == "shutdown" for o in objs), "no shutdown event after recovery")

        said = failure_lines(d)
        check(said and all(log in l and "No space left on device" in l for l in said),
              "stderr failure lines do not name the log and ENOSPC: %s" % said)
        # One episode: after a failure every write starts with the line that
        # carries the counts, longer than the request line that did not fit,
        # so nothing gets through until the filler is gone.  One stderr line
        # for it, and one line in the file that reports it.
        check(len(said) == 1, "%d write-failure lines on stderr, want 1: %s" % (len(said), said))
        check(episodes == 1, "%d lines carry log_write_lost, want 1" % episodes)
        check("dropped at the end" not in d.stderr_text(),
              "lines still unreported at exit: %s" % d.stderr_text().strip()[-200:])
    finally:
        if d is not None:
            d.kill()  # its open log would keep the tmpfs busy
        r = subprocess.run(["umount", mnt], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=30)
        if r.returncode != 0:
            subprocess.run(["umount", "-l", mnt], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=30)
            raise Fail("umount %s: %s" % (mnt, r.stderr.decode(errors="replace").strip()))
