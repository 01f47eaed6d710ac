"""Plotly charts that update in place: ``show(fig, key=...)`` instead of ``st.plotly_chart``.

Streamlit 1.67 derives a plotly chart's element id from the figure itself, so every live update
mounts a new chart in the browser: ``Plotly.newPlot`` from scratch, ~0.45 s of main-thread work for
8 boundary panels in headless Chromium, which capped the live view at ~2 updates per second. This
custom component (st.components.v2, keyed, so its element id is stable) keeps one chart per key and
redraws it with ``Plotly.react`` (~0.08 s for the same figure). It also keeps the user's zoom, pan and
legend clicks through live updates (``layout.uirevision``).

plotly.js is served by Streamlit's static file serving (``server.enableStaticServing`` in
.streamlit/config.toml): the copy bundled with the plotly package is placed in ``static/`` next to
app.py on first use. If that is not possible (static serving off, a read-only checkout), charts fall
back to ``st.plotly_chart``, which works everywhere, only slower.
"""

from __future__ import annotations

import html
import json
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import plotly
import plotly.io as pio
import streamlit as st

from nnviz.figures.style import FONT

LOG = logging.getLogger("nnviz")
NAME = "nnviz_chart"
STATIC_DIR = Path(__file__).resolve().parents[2] / "static"  # served at /app/static/ (app.py's folder)
PLOTLY_FILE = f"plotly-{plotly.__version__}.min.js"  # the version in the name: no stale browser cache
PLOT_CONFIG = {"displaylogo": False, "modeBarButtonsToRemove": ["lasso2d", "select2d"], "responsive": True}


@dataclass(frozen=True)
class Drawing:
    """Draw points on a chart's panels (nnviz/ui/draw.py, charts.js drawPoints).

    ``spec`` tells charts.js what a click does (the drawing's canvas id, the last edit applied, the
    class a click adds, the classes' colours); every batch of edits it sends back is passed to
    ``on_edits``, which runs before the rerun the message causes. ``prepare(fig, uirevision)`` may
    adjust the figure and returns the uirevision to use while drawing (the zoom stays while the data
    change)."""

    spec: dict
    on_edits: Callable[[object], None]
    prepare: Callable[[object, str | None], str | None] = lambda fig, uirevision: uirevision


def show(
    fig, *, key: str, uirevision: str | None = None, preview: bool = False, config: dict | None = None,
    stream: dict | None = None, draw: Drawing | None = None,
) -> None:  # fmt: skip
    """Draw ``fig`` under ``key``; the next call with the same key updates that chart in place.

    ``uirevision``: while it stays the same, the user's zoom, pan and legend choices are kept across
    updates; pass something that changes when the axes mean something new (e.g. another dataset).
    ``preview``: until plotly.js has loaded, show a static picture of the figure's layout images,
    scatter points and titles (what the boundary chart is made of).
    ``stream``: ``{"path", "rev", "epoch"}`` of the live websocket whose frames update this chart
    after this figure (see nnviz/ui/live/route.py): frames of that ``rev``, for later epochs, swap in.
    ``draw``: clicks on the panels draw points (see :class:`Drawing`); needs the component (the
    st.plotly_chart fallback has no clicks on empty places).
    """
    config = {**PLOT_CONFIG, **(config or {})}
    if draw is not None:
        config["doubleClick"] = False  # two quick clicks are two points, not a zoom reset
        uirevision = draw.prepare(fig, uirevision)
    component = _component()
    if component is None:
        st.plotly_chart(fig, key=key, config=config, width="stretch")
        return
    if uirevision is not None:
        fig.layout.uirevision = uirevision
    head = (
        f'{{"name":{json.dumps(key)},"preview":{json.dumps(preview)},"config":{json.dumps(config)},'
        f'"stream":{json.dumps(stream)},"draw":{json.dumps(draw.spec if draw else None)},"figure":'
    )
    body = head + pio.to_json(fig, validate=False) + "}"  # the figure JSON as plotly writes it, once
    callbacks = {}
    if draw is not None:
        callbacks["on_edits_change"] = lambda: draw.on_edits(_trigger(key, "edits"))
    component(key=key, data=body.encode(), width="stretch", height="content", **callbacks)


def _trigger(key: str, name: str):
    """The trigger value ``name`` a component's script sent (in its callback, before the rerun)."""
    try:
        return st.session_state[key][name]
    except (KeyError, TypeError):
        return None


