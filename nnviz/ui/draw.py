"""Draw points on the Compare tab: a click on a boundary panel adds a training point of the picked
class there (shift-click: the next class), an alt-click takes the nearest point away.

The drawn points become the experiment's data the way an upload does (nnviz/ui/sidebar.py): they are
the session's upload, as the CSV the Dataset CSV download writes, and the dataset is "upload", so the
URL says the data are the user's own; the seed, the network and every other setting stay, a part is
held out for validation as for any data, and the comparison starts again from the same seed.

The browser (charts.js, drawPoints) shows each click at once and sends the clicks after a short pause
in drawing, every edit the server has not applied yet in one message; the server applies the new ones
(the session's DrawState, nnviz/ui/session.py) and says which it has. Everything lives in the session.
"""

from __future__ import annotations

import dataclasses
import hashlib

import numpy as np
import streamlit as st

from nnviz import export
from nnviz.config import UPLOAD
from nnviz.data.upload import MIN_PER_CLASS, MIN_ROWS, UploadError, parse_csv
from nnviz.experiment import Experiment
from nnviz.figures import adapters, boundary, style
from nnviz.ui import charts
from nnviz.ui.common import LOG, MAIN_WIDTH, guarded
from nnviz.ui.session import DrawOrigin, DrawState, Session, session
from nnviz.ui.sidebar import PREFIX

TOGGLE_KEY = "draw_on"  # the Draw points toggle (nnviz/ui/compare.py)
CLASS_KEY = "draw_class"
START_KEY = "draw_start"
STARTS = {"data": "the dataset's points", "empty": "an empty plane"}
DATASET_KEY = PREFIX + "dataset"  # the sidebar's Dataset widget
CANVAS_KEY = "draw_canvas"  # the chart of a drawing that cannot be trained on yet
CANVAS_RESOLUTION = 24
GENERATED = ("n_samples", "noise", "n_classes")  # the settings of generated data (the sidebar's Data)


def is_on() -> bool:
    """Draw points is on, and the data on screen are classes to draw (a regression's are not)."""
    exp = session().experiment
    return bool(st.session_state.get(TOGGLE_KEY)) and not (exp is not None and exp.is_regression)


REGRESSION_TEXT = (
    "Draw points adds points of a class: it draws on classification data. This comparison is a "
    "regression (a real value per point); upload a CSV to bring points of your own."
)


def data_key(exp: Experiment) -> str:
    """What the experiment's points are: an upload's (or a drawing's) hash, else the generator's
    settings (the split's do not change the points)."""
    c = exp.cfg
    return exp.data_token or f"{c.dataset}|{c.n_samples}|{c.noise}|{c.n_classes}|{c.data_seed}"


# ---- the controls -------------------------------------------------------------------------------


def render_toolbar(exp: Experiment) -> None:
    """While Draw points is on, under the Compare tab's buttons: the class a click adds, Undo, Clear
    and where the drawing starts from. A drawing starts from the data on screen when it is not theirs
    (Draw points turned on, another dataset or an upload)."""
    if st.session_state.get(TOGGLE_KEY) and exp.is_regression:
        st.info(REGRESSION_TEXT, icon=":material/edit_off:")
    if not is_on():
        return
    s, ss = session(), st.session_state
    if not s.draw.owns(data_key(exp)):
        _start(s, exp, empty=ss.get(START_KEY) == "empty")
    d = s.draw
    if ss.get(CLASS_KEY) not in range(d.n_classes):
        ss[CLASS_KEY] = 0
    st.html(_swatch_css(d.n_classes))  # static CSS: the class colours (no user text)
    cols = st.columns([2.4, 0.9, 0.9, 2.6], vertical_alignment="bottom")
    cols[0].segmented_control(
        "A click adds class", list(range(d.n_classes)), key=CLASS_KEY, required=True,
        help="Shift-click adds a point of the next class; alt-click removes the nearest point.",
    )  # fmt: skip
    cols[1].button(
        "Undo", icon=":material/undo:", key="draw_undo", on_click=_undo, disabled=not d.history,
        help="Take the last drawn change back", width="stretch",
    )  # fmt: skip
    cols[2].button(
        "Clear", icon=":material/ink_eraser:", key="draw_clear", on_click=_clear, disabled=not d.history,
        help="Take every drawn change back: the points the drawing started from", width="stretch",
    )  # fmt: skip
    cols[3].radio(
        "Start from", list(STARTS), format_func=STARTS.get, key=START_KEY, horizontal=True, on_change=_restart,
        help="Starting again takes the drawn changes back.",
    )  # fmt: skip
    added, removed = d.counts()
    done = f"{added} added" + (f", {removed} removed" if removed else "")
    st.caption(
        f"**Click** a panel: a point of the picked class · **shift-click**: the next class · "
        f"**alt-click**: remove the nearest point. {len(d.y)} points, {done}; each pause in drawing "
        "restarts the comparison from the same seed."
    )


