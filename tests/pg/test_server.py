"""openhetsd on the PostgreSQL store (issue 13), against throwaway clusters
started here (tests/pg/pgcluster.sh: initdb as an unprivileged user, Unix
socket only).  Uses tests/integration/harness.py (the daemon, connections,
the wire, hets-respond on the SQLite fixture store as the reference).

1. hits, a miss and a retired MBI are answered from PostgreSQL as
   hets-respond answers them from the same records in SQLite;
2. restart: under load (4 sockets, closed loop), the database is stopped
   (pg_ctl stop -m fast): answers turn into AAA 42 (2000A AAA*N**42*R),
   logged with "overloaded": true, one stderr line; /readyz says 503 when
   the daemon has an admin endpoint; the database is started again: 271s
   within 5 s, no AAA 42 after that, one stderr line saying so, the daemon
   never restarted;
3. failover: a primary and a streaming replica (pg_basebackup -R), the URI
   listing both hosts with target_session_attrs=any; the primary is
   stopped under load: lookups go on from the replica, nothing but AAA 42
   in between and none after a gap of at most 5 s.

Every answer of the load is either the reference answer or AAA 42; every
wait has a deadline; daemons and clusters are stopped at the end, also on
failure.  Prints "PASS name" / "FAIL name: why", then "N passed, N failed".
"""

import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

from harness import (Conn, Daemon, Env, Fail, build_270, check, normalise,  # noqa: E402
                     describe_diff, segments, wrap)

CLUSTER = os.path.join(HERE, "pgcluster.sh")
HIT = dict(mbi="1EG4TE5MK73", last="QUILLFEATHER", first="JANE", dob="19400101")
HIT2 = dict(mbi="2C34D56EF78", last="MAPLEWOOD", first="ROBERT", dob="19480315")
MISS = dict(mbi="7EG4TE5MK73", last="NOBODY", first="NEMO", dob="19400101")
RETIRED = dict(mbi="9AA0AA0AA00", last="QUILLFEATHER", first="JANE", dob="19400101")
BACK_WITHIN = 5.0  # seconds: 271s again after the database returns
GAP_MAX = 5.0      # seconds: failover gap

results = {"passed": 0, "failed": 0}


def report(name, why=None):
    if why:
        print("FAIL %s: %s" % (name, why))
        results["failed"] += 1
    else:
        print("PASS %s" % name)
        results["passed"] += 1
    sys.stdout.flush()


def cluster(*args, timeout=120):
    r = subprocess.run([CLUSTER] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout)
    if r.returncode != 0:
        raise Fail("pgcluster.sh %s failed (%d): %s"
                   % (" ".join(args), r.returncode, r.stderr.decode(errors="replace").strip()))
    return r.stdout.decode().strip()


def hets_db(env, db, *args):
    r = subprocess.run([env.hetsdb_bin, "--db", db] + list(args), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=120)
    if r.returncode != 0:
        raise Fail("hets-db %s failed: %s" % (" ".join(args), r.stderr.decode(errors="replace")))
    return r.stdout.decode()


def is_aaa42(payload):
    """A 271 whose 2000A holds AAA*N**42*R and that gives no benefits."""
    segs = segments(payload)
    ids = [s[0] for s in segs]
    if b"ST" not in ids or segs[ids.index(b"ST")][1:2] != [b"271"]:
        return False
    hl1 = next((i for i, s in enumerate(segs) if s[0] == b"HL"), 0)
    hl2 = next((i for i, s in enumerate(segs) if s[0] == b"HL" and s[1:2] == [b"2"]), len(segs))
    aaa = [s for s in segs[hl1:hl2] if s[0] == b"AAA"]
    return bool(aaa) and aaa[0][1:5] == [b"N", b"", b"42", b"R"] and \
        not any(s[0] == b"EB" for s in segs)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def readyz(port):
    if port is None:
        return None
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/readyz" % port, timeout=5) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return -1


