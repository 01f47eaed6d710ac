"""Load test: ONE `streamlit run serve.py` (make run), N concurrent sessions with different settings.

    python -m tools.loadtest                  # 20 sessions for 60 s (make loadtest)
    python -m tools.loadtest --quick          # smoke run: 4 sessions for 15 s
    python -m tools.loadtest --browsers 20    # every session a Chromium page
    python -m tools.loadtest --settle-seconds 130   # also wait out Streamlit's session TTL

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

This module holds the command line and the run (LoadTest: warm-up, one session alone, the load,
the churn); the rest of the package: settings.py (what each session asks for), sessions.py (the
Chromium and websocket sessions), checks.py (every state against its settings, liveness, the
server log), probes.py (server RSS, CPU, Streamlit's counters), report.py (percentiles, tables).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import sys
import time

from tools.harness import ARTIFACTS, CHROMIUM_ARGS, find_chromium, streamlit_server
from tools.loadtest.checks import MAX_FAILURES_SHOWN, Doc, Results, drop_upstream_disconnects, log_problems
from tools.loadtest.probes import RssSampler, cpu_snapshot, cpu_usage, proc_status, rss_mb, server_metrics
from tools.loadtest.report import markdown
from tools.loadtest.sessions import BrowserSession, WebsocketSession
from tools.loadtest.settings import Settings, SettingsFactory


class LoadTest:
    def __init__(self, args: argparse.Namespace, url: str, server_pid: int) -> None:
        self.args, self.url, self.server_pid = args, url, server_pid
        self.results = Results()
        self.factory = SettingsFactory()
        self.sampler = RssSampler(server_pid)
        self.browser = None
        self.report: dict = {}

    def log(self, msg: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)

    async def new_session(self, chromium: bool, tag: str):
        s = (
            BrowserSession(self.browser, self.url, tag, self.results)
            if chromium
            else WebsocketSession(self.url, tag, self.results)
        )
        await s.start()
        return s

    async def open(self, session, settings: Settings) -> Doc:
        doc = Doc(settings, session.kind)
        self.results.navigations[session.kind] = self.results.navigations.get(session.kind, 0) + 1
        await session.goto(settings)
        return doc

    async def watch(self, session, doc: Doc, phase: str, until: float, poll: float = 1.0) -> None:
        """Check the session's states until the monotonic time ``until``."""
        while (now := time.monotonic()) < until:
            self.results.check(doc, await session.drain(min(until, now + poll)), phase)

    async def watch_first_boundary(self, session, doc: Doc, phase: str, limit: float) -> None:
        """Watch until the first boundary shows (or the monotonic time ``limit``)."""
        while doc.first_boundary is None and time.monotonic() < limit:
            await self.watch(session, doc, phase, min(limit, time.monotonic() + 0.25), poll=0.25)

    async def drive(self, i: int, chromium: bool, load_end: float) -> None:
        """One session: new settings every ~reload_every s until load_end (the first period is
        staggered so that the reloads of different sessions spread out). A page load still waiting
        for its first boundary at load_end may wait on, up to --first-boundary-timeout."""
        a = self.args
        session = await self.new_session(chromium, f"s{i}")
        try:
            generation = 0
            while time.monotonic() < load_end - 1:
                settings = self.factory.make(i, generation)
                period = a.reload_every * (
                    (0.5 + i / a.sessions) if generation == 0 else random.uniform(0.85, 1.15)
                )
                doc = await self.open(session, settings)
                start = time.monotonic()
                await self.watch_first_boundary(session, doc, "load", start + a.first_boundary_timeout)
                # then it trains live: until the period is over, but at least --min-live seconds
                if doc.first_boundary is not None and time.monotonic() < load_end:
                    await self.watch(
                        session,
                        doc,
                        "load",
                        min(load_end, max(start + period, time.monotonic() + a.min_live)),
                    )
                self.results.judge(doc, "load", self.args.stall_timeout)
                generation += 1
            if chromium and i == 0:
                await session.screenshot(ARTIFACTS / "loadtest-page.png")
        finally:
            await session.close()

    async def one_shot(self, chromium: bool, tag: str, settings: Settings, phase: str, hold: float) -> None:
        """Open a session, wait for its first boundary, keep it ``hold`` s, close it."""
        session = await self.new_session(chromium, tag)
        try:
            doc = await self.open(session, settings)
            await self.watch_first_boundary(
                session, doc, phase, time.monotonic() + self.args.first_boundary_timeout
            )
            if doc.first_boundary is not None:
                await self.watch(session, doc, phase, time.monotonic() + hold, poll=0.5)
            self.results.judge(doc, phase, self.args.stall_timeout)
        finally:
            await session.close()

    async def calibrate(self) -> None:
        """One websocket session alone on the warm server: the server CPU its first (full) run
        costs, and what a second of live training costs; the baseline for the latencies."""
        session = await self.new_session(False, "alone")
        try:
            doc = await self.open(session, self.factory.make(998, 0))
            c0 = cpu_snapshot(self.server_pid)
            await self.watch_first_boundary(
                session, doc, "alone", time.monotonic() + self.args.first_boundary_timeout
            )
            c1 = cpu_snapshot(self.server_pid)
            await self.watch(session, doc, "alone", time.monotonic() + 6, poll=0.5)
            c2 = cpu_snapshot(self.server_pid)
            self.results.judge(doc, "alone", self.args.stall_timeout)
        finally:
            await session.close()
        self.report["alone"] = {
            "query": doc.settings.query,
            "server_cpu_to_first_boundary_s": c1["server"] - c0["server"],
            "server_cpu_per_live_s": (c2["server"] - c1["server"]) / (c2["t"] - c1["t"]),
            "others_pct_meanwhile": cpu_usage(c0, c2)["others_pct"],
        }
        self.log(f"one session alone: {self.report['alone']}")

    async def churn(self, w: int, chromium: bool, end: float) -> None:
        n = 0
        while time.monotonic() < end:
            await self.one_shot(
                chromium, f"churn{w}", self.factory.make(1000 + w, n), "churn", self.args.churn_hold
            )
            n += 1

    async def progress(self, phase: str, end: float) -> None:
        while time.monotonic() < end:
            await asyncio.sleep(10)
            r = self.results
            shown = sum(len(v) for k, v in r.first_boundary.items() if k.startswith(phase))
            self.log(
                f"{phase}: server RSS {rss_mb(self.server_pid):.0f} MB, page loads {r.navigations}, "
                f"{r.events_checked} states checked, {shown} first boundaries, {len(r.failures)} failures"
            )

    async def gather(self, phase: str, end: float, coros) -> None:
        ticker = asyncio.create_task(self.progress(phase, end))
        outcomes = await asyncio.gather(*coros, return_exceptions=True)
        ticker.cancel()
        for n, out in enumerate(outcomes):
            if isinstance(out, BaseException):
                self.results.fail(f"[{phase} #{n}] driver error: {type(out).__name__}: {out}", "driver")

    async def run(self) -> None:
        from playwright.async_api import async_playwright

        a, rep = self.args, self.report
        t_start = time.monotonic()
        rep["rss_idle_mb"] = self.sampler.sample()
        sampler = asyncio.create_task(self.sampler.run())
        async with async_playwright() as p:
            self.browser = await p.chromium.launch(
                executable_path=a.chromium, headless=True, args=CHROMIUM_ARGS
            )
            try:
                # warm-up: one session pays for the lazy imports; then the post-warm-up level
                self.sampler.phase = "warmup"
                await self.one_shot(a.browsers > 0, "warmup", self.factory.make(999, 0), "warmup", hold=3)
                await asyncio.sleep(2)
                await self.calibrate()
                rep["rss_warm_mb"] = self.sampler.sample()
                rep["metrics_warm"] = server_metrics(self.url)
                self.log(
                    f"warm-up: server RSS idle {rep['rss_idle_mb']:.0f} MB, after one session {rep['rss_warm_mb']:.0f} MB"
                )

                self.sampler.phase = "load"
                cpu0, load0 = cpu_snapshot(self.server_pid), os.getloadavg()
                t_load = time.monotonic()
                load_end = t_load + a.seconds
                await self.gather(
                    "load", load_end, [self.drive(i, i < a.browsers, load_end) for i in range(a.sessions)]
                )
                rep["load_wall_s"] = time.monotonic() - t_load
                cpu1 = cpu_snapshot(self.server_pid)
                rep["cpu_load"] = cpu_usage(cpu0, cpu1)
                rep["browser_rss_mb_end_of_load"] = cpu1["browser_rss_mb"]
                rep["loadavg"] = {"before": load0, "after": os.getloadavg()}
                rep["rss_peak_load_mb"] = self.sampler.peak("load")
                rep["threads_peak_load"] = self.sampler.peak("load", column=3)
                await asyncio.sleep(2)
                rep["rss_after_load_mb"] = self.sampler.sample()
                rep["metrics_after_load"] = server_metrics(self.url)
                self.log(
                    f"load: peak server RSS {rep['rss_peak_load_mb']:.0f} MB, {rep['rss_after_load_mb']:.0f} MB "
                    f"after; CPU {rep['cpu_load']}; server counters {rep['metrics_after_load']}"
                )

                if a.churn_seconds > 0:  # keep opening and closing sessions: does memory come back?
                    self.sampler.phase = "churn"
                    churn_end = time.monotonic() + a.churn_seconds
                    n_chromium = min(a.browsers, a.churn_browsers, a.churn_workers)
                    await self.gather(
                        "churn",
                        churn_end,
                        [self.churn(w, w < n_chromium, churn_end) for w in range(a.churn_workers)],
                    )
                    await asyncio.sleep(2)
                    rep["rss_peak_churn_mb"] = self.sampler.peak("churn")
                    rep["rss_after_churn_mb"] = self.sampler.sample()
                    rep["metrics_after_churn"] = server_metrics(self.url)
                    self.log(
                        f"churn: server RSS {rep['rss_after_churn_mb']:.0f} MB; {rep['metrics_after_churn']}"
                    )
            finally:
                await self.browser.close()
        if a.settle_seconds > 0:
            self.sampler.phase = "settle"
            self.log(f"idle for {a.settle_seconds:.0f}s, then one more session (stored sessions expire then)")
            await asyncio.sleep(a.settle_seconds)
            rep["rss_settled_idle_mb"] = self.sampler.sample()
            await self.one_shot(False, "settle", self.factory.make(2000, 0), "settle", hold=1)
            await asyncio.sleep(3)
            rep["rss_after_settle_mb"] = self.sampler.sample()
            rep["metrics_after_settle"] = server_metrics(self.url)
            self.log(f"settle: server RSS {rep['rss_after_settle_mb']:.0f} MB; {rep['metrics_after_settle']}")
        sampler.cancel()
        hwm = proc_status(self.server_pid, "VmHWM")
        rep["rss_hwm_mb"] = hwm / 1024 if hwm else None
        rep["rss_samples"] = self.sampler.samples
        rep["run_wall_s"] = time.monotonic() - t_start


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m tools.loadtest", description=__doc__.split("\n")[0])
    ap.add_argument("--sessions", type=int, default=20, help="concurrent sessions (default 20)")
    ap.add_argument("--seconds", type=float, default=60, help="duration of the load (default 60)")
    ap.add_argument(
        "--browsers", type=int, default=None, help="how many sessions are Chromium pages (default 4)"
    )
    ap.add_argument("--quick", action="store_true", help="smoke run: 4 sessions (2 Chromium) for 15 s")
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
    args = ap.parse_args(argv)
    if args.quick:
        args.sessions, args.seconds = 4, 15
        args.reload_every = min(args.reload_every, 7)
    if args.browsers is None:
        args.browsers = 2 if args.quick else 4
    args.browsers = max(0, min(args.browsers, args.sessions))
    if args.churn_seconds is None:
        args.churn_seconds = 10 if args.quick else 30
    args.chromium = args.chromium or find_chromium()
    return args


class HardTimeout(Exception):
    pass


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.browsers and not args.chromium:
        print("no system Chromium found (apt-get install -y chromium); use --browsers 0", file=sys.stderr)
        return 2
    budget = (
        120 + args.seconds + 2 * args.first_boundary_timeout + args.churn_seconds + args.settle_seconds + 60
    )

    def on_alarm(signum, frame):
        raise HardTimeout(f"hard timeout: the load test took more than {budget:.0f}s")

    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(int(budget))
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


if __name__ == "__main__":
    sys.exit(main())