def _swatch_css(n: int) -> str:
    """A dot of each class's colour before its name in the class picker."""
    rules = [
        f".st-key-{CLASS_KEY} button:nth-of-type({c + 1}) p::before {{ content: '\\25CF\\00A0'; "
        f"color: {color}; font-size: 1.25em; line-height: 0; }}"
        for c, color in enumerate(style.class_colors(n))
    ]
    return "<style>" + "\n".join(rules) + "</style>"


def _start(s: Session, exp: Experiment, empty: bool) -> None:
    """A new drawing from ``exp``'s data (or an empty plane of its extent; a grid: its first row's)."""
    cfg, key = exp.cfg, data_key(exp)
    exp = exp.locate(0)[0]
    X = np.concatenate([exp.data_xy("train")[0], exp.data_xy("val")[0]]).astype(np.float64)
    y = np.concatenate([exp.split.y_train, exp.split.y_val])
    grid = exp.make_grid(2)
    plane = (float(grid.xs[0]), float(grid.xs[-1]), float(grid.ys[0]), float(grid.ys[-1]))
    widgets = {DATASET_KEY: cfg.dataset}
    if cfg.dataset != UPLOAD:  # (shown only for generated data: set again when the origin is back)
        widgets |= {PREFIX + name: getattr(cfg, name) for name in GENERATED}
    origin = DrawOrigin(X, y, exp.split.n_classes, key, widgets, s.upload, s.upload_message, plane)
    s.draw = DrawState()
    s.draw.start(origin, empty)


def _undo() -> None:
    s = session()
    if s.draw.undo():
        _publish(s, s.draw)


def _clear() -> None:
    s = session()
    if s.draw.origin is not None:
        s.draw.start(s.draw.origin, s.draw.empty)  # a new canvas: clicks still on their way are dropped
        _publish(s, s.draw)


def _restart() -> None:
    s = session()
    if s.draw.origin is not None:
        s.draw.start(s.draw.origin, st.session_state.get(START_KEY) == "empty")
        _publish(s, s.draw)


def on_edits(message) -> None:
    """A batch of clicks from the browser (a component callback: before the script reruns)."""
    s = session()
    if not is_on() or s.draw.origin is None:
        return
    try:
        changed = s.draw.apply(message)
    except Exception:  # noqa: BLE001 - a message from the browser never breaks the page
        LOG.exception("a Draw points message could not be applied: ignored")
        return
    if changed:
        s.draw.edited_run = s.live.script_runs
        _publish(s, s.draw)


def _publish(s: Session, d: DrawState) -> None:
    """Make the drawn points the experiment's data, as an upload of their CSV; while the points are
    the origin's (or too few to train), the origin's data stay (the drawing keeps its points)."""
    d.problem = ""
    more, _ = d.missing()
    if d.changed and not more:
        text = export.dataset_csv(d.X, d.y)
        try:
            data = parse_csv(text.encode())
        except UploadError as exc:  # (the drawing keeps to an upload's rules; this is a last check)
            d.problem = str(exc)
        else:
            d.token = hashlib.sha256(text.encode()).hexdigest()
            d.tokens.add(d.token)
            s.upload = (d.token, dataclasses.replace(data, notes=()))
            s.upload_message = (
                "success",
                f"Your drawing (Compare tab, Draw points): {len(data.y)} points in {data.n_classes} classes.",
            )
            s.set_widget(DATASET_KEY, UPLOAD)
            return
    o = d.origin
    s.upload, s.upload_message = o.upload, o.upload_message
    # Every widget of the origin's data is set, not just the Dataset: Samples and Noise were not drawn
    # while the data were the drawing's, and a widget drawn again gets its value from the server only
    # when it is set in that run (else the browser shows, and then sends, its lowest value).
    for key, value in o.widgets.items():
        s.set_widget(key, value)
    d.token = ""


# ---- the charts ---------------------------------------------------------------------------------