class Load:
    """Closed-loop clients: each sends one request, waits for its answer,
    and notes (time, kind): "ok" (the reference answer to a hit, which only
    a working store gives), "ok-other" (the reference answer to a miss or a
    retired MBI), "aaa42" or "other" (anything else, kept for the report).
    requests[:hits] are hits."""

    def __init__(self, env, port, requests, hits=2, sockets=4):
        self.env = env
        self.port = port
        self.requests = requests
        self.hits = hits
        self.want = [normalise(env.expected(r)) for r in requests]
        self.answers = []
        self.others = []
        self.errors = []
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run, args=(i,), daemon=True)
                        for i in range(sockets)]

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def run(self, n):
        try:
            with Conn(self.port) as c:
                i = n
                while not self.stop.is_set():
                    k = i % len(self.requests)
                    i += 1
                    c.send(wrap(self.requests[k]))
                    got = c.read_frame(15)
                    now = time.monotonic()
                    if normalise(got) == self.want[k]:
                        kind = "ok" if k < self.hits else "ok-other"
                    elif is_aaa42(got):
                        kind = "aaa42"
                    else:
                        kind = "other"
                        with self.lock:
                            self.others.append(describe_diff(normalise(got), self.want[k]))
                    with self.lock:
                        self.answers.append((now, kind))
        except Exception as e:  # noqa: BLE001 -- reported by the test
            with self.lock:
                self.errors.append("client %d: %s" % (n, e))

    def count(self, kind, after=0.0):
        with self.lock:
            return sum(1 for t, k in self.answers if k == kind and t > after)

    def wait_for(self, kind, n, after, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.count(kind, after) >= n or self.errors:
                break
            time.sleep(0.02)
        return self.count(kind, after) >= n

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=20)
        with self.lock:
            return list(self.answers)


def stderr_lines(d, text):
    return [l for l in d.stderr_text().splitlines() if text in l]


