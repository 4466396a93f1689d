"""Runs the openhetsd integration tests: prints "PASS name" or "FAIL name:
why" per test (and per conformance case), then "N passed, N failed"; exits
1 on any failure, 99 when the suite cannot run at all.

usage: suite.py [-k TEXT]... [--list]
  -k TEXT  run only tests whose name contains TEXT (the log checks always
           run last, over whatever ran)
"""

import os
import sys
import threading
import time
import traceback

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
import test_conformance  # noqa: E402,F401
import test_framing  # noqa: E402,F401
import test_timers  # noqa: E402,F401
import test_load  # noqa: E402,F401
import test_partners  # noqa: E402,F401
import test_lifecycle  # noqa: E402,F401
import test_hardening  # noqa: E402,F401
import test_tls  # noqa: E402,F401
import test_scaleout  # noqa: E402,F401
import test_admin  # noqa: E402,F401
import test_haproxy  # noqa: E402,F401
import test_disk  # noqa: E402,F401
import test_core  # noqa: E402,F401
import test_log  # noqa: E402,F401

SANITIZER_MARKS = ("ThreadSanitizer", "AddressSanitizer", "LeakSanitizer", "runtime error:")
SUITE_TIMEOUT = float(os.environ.get("OPENHETS_TEST_SUITE_TIMEOUT", "300"))


def main(argv):
    filters, listing = [], False
    args = list(argv)
    while args:
        a = args.pop(0)
        if a == "-k" and args:
            filters.append(args.pop(0))
        elif a == "--list":
            listing = True
        else:
            print(__doc__.strip(), file=sys.stderr)
            return 2
    tests = harness.registered()
    log_tests = [t for t in tests if t[1].__module__ == "test_log"]
    print("NOTE transport: %s (OPENHETS_TEST_TRANSPORT)" % harness.TRANSPORT)
    chosen = [t for t in tests if t not in log_tests and
              (not filters or any(f in t[0] for f in filters))] + log_tests
    if listing:
        for name, _ in chosen:
            print(name)
        return 0

    # Short GIL slices: a thread woken by a socket gets to run promptly.
    sys.setswitchinterval(0.0005)
    env = harness.Env()
    missing = env.missing_tools()
    if missing:
        print("integration: missing %s (build them first; OPENHETS_DAEMON names another daemon)"
              % ", ".join(missing), file=sys.stderr)
        env.cleanup()
        return 99
    try:
        env.setup()
    except Exception as e:  # a broken fixture is not a test failure of the daemon
        print("integration: %s" % e, file=sys.stderr)
        env.cleanup()
        return 99

    counts = {"passed": 0, "failed": 0}
    out_lock = threading.Lock()

    def report(name, ok, why):
        with out_lock:
            if ok is None:
                print("NOTE %s: %s" % (name, why))
            elif ok:
                print("PASS %s" % name)
                counts["passed"] += 1
            else:
                print("FAIL %s: %s" % (name, why))
                counts["failed"] += 1
            sys.stdout.flush()

    def watchdog():
        print("FAIL suite: still running after %.0f s; stopping" % SUITE_TIMEOUT)
        sys.stdout.flush()
        for d in list(env.daemons):
            d.kill()
        os._exit(1)

    timer = threading.Timer(SUITE_TIMEOUT, watchdog)
    timer.daemon = True
    timer.start()
    started = time.monotonic()
    try:
        env.ran = [name for name, _ in chosen]
        for name, fn in chosen:
            before = len(env.daemons)
            t0 = time.monotonic()
            why = None
            try:
                fn(env, report)
            except harness.Fail as e:
                why = str(e) or e.__class__.__name__
            except Exception as e:  # a bug in the test itself, or the OS said no
                why = "error: %s: %s" % (e.__class__.__name__, e)
                traceback.print_exc(file=sys.stderr)
            for d in env.daemons[before:]:
                d.kill()
                err = d.stderr_text()
                mark = next((m for m in SANITIZER_MARKS if m in err), None)
                extra = None
                if mark:
                    extra = "daemon %s: %s report on stderr: %s" % (
                        d.name, mark, err[err.index(mark):][:300].replace("\n", " | "))
                elif d.died is not None:
                    extra = "daemon %s exited unexpectedly (status %s); stderr: %s" % (
                        d.name, d.died, err.strip()[-300:])
                if extra:
                    why = extra if why is None else "%s; %s" % (why, extra)
            secs = time.monotonic() - t0
            if secs > 15 and "real 5 s" not in name:
                print("NOTE %s: took %.1f s" % (name, secs))
            report(name, why is None, why)
    finally:
        timer.cancel()
        env.cleanup()
    print("%d passed, %d failed" % (counts["passed"], counts["failed"]))
    sys.stdout.flush()
    if os.environ.get("OPENHETS_TEST_VERBOSE"):
        print("suite took %.1f s" % (time.monotonic() - started), file=sys.stderr)
    return 1 if counts["failed"] or not counts["passed"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
