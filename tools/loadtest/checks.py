"""The checks: every state a session shows against its own settings (Results.check), each page
load's liveness when it ends (Results.judge), and the server log (log_problems)."""

from __future__ import annotations

import re
import sys
import time
import urllib.parse
from dataclasses import dataclass, field

from tools.loadtest.settings import Settings

MAX_FAILURES_SHOWN = 25


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
    max_epoch: int | None = None  # an update is an epoch above every one shown before
    t_first_epoch: float | None = None  # time.time() an epoch was first shown
    t_done: float | None = None  # ... the epoch budget was reached
    t_end: float | None = None  # ... the page load was judged (left)
    inc_times: list[float] = field(default_factory=list)  # time.time() of each live update
    # behind the proxy (tools/loadtest/proxy.py): the replica named by HAProxy's cookie, and the
    # replicas HAProxy actually sent this page load's Streamlit socket and live socket to
    replica: str | None = None
    stream_srv: str | None = None
    live_srv: str | None = None
    live: dict = field(default_factory=dict)  # the live socket: frames, closes (code, seconds)

    def live_span(self) -> float | None:
        """Seconds this page load was live: from its first epoch shown to its budget's end (or
        to when it was left); None before any epoch."""
        if self.t_first_epoch is None:
            return None
        end = self.t_done if self.t_done is not None else (self.t_end or time.time())
        return max(0.0, end - self.t_first_epoch)

    def update_rate(self) -> float | None:
        """Live updates per second over the live span (None for a span under 2 s)."""
        span = self.live_span()
        return self.increments / span if span and span >= 2 else None

    def summary(self, phase: str) -> dict:
        s = self.settings
        return {
            "phase": phase, "kind": self.kind, "session": s.session, "generation": s.generation,
            "query": s.query, "runs": s.cfg.n_runs, "first_boundary_s": self.first_boundary,
            "increments": self.increments, "epochs": [self.first_epoch, self.last_epoch, s.cfg.epochs],
            "seconds": round(time.time() - self.t_nav, 1),
            "live_s": self.live_span(), "updates_per_s": self.update_rate(),
            "replica": self.replica, "stream_srv": self.stream_srv, "live_srv": self.live_srv,
            "live": self.live or None,
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
                    doc.first_epoch, doc.t_first_epoch = ev["epoch"], t
                # (the epoch counter and the live frames arrive on two sockets: an epoch below the
                # highest one shown is a late message, not a step back; the next frame is no update)
                if doc.max_epoch is not None and ev["epoch"] > doc.max_epoch:
                    doc.increments += 1
                    doc.inc_times.append(t)
                    if doc.last_increment is not None:
                        self.intervals.setdefault(f"{phase} {doc.kind}", []).append(t - doc.last_increment)
                    doc.last_increment = t
                doc.max_epoch = max(ev["epoch"], doc.max_epoch or 0)
                doc.last_epoch, doc.last_change = ev["epoch"], t
                doc.done = ev["total"] is not None and ev["epoch"] >= ev["total"]
                if doc.done and doc.t_done is None:
                    doc.t_done = t

    def judge(self, doc: Doc, phase: str, stall_timeout: float) -> None:
        """At the end of a page load: it showed its boundary, and kept updating while training."""
        now = doc.t_end = time.time()
        self.docs.append(doc.summary(phase))
        where = f"[{phase} {doc.kind} {doc.settings.short()}]"
        if doc.first_boundary is None:
            self.fail(f"{where} no boundary {now - doc.t_nav:.1f}s after navigation", "liveness")
        elif not doc.done and doc.last_change is not None:
            self.update_age.setdefault(f"{phase} {doc.kind}", []).append(now - doc.last_change)
            if now - doc.last_change > stall_timeout:
                self.fail(
                    f"{where} live updates stalled at epoch {doc.last_epoch} for {now - doc.last_change:.1f}s",
                    "liveness",
                )


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
