"""One browser session's state: a typed object in ``st.session_state``, behind one accessor.

Everything one user does lives here (never in module globals or ``cache_resource``), so users of one
server never see each other's experiments. Widgets keep their own values under their own keys
(Streamlit's rule); everything else a session has is a field of :class:`Session`.
"""

from __future__ import annotations

import math
import time
import uuid
from dataclasses import dataclass, field

import numpy as np
import streamlit as st

from nnviz.config import UPLOAD, Config, Notice
from nnviz.data.upload import MAX_ABS_COORD, MAX_ROWS, MIN_PER_CLASS, MIN_ROWS, UploadedData
from nnviz.experiment import Experiment
from nnviz.grid import build
from nnviz.presets import Preset, load_presets

KEY = "nnviz"  # the one session-state key nnviz's own state lives under
HOLD_SECONDS = 3.0  # how long a value the app set in a widget wins over the value it replaced
PRESET_PARAM = "preset"  # the URL parameter of the guided experiment on screen


@dataclass
class LiveState:
    """What the live view keeps between runs (see nnviz/ui/live)."""

    channel: object | None = None  # the session's live.route.Channel, once made
    stream_off: bool = False  # the page never opened the live websocket: frames go through Streamlit
    first_paint_done: bool = False  # the session's first page got the boundaries as plain pictures
    summary_shown: bool = False  # the first page defers the summary table by one tick
    titles: tuple | None = None  # (experiment uid, time, titles) while training live
    inline_run: int = -1  # the script run whose boundaries fragment ran inline (not on its timer)
    script_runs: int = 0  # full script runs so far


@dataclass(frozen=True)
class DrawOrigin:
    """What a drawing started from: the data on screen when Draw points was turned on (restored when
    every drawn change is undone, or while the drawing has too few points to train)."""

    X: np.ndarray  # [N, 2] its points in data coordinates
    y: np.ndarray  # [N] their classes
    n_classes: int
    key: str  # its data's identity (nnviz/ui/draw.py data_key)
    widgets: dict  # the values of the data widgets then (the Dataset, and Samples, Noise, Classes)
    upload: tuple[str, UploadedData] | None  # the session's upload then
    upload_message: tuple[str, str] | None
    plane: tuple[float, float, float, float]  # x0, x1, y0, y1 of its boundary grid: the empty plane's extent


MAX_EDITS = 2000  # edits in one message from the browser at most (it sends ~0.7 s of clicks)


