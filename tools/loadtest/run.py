"""LoadTest: one run of the load against one URL (make loadtest's server, or HAProxy in front of
replicas: tools/loadtest/proxy.py): the warm-up, one session alone, the load, the churn."""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import time

from tools.harness import ARTIFACTS, CHROMIUM_ARGS
from tools.loadtest.checks import Doc, Results
from tools.loadtest.probes import RssSampler, cpu_snapshot, cpu_usage, proc_status, rss_mb, server_metrics
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
        doc = session.doc = Doc(settings, session.kind)
        self.results.navigations[session.kind] = self.results.navigations.get(session.kind, 0) + 1
        await session.goto(settings)
        return doc

    def stop_watching(self, session, doc: Doc) -> bool:
        """Whether to stop watching a page load early: its server closed the socket."""
        return session.closed is not None

    async def watch(self, session, doc: Doc, phase: str, until: float, poll: float = 1.0) -> None:
        """Check the session's states until the monotonic time ``until`` (or stop_watching)."""
        while (now := time.monotonic()) < until and not self.stop_watching(session, doc):
            self.results.check(doc, await session.drain(min(until, now + poll)), phase)

    async def watch_first_boundary(self, session, doc: Doc, phase: str, limit: float) -> None:
        """Watch until the first boundary shows (or the monotonic time ``limit``)."""
        while (
            doc.first_boundary is None and time.monotonic() < limit and not self.stop_watching(session, doc)
        ):
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
                if session.closed is not None:
                    self.results.fail(
                        f"[load {doc.settings.short()}] the server closed the socket: {session.closed}",
                        "error",
                    )
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