def chart_drawing() -> charts.Drawing | None:
    """What the boundary chart needs to be drawn on (None while Draw points is off).

    Clicks on a chart inside a fragment rerun that fragment only: the page is rerun in full, so that
    every part of it (and the URL) follows the new data."""
    s = session()
    d = s.draw
    if not is_on() or d.origin is None:
        return None
    if d.edited_run == s.live.script_runs:
        st.rerun()
    classes = d.n_classes
    spec = {
        "canvas": d.canvas, "ack": d.last_id, "cls": st.session_state.get(CLASS_KEY) or 0,
        "classes": classes, "colors": style.class_colors(classes),
    }  # fmt: skip
    return charts.Drawing(spec, on_edits, prepare=lambda fig, rev: _keep_view(d, fig, rev))


def _keep_view(d: DrawState, fig, uirevision: str | None) -> str | None:
    """While drawing, the chart keeps one uirevision and the axes their ranges (the first figure's,
    widened only when points lie outside them): the plane stays still under the pointer while the
    data's extent changes, and plotly.js keeps the user's zoom (it gives way to a changed range)."""
    if d.view is None:
        d.view = uirevision
    layout = fig.layout
    names = [n for n in layout if n.startswith(("xaxis", "yaxis")) and layout[n].range is not None]
    ranges = {n[0]: list(layout[n].range) for n in sorted(names, key=len)}
    if set(ranges) != {"x", "y"}:
        return d.view
    pinned = d.ranges or ranges
    if len(d.X):
        lo, hi = d.X.min(0), d.X.max(0)
        for i, axis in enumerate("xy"):
            if lo[i] < pinned[axis][0] or hi[i] > pinned[axis][1]:
                pinned[axis] = [min(pinned[axis][0], ranges[axis][0]), max(pinned[axis][1], ranges[axis][1])]
    d.ranges = pinned
    for n in names:
        layout[n].range = pinned[n[0]]
    return d.view


def render_canvas(exp: Experiment) -> bool:
    """A drawing with too few points to train on: its points on blank panels (they take clicks like
    the boundaries) and what it still needs. Returns whether it was drawn (else the live view is)."""
    s = session()
    d = s.draw
    if not is_on() or d.origin is None or not d.changed or d.token:
        return False
    side_by_side = exp.n_runs <= 4
    left, right = st.columns([3, 2]) if side_by_side else (st.container(), st.container())
    with right:
        st.info(_missing_text(d), icon=":material/edit:")
    with left:
        guarded("The drawing", _show_canvas, exp, d, side_by_side)
    return True


def _show_canvas(exp: Experiment, d: DrawState, side_by_side: bool) -> None:
    fig = _canvas_figure(exp, d, side_by_side)
    charts.show(fig, key=CANVAS_KEY, uirevision=f"canvas-{d.canvas}", draw=chart_drawing())


def _missing_text(d: DrawState) -> str:
    if d.problem:
        return f"These points cannot be trained on: {d.problem}"
    more, short = d.missing()
    text = f"**{more} more point{'s' if more != 1 else ''} to start training**"
    if short:
        text += ", at least " + ", ".join(f"{n} of class {c}" for c, n in short.items())
    return (
        f"{text}. The comparison starts as soon as there are {MIN_ROWS} points or more and at least "
        f"{MIN_PER_CLASS} of every class from class 0 up to the highest one drawn."
    )


def _canvas_figure(exp: Experiment, d: DrawState, side_by_side: bool):
    """Blank panels (one per run, titled like the boundaries) over the origin's plane, with the points."""
    x0, x1, y0, y1 = d.origin.plane
    if len(d.X):  # (points can be drawn outside the plane: zoomed out)
        x0, x1 = min(x0, d.X[:, 0].min()), max(x1, d.X[:, 0].max())
        y0, y1 = min(y0, d.X[:, 1].min()), max(y1, d.X[:, 1].max())
    xs, ys = np.linspace(x0, x1, CANVAS_RESOLUTION), np.linspace(y0, y1, CANVAS_RESOLUTION)
    k, c = exp.n_runs, d.n_classes
    blank = np.full((k, CANVAS_RESOLUTION, CANVAS_RESOLUTION, c), 1 / c, dtype=np.float32)
    return boundary.boundary_figure(
        xs, ys, blank, titles=[f"{label} · waiting for points" for label in exp.run_labels], X_train=d.X,
        y_train=d.y, X_val=d.X[:0], y_val=d.y[:0], pred_train=None, pred_val=None, n_classes=c,
        show_val=False, ncols=2 if side_by_side else 4, width=MAIN_WIDTH * (0.58 if side_by_side else 1),
        title_colors=adapters.run_colors(exp),
    )  # fmt: skip