@dataclass
class DrawState:
    """The Draw points drawing of the Compare tab (nnviz/ui/draw.py): the points now, and the edits
    that made them from the start, in order (Undo takes the last one back).

    The browser numbers its edits 1, 2, 3, ... per ``canvas`` and sends every edit it has not seen
    applied (``last_id``, which it gets back), so a message sent twice, or late, changes nothing twice."""

    canvas: str = ""  # this drawing's id: new on every start and Clear (edits for another are ignored)
    origin: DrawOrigin | None = None
    empty: bool = False  # started from an empty plane instead of the origin's points
    X: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    y: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    n_classes: int = 2  # the class picker's classes
    history: list[tuple] = field(default_factory=list)  # ("add",) or ("remove", index, x, y, class)
    last_id: int = 0  # the browser's last edit applied
    token: str = ""  # the data token of the drawn points while they are the experiment's data, else ""
    tokens: set[str] = field(default_factory=set)  # every token this drawing's data has had
    view: str | None = None  # the boundary chart's uirevision when drawing began: the zoom stays
    ranges: dict | None = None  # {"x": [lo, hi], "y": [lo, hi]}: the axes' ranges while drawing
    edited_run: int = -1  # LiveState.script_runs when edits last came in (see draw.chart_drawing)
    problem: str = ""  # why the drawn points cannot be the data, when they keep to the counts but not that

    def start(self, origin: DrawOrigin, empty: bool) -> None:
        """Begin again from ``origin``'s points, or from none (``empty``), with a new canvas id."""
        self.canvas, self.origin, self.empty = uuid.uuid4().hex[:12], origin, empty
        self.X = np.zeros((0, 2)) if empty else np.asarray(origin.X, dtype=np.float64).reshape(-1, 2)
        self.y = np.zeros(0, dtype=np.int64) if empty else np.asarray(origin.y, dtype=np.int64)
        self.n_classes = 5 if empty else origin.n_classes
        self.history, self.last_id, self.token = [], 0, ""

    def owns(self, key: str) -> bool:
        """Whether the data ``key`` (draw.data_key) is this drawing's: its own, or its origin's while
        the drawn points are not the data (the origin's picked again afterwards starts a new drawing)."""
        if self.origin is None:
            return False
        return key in self.tokens or (not self.token and key == self.origin.key)

    @property
    def changed(self) -> bool:
        """Whether the points differ from the origin's (an empty start always does)."""
        return self.empty or bool(self.history)

    def counts(self) -> tuple[int, int]:
        """(points added, points removed) by the edits applied."""
        added = sum(1 for h in self.history if h[0] == "add")
        return added, len(self.history) - added

    def apply(self, message) -> int:
        """Apply the edits of a message from the browser that are new; returns how many changed the
        points. Anything malformed is skipped (a whole message, or one edit)."""
        if not isinstance(message, dict) or message.get("canvas") != self.canvas or not self.canvas:
            return 0
        edits = message.get("edits")
        if not isinstance(edits, list) or len(edits) > MAX_EDITS:
            return 0
        done = 0
        for edit in sorted((e for e in edits if _edit_id(e) > self.last_id), key=_edit_id):
            if _edit_id(edit) > self.last_id:  # (an id twice in one message: the first counts)
                self.last_id = _edit_id(edit)
                done += self._apply_one(edit)
        return done

    def _apply_one(self, edit: dict) -> int:
        x, y = _coord(edit.get("x")), _coord(edit.get("y"))
        if x is None or y is None:
            return 0
        if edit.get("op") == "add":
            c = edit.get("c")
            if type(c) is not int or not 0 <= c < self.n_classes or len(self.y) >= MAX_ROWS:
                return 0
            self.X, self.y = np.vstack([self.X, [[x, y]]]), np.append(self.y, c)
            self.history.append(("add",))
            return 1
        if edit.get("op") == "remove" and len(self.y):
            distance = np.hypot(self.X[:, 0] - x, self.X[:, 1] - y)
            i = int(distance.argmin())
            r = edit.get("r")
            if isinstance(r, int | float) and not isinstance(r, bool) and distance[i] > r:
                return 0  # nothing near where the click was
            self.history.append(("remove", i, *self.X[i], int(self.y[i])))
            self.X, self.y = np.delete(self.X, i, axis=0), np.delete(self.y, i)
            return 1
        return 0

    def undo(self) -> bool:
        """Take the last edit back (edits are undone last first, so each one's index still holds)."""
        if not self.history:
            return False
        last = self.history.pop()
        if last[0] == "add":
            self.X, self.y = self.X[:-1], self.y[:-1]
        else:
            _, i, x, y, c = last
            self.X, self.y = np.insert(self.X, i, [x, y], axis=0), np.insert(self.y, i, c)
        return True

    def missing(self) -> tuple[int, dict[int, int]]:
        """What the points lack to be trained on (an upload's rules, nnviz/data/upload.py): how many
        more points, and of which classes how many (classes 0..C-1 in use, each needs a few)."""
        counts = np.bincount(self.y, minlength=2)
        short = {c: MIN_PER_CLASS - int(n) for c, n in enumerate(counts) if n < MIN_PER_CLASS}
        return max(MIN_ROWS - len(self.y), sum(short.values()), 0), short


def _edit_id(edit) -> int:
    value = edit.get("id") if isinstance(edit, dict) else None
    return value if type(value) is int and value > 0 else 0


def _coord(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value) if abs(value) <= MAX_ABS_COORD else None


