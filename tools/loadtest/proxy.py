"""The load through HAProxy in front of N replicas (deploy/serve.py's Topology, what ``make serve``
starts): 1 replica against 2 (``--replicas 1,2``), one replica's capacity (``--capacity``) and a
replica killed mid-load (``--fault``).

Every session goes through the proxy as a browser does: its first request (the page) gets HAProxy's
affinity cookie, and Streamlit's socket and nnviz's live socket carry it (tools/loadtest/haproxy.py).
Where HAProxy really sent each socket is read from its ``show sess`` (the client's port -> the
replica), so every page load of a websocket session is checked to have both sockets on the replica
its cookie names; a Chromium page's live socket is checked by its frames (a live socket that reached
another replica is refused with 4404). The same settings (one Plan, made up front) go to every run,
so runs with 1 and 2 replicas ask for exactly the same work. A session that finishes its epoch budget
moves on to new settings a second later: every session keeps training for the whole load.

The fault run (two replicas): ``--kill-after`` s into the load, r1 is SIGKILLed. Its websocket
sessions must see their socket closed, and reconnect through the proxy with their own URL (HAProxy
redispatches them: r1 is down) to get a boundary with their own settings from r2; its Chromium pages
reload. r2's sessions must carry on (no pause of their live updates longer than ``--fault-stall`` s).
HAProxy must mark r1 DOWN within ``--fault-down-limit`` s; once every session is back,
``restart_replica("r1")`` must bring it UP again, and new sessions must reach it.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
import shlex
import shutil
import socket
import sys
import time

from deploy.serve import COOKIE, Topology
from tools.harness import ARTIFACTS, CHROMIUM_ARGS, free_port
from tools.loadtest.checks import Doc, Results, drop_upstream_disconnects, log_problems
from tools.loadtest.haproxy import Sessions
from tools.loadtest.probes import topology_cpu_snapshot, topology_cpu_usage
from tools.loadtest.run import LoadTest
from tools.loadtest.sessions import LIVE_CLOSED_ELSEWHERE, BrowserSession, WebsocketSession
from tools.loadtest.settings import Settings, SettingsFactory

VICTIM = "r1"  # the replica the fault run kills
FALLBACK_WARNING = "has not opened the live websocket"  # nnviz/ui/live/view.py


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def free_ports(n: int) -> int:
    """A first port such that it and the n-1 next ones are free (the replicas' ports)."""
    for _ in range(200):
        base = random.randint(20000, 59000)
        ok = True
        for port in range(base, base + n):
            with contextlib.closing(socket.socket()) as s:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    s.bind(("0.0.0.0", port))
                except OSError:
                    ok = False
                    break
        if ok:
            return base
    raise RuntimeError(f"no {n} consecutive free ports")


def scheduled(executable: str, policy: str) -> str:
    """``executable`` under the scheduling ``policy``: "idle" (SCHED_IDLE, a wrapper script with
    chrt; every Chromium process and thread inherits it) runs the pages only on CPU the replicas
    leave. Niceness would not do: Chromium sets its processes' own (the browser's -8)."""
    if policy != "idle":
        return executable
    path = ARTIFACTS / "chromium-sched-idle.sh"
    path.write_text(f'#!/bin/sh\nexec chrt --idle 0 {shlex.quote(executable)} "$@"\n')
    path.chmod(0o755)
    return str(path)


class Plan:
    """The settings of every (session, generation), made up front in one order: runs with different
    replica counts (and every capacity point) ask for exactly the same work."""

    def __init__(self, sessions: int, generations: int) -> None:
        self.factory = SettingsFactory()
        self.table = {(i, g): self.factory.make(i, g) for g in range(generations) for i in range(sessions)}

    def get(self, i: int, generation: int) -> Settings:
        return self.table.get((i, generation)) or self.factory.make(i, generation)

    def extra(self, n: int) -> Settings:
        """Settings for a session outside the load (warm-up, after the restart)."""
        return self.factory.make(900 + n, 0)


class ProxyLoadTest(LoadTest):
    """One load through the proxy of ``topology``: ``sessions`` sessions (the first ``browsers`` of
    them Chromium pages) for ``seconds`` s, each on new settings every ~--reload-every s or a second
    after its budget is spent; a Fault, if given, runs beside them."""

    def __init__(self, args, topology: Topology, label: str, sessions: int, browsers: int, seconds: float):
        super().__init__(args, topology.url, topology.replicas[0].pid)
        self.topology, self.label = topology, label
        self.n_sessions, self.n_browsers, self.seconds = sessions, browsers, seconds
        self.haproxy = Sessions(topology.stats_socket)
        self.plan = Plan(sessions, int(min(seconds, 600) / 4) + 4)
        self.docs: dict[int, list[tuple[str, Doc]]] = {}  # session -> its page loads (phase, doc)
        self.current: dict[int, Doc] = {}  # session -> the page load it is on
        self.kinds: dict[int, str] = {}
        self.load_end = math.inf
        self.fault: Fault | None = None
        self.statuses: list[tuple[float, dict[str, str]]] = []  # HAProxy's view, when it changed
        self.cpu_marks: dict[str, dict] = {}

    # ---- sessions ------------------------------------------------------------------------------
    async def new_session(self, chromium: bool, tag: str):
        s = (
            BrowserSession(self.browser, self.url, tag, self.results)
            if chromium
            else WebsocketSession(self.url, tag, self.results, self.haproxy)
        )
        await s.start()
        return s

    async def open(self, session, settings: Settings) -> Doc:
        """A page load; one that fails (HTTP 5xx: HAProxy has no replica UP, or the replica died
        meanwhile) is loaded again a second later, as a user would, for up to 30 s: the load goes on.
        Outside the fault run (and for the fault's own victims, beyond 3 tries) that fails the run."""
        deadline = time.monotonic() + 30
        for attempt in range(1000):
            try:
                doc = await super().open(session, settings)
                break
            except RuntimeError as exc:  # the page's request failed (HTTP 5xx): a user reloads
                if self.fault is None or attempt >= 2:
                    self.results.fail(
                        f"[{self.label} {session.tag}] {exc} (HAProxy: {self.statuses[-1:]})", "proxy"
                    )
                if time.monotonic() > deadline:
                    raise
                log(f"{self.label} {session.tag}: {exc}; loading the page again")
                await asyncio.sleep(1.0)
        if session.kind == "chromium":
            doc.replica = await session.replica()
        return doc

    def stop_watching(self, session, doc: Doc) -> bool:
        if session.closed is not None:
            return True
        if doc.first_boundary is not None and time.monotonic() > self.load_end:
            return True  # (a page load still waiting for its first boundary may wait on)
        if doc.t_done is not None and time.time() - doc.t_done > 1.0:  # budget spent: next settings
            return True
        return self.fault is not None and self.fault.must_reload(doc)

    async def finish(self, session, doc: Doc, phase: str) -> None:
        """A page load ends: a Chromium page's live socket is read (a refused one failed affinity)."""
        if session.kind == "chromium":
            doc.live = await session.live_stats() or {}
            refused = [c for c in doc.live.get("closes", []) if c.get("code") == LIVE_CLOSED_ELSEWHERE]
            if refused:
                self.results.fail(
                    f"[{phase} chromium {doc.settings.short()}] its live socket was refused by the "
                    f"replica it reached ({len(refused)}x 4404): not the page's replica {doc.replica}",
                    "affinity",
                )
        self.results.judge(doc, phase, self.args.stall_timeout)

    async def drive(self, i: int, chromium: bool, t_load: float) -> None:
        a = self.args
        # staggered, websocket sessions first: HAProxy's leastconn sees the sockets already open (a
        # Chromium page, its page's many requests) before it places the next session
        n_ws = self.n_sessions - self.n_browsers
        await asyncio.sleep(0.15 * ((n_ws + i) if chromium else (i - self.n_browsers)))
        session = await self.new_session(chromium, f"s{i}")
        self.kinds[i] = session.kind
        self.docs[i] = []
        try:
            generation, phase = 0, "load"
            settings = self.plan.get(i, 0)
            while time.monotonic() < self.load_end - 1:
                period = a.reload_every * (
                    (0.5 + i / self.n_sessions) if generation == 0 else random.uniform(0.85, 1.15)
                )
                doc = await self.open(session, settings)
                self.current[i] = doc
                self.docs[i].append((phase, doc))
                start = time.monotonic()
                await self.watch_first_boundary(session, doc, phase, start + a.first_boundary_timeout)
                if doc.first_boundary is not None:
                    await self.watch(session, doc, phase, max(start + period, time.monotonic() + a.min_live))
                await self.finish(session, doc, phase)
                if session.closed is not None or (self.fault and self.fault.must_reload(doc)):
                    if self.fault is None:
                        self.results.fail(
                            f"[{phase} {doc.settings.short()}] the server closed the socket: {session.closed}",
                            "error",
                        )
                    else:
                        if session.kind == "websocket":
                            await session.settle_live()
                        self.fault.interrupted(i, session, doc)
                    phase = "reconnect"  # the same URL again, through the proxy
                    continue
                generation, phase = generation + 1, "load"
                settings = self.plan.get(i, generation)
        finally:
            await session.close()

    async def warm(self, k: int, replica: str | None, phase: str, hold: float) -> Doc:
        """One websocket session (its cookie naming ``replica``, or none: a new browser), until its
        boundary and ``hold`` s more."""
        session = await self.new_session(False, f"{phase}{k}")
        if replica:
            session.jar.cookies[COOKIE] = replica
        try:
            doc = await self.open(session, self.plan.extra(k if phase == "warmup" else 50 + k))
            self.docs.setdefault(-1 - k if phase == "warmup" else -100 - k, []).append((phase, doc))
            await self.watch_first_boundary(
                session, doc, phase, time.monotonic() + self.args.first_boundary_timeout
            )
            if doc.first_boundary is not None:
                await self.watch(session, doc, phase, time.monotonic() + hold, poll=0.5)
            await self.finish(session, doc, phase)
            return doc
        finally:
            await session.close()

    async def warm_up(self) -> None:
        """Each replica pays for its lazy imports (a session sent to it by its cookie); Chromium
        loads the page once (its caches)."""
        coros = [self.warm(k, r.name, "warmup", 3) for k, r in enumerate(self.topology.replicas)]
        if self.n_browsers:
            coros.append(self.one_shot(True, "warmup-chromium", self.plan.extra(20), "warmup", hold=3))
        await self.gather("warmup", 0, coros)

    # ---- probes --------------------------------------------------------------------------------
    def cpu(self) -> dict:
        pids = {r.name: r.pid if r.running() else None for r in self.topology.replicas}
        return topology_cpu_snapshot(pids, self.topology.haproxy.pid if self.topology.haproxy else None)

    async def sample_stat(self) -> None:
        last = None
        while True:
            with contextlib.suppress(OSError):
                rows = await asyncio.to_thread(self.topology.stat)
                now = {name: row.get("status", "") for name, row in rows.items()}
                if now != last:
                    self.statuses.append((time.time(), now))
                    if last is not None:
                        log(f"{self.label}: HAProxy: {now}")
                    last = now
            await asyncio.sleep(0.5)

    async def progress(self, phase: str, end: float) -> None:
        while True:
            await asyncio.sleep(10)
            r = self.results
            with contextlib.suppress(OSError):
                rows = await asyncio.to_thread(self.topology.stat)
                scur = {name: row.get("scur") for name, row in rows.items()}
            log(
                f"{self.label} {phase}: {r.events_checked} states checked, {len(r.failures)} failures, "
                f"page loads {r.navigations}, HAProxy connections now {scur}"
            )

    async def mark_cpu_at_end(self) -> None:
        while (left := self.load_end - time.monotonic()) > 0:
            await asyncio.sleep(min(left, 1.0))
        self.cpu_marks["end"] = self.cpu()

    # ---- the run ---------------------------------------------------------------------------------
    async def run(self) -> None:
        a, rep = self.args, self.report
        stat_task = asyncio.create_task(self.sample_stat())
        pw = None
        try:
            if self.n_browsers:
                from playwright.async_api import async_playwright

                pw = await async_playwright().start()
                self.browser = await pw.chromium.launch(
                    executable_path=scheduled(a.chromium, a.browser_sched), headless=True, args=CHROMIUM_ARGS
                )
            await self.warm_up()
            await asyncio.sleep(1)
            log(
                f"{self.label}: {self.n_sessions} sessions ({self.n_browsers} Chromium) through {self.url} "
                f"for {self.seconds:.0f}s"
            )
            self.cpu_marks["start"] = self.cpu()
            t_load = time.monotonic()
            self.load_end = t_load + self.seconds
            end_mark = asyncio.create_task(self.mark_cpu_at_end())
            coros = [self.drive(i, i < self.n_browsers, t_load) for i in range(self.n_sessions)]
            if self.fault is not None:
                self.load_end = math.inf  # the fault run ends the load itself
                coros.append(self.fault.run(t_load))
            await self.gather("load", 0, coros)
            rep["load_wall_s"] = time.monotonic() - t_load
            if "end" not in self.cpu_marks:
                end_mark.cancel()
                self.cpu_marks["end"] = self.cpu()
            rep["cpu"] = topology_cpu_usage(self.cpu_marks["start"], self.cpu_marks["end"])
            rep["cpu_window_s"] = self.cpu_marks["end"]["t"] - self.cpu_marks["start"]["t"]
        finally:
            stat_task.cancel()
            if self.browser is not None:
                await self.browser.close()
            if pw is not None:
                await pw.stop()
        rep["haproxy_final"] = {
            name: {k: row.get(k) for k in ("status", "stot", "chkfail", "chkdown", "downtime", "hrsp_5xx")}
            for name, row in self.topology.stat().items()
        }
        rep["haproxy_statuses"] = self.statuses
        rep["show_sess_queries"] = self.haproxy.queries

    # ---- the summary ------------------------------------------------------------------------------
    def summary(self) -> dict:
        """What the report needs: per kind the first boundaries, update intervals and per-session
        update rates of the load, sessions per replica, affinity checked; per session its replicas."""
        out: dict = {"label": self.label, "replicas": len(self.topology.replicas), "sessions": self.n_sessions,
                     "browsers": self.n_browsers, "seconds": self.seconds}  # fmt: skip
        per_session, per_replica, affinity = [], {}, {"docs": 0, "verified": 0, "live_checked": 0}
        rates: dict[str, list[float]] = {}
        for i in sorted(k for k in self.docs if k >= 0):
            kind, docs = self.kinds.get(i, "?"), [d for p, d in self.docs[i] if p == "load"]
            if not docs:
                continue
            replicas = [d.replica for d in docs]
            first = replicas[0] or "?"
            per_replica.setdefault(kind, {}).setdefault(first, 0)
            per_replica[kind][first] += 1
            spans = [(d.increments, d.live_span()) for d in docs if d.live_span() and d.live_span() >= 2]
            live_s = sum(s for _, s in spans)
            rate = sum(n for n, _ in spans) / live_s if live_s else None
            if rate is not None:
                rates.setdefault(kind, []).append(rate)
                # training's progress (a frame trains for a fixed time: less CPU, fewer epochs a frame)
                epochs = sum(
                    (d.max_epoch or 0) - (d.first_epoch or 0)
                    for d in docs
                    if d.live_span() and d.live_span() >= 2
                )
                rates.setdefault(f"{kind} epochs", []).append(epochs / live_s)
            if kind == "chromium" and live_s:  # its epoch counter moves every 3rd frame: frames too
                frames = sum(d.live.get("frames", 0) for d in docs if d.live_span() and d.live_span() >= 2)
                rates.setdefault("chromium frames", []).append(frames / live_s)
            for d in docs:
                if kind == "websocket":
                    affinity["docs"] += 1
                    if d.stream_srv and d.stream_srv == d.replica and d.live_srv in (None, d.stream_srv):
                        affinity["verified"] += 1
                        affinity["live_checked"] += d.live_srv is not None
                elif d.live.get("opened"):  # (a page that never opened its live socket: nothing to check)
                    affinity["docs"] += 1
                    ok = d.live.get("frames", 0) > 0 and not any(
                        c.get("code") == LIVE_CLOSED_ELSEWHERE for c in d.live.get("closes", [])
                    )
                    affinity["verified"] += ok
                    affinity["live_checked"] += ok
            per_session.append({
                "session": f"s{i}", "kind": kind, "replica": first, "replicas_per_page_load": replicas,
                "page_loads": len(docs), "updates_per_s": rate, "live_s": live_s,
                "all_page_loads": [(p, d.replica, d.stream_srv, d.live_srv) for p, d in self.docs[i]],
            })  # fmt: skip
        r = self.results
        out.update(
            per_session=per_session,
            sessions_per_replica=per_replica,
            affinity=affinity,
            first_boundary={k: r.first_boundary.get(f"load {k}", []) for k in ("websocket", "chromium")},
            intervals={k: r.intervals.get(f"load {k}", []) for k in ("websocket", "chromium")},
            rates=rates,
            **self.report,
        )
        return out


class Fault:
    """Kill VICTIM ``kill_after`` s into the load, then check and time the recovery (module doc)."""

    def __init__(self, test: ProxyLoadTest, kill_after: float, n_new: int = 4) -> None:
        self.test, self.kill_after, self.n_new = test, kill_after, n_new
        self.killed_at: float | None = None  # time.time()
        self.victims: dict[int, dict] = {}  # session -> what happened to it
        self.survivors: list[int] = []
        self.steps: dict = {}

    def must_reload(self, doc: Doc) -> bool:
        """A Chromium page on the killed replica reloads (its user presses reload)."""
        return (
            self.killed_at is not None
            and doc.kind == "chromium"
            and doc.replica == VICTIM
            and doc.t_nav < self.killed_at
        )

    def interrupted(self, i: int, session, doc: Doc) -> None:
        v = self.victims.setdefault(i, {"kind": doc.kind, "query": doc.settings.query})
        if session.closed is not None:
            v["closed"] = dict(
                session.closed, after_kill_s=round(session.closed["t"] - (self.killed_at or 0), 3)
            )
        else:
            v["reloaded_after_kill_s"] = round(time.time() - (self.killed_at or 0), 3)
        v["live"] = {"opened": doc.live.get("opened", 0), "frames": doc.live.get("frames", 0)}
        v["live_closes"] = [
            {k: c.get(k) for k in ("exception", "code", "reason", "detail", "after_s") if k in c}
            | ({"after_kill_s": round(c["t"] - self.killed_at, 3)} if "t" in c and self.killed_at else {})
            for c in doc.live.get("closes", [])
        ]

    def back(self, i: int) -> Doc | None:
        """The first page load of session i that showed its boundary after the kill from another
        replica: opened after the kill, or (a session loading a page at the kill) redispatched."""
        for _, doc in self.test.docs.get(i, []):
            if doc.first_boundary is None:
                continue
            if doc.t_nav >= self.killed_at or (
                doc.t_nav + doc.first_boundary >= self.killed_at
                and VICTIM not in (doc.replica, doc.stream_srv)
            ):
                return doc
        return None

    async def wait_status(self, name: str, up: bool, t0: float, limit: float) -> float | None:
        """Seconds from the monotonic ``t0`` until HAProxy reports ``name`` UP (or DOWN)."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                status = (await asyncio.to_thread(self.test.topology.stat))[name].get("status", "")
                if status.startswith("UP" if up else "DOWN"):
                    return time.monotonic() - t0
            await asyncio.sleep(0.1)
        return None

    async def run(self, t_load: float) -> None:
        test, a, topo = self.test, self.test.args, self.test.topology
        await asyncio.sleep(max(0.0, t_load + self.kill_after - time.monotonic()))
        on = {i: (doc.stream_srv or doc.replica) for i, doc in test.current.items()}
        victims = [i for i, r in on.items() if r == VICTIM]
        self.survivors = [i for i, r in on.items() if r != VICTIM and test.kinds.get(i) == "websocket"]
        for i in victims:
            self.victims[i] = {"kind": test.kinds[i], "query": test.current[i].settings.query}
        self.steps["on_replicas_at_kill"] = {
            r: {k: sum(1 for i, x in on.items() if x == r and test.kinds.get(i) == k) for k in ("websocket", "chromium")}
            for r in sorted({x for x in on.values() if x})
        }  # fmt: skip
        log(
            f"fault: SIGKILL {VICTIM} (pid {topo.replica(VICTIM).pid}); sessions on replicas: {self.steps['on_replicas_at_kill']}"
        )
        test.cpu_marks["kill"] = test.cpu()
        t_kill = time.monotonic()
        self.killed_at = time.time()
        await asyncio.to_thread(topo.kill_replica, VICTIM)
        self.steps["kill_wall_s"] = round(time.monotonic() - t_kill, 3)
        self.steps["down_s"] = await self.wait_status(VICTIM, False, t_kill, 30)
        log(f"fault: HAProxy marks {VICTIM} DOWN after {self.steps['down_s']}s")
        deadline = time.monotonic() + a.first_boundary_timeout + 15
        while time.monotonic() < deadline and not all(self.back(i) for i in self.victims):
            await asyncio.sleep(0.25)
        self.steps["all_back_s"] = (
            time.monotonic() - t_kill if all(self.back(i) for i in self.victims) else None
        )
        await asyncio.sleep(3)  # r2 with every session, a little longer
        self.recovered_at = time.time()
        log(f"fault: {VICTIM}'s sessions back after {self.steps['all_back_s']}s; restarting {VICTIM}")
        t_restart = time.monotonic()
        test.cpu_marks["restart"] = test.cpu()
        try:
            await asyncio.to_thread(topo.restart_replica, VICTIM)
            self.steps["restart_healthy_s"] = time.monotonic() - t_restart
        except RuntimeError as exc:
            self.steps["restart_error"] = str(exc)[:500]
        self.steps["up_s"] = await self.wait_status(VICTIM, True, t_restart, 30)
        if self.steps["up_s"] is not None and "restart_healthy_s" in self.steps:
            self.steps["up_after_healthy_s"] = self.steps["up_s"] - self.steps["restart_healthy_s"]
        log(f"fault: {VICTIM} UP {self.steps['up_s']}s after restart_replica; new sessions")
        new_docs = await asyncio.gather(
            *[test.warm(k, None, "after-restart", 4) for k in range(self.n_new)], return_exceptions=True
        )
        self.new = [d if isinstance(d, Doc) else {"error": f"{type(d).__name__}: {d}"} for d in new_docs]
        # how much CPU the restarted replica got from restart_replica to the new sessions' end
        self.steps["cpu_restart_to_new_sessions"] = topology_cpu_usage(test.cpu_marks["restart"], test.cpu())
        test.load_end = time.monotonic() + 2

    def verdict(self, results: Results) -> dict:
        """The fault's checks (failures go to ``results``) and its numbers."""
        a, steps = self.test.args, self.steps

        def fail(msg: str) -> None:
            results.fail(f"[fault] {msg}", "fault")

        if self.killed_at is None:
            fail("the load ended before the kill")
            return steps
        if steps.get("down_s") is None or steps["down_s"] > a.fault_down_limit:
            fail(f"HAProxy marked {VICTIM} DOWN after {steps.get('down_s')}s (limit {a.fault_down_limit}s)")
        if not self.victims:
            fail(f"no session was on {VICTIM} at the kill")
        closes, reconnects = [], []
        for i, v in self.victims.items():
            back = self.back(i)
            v["back"] = back is not None
            if v["kind"] == "websocket":
                c = v.get("closed")
                if c is None:
                    v["how"] = "no close seen (it was loading a page at the kill)"
                else:
                    closes.append(c["after_kill_s"])
                    if c["after_kill_s"] > a.fault_down_limit:
                        fail(f"s{i}: its socket closed {c['after_kill_s']}s after the kill")
            if back is None:
                fail(f"s{i} ({v['kind']}, was on {VICTIM}): no boundary again after the kill")
                continue
            v["back_on"] = back.replica
            v["back_sockets"] = (back.stream_srv, back.live_srv)
            v["reconnect_s"] = round(back.t_nav + back.first_boundary - self.killed_at, 3)
            v["reload_to_boundary_s"] = round(back.first_boundary, 3)
            reconnects.append(v["reconnect_s"])
            survivors = {r.name for r in self.test.topology.replicas} - {VICTIM}
            sockets_ok = v["kind"] == "chromium" or (
                back.stream_srv in survivors and back.live_srv in (None, back.stream_srv)
            )
            if back.replica not in survivors or not sockets_ok:
                fail(
                    f"s{i}: back on {back.replica} (sockets {v['back_sockets']}), not on a surviving replica"
                )
        steps["victims"] = self.victims
        steps["sockets_closed_after_kill_s"] = closes
        steps["reconnect_s"] = reconnects
        # r2's websocket sessions from the kill until every session was back (+3 s)
        w0, w1 = self.killed_at, getattr(self, "recovered_at", time.time())
        stalls = {}
        for i in self.survivors:
            gaps = [g for _, d in self.test.docs.get(i, []) if (g := max_gap(d, w0, w1)) is not None]
            if gaps:
                stalls[f"s{i}"] = round(max(gaps), 2)
        steps["survivor_longest_pause_s"] = stalls
        worst = max(stalls.values(), default=None)
        steps["survivor_worst_pause_s"] = worst
        if not stalls:
            fail("no surviving websocket session was live during the recovery")
        elif worst > a.fault_stall:
            fail(f"a surviving session paused {worst}s (limit {a.fault_stall}s): {stalls}")
        # the surviving replicas must stay UP: a survivor marked DOWN (its health check timed out
        # under the load it took over) leaves HAProxy with no server (503 for every new request)
        downs = [
            (round(t - self.killed_at, 2), name, status)
            for t, st in self.test.statuses
            if t >= self.killed_at
            for name, status in st.items()
            if name != VICTIM and status.startswith("DOWN")
        ]
        steps["survivor_down"] = downs
        if downs:
            fail(
                f"a surviving replica was marked DOWN by HAProxy's health check after the kill "
                f"(+s, replica, status): {downs[:5]}"
            )
        if steps.get("up_s") is None:
            fail(f"{VICTIM} not UP again after restart_replica ({steps.get('restart_error', 'timeout')})")
        elif steps.get("up_after_healthy_s", 0) > a.fault_down_limit + 3:
            fail(f"{VICTIM} UP only {steps['up_after_healthy_s']:.1f}s after it was healthy")
        new = getattr(self, "new", [])
        steps["new_sessions"] = [
            {"replica": d.replica, "sockets": (d.stream_srv, d.live_srv), "first_boundary_s": d.first_boundary}
            if isinstance(d, Doc) else d
            for d in new
        ]  # fmt: skip
        on_victim = [
            d for d in new if isinstance(d, Doc) and d.replica == VICTIM and d.first_boundary is not None
        ]
        if not on_victim:
            fail(f"no new session reached {VICTIM} after its restart: {steps['new_sessions']}")
        for d in new:
            if not isinstance(d, Doc) or d.first_boundary is None:
                fail(
                    f"a new session after the restart showed no boundary: {d if not isinstance(d, Doc) else d.replica}"
                )
        return steps


def max_gap(doc: Doc, w0: float, w1: float) -> float | None:
    """The longest pause of a page load's live updates within [w0, w1] (time.time()): between
    consecutive updates, from the last update before the window, and to the window's end (or the
    page load's) unless its budget was spent. None if it was not live in the window."""
    if doc.t_first_epoch is None:
        return None
    lo = max(w0, doc.t_first_epoch)
    hi = min(w1, doc.t_done if doc.t_done is not None else (doc.t_end or time.time()))
    if hi <= lo:
        return None
    before = [t for t in doc.inc_times if t <= lo]
    points = [before[-1] if before else doc.t_first_epoch] + [t for t in doc.inc_times if lo < t <= hi]
    if doc.t_done is None or doc.t_done > hi:
        points.append(hi)
    return max((b - a for a, b in zip(points, points[1:], strict=False)), default=0.0)


# ---- runs, each on a topology of its own ----------------------------------------------------------
def log_failures(topology: Topology, results: Results) -> dict:
    """The replicas' logs: exceptions fail (as make loadtest's server log), the live fallback is counted."""
    out = {"upstream_disconnects": 0, "live_fallbacks": 0, "warnings": []}
    haproxy_log = topology.log_dir / "haproxy.log"
    if haproxy_log.exists():  # its health checks' verdicts: "Server replicas/r2 is DOWN, reason: ..."
        out["haproxy_events"] = [
            line.strip()
            for line in haproxy_log.read_text(errors="replace").splitlines()
            if " is DOWN" in line or " is UP" in line or "no server available" in line
        ]
    for replica in topology.replicas:
        text, n_upstream = drop_upstream_disconnects(replica.log_path.read_text(errors="replace"))
        out["upstream_disconnects"] += n_upstream
        bad, warn, exc = log_problems(text)
        out["live_fallbacks"] += sum(FALLBACK_WARNING in w for w in warn)
        out["warnings"] += [f"{replica.name}: {w}" for w in warn[:20]]
        if bad:
            results.fail(f"{replica.name} log: {len(bad)} exception/error lines: {bad[:3]}", "log")
            for line, n in exc.items():
                results.fail(f"{replica.name} log: {n}x {line}", "log")
    return out


def topology(n: int, label: str) -> Topology:
    log_dir = ARTIFACTS / f"loadtest-{label}"
    shutil.rmtree(log_dir, ignore_errors=True)
    return Topology(n, free_port(), free_ports(n), log_dir=log_dir)


def compare_run(args, n: int) -> tuple[dict, Results]:
    """The load through the proxy in front of ``n`` replicas."""
    label = f"{n}r"
    log(f"{label}: starting {n} replica(s) and HAProxy")
    with topology(n, label) as topo:
        test = ProxyLoadTest(args, topo, label, args.sessions, args.browsers, args.seconds)
        asyncio.run(test.run())
        out = test.summary()
        out["logs"] = log_failures(topo, test.results)
    out["browser_sched"] = args.browser_sched
    return out, test.results


def capacity_run(args) -> tuple[list[dict], Results]:
    """Websocket sessions against one replica, at each count of ``--capacity`` in turn."""
    points, results = [], Results()
    with topology(1, "capacity") as topo:
        for n in args.capacity:
            log(f"capacity: {n} websocket sessions on 1 replica for {args.capacity_seconds:.0f}s")
            test = ProxyLoadTest(args, topo, f"capacity-{n}", n, 0, args.capacity_seconds)
            asyncio.run(test.run())
            points.append(test.summary())
            results.failures += [f"[{n} sessions] {f}" for f in test.results.failures]
            results.slow += test.results.slow
            for k, v in test.results.by_kind.items():
                results.by_kind[k] = results.by_kind.get(k, 0) + v
            results.events_checked += test.results.events_checked
            time.sleep(3)  # the closed sessions' last fragment runs end
        logs = log_failures(topo, results)
    for p in points:
        p["logs"] = logs
    return points, results


def fault_run(args) -> tuple[dict, Results]:
    label = "fault"
    log(f"{label}: starting 2 replicas and HAProxy")
    with topology(2, label) as topo:
        test = ProxyLoadTest(args, topo, label, args.sessions, args.browsers, math.inf)
        test.fault = Fault(test, args.kill_after)
        asyncio.run(test.run())
        out = test.summary()
        out["fault"] = test.fault.verdict(test.results)
        out["logs"] = log_failures(topo, test.results)
    return out, test.results