def wait_stderr(d, text, n, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and len(stderr_lines(d, text)) < n:
        time.sleep(0.05)
    return len(stderr_lines(d, text))


def check_log(d, answers, name):
    """Every AAA 42 answered is a request line with "overloaded": true."""
    n42 = sum(1 for _, k in answers if k == "aaa42")
    d.wait_count(lambda e: e.get("event") == "request", len(answers), timeout=10)
    reqs = d.events("request")
    with42 = [e for e in reqs if 42 in (e.get("aaa") or []) or "42" in (e.get("aaa") or [])]
    bad = [e for e in with42 if e.get("overloaded") is not True]
    report("%s: each AAA 42 logged with \"overloaded\": true" % name,
           None if len(with42) >= n42 > 0 and not bad else
           "%d AAA 42 answers, %d request lines with AAA 42, %d of them not overloaded"
           % (n42, len(with42), len(bad)))


WORKERS = 2


def daemon_args(admin_port):
    args = ["--workers", str(WORKERS)]
    if admin_port is not None:
        args += ["--admin", "127.0.0.1:%d" % admin_port]
    return args


def has_admin(env):
    r = subprocess.run([env.daemon_bin, "--help"], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=30)
    return b"--admin" in r.stdout


def same_answers(env, d, requests, name):
    """Each request once over one socket: the reference answer."""
    why = None
    with Conn(d.port) as c:
        for req in requests:
            c.send(wrap(req))
            got = c.read_frame()
            g, w = normalise(got), normalise(env.expected(req))
            if g != w:
                why = describe_diff(g, w)
                break
    report(name, why)


# ---------------------------------------------------------------- restart

def test_restart(env, pgdir, url, requests, admin):
    admin_port = free_port() if admin else None
    d = Daemon(env, "pg-restart", db=url, args=daemon_args(admin_port)).start()
    load = None
    try:
        same_answers(env, d, requests, "restart: hit, miss and retired MBI answered as from SQLite")
        if admin_port is not None:
            report("restart: /readyz 200 with the database up", None if readyz(admin_port) == 200
                   else "/readyz %s" % readyz(admin_port))
        load = Load(env, d.port, requests).start()
        check(load.wait_for("ok", 40, 0, 20), "no steady 271s before the stop: %s" % load.errors)

        t_stop = time.monotonic()
        cluster("stop", pgdir, "fast")
        got42 = load.wait_for("aaa42", 10, t_stop, 20)
        report("restart: database down: AAA 42 answers", None if got42 else
               "%d AAA 42 within 20 s of the stop (errors %s)" % (load.count("aaa42", t_stop), load.errors))
        n_fail = wait_stderr(d, "lookups failing", 1, 10)
        if admin_port is not None:
            st = readyz(admin_port)
            report("restart: /readyz 503 while the database is down", None if st == 503 else "/readyz %s" % st)
        time.sleep(1.0)  # down for a while: the workers back off meanwhile

        cluster("start", pgdir)
        t_back = time.monotonic()
        back = load.wait_for("ok", 1, t_back, 15)
        first_ok = min((t for t, k in load.answers if k == "ok" and t > t_back), default=None)
        report("restart: 271s again within %.0f s of the database's return" % BACK_WITHIN,
               None if back and first_ok - t_back <= BACK_WITHIN else
               "first 271 %s s after pg_ctl start returned" %
               ("never" if first_ok is None else "%.2f" % (first_ok - t_back)))
        if first_ok is not None:
            print("  restart: %d AAA 42 while down; the first 271 %.2f s after pg_ctl start returned"
                  % (load.count("aaa42", t_stop), first_ok - t_back))
        # Run on past the window; no AAA 42 after it.
        time.sleep(max(0.0, t_back + BACK_WITHIN + 1.0 - time.monotonic()))
        answers = load.finish()
        late42 = [t - t_back for t, k in answers if k == "aaa42" and t > t_back + BACK_WITHIN]
        report("restart: no AAA 42 more than %.0f s after the return" % BACK_WITHIN,
               None if not late42 else "%d late, the last %.2f s after" % (len(late42), max(late42)))
        others = [k for _, k in answers if k == "other"]
        report("restart: every answer the reference 271 or AAA 42",
               None if not others and not load.errors else
               "%d other answers (%s); client errors %s" % (len(others), load.others[:2], load.errors))
        n_again = wait_stderr(d, "lookups work again", 1, 5)
        report("restart: one stderr line each way",
               None if n_fail == 1 and n_again == 1 else
               "%d \"lookups failing\", %d \"work again\" lines: %s"
               % (n_fail, n_again, d.stderr_text()[-600:]))
        if admin_port is not None:
            st = readyz(admin_port)
            report("restart: /readyz 200 again", None if st == 200 else "/readyz %s" % st)
        report("restart: the daemon never restarted", None if d.alive() else "daemon exited")
        check_log(d, answers, "restart")
    finally:
        if load is not None:
            load.finish()
        d.kill()


# --------------------------------------------------------------- failover

def test_failover(env, primary, replica, url_primary, requests):
    cluster("replica", replica, primary)
    url_replica = cluster("url", replica)
    # The replica serves the same store (read-only): wait until it answers.
    deadline = time.monotonic() + 30
    while True:
        r = subprocess.run([env.hetsdb_bin, "--db", url_replica, "stats"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=60)
        if r.returncode == 0 and b'"beneficiaries":15' in r.stdout:
            break
        check(time.monotonic() < deadline, "the replica did not serve the store within 30 s: %s"
              % r.stderr.decode(errors="replace"))
        time.sleep(0.1)
    port_p = open(os.path.join(primary, "port")).read().strip()
    port_r = open(os.path.join(replica, "port")).read().strip()
    multi = ("postgresql://ohets@/postgres?host=%s,%s&port=%s,%s&target_session_attrs=any"
             "&connect_timeout=2" % (primary, replica, port_p, port_r))
    d = Daemon(env, "pg-failover", db=multi, args=daemon_args(None)).start()
    load = None
    try:
        same_answers(env, d, requests, "failover: answered from the primary as from SQLite")
        load = Load(env, d.port, requests).start()
        check(load.wait_for("ok", 40, 0, 20), "no steady 271s before the stop: %s" % load.errors)
        t_stop = time.monotonic()
        cluster("stop", primary, "fast")
        t_stopped = time.monotonic()
        ok_after = load.wait_for("ok", 100, t_stopped, 20)
        report("failover: lookups go on from the replica", None if ok_after else
               "%d 271s within 20 s after the primary stopped (errors %s)"
               % (load.count("ok", t_stopped), load.errors))
        time.sleep(1.0)
        answers = load.finish()
        after = [(t, k) for t, k in answers if t > t_stop]
        last42 = max((t for t, k in after if k == "aaa42"), default=None)
        report("failover: AAA 42 only within %.0f s of the stop" % GAP_MAX,
               None if last42 is None or last42 - t_stop <= GAP_MAX else
               "the last AAA 42 came %.2f s after the stop" % (last42 - t_stop))
        others = [k for _, k in answers if k == "other"]
        report("failover: every answer the reference 271 or AAA 42",
               None if not others and not load.errors else
               "%d other answers (%s); client errors %s" % (len(others), load.others[:2], load.errors))
        n42 = sum(1 for _, k in after if k == "aaa42")
        print("  failover: %d answers after the stop, %d of them AAA 42, gap %s"
              % (len(after), n42, "none" if last42 is None else "%.2f s" % (last42 - t_stop)))
        # One line each way per episode.  A worker whose lookup on the old
        # primary was still in flight when another had already failed over
        # and worked again starts a second episode (the server's episode
        # logic, src/server/worker.c): at most one per worker (2).
        n_fail = len(stderr_lines(d, "lookups failing"))
        n_again = wait_stderr(d, "lookups work again", n_fail, 5)
        report("failover: stderr lines, one each way per episode",
               None if n_fail == n_again and n_fail <= WORKERS else
               "%d \"lookups failing\", %d \"work again\": %s" % (n_fail, n_again, d.stderr_text()[-600:]))
        if n_fail > 1:
            print("  failover: NOTE %d episodes on stderr (a worker's late failure on the old "
                  "primary, after another worked again)" % n_fail)
        report("failover: the daemon never restarted", None if d.alive() else "daemon exited")
        if n42:
            check_log(d, answers, "failover")
    finally:
        if load is not None:
            load.finish()
        d.kill()


def main():
    env = Env()
    missing = env.missing_tools()
    if missing:
        print("pg/server: missing %s (build them first)" % " ".join(missing), file=sys.stderr)
        return 99
    if subprocess.run([CLUSTER, "bindir"], stdout=subprocess.DEVNULL).returncode != 0:
        return 77
    tmp = os.environ.get("TMPDIR", "/tmp")
    dirs = []

    def pgdir(name):
        import tempfile
        d = tempfile.mkdtemp(prefix="ohets-pg-%s." % name, dir=tmp)
        dirs.append(d)
        return d

    try:
        hets_db(env, env.db, "import", env.store_jsonl)  # the reference: SQLite
        requests = [build_270(control=9100 + i, trace="PG%05d" % i, **who)
                    for i, who in enumerate((HIT, HIT2, MISS, RETIRED))]
        admin = has_admin(env)
        if not admin:
            print("  (this openhetsd has no --admin: /readyz not checked)")

        a = pgdir("restart")
        cluster("start", a)
        url = cluster("url", a)
        hets_db(env, url, "import", env.store_jsonl)
        try:
            test_restart(env, a, url, requests, admin)
        except Fail as e:
            report("restart", str(e))

        p, r = pgdir("primary"), pgdir("replica")
        cluster("start", p)
        url_p = cluster("url", p)
        hets_db(env, url_p, "import", env.store_jsonl)
        try:
            test_failover(env, p, r, url_p, requests)
        except Fail as e:
            report("failover", str(e))
    except Fail as e:
        report("setup", str(e))
    finally:
        for d in env.daemons:
            d.kill()
        for d in reversed(dirs):
            subprocess.run([CLUSTER, "destroy", d], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=120)
        env.cleanup()
    print("%d passed, %d failed" % (results["passed"], results["failed"]))
    return 0 if results["failed"] == 0 and results["passed"] > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
