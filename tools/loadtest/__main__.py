"""Load test: ONE `streamlit run serve.py` (make run), N concurrent sessions with different settings.

    python -m tools.loadtest                  # 20 sessions for 60 s (make loadtest)
    python -m tools.loadtest --quick          # smoke run: 4 sessions for 15 s
    python -m tools.loadtest --browsers 20    # every session a Chromium page
    python -m tools.loadtest --settle-seconds 130   # also wait out Streamlit's session TTL

Behind HAProxy (deploy/serve.py's Topology, what make serve starts; tools/loadtest/proxy.py):

    python -m tools.loadtest --replicas 1,2   # 24 sessions (22 websocket + 2 Chromium) for 60 s
                                              # through the proxy, 1 replica against 2
    python -m tools.loadtest --capacity       # 4, 6, 8, 10, 12, 16, 20 websocket sessions on 1 replica
    python -m tools.loadtest --fault          # 2 replicas, r1 SIGKILLed 20 s into the load
    python -m tools.loadtest --replicas 1,2 --capacity --fault --quick   # all three, small

Sessions are of two kinds, mixed with ``--browsers``:

* Chromium pages: one headless Chromium (Debian's, driven by Playwright's async API) with one
  context + page per session. A recorder injected into every document (MutationObserver) notes
  each distinct state of the page with a timestamp, so nothing between two polls is missed.
* websocket sessions: Streamlit's own protocol without a browser, spoken as the frontend does
  (a rerun request carrying the URL's query string, then one timer per ``st.fragment(run_every)``
  sending fragment reruns); every ForwardMsg is decoded and checked. Like the page's chart, they
  also open nnviz's live websocket and check every frame it sends (nnviz/ui/live/).

20 Chromium pages do not fit on a 2-core machine: measured here, one page costs Chromium ~6 CPU
seconds to load (~10 MB of JavaScript) and 60-90% of a core while it redraws the live charts, so 20
pages need several times the machine and none showed a boundary within the 60 s. By default 4
sessions are Chromium pages and the other 16 websocket sessions; the server cannot tell them apart.

Every session opens the app with its own settings in the URL (a distinct activation list and seed
per session; datasets, epochs and network vary too) and moves on to new settings every
``--reload-every`` seconds (a new page load, so a new Streamlit session): the server keeps creating
and dropping sessions while the others train live. All traffic goes to 127.0.0.1.

Checks (any failure -> exit status 1):
  * every state a session shows matches its own URL: the boundary chart's number of subplots and
    their titles (activation names, and seeds when there are several), the epoch budget in
    "Epoch N / M", the dataset in the sidebar, the query string; no exception or error box;
  * every session shows its first boundary within ``--first-boundary-timeout`` seconds and keeps
    updating while it trains (no stall longer than ``--stall-timeout``);
  * no uncaught JavaScript error in a page; no exception or traceback in the server log.

Measured: time from navigation (or websocket connect) to the first boundary, and the interval
between consecutive live updates (epoch counter increments), as p50/p90/p99; the server process's
RSS (/proc/<pid>/status VmRSS) before, sampled during (peak) and after the load, then while
sessions keep being opened and closed (``--churn-seconds``) and after an optional idle wait
(``--settle-seconds``: Streamlit keeps a disconnected session for server.disconnectedSessionTTL,
120 s by default, at most 128 of them, and drops expired ones when the next one is stored). A
markdown table goes to stdout (for docs/reliability.md); progress and details to stderr,
test-artifacts/loadtest.json and test-artifacts/loadtest-server.log.

Behind the proxy the same checks run, plus affinity (each websocket session's Streamlit socket
and live socket on the replica its cookie names, read from HAProxy's ``show sess``; each Chromium
page's live socket not refused) and, with --fault, the recovery's; the tables go to stdout, details
to test-artifacts/loadtest-{replicas,capacity,fault}.json and the replicas' logs to
test-artifacts/loadtest-<run>/.

This module holds the command line; the rest of the package: run.py (LoadTest: warm-up, one session
alone, the load, the churn), proxy.py (the runs behind HAProxy), haproxy.py (cookies, the page's
request, ``show sess``), settings.py (what each session asks for), sessions.py (the Chromium and
websocket sessions), checks.py (every state against its settings, liveness, the server log),
probes.py (server RSS, CPU, Streamlit's counters), report.py (percentiles, tables).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import time

from tools.harness import ARTIFACTS, find_chromium, streamlit_server
from tools.loadtest.checks import MAX_FAILURES_SHOWN, drop_upstream_disconnects, log_problems
from tools.loadtest.report import markdown
from tools.loadtest.run import LoadTest


def _counts(text: str) -> list[int]:
    try:
        counts = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"a comma-separated list of counts, got {text!r}") from None
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError(f"counts must be >= 1, got {text!r}")
    return counts


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m tools.loadtest", description=__doc__.split("\n")[0])
    ap.add_argument(
        "--sessions", type=int, default=None, help="concurrent sessions (default 20; behind the proxy 24)"
    )
    ap.add_argument("--seconds", type=float, default=60, help="duration of the load (default 60)")
    ap.add_argument(
        "--browsers",
        type=int,
        default=None,
        help="how many sessions are Chromium pages (default 4; behind the proxy 2)",
    )
    ap.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: 4 sessions (2 Chromium) for 15 s; behind the proxy 6 (1 Chromium) for 20 s",
    )
    ap.add_argument("--reload-every", type=float, default=15, help="new settings per session every ~N s")
    ap.add_argument(
        "--churn-seconds", type=float, default=None, help="open/close sessions after the load (30; quick 10)"
    )
    ap.add_argument("--churn-workers", type=int, default=4, help="sessions open at a time while churning")
    ap.add_argument("--churn-browsers", type=int, default=1, help="how many churn workers use Chromium")
    ap.add_argument(
        "--churn-hold", type=float, default=2, help="seconds a churn session stays after its boundary"
    )
    ap.add_argument(
        "--settle-seconds", type=float, default=0, help="idle wait after the churn, then RSS again"
    )
    ap.add_argument(
        "--first-boundary-timeout", type=float, default=45, help="seconds a page load may take to show it"
    )
    ap.add_argument("--stall-timeout", type=float, default=30, help="longest pause of the epoch counter")
    ap.add_argument(
        "--min-live", type=float, default=8, help="seconds a page load stays after its first boundary"
    )
    ap.add_argument("--chromium", default=None, help="Chromium executable (default: the system one)")
    proxy = ap.add_argument_group("behind HAProxy (deploy/serve.py's Topology; tools/loadtest/proxy.py)")
    proxy.add_argument(
        "--replicas", type=_counts, default=None, help="the load through the proxy for each count, e.g. 1,2"
    )
    proxy.add_argument(
        "--capacity",
        type=_counts,
        nargs="?",
        const=[4, 6, 8, 10, 12, 16, 20],
        default=None,
        help="websocket sessions against 1 replica at each count (default 4,6,8,10,12,16,20; quick 2,4)",
    )
    proxy.add_argument("--capacity-seconds", type=float, default=30, help="seconds per capacity point")
    proxy.add_argument(
        "--capacity-rate", type=float, default=5.0, help="updates/s per session a capacity point needs"
    )
    proxy.add_argument(
        "--browser-sched",
        choices=("idle", "normal"),
        default="idle",
        help="Chromium's scheduling behind the proxy (default idle: the pages take the CPU the replicas leave)",
    )
    proxy.add_argument(
        "--fault", action="store_true", help="2 replicas; SIGKILL r1 mid-load, then restart it"
    )
    proxy.add_argument(
        "--kill-after",
        type=float,
        default=None,
        help="seconds into the fault run's load (20; implies --fault)",
    )
    proxy.add_argument(
        "--fault-stall", type=float, default=5, help="longest pause of a surviving session's live updates"
    )
    proxy.add_argument(
        "--fault-down-limit",
        type=float,
        default=5,
        help="seconds for HAProxy to mark the killed replica DOWN",
    )
    args = ap.parse_args(argv)
    args.fault = args.fault or args.kill_after is not None
    args.proxy = bool(args.replicas or args.capacity or args.fault)
    if args.proxy:
        if args.quick:
            args.sessions, args.seconds = args.sessions or 6, min(args.seconds, 20)
            args.reload_every = min(args.reload_every, 10)
            args.capacity_seconds = min(args.capacity_seconds, 15)
            if args.capacity == [4, 6, 8, 10, 12, 16, 20]:
                args.capacity = [2, 4]
        args.sessions = args.sessions or 24
        if args.browsers is None:
            args.browsers = 1 if args.quick else 2
        if args.kill_after is None:
            args.kill_after = 10 if args.quick else 20
        args.churn_seconds = 0
    else:
        if args.quick:
            args.sessions, args.seconds = 4, 15
            args.reload_every = min(args.reload_every, 7)
        args.sessions = args.sessions or 20
        if args.browsers is None:
            args.browsers = 2 if args.quick else 4
        if args.churn_seconds is None:
            args.churn_seconds = 10 if args.quick else 30
    args.browsers = max(0, min(args.browsers, args.sessions))
    args.chromium = args.chromium or find_chromium()
    return args


class HardTimeout(Exception):
    pass


def _hard_timeout(budget: float) -> None:
    """Raise HardTimeout in this process once ``budget`` seconds have passed (SIGALRM)."""

    def on_alarm(signum, frame):
        raise HardTimeout(f"hard timeout: the load test took more than {budget:.0f}s")

    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(int(budget))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.browsers and not args.chromium:
        print("no system Chromium found (apt-get install -y chromium); use --browsers 0", file=sys.stderr)
        return 2
    if args.proxy:
        return proxy_main(args)
    budget = (
        120 + args.seconds + 2 * args.first_boundary_timeout + args.churn_seconds + args.settle_seconds + 60
    )

    _hard_timeout(budget)
    t0 = time.monotonic()
    ARTIFACTS.mkdir(exist_ok=True)
    log_path = ARTIFACTS / "loadtest-server.log"
    test = None
    try:
        with streamlit_server(log_path=log_path) as (url, proc, _):
            print(
                f"server {url} (pid {proc.pid}); {args.sessions} sessions ({args.browsers} Chromium) "
                f"for {args.seconds:.0f}s; hard timeout {budget:.0f}s",
                file=sys.stderr,
            )
            test = LoadTest(args, url, proc.pid)
            asyncio.run(asyncio.wait_for(test.run(), budget - 30))
    except (HardTimeout, TimeoutError) as exc:
        print(f"ABORTED: {exc or 'hard timeout'}", file=sys.stderr)
        if test is None:
            return 2
        test.results.fail(f"hard timeout ({budget:.0f}s) hit", "driver")
    finally:
        signal.alarm(0)
    total_s = time.monotonic() - t0
    res, rep = test.results, test.report
    log_text, n_upstream = drop_upstream_disconnects(log_path.read_text(errors="replace"))
    log_bad, log_warn, log_exc = log_problems(log_text)
    n_tracebacks = sum("Traceback (most recent call last)" in line for line in log_bad)
    if log_bad:
        res.fail(f"server log: {n_tracebacks} tracebacks, {len(log_bad)} exception/error lines", "log")
        for line, n in log_exc.items():
            res.fail(f"server log: {n}x {line}", "log")
        for line in dict.fromkeys(x for x in log_bad if not x.startswith("Traceback") and x not in log_exc):
            res.fail(f"server log: {line}", "log")
    table = markdown(args, rep, res, n_tracebacks)
    details = {
        "args": vars(args),
        "total_wall_s": total_s,
        "failures": res.failures,
        "server_log_warnings": log_warn,
        "server_log_exceptions": log_exc,
        "page_loads": res.navigations,
        "first_boundary_s": res.first_boundary,
        "update_interval_s": res.intervals,
        "page_loads_detail": res.docs,
        **rep,
    }
    (ARTIFACTS / "loadtest.json").write_text(json.dumps(details, indent=1, default=str))
    if log_warn:
        print(f"server log warnings ({len(log_warn)}): " + " | ".join(log_warn[:5]), file=sys.stderr)
    print(
        f"{total_s:.0f}s in all; details in {ARTIFACTS / 'loadtest.json'} and {log_path}",
        file=sys.stderr,
    )
    print(table)
    print(
        f"\nserver log: {n_upstream} upstream Streamlit disconnect traceback(s) ignored (no nnviz frame); "
        f"{len(res.slow)} slow page(s) reported, not failed"
    )
    if res.failures:
        print(f"\nFAILED: {len(res.failures)} check(s) failed; the first ones:", file=sys.stderr)
        for msg in res.failures[:MAX_FAILURES_SHOWN]:
            print("  " + msg, file=sys.stderr)
        return 1
    print("\nOK: every check passed", file=sys.stderr)
    return 0


def proxy_main(args: argparse.Namespace) -> int:
    """--replicas, --capacity, --fault (in this order, as many as asked): each on a Topology of its
    own; each part's table (stdout) and JSON (test-artifacts/loadtest-<part>.json) as soon as it
    is over; one exit status."""
    from tools.loadtest import proxy
    from tools.loadtest.report import capacity_table, compare_table, fault_table

    per_run = 90 + 2 * args.first_boundary_timeout
    budget = 60 + len(args.replicas or []) * (per_run + args.seconds)
    budget += len(args.capacity or []) * (args.capacity_seconds + args.first_boundary_timeout + 30) + 60
    budget += (per_run + args.kill_after + 2 * args.first_boundary_timeout + 120) if args.fault else 0

    _hard_timeout(budget)
    t0 = time.monotonic()
    ARTIFACTS.mkdir(exist_ok=True)
    print(
        f"behind HAProxy: replicas {args.replicas}, capacity {args.capacity}, fault {args.fault}; "
        f"{args.sessions} sessions ({args.browsers} Chromium); hard timeout {budget:.0f}s",
        file=sys.stderr,
    )
    failures: list[str] = []
    parts: list[str] = []

    def done(key: str, value, fails: list[str], table: str) -> None:
        """One part is over: its table to stdout and its JSON (test-artifacts/loadtest-<part>.json)
        to disk at once: a run stopped later keeps what it measured."""
        failures.extend(fails)
        part = {"args": vars(args), key: value, "failures": fails}
        (ARTIFACTS / f"loadtest-{key}.json").write_text(json.dumps(part, indent=1, default=str))
        parts.append(f"loadtest-{key}.json")
        print(table + "\n", flush=True)

    try:
        if args.replicas:
            runs, res, fails = [], [], []
            for n in args.replicas:
                out, results = proxy.compare_run(args, n)
                out["page_loads_detail"] = results.docs
                runs.append(out)
                res.append(results)
                fails += [f"[{n} replica(s)] {f}" for f in results.failures]
            done("replicas", runs, fails, compare_table(runs, res))
        if args.capacity:
            points, results = proxy.capacity_run(args)
            fails = [f"[capacity] {f}" for f in results.failures]
            done("capacity", points, fails, capacity_table(points, args.capacity_rate))
        if args.fault:
            out, results = proxy.fault_run(args)
            out["args_kill_after"] = args.kill_after
            out["page_loads_detail"] = results.docs
            done("fault", out, [f"[fault] {f}" for f in results.failures], fault_table(out, results))
    except (HardTimeout, TimeoutError) as exc:
        print(f"ABORTED: {exc or 'hard timeout'}", file=sys.stderr)
        failures.append(f"hard timeout ({budget:.0f}s) hit")
    finally:
        signal.alarm(0)
    print(
        f"{time.monotonic() - t0:.0f}s in all; details in {ARTIFACTS}/{{{','.join(parts)}}}, the replicas' "
        f"logs in {ARTIFACTS}/loadtest-<run>/",
        file=sys.stderr,
    )
    if failures:
        print(f"\nFAILED: {len(failures)} check(s) failed; the first ones:", file=sys.stderr)
        for msg in failures[:MAX_FAILURES_SHOWN]:
            print("  " + msg, file=sys.stderr)
        return 1
    print("\nOK: every check passed", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