def first_paint(fig, *, key: str, sources: list[str], titles: list[str], colors: list[str]) -> None:
    """A plain-HTML picture of the panel figure ``fig`` (layout images on subplot axes, one title
    annotation each) where the chart ``key`` will be: its panels as ``sources`` (PNG data URIs with
    the data drawn in) under ``titles`` (swatches in ``colors``), laid out as Plotly will lay them
    out. Call it right before ``show(fig, key=key, preview=True)``.

    On a fresh page the browser renders this with the rest of the page, ~0.3-0.5 s before the
    component's script gets its data and ~2 s before plotly.js is loaded and drawn; charts.js hides it
    when the interactive chart is drawn, or keeps it (with a note) if plotly.js cannot be loaded.
    Everything in it is escaped: it holds images, numbers and the runs' labels only."""
    layout = fig.layout
    margin = {"l": 80, "r": 80, "t": 100, "b": 80}
    margin.update(
        {k: v for k, v in (layout.margin.to_plotly_json() if layout.margin else {}).items() if k in margin}
    )
    inner_w = f"(100% - {margin['l'] + margin['r']}px)"
    inner_h = layout.height - margin["t"] - margin["b"]

    def across(fraction: float) -> str:
        return f"calc({margin['l']}px + {fraction:.5f} * {inner_w})"

    def down(fraction: float) -> float:
        return margin["t"] + (1 - fraction) * inner_h

    parts = []
    for image, source in zip(layout.images, sources, strict=True):
        (x0, x1), (y0, y1) = layout[_axis(image.xref, "x")].domain, layout[_axis(image.yref, "y")].domain
        # equal units on both axes (scaleanchor): the data keep their aspect, at the top of the cell
        # (constraintoward "top", right under its title) and centred across it
        aspect, cell_h = image.sizex / image.sizey, (y1 - y0) * inner_h
        parts.append(
            f'<div style="position:absolute;left:{across(x0)};top:{down(y1):.1f}px;'
            f"width:calc({x1 - x0:.5f} * {inner_w});height:{cell_h:.1f}px;display:flex;"
            f'align-items:flex-start;justify-content:center"><img src="{html.escape(source)}" alt="" '
            f'style="width:min(100%, {cell_h * aspect:.1f}px);aspect-ratio:{aspect:.5f};height:auto"></div>'
        )
    for note, title, color in zip(layout.annotations, titles, colors, strict=False):
        parts.append(
            f'<div style="position:absolute;left:{across(note.x)};top:{down(note.y):.1f}px;'
            f'transform:translate(-50%,-100%);white-space:nowrap">'
            f'<span style="color:{html.escape(color)}">■</span> {html.escape(title)}</div>'
        )
    for note in layout.annotations:  # a grid's row headers, written upwards left of their row
        if note.textangle == -90:
            parts.append(
                f'<div style="position:absolute;left:{margin["l"] - 34}px;top:{down(note.y):.1f}px;'
                f"transform:translate(-100%,-50%) rotate(-90deg);transform-origin:right center;"
                f'white-space:nowrap;font-weight:bold">{html.escape(re.sub("<[^>]+>", "", note.text))}</div>'
            )
    st.html(
        f'<div class="nnviz-first-paint" data-chart="{html.escape(key)}" style="position:relative;'
        f'height:{layout.height}px;margin-bottom:-1rem;overflow:hidden;font:13px {FONT};color:#222">'
        + "".join(parts)
        + "</div>"
    )


def _axis(ref: str, letter: str) -> str:
    return f"{letter}axis{ref[1:]}"


@cache
def _component():
    """The registered component, or None when plotly.js cannot be served (then st.plotly_chart)."""
    if not st.get_option("server.enableStaticServing"):
        LOG.warning("server.enableStaticServing is off: charts use st.plotly_chart (slower live updates)")
        return None
    try:
        _ensure_plotly_js()
    except OSError as exc:
        LOG.warning("cannot place plotly.js in %s (%s): charts use st.plotly_chart", STATIC_DIR, exc)
        return None
    js = (
        (Path(__file__).with_name("charts.js"))
        .read_text()
        .replace("__PLOTLY_URL__", f"app/static/{PLOTLY_FILE}")
    )
    return st.components.v2.component(NAME, js=js, isolate_styles=False)


def _ensure_plotly_js() -> None:
    """Copy the plotly package's plotly.min.js into static/ unless it is there already (atomically:
    several sessions may start at once)."""
    target = STATIC_DIR / PLOTLY_FILE
    source = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    if target.exists() and target.stat().st_size == source.stat().st_size:
        return
    STATIC_DIR.mkdir(exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=STATIC_DIR, suffix=".tmp")
    os.close(fd)
    try:
        shutil.copyfile(source, tmp)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
