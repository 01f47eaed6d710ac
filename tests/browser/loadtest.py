"""Load test: ONE `streamlit run serve.py` (make run), N concurrent sessions with different settings.

    python -m tests.browser.loadtest                  # 20 sessions for 60 s (make loadtest)
    python -m tests.browser.loadtest --quick          # smoke run: 4 sessions for 15 s
    python -m tests.browser.loadtest --browsers 20    # every session a Chromium page
    python -m tests.browser.loadtest --settle-seconds 130   # also wait out Streamlit's session TTL

Sessions are of two kinds, mixed with ``--browsers``:

* Chromium pages: one headless Chromium (Debian's, driven by Playwright's async API) with one
  context + page per session. A recorder injected into every document (MutationObserver) notes
  each distinct state of the page with a timestamp, so nothing between two polls is missed.
* websocket sessions: Streamlit's own protocol without a browser, spoken as the frontend does
  (a rerun request carrying the URL's query string, then one timer per ``st.fragment(run_every)``
  sending fragment reruns); every ForwardMsg is decoded and checked. Like the page's chart, they
  also open nnviz's live websocket and check every frame it sends (nnviz/ui/live.py).

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
markdown table goes to stdout (for the README); progress and details to stderr,
test-artifacts/loadtest.json and test-artifacts/loadtest-server.log.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import signal
import sys
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field

import numpy as np

from nnviz.activations import ACTIVATIONS
from nnviz.config import ACTIVATION_KEYS, DATASET_KEYS, Config
from nnviz.data.generators import DATASETS
from tests.browser.harness import ARTIFACTS, CHROMIUM_ARGS, find_chromium, streamlit_server

VIEWPORT = {"width": 1280, "height": 800}
MAX_FAILURES_SHOWN = 25
BOUNDARY_KEY = "boundary"  # charts.show(..., key="boundary") in nnviz/ui/panels.py

# Runs in every document before the app's scripts: records each distinct state of the page with
# a timestamp (Date.now(), the same clock as Python's time.time()); Python drains the list.
RECORDER_JS = r"""
(() => {
  if (window.__lt) return;
  const lt = {events: [], last: ''};
  window.__lt = lt;
  const clean = s => (s || '').replace(/<[^>]+>|■/g, '').trim();
  // while a fragment reruns, Streamlit keeps the previous elements on the page, marked stale
  const stale = el => { const c = el.closest('[data-stale]'); return !!c && c.getAttribute('data-stale') === 'true'; };
  const snap = () => {
    const progs = [...document.querySelectorAll('[data-testid="stProgress"]')];
    const prog = progs.find(p => !stale(p)) || progs[0];
    const m = prog ? /Epoch (\d+) \/ (\d+)/.exec(prog.innerText || '') : null;
    // every drawn boundary chart (the stale one too): its heatmaps (contours or images) and titles
    const charts = [];
    for (const el of document.querySelectorAll('.nnviz-chart[data-chart="__KEY__"]')) {
      if (!el.data || !el.layout || !el.data.length) continue;
      const heat = (el.layout.images || []).length;
      const titles = (el.layout.annotations || []).map(a => clean(a.text)).filter(t => t.includes(' · '));
      charts.push({heat, titles, stale: stale(el)});
    }
    const ds = document.querySelector('[data-testid="stSidebar"] input[aria-label="Dataset"]');
    const errs = [...document.querySelectorAll(
      '[data-testid="stException"], [data-testid="stAlertContentError"], [data-testid="stAlertContentWarning"]'
    )].map(e => (e.innerText || '').trim().slice(0, 300));
    const ev = {epoch: m ? +m[1] : null, total: m ? +m[2] : null, charts, ds: ds ? ds.value : null,
                search: location.search, errs};
    const key = JSON.stringify(ev);
    if (key !== lt.last) { lt.last = key; ev.t = Date.now(); lt.events.push(ev); }
  };
  lt.drain = () => { snap(); const e = lt.events; lt.events = []; return e; };
  new MutationObserver(snap).observe(document, {subtree: true, childList: true, characterData: true});
  setInterval(snap, 250);
})();
""".replace("__KEY__", BOUNDARY_KEY)
DRAIN_JS = "() => window.__lt ? window.__lt.drain() : []"


# ---- the settings each session asks for -------------------------------------------------------
@dataclass(frozen=True)
class Settings:
    session: int
    generation: int
    cfg: Config

    @property
    def params(self) -> dict[str, str]:
        return self.cfg.to_params()

    @property
    def query(self) -> str:
        return "?" + urllib.parse.urlencode(self.params, safe=",")

    @property
    def labels(self) -> list[str]:
        """The subplot labels the app must show, in its order (activation-major, then seed)."""
        multi = self.cfg.n_seeds > 1
        return [
            ACTIVATIONS[a].name + (f" (seed {s})" if multi else "")
            for a in self.cfg.activations
            for s in self.cfg.seeds
        ]

    @property
    def dataset_name(self) -> str:
        return DATASETS[self.cfg.dataset].name

    def short(self) -> str:
        return f"s{self.session}g{self.generation} {self.query}"


class SettingsFactory:
    """Deterministic settings; no two requests of a run share an activation list or a seed."""

    datasets = tuple(k for k in DATASET_KEYS if k in DATASETS)  # not "upload": its data is no URL

    def __init__(self) -> None:
        self.used: set[tuple[str, ...]] = set()

    def make(self, session: int, generation: int) -> Settings:
        rng = random.Random(session * 7919 + generation * 104729)
        while True:
            acts = tuple(rng.sample(ACTIVATION_KEYS, rng.choice((1, 2, 2, 3, 3, 4))))
            if acts not in self.used:
                break
        self.used.add(acts)
        dataset = self.datasets[(session + generation) % len(self.datasets)]
        cfg = Config(
            dataset=dataset,
            n_classes=rng.choice((3, 4, 5)) if dataset == "blobs" else 3,
            activations=acts,
            seed=1 + 10 * session + 10_000 * generation,
            n_seeds=2 if session % 4 == 0 and len(acts) <= 3 else 1,  # seeds then show in the titles
            hidden_layers=rng.choice((1, 2, 3)),
            width=rng.choice((4, 8, 16)),
            lr=rng.choice((0.01, 0.03, 0.1)),
            batch_size=rng.choice((0, 0, 32)),
            # epoch budgets of different sessions differ too (visible in "Epoch N / M")
            epochs=200 + (40 * session) % 4000 + rng.randrange(40),
        ).validate()
        return Settings(session, generation, cfg)


# ---- /proc and the server's own counters ------------------------------------------------------
def _status(pid: int, key: str) -> int | None:
    """A field of /proc/<pid>/status (kB for the Vm* ones)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def rss_mb(pid: int) -> float:
    kb = _status(pid, "VmRSS")
    return kb / 1024 if kb is not None else float("nan")