@dataclass
class Session:
    """What one browser session has: the config and experiment on screen and how it got there."""

    config: Config
    url_notices: list[Notice] = field(default_factory=list)  # what the opening URL got wrong
    experiment: Experiment | None = None
    playing: bool = True
    error: str | None = None  # why the requested settings cannot be used (the last ones stay)
    train_error: str | None = None  # why training stopped, until the next Play, Step, Reset or experiment
    upload: tuple[str, UploadedData] | None = None  # (sha256 hex, data) of the last valid upload
    upload_message: tuple[str, str] | None = None  # (level, text) about the last upload attempt
    preset: str | None = None  # the key of the guided experiment last loaded
    live: LiveState = field(default_factory=LiveState)
    draw: DrawState = field(default_factory=DrawState)  # the Draw points drawing (nnviz/ui/draw.py)
    replay_follow: bool = True  # the Replay slider follows training until the user picks an epoch
    replay_animation: tuple | None = None  # (what it shows, figure): rebuilt when a snapshot is added
    held: dict[str, tuple] = field(default_factory=dict)  # widget key -> (value, stale value, until)

    # ---- the experiment -------------------------------------------------------------------------
    def experiment_for(self, cfg: Config) -> Experiment | None:
        """The experiment for ``cfg``; a changed config restarts it (same seed, so reproducible).

        If the new config cannot be built (e.g. too few samples for the classes, or the uploaded data
        is gone), ``error`` says why and the previous experiment stays."""
        current = self.experiment
        token = self.upload[0] if self.upload and cfg.dataset == UPLOAD else ""
        if current is not None and current.cfg == cfg and current.data_token == token:
            return current
        try:
            if cfg.dataset != UPLOAD:
                new = build(cfg)
            elif self.upload is None:
                raise ValueError("no uploaded data in this session; upload a CSV under Data")
            else:
                new = build(cfg, (self.upload[1].X, self.upload[1].y), data_token=token)
        except ValueError as exc:
            self.error = f"These settings cannot be used: {exc}"
            return current
        self.error = self.train_error = None
        if current is not None:
            self.url_notices = []  # the user has moved on from the URL they opened
            self.playing = True
        self.experiment, self.config = new, cfg
        return new

    def restart(self) -> None:
        """Reset: the same experiment back at epoch 0."""
        if self.experiment is not None:
            self.experiment = self.experiment.restarted()

    # ---- widget values set by the app -------------------------------------------------------------
    def set_widget(self, key: str, value) -> None:
        """Set a widget's value from a callback, and hold it for HOLD_SECONDS against the value it had.

        While a page trains, its fragments' timers keep sending the browser's widget values, which are
        the old ones until the page has drawn the widget again (at the end of the next full run); one
        such request would silently take the new value back. Held, the new value wins over the old one
        on full runs until the browser has had time to catch up (a user who picks the old value again
        at once has to pick it twice)."""
        before = st.session_state.get(key)
        st.session_state[key] = value
        if before != value:
            self.held[key] = (value, before, time.monotonic() + HOLD_SECONDS)

    def keep_held(self) -> None:
        """On a full run, before the widgets are read: undo what a stale request did to a held value."""
        for key, (value, stale, until) in list(self.held.items()):
            if time.monotonic() > until:
                del self.held[key]
            elif st.session_state.get(key) == stale:
                st.session_state[key] = value
                self.held[key] = (value, stale, time.monotonic() + HOLD_SECONDS)

    # ---- the guided experiment -------------------------------------------------------------------
    def active_preset(self) -> Preset | None:
        """The preset whose settings (or contrast settings) are on screen, else None."""
        preset = load_presets().get(self.preset) if self.preset else None
        if preset is not None and self.config in (preset.config, preset.contrast_config):
            return preset
        return None

    def url_params(self) -> dict[str, str]:
        """What the address bar carries: every setting off its default, and the preset on screen."""
        params = self.config.to_params()
        preset = self.active_preset()
        if preset is not None:
            params[PRESET_PARAM] = preset.key
        return params


def session() -> Session:
    """This browser session's state (made from the URL on its first run, see :func:`open_session`).

    Reads ``st.session_state`` on every call: that is where Streamlit ends a run for a pending rerun,
    which the live loop relies on."""
    return st.session_state[KEY]


def open_session() -> tuple[Session, bool]:
    """The session, made on its first run from the URL's parameters (``preset=KEY`` loads that
    preset's settings under the URL's own); returns it and whether it is new."""
    if KEY in st.session_state:
        s = st.session_state[KEY]
        s.keep_held()
        return s, False
    params = {key: st.query_params.get_all(key) for key in st.query_params}
    preset, preset_notices = _preset_from(params)
    cfg, notices = Config.from_params(params)
    st.session_state[KEY] = new = Session(config=cfg, url_notices=preset_notices + notices, preset=preset)
    return new, True


def _preset_from(params: dict) -> tuple[str | None, list[Notice]]:
    """Take ``preset`` out of ``params`` and put that preset's settings under the others."""
    raw = params.pop(PRESET_PARAM, None)
    if not raw:
        return None, []
    key = str(raw[-1] if isinstance(raw, list) else raw)
    preset = load_presets().get(key)
    if preset is None:
        shown = key if len(key) <= 40 else key[:40] + "..."
        return None, [Notice(PRESET_PARAM, shown, "", f"{shown!r} is not one of the guided experiments")]
    params.update({k: v for k, v in preset.params.items() if k not in params})
    return key, []


def sync_url(s: Session) -> None:
    """Make the address bar carry the session's settings (only when they changed, to avoid churn)."""
    params = s.url_params()
    current = {key: st.query_params.get(key) for key in st.query_params}
    if current != params:
        st.query_params.from_dict(params)