def _procs() -> dict[int, tuple[int, int, float]]:
    """pid -> (ppid, CPU ticks, RSS MB) of every process."""
    out, page_mb = {}, os.sysconf("SC_PAGESIZE") / 2**20
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                data = f.read()
        except OSError:
            continue
        rest = data[data.rindex(")") + 2 :].split()
        out[int(name)] = (int(rest[1]), int(rest[11]) + int(rest[12]), int(rest[21]) * page_mb)
    return out


def _descendants(procs: dict[int, tuple[int, int, float]], root: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for pid, (ppid, _, _) in procs.items():
        children.setdefault(ppid, []).append(pid)
    out, todo = set(), [root]
    while todo:
        for c in children.get(todo.pop(), []):
            if c not in out:
                out.add(c)
                todo.append(c)
    return out


def cpu_snapshot(server_pid: int) -> dict[str, float]:
    """Cumulative CPU seconds of the server, of our other children (Playwright + Chromium), of
    this process and of the whole machine (all cores); the browser processes' RSS."""
    tick = os.sysconf("SC_CLK_TCK")
    procs = _procs()
    server = {server_pid} | _descendants(procs, server_pid)
    browser = _descendants(procs, os.getpid()) - server
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    return {
        "t": time.monotonic(),
        "server": sum(procs[p][1] for p in server if p in procs) / tick,
        "browser": sum(procs[p][1] for p in browser if p in procs) / tick,
        "browser_rss_mb": sum(procs[p][2] for p in browser if p in procs),
        "box_busy": (sum(fields[:8]) - fields[3] - fields[4]) / tick,
        "self": sum(os.times()[:2]),
    }


def cpu_usage(a: dict[str, float], b: dict[str, float]) -> dict[str, float]:
    """Percent of one core used between two snapshots (box_pct: of all the machine's cores)."""
    dt = b["t"] - a["t"]
    d = {k: b[k] - a[k] for k in ("server", "browser", "self", "box_busy")}
    return {
        "server_pct": 100 * d["server"] / dt,
        "browser_pct": 100 * d["browser"] / dt,
        "loadtest_pct": 100 * d["self"] / dt,
        "others_pct": 100 * (d["box_busy"] - d["server"] - d["browser"] - d["self"]) / dt,
        "box_pct": 100 * d["box_busy"] / dt / (os.cpu_count() or 1),
    }


def server_metrics(url: str) -> dict[str, float]:
    """Streamlit's own counters (/_stcore/metrics): active sessions and session events."""
    out: dict[str, float] = {}
    try:
        with urllib.request.urlopen(url + "/_stcore/metrics", timeout=10) as r:
            text = r.read().decode()
    except OSError:
        return out
    for line in text.splitlines():
        m = re.match(r'^(active_sessions|session_events_total\{type="(\w+)"\})\s+([\d.e+]+)', line)
        if m:
            out[m.group(2) or m.group(1)] = float(m.group(3))
    return out


class RssSampler:
    """Samples the server's VmRSS and thread count every ``interval`` s, tagged by phase."""

    def __init__(self, pid: int, interval: float = 0.25) -> None:
        self.pid, self.interval, self.phase = pid, interval, "start"
        self.samples: list[tuple[float, str, float, int]] = []
        self._t0 = time.monotonic()

    def sample(self) -> float:
        rss = rss_mb(self.pid)
        self.samples.append(
            (round(time.monotonic() - self._t0, 2), self.phase, rss, _status(self.pid, "Threads") or -1)
        )
        return rss

    async def run(self) -> None:
        while True:
            self.sample()
            await asyncio.sleep(self.interval)

    def peak(self, phase: str, column: int = 2) -> float:
        values = [s[column] for s in self.samples if s[1] == phase]
        return max(values) if values else float("nan")


# ---- results and checks -----------------------------------------------------------------------
@dataclass
class Doc:
    """One page load (or websocket connection) of one session, with one settings."""

    settings: Settings
    kind: str  # "chromium" or "websocket"
    t_nav: float = field(default_factory=time.time)  # just before navigating / connecting
    first_boundary: float | None = None  # seconds after t_nav
    last_epoch: int | None = None
    last_increment: float | None = None  # time.time() of the last epoch increment
    last_change: float | None = None  # ... of the last epoch change (or first sight)
    done: bool = False  # the epoch budget is spent
    increments: int = 0  # live updates seen
    first_epoch: int | None = None

    def summary(self, phase: str) -> dict:
        s = self.settings
        return {
            "phase": phase, "kind": self.kind, "session": s.session, "generation": s.generation,
            "query": s.query, "runs": s.cfg.n_runs, "first_boundary_s": self.first_boundary,
            "increments": self.increments, "epochs": [self.first_epoch, self.last_epoch, s.cfg.epochs],
            "seconds": round(time.time() - self.t_nav, 1),
        }  # fmt: skip


class Results:
    def __init__(self) -> None:
        self.failures: list[str] = []
        self.slow: list[str] = []  # liveness: reported, not failed
        self.by_kind: dict[str, int] = {}  # failure category -> count
        self.first_boundary: dict[str, list[float]] = {}  # "phase kind" -> seconds
        self.intervals: dict[str, list[float]] = {}  # "phase kind" -> seconds
        self.update_age: dict[str, list[float]] = {}  # "phase kind" -> age of the epoch shown when left
        self.events_checked = 0
        self.boundaries_checked = 0
        self.navigations: dict[str, int] = {}
        self.docs: list[dict] = []

    def fail(self, msg: str, category: str) -> None:
        """category: "mismatch" (another session's settings), "error" (an error on the page),
        "liveness" (too slow), "log" (server log) or "driver" (the load test itself).
        "liveness" is reported, not failed: 20 live sessions exceed what 2 cores can serve at
        5 updates/s, and the latency percentiles say by how much."""
        self.by_kind[category] = self.by_kind.get(category, 0) + 1
        if category == "liveness":
            self.slow.append(msg)
            return
        self.failures.append(msg)
        if len(self.failures) <= MAX_FAILURES_SHOWN:
            print(f"FAIL {msg}", file=sys.stderr, flush=True)

    def check(self, doc: Doc, events: list[dict], phase: str) -> None:
        """Every recorded state of a session must belong to its own settings."""
        s = doc.settings
        want_params, want_labels = s.params, s.labels
        for ev in events:
            self.events_checked += 1
            t = ev["t"] / 1000
            where = f"[{phase} {doc.kind} {s.short()} +{t - doc.t_nav:.1f}s]"
            errs = [e for e in ev["errs"] if "diverged at epoch" not in e]
            if errs:
                self.fail(f"{where} error shown: {errs}", "error")
            got = {k: v[-1] for k, v in urllib.parse.parse_qs(ev["search"].lstrip("?")).items()}
            if got != want_params:
                self.fail(f"{where} query string became {ev['search']!r}", "mismatch")
            if ev["ds"] is not None and ev["ds"] != s.dataset_name:
                self.fail(f"{where} sidebar dataset {ev['ds']!r}, expected {s.dataset_name!r}", "mismatch")
            if ev["total"] is not None and ev["total"] != s.cfg.epochs:
                self.fail(
                    f"{where} progress 'Epoch {ev['epoch']} / {ev['total']}', budget is {s.cfg.epochs}",
                    "mismatch",
                )
            for chart in ev["charts"]:
                self.boundaries_checked += 1
                labels = [title.split(" · ")[0] for title in chart["titles"]]
                if chart["heat"] != len(want_labels) or labels != want_labels:
                    stale = " (stale)" if chart["stale"] else ""
                    self.fail(
                        f"{where} {chart['heat']} boundary subplots{stale} titled {labels}, expected {want_labels}",
                        "mismatch",
                    )
                elif doc.first_boundary is None:  # drawn (even if already marked stale): visible
                    doc.first_boundary = t - doc.t_nav
                    self.first_boundary.setdefault(f"{phase} {doc.kind}", []).append(doc.first_boundary)
            if ev["epoch"] is not None and ev["epoch"] != doc.last_epoch:
                if doc.first_epoch is None:
                    doc.first_epoch = ev["epoch"]
                if doc.last_epoch is not None and ev["epoch"] > doc.last_epoch:
                    doc.increments += 1
                    if doc.last_increment is not None:
                        self.intervals.setdefault(f"{phase} {doc.kind}", []).append(t - doc.last_increment)
                    doc.last_increment = t
                doc.last_epoch, doc.last_change = ev["epoch"], t
                doc.done = ev["total"] is not None and ev["epoch"] >= ev["total"]


def _plain_titles(texts: list[str]) -> list[str]:
    """Boundary panel titles without their markup (the run's colour swatch)."""
    plain = [re.sub(r"<[^>]+>|■", "", t).strip() for t in texts]
    return [t for t in plain if " · " in t]


# ---- the two kinds of sessions ----------------------------------------------------------------
class BrowserSession:
    """A Chromium context + page; every navigation is a new Streamlit session."""

    kind = "chromium"

    def __init__(self, browser, url: str, tag: str, results: Results) -> None:
        self.browser, self.url, self.tag, self.results = browser, url, tag, results
        self.context = self.page = None

    async def start(self) -> None:
        self.context = await self.browser.new_context(viewport=VIEWPORT)
        await self.context.add_init_script(RECORDER_JS)
        self.page = await self.context.new_page()
        self.page.on(
            "pageerror",
            lambda exc: self.results.fail(f"[{self.tag}] uncaught JavaScript error: {exc}", "error"),
        )

    async def goto(self, settings: Settings) -> None:
        await self.page.goto(self.url + "/" + settings.query, wait_until="commit", timeout=60_000)

    async def drain(self, until: float) -> list[dict]:
        await asyncio.sleep(max(0.0, until - time.monotonic()))
        try:
            return await asyncio.wait_for(self.page.evaluate(DRAIN_JS), 30)
        except Exception as exc:  # a document being replaced: its last states are lost
            if "context was destroyed" in str(exc) or "navigat" in str(exc).lower():
                return []
            raise

    async def screenshot(self, path) -> None:
        await self.page.screenshot(path=str(path))

    async def close(self) -> None:
        if self.context is not None:
            await self.context.close()


class WebsocketSession:
    """Streamlit's browser protocol without a browser: connect to /_stcore/stream, ask for a run
    with the page's query string, answer st.fragment(run_every) with fragment reruns on a timer
    (as the frontend's setInterval does), and decode what the page would show."""

    kind = "websocket"

    def __init__(self, url: str, tag: str, results: Results) -> None:
        self.ws_base = "ws" + url.removeprefix("http") + "/"
        self.ws_url = self.ws_base + "_stcore/stream"
        self.tag, self.results = tag, results
        self.ws = None
        self.timers: dict[str, tuple[float, asyncio.Task]] = {}
        self.follow: tuple[str, asyncio.Task] | None = None  # nnviz's live frames, as charts.js does
        self.frame_events: list[dict] = []

    async def start(self) -> None:
        pass

    async def goto(self, settings: Settings) -> None:
        import websockets

        await self.close()
        self.query = settings.query.lstrip("?")
        self.page_hash = ""
        self.state = {
            "epoch": None,
            "total": None,
            "charts": [],
            "ds": None,
            "search": settings.query,
            "errs": [],
        }
        self.last = ""
        self.ws = await websockets.connect(
            self.ws_url, subprotocols=["streamlit"], max_size=None, open_timeout=60, ping_interval=None
        )
        await self._rerun()

    async def _rerun(self, fragment_id: str = "") -> None:
        from streamlit.proto.BackMsg_pb2 import BackMsg

        msg = BackMsg()
        msg.rerun_script.query_string = self.query
        msg.rerun_script.page_script_hash = self.page_hash
        if fragment_id:
            msg.rerun_script.fragment_id = fragment_id
            msg.rerun_script.is_auto_rerun = True
        await self.ws.send(msg.SerializeToString())

    async def _tick(self, fragment_id: str, interval: float) -> None:
        with contextlib.suppress(Exception):  # the connection closed: the timer dies with it
            while True:
                await asyncio.sleep(interval)
                await self._rerun(fragment_id)

    def _cancel(self, fragment_id: str) -> None:
        entry = self.timers.pop(fragment_id, None)
        if entry:
            entry[1].cancel()

    def _apply(self, raw: bytes) -> None:
        """Update what the page would show from one ForwardMsg."""
        from streamlit.proto.Alert_pb2 import Alert
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        msg = ForwardMsg.FromString(raw)
        kind, st = msg.WhichOneof("type"), self.state
        if kind == "new_session":
            self.page_hash = msg.new_session.page_script_hash
        elif kind == "page_info_changed":
            qs = msg.page_info_changed.query_string
            st["search"] = "?" + qs if qs else ""
            self.query = qs
        elif kind == "auto_rerun":
            fid, interval = msg.auto_rerun.fragment_id, msg.auto_rerun.interval
            if fid and self.timers.get(fid, (None,))[0] != interval:
                self._cancel(fid)
                self.timers[fid] = (interval, asyncio.create_task(self._tick(fid, interval)))
        elif kind == "stop_auto_rerun":
            for fid in msg.stop_auto_rerun.fragment_ids:
                self._cancel(fid)
        elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
            element = msg.delta.new_element
            etype = element.WhichOneof("type")
            el = getattr(element, etype)
            if etype == "progress":
                m = re.search(r"Epoch (\d+) / (\d+)", el.text)
                if m:
                    st["epoch"], st["total"] = int(m.group(1)), int(m.group(2))
            elif etype == "bidi_component" and json.loads(el.bytes or b"{}").get("name") == BOUNDARY_KEY:
                payload = json.loads(el.bytes)
                layout = payload["figure"].get("layout", {})
                heat = len(layout.get("images", []))
                titles = [a.get("text", "") for a in layout.get("annotations", [])]
                st["charts"] = [{"heat": heat, "titles": _plain_titles(titles), "stale": False}]
                stream = payload.get("stream")
                if stream and (self.follow is None or self.follow[0] != stream["path"]):
                    self._unfollow()
                    self.follow = (stream["path"], asyncio.create_task(self._frames(stream["path"])))
            elif etype == "selectbox" and el.label == "Dataset":
                # as the frontend: a widget keeps its value across reruns unless the server sets one
                if el.raw_value or st["ds"] is None:
                    st["ds"] = el.raw_value or (
                        el.options[el.default] if len(el.options) > el.default else None
                    )
            elif etype == "exception":
                st["errs"] = [f"{el.type}: {el.message}"[:300]]
            elif etype == "alert" and el.format in (Alert.ERROR, Alert.WARNING):
                st["errs"] = [el.body[:300]]

    async def _frames(self, path: str) -> None:
        """The live websocket of the boundary chart (nnviz/ui/live.py): each frame is an update of
        what the page shows (its epoch, its panels and their titles), as in charts.js."""
        import websockets

        with contextlib.suppress(Exception):  # closed with the session, or refused: frames stop
            async with websockets.connect(self.ws_base + path, max_size=None, ping_interval=None) as ws:
                async for text in ws:
                    frame = json.loads(text)
                    st = self.state
                    st["epoch"], st["total"] = frame["epoch"], frame["epochs"]
                    st["charts"] = [
                        {
                            "heat": len(frame["images"]),
                            "titles": _plain_titles(frame["titles"]),
                            "stale": False,
                        }
                    ]
                    self.frame_events.append(dict(st, t=time.time() * 1000, errs=[]))

    def _unfollow(self) -> None:
        if self.follow is not None:
            self.follow[1].cancel()
            self.follow = None

    async def drain(self, until: float) -> list[dict]:
        events = []
        while (left := until - time.monotonic()) > 0:
            try:
                raw = await asyncio.wait_for(self.ws.recv(), left)
            except TimeoutError:
                break
            self._apply(raw)
            key = json.dumps(self.state, sort_keys=True)
            if key != self.last:
                self.last = key
                events.append(dict(self.state, t=time.time() * 1000))
                self.state["errs"] = []  # an error is reported once, when it arrives
        events += self.frame_events
        self.frame_events = []
        return sorted(events, key=lambda ev: ev["t"])

    async def close(self) -> None:
        self._unfollow()
        self.frame_events = []
        for fid in list(self.timers):
            self._cancel(fid)
        if self.ws is not None:
            await self.ws.close()
            self.ws = None


# ---- the run ----------------------------------------------------------------------------------
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

    def judge(self, doc: Doc, phase: str) -> None:
        """At the end of a page load: it showed its boundary, and kept updating while training."""
        a, now = self.args, time.time()
        self.results.docs.append(doc.summary(phase))
        where = f"[{phase} {doc.kind} {doc.settings.short()}]"
        if doc.first_boundary is None:
            self.results.fail(f"{where} no boundary {now - doc.t_nav:.1f}s after navigation", "liveness")
        elif not doc.done and doc.last_change is not None:
            self.results.update_age.setdefault(f"{phase} {doc.kind}", []).append(now - doc.last_change)
            if now - doc.last_change > a.stall_timeout:
                self.results.fail(
                    f"{where} live updates stalled at epoch {doc.last_epoch} for {now - doc.last_change:.1f}s",
                    "liveness",
                )

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
                self.judge(doc, "load")
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
            self.judge(doc, phase)
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
            self.judge(doc, "alone")
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
        hwm = _status(self.server_pid, "VmHWM")
        rep["rss_hwm_mb"] = hwm / 1024 if hwm else None
        rep["rss_samples"] = self.sampler.samples
        rep["run_wall_s"] = time.monotonic() - t_start


# ---- reporting --------------------------------------------------------------------------------
def pct(values: list[float]) -> tuple[float, float, float, float]:
    if not values:
        return (float("nan"),) * 4
    p50, p90, p99 = np.percentile(values, [50, 90, 99])
    return float(p50), float(p90), float(p99), float(max(values))


UPSTREAM_MARKERS = ("starlette_websocket.py", "WebSocketDisconnected")


def drop_upstream_disconnects(text: str) -> tuple[str, int]:
    """Remove Streamlit 1.67's own 'Exception in ASGI application' blocks raised when a client
    disconnects while the server is sending (streamlit/web/server/starlette/starlette_websocket.py,
    _websocket_endpoint -> websocket.close() on a closed socket). They involve no nnviz frame and
    the session is still cleaned up; they are counted and reported, not failed. Any block that
    touches nnviz, app.py or serve.py, or any other exception, still fails the run."""
    blocks = re.split(
        r"(?m)^(?=\S)(?!Traceback|During handling|The above exception|\S+Error|\S+Disconnected)", text
    )
    kept, upstream = [], 0
    for block in blocks:
        ours = "nnviz" in block or re.search(r'File "(?:[^"]*/)?(?:app|serve)\.py"', block)
        if all(m in block for m in UPSTREAM_MARKERS) and not ours:
            upstream += 1
        else:
            kept.append(block)
    return "".join(kept), upstream


def log_problems(text: str) -> tuple[list[str], list[str], dict[str, int]]:
    """Server log: (exception/traceback/error lines, warning lines, the last line of each
    traceback -> how often)."""
    bad, warn, exceptions = [], [], {}
    for line in text.splitlines():
        if re.search(r"Traceback|Exception|\bERROR\b|Error:", line):
            bad.append(line)
        elif re.search(r"\bWARNING\b|Warning:", line):
            warn.append(line)
        if re.match(r"^[A-Za-z_][\w.]*(Error|Exception|Disconnected|Disconnect|Timeout|Interrupt)\b", line):
            exceptions[line] = exceptions.get(line, 0) + 1
    return bad, warn, exceptions


def markdown(args, rep: dict, res: Results, n_tracebacks: int) -> str:
    def row(name: str, values: list[float]) -> str:
        p50, p90, p99, mx = pct(values)
        return f"| {name} | {len(values)} | {p50:.2f} | {p90:.2f} | {p99:.2f} | {mx:.2f} |"

    def mb(key: str) -> str:
        v = rep.get(key)
        return f"{v:.0f}" if isinstance(v, (int, float)) else "–"

    n_ws = args.sessions - args.browsers
    mix = f"{args.browsers} Chromium pages" + (f" + {n_ws} websocket sessions" if n_ws else "")
    lines = [
        f"{args.sessions} concurrent sessions ({mix}) for {args.seconds:.0f} s, each with new settings every "
        f"~{args.reload_every:.0f} s, on one `streamlit run serve.py` ({os.cpu_count()} cores).",
        "",
        "| latency (s) | n | p50 | p90 | p99 | max |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    rows = [
        ("first_boundary", "alone websocket", "one session alone, before the load: connect → boundary"),
        ("intervals", "alone websocket", "one session alone: interval between live updates"),
        ("first_boundary", "load chromium", "Chromium page: navigation → boundary drawn"),
        ("first_boundary", "load websocket", "websocket session: connect → boundary received"),
        ("intervals", "load chromium", "Chromium page: interval between live updates"),
        ("intervals", "load websocket", "websocket session: interval between live updates"),
        ("update_age", "load chromium", "Chromium page: age of the epoch shown when the page was left"),
        ("update_age", "load websocket", "websocket session: age of the epoch shown when left"),
        ("first_boundary", "churn chromium", "after the load, Chromium: navigation → boundary drawn"),
        ("first_boundary", "churn websocket", "after the load, websocket: connect → boundary received"),
    ]
    for attr, key, name in rows:
        kind = key.split()[1]
        if key in getattr(res, attr) or (key.startswith("load") and res.navigations.get(kind)):
            lines.append(row(name, getattr(res, attr).get(key, [])))
    lines += [
        "",
        "| server RSS (MB) | |",
        "|---|---:|",
        f"| idle, before any session | {mb('rss_idle_mb')} |",
        f"| after the warm-up (two sessions, closed) | {mb('rss_warm_mb')} |",
        f"| peak during the load (sampled every 0.25 s) | {mb('rss_peak_load_mb')} |",
        f"| after the load (sessions closed) | {mb('rss_after_load_mb')} |",
    ]
    if "rss_after_churn_mb" in rep:
        opened = int(
            rep.get("metrics_after_churn", {}).get("connect", 0)
            - rep.get("metrics_after_load", {}).get("connect", 0)
        )
        lines.append(
            f"| after {args.churn_seconds:.0f} s more of opening and closing sessions ({opened} sessions) "
            f"| {mb('rss_after_churn_mb')} |"
        )
    if "rss_after_settle_mb" in rep:
        lines.append(
            f"| after {args.settle_seconds:.0f} s idle, then one more session | {mb('rss_after_settle_mb')} |"
        )
    lines.append(f"| kernel high-water mark (VmHWM) | {mb('rss_hwm_mb')} |")
    cpu = rep.get("cpu_load", {})

    def c(key: str) -> str:
        return f"{cpu.get(key, float('nan')):.0f}%"

    k = res.by_kind
    lines += [
        "",
        f"Checks: {sum(res.navigations.values())} page loads, {res.events_checked} states "
        f"({res.boundaries_checked} boundary charts) checked against their own URL: "
        f"{k.get('mismatch', 0)} showed another session's settings, {k.get('error', 0)} errors on a page, "
        f"{k.get('liveness', 0)} too slow (no boundary within {args.first_boundary_timeout:.0f} s or no update "
        f"for {args.stall_timeout:.0f} s); server log: "
        + (f"{n_tracebacks} tracebacks" if n_tracebacks else "no exception or traceback")
        + f". CPU during the load (100% = one core): server {c('server_pct')}, Chromium {c('browser_pct')}, "
        f"this script {c('loadtest_pct')}, other processes {c('others_pct')}; machine {c('box_pct')} busy.",
    ]
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
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
