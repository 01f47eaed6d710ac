"""Plotly figures from plain arrays: decision boundaries, learning curves, confusion matrices,
diagnostics and the activation zoo.

No Streamlit, no torch, no training here: every function takes numpy arrays and lists and returns a
``plotly.graph_objects.Figure``. Colours are colour-blind safe (Okabe-Ito, then Paul Tol's muted set).
Payloads stay small: plotly >= 6 sends numpy arrays as typed binary, so we hand it uint8 / float32
arrays (never lists), and multi-class shading travels as one PNG per run.
"""

from __future__ import annotations

import base64
import math
import struct
import warnings
import zlib

import numpy as np
import plotly.graph_objects as go
from plotly._subplots import SubplotRef  # what make_subplots records per cell, for add_trace(row=, col=)

# Okabe-Ito without black (rings, lines) and yellow (unreadable on white), then Tol muted.
OKABE_ITO = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9")
TOL_MUTED = (
    "#332288", "#999933", "#882255", "#CC6677", "#DDCC77", "#44AA99", "#117733", "#AA4499", "#88CCEE",
)  # fmt: skip
# Classes: orange / blue first, as in TensorFlow Playground (a pair every colour vision tells apart).
CLASS_COLORS = ("#E69F00", "#0072B2", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", *TOL_MUTED)
INK, MUTED = "#222222", "#6B6B6B"
SHADE = 0.7  # class colour strength of the background at full confidence: points stay visible
SHADING_PIXELS = 240  # a boundary panel's shading image has at least this many pixels a side
SHADES = 16  # confidence steps of the shading (finer ones are invisible and only grow the PNG)
MAX_POINTS = 500  # per learning curve
ACT_RANGE = (-3.0, 5.0)  # y range of the activation plot when a curve explodes
NOMINAL_WIDTH = 800  # px: about the main column beside the sidebar at 1280; heights are set for it
_TRAIN_MARKER = dict(size=6)  # circles; the white edge comes from BOUNDARY_TEMPLATE
_VAL_MARKER = dict(symbol="triangle-up", size=8)
_RING_MARKER = dict(symbol="circle-open", size=11, color=INK, line=dict(color=INK, width=1.5))
FONT = "'Source Sans', Inter, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"

_AXIS = dict(gridcolor="#ECECEC", zerolinecolor="#BDBDBD", linecolor="#BDBDBD", ticks="", automargin=True)
TEMPLATE = go.layout.Template(  # small on purpose: a stock template adds ~8 kB to every figure
    layout=dict(
        font=dict(family=FONT, size=13, color=INK), paper_bgcolor="white", plot_bgcolor="white",
        hoverlabel=dict(font=dict(family=FONT, size=12)), legend=dict(font=dict(size=12)),
        xaxis=_AXIS, yaxis=_AXIS,
    )
)  # fmt: skip
# A thin frame around every panel: a panel shaded white (outputs near 50% everywhere) is still a panel.
_PANEL_AXIS = dict(_AXIS, showgrid=False, zeroline=False, showline=True, mirror=True, constrain="domain")
_PANEL_AXIS.update(tickfont=dict(size=10, color=MUTED))
_POINTS = dict(
    mode="markers", marker=dict(line=dict(color="white", width=1)), hovertemplate="(%{x:.2f}, %{y:.2f})"
)
BOUNDARY_TEMPLATE = go.layout.Template(  # the defaults of the boundary panels, sent once instead of K times
    layout=dict(TEMPLATE.layout.to_plotly_json(), xaxis=_PANEL_AXIS, yaxis=_PANEL_AXIS),
    data=dict(scatter=[_POINTS]),
)


# One colour per activation, the same in every view (Compare, curves, Replay, Seeds, Diagnostics, the
# report): a run's colour follows its activation, never its position among the chosen ones. None of them
# is a class colour of the first five classes (points and shading use those), and the four default
# activations get four that every colour vision tells apart. Linear, the baseline, is grey.
ACTIVATION_COLORS = {
    "linear": "#6B6B6B", "sigmoid": "#882255", "tanh": "#117733", "relu": "#332288",
    "leaky_relu": "#999933", "prelu": "#44AA99", "elu": "#CC6677", "selu": "#AA4499", "gelu": "#88CCEE",
    "silu": "#DDCC77", "mish": "#661100", "softplus": "#6699CC", "softsign": "#AA7744",
}  # fmt: skip


def activation_color(key: str) -> str:
    """The colour of an activation's runs everywhere (grey for a key nnviz does not know)."""
    return ACTIVATION_COLORS.get(key, MUTED)


def run_colors(n: int) -> list[str]:
    """One colour per run: Okabe-Ito, then Tol muted (15 distinct, cycling beyond)."""
    palette = OKABE_ITO + TOL_MUTED
    return [palette[i % len(palette)] for i in range(n)]


def class_colors(n: int) -> list[str]:
    """One colour per class, as in the boundary shading (orange, blue, green, ...)."""
    return [CLASS_COLORS[i % len(CLASS_COLORS)] for i in range(n)]


def _rgb(color: str) -> np.ndarray:
    return np.array([int(color[i : i + 2], 16) for i in (1, 3, 5)], dtype=np.float64)


def _rgba(color: str, alpha: float) -> str:
    r, g, b = _rgb(color).astype(int)
    return f"rgba({r},{g},{b},{alpha})"


def _f32(a) -> np.ndarray:
    return np.asarray(a, dtype=np.float32)


MAX_LOG_TICKS = 8  # labelled ticks on a log axis at most, whatever the range (1e-3 .. 1e36 included)


def log_axis(values, cap: float | None = None) -> dict:
    """A log axis over the finite positive ``values`` with at most MAX_LOG_TICKS labels: 1, 2, 5 steps
    within two decades, each decade up to MAX_LOG_TICKS - 1 decades, then every n-th decade (faint
    unlabelled grid lines at the decades between). ``cap``: the axis ends there even if values go
    beyond (a run that exploded). No values: 0.01 .. 2, so an empty chart is not 0.1 .. 1e4."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v) & (v > 0)]
    if not v.size:
        return dict(type="log", dtick="D2", tickformat=".2~g", range=[-2.0, math.log10(2.0)])
    lo, hi = math.log10(v.min()), math.log10(min(v.max(), cap) if cap else v.max())
    lo = min(lo, hi - 0.3)
    pad = max(0.05 * (hi - lo), 0.15)
    lo, hi = lo - pad, hi + pad
    axis = dict(type="log", range=[lo, hi], exponentformat="power", showexponent="all")
    if math.ceil(hi) - math.floor(lo) <= 2:
        return dict(axis, dtick="D2", tickformat=".2~g")
    step = max(1, math.ceil((hi - lo) / (MAX_LOG_TICKS - 1)))
    axis["dtick"] = step
    if step > 1:
        axis["minor"] = dict(dtick=1, showgrid=True, gridcolor="#F4F4F4", ticks="")
    return axis


# ---- figures as plain dicts --------------------------------------------------------------------
# The boundaries and curves are redrawn 5 times a second while training live. Built through plotly's
# object API (make_subplots, update_xaxes / update_layout, add_traces) every property set goes through
# plotly's validators: ~90-130 ms for both figures with 8 runs, 80 x 80 grid and 400 points
# (make_subplots of the 2 x 4 grid alone ~20 ms), most of a 200 ms frame. So every figure here is a
# plain dict spec, traces and layout, with make_subplots' grid computed by _grid, wrapped once without
# validation: ~7 ms for both (confusion and diagnostics of 8 runs: ~70 and ~65 ms -> 3 and 5 ms).
# Nothing normalises these dicts, so they must be in plotly's canonical form: titles as dict(text=...),
# colour scales spelled out, no magic underscores. tests/test_plots.py checks _grid against
# make_subplots and that every figure passes plotly's validation unchanged.

_TEMPLATE_SPEC = TEMPLATE.to_plotly_json()
_BOUNDARY_TEMPLATE_SPEC = BOUNDARY_TEMPLATE.to_plotly_json()


def _axis_id(i: int) -> str:
    """The suffix of the i-th cell's axes (1-based, row by row): x, x2, x3, ..."""
    return "" if i == 1 else str(i)


def _figure(data: list[dict], layout: dict, grid_ref=None) -> go.Figure:
    """Wrap a finished spec (validated only by the tests); later edits of the figure are validated as usual.
    Our dicts are not kept: plotly copies them."""
    fig = go.Figure(dict(data=data, layout=layout, _grid_ref=grid_ref), _validate=False)
    fig._validate = fig.layout._validate = True
    for trace in fig.data:
        trace._validate = True
    return fig


def _grid(rows: int, cols: int, *, hspace: float, vspace: float, share_x=False, share_y=None):
    """make_subplots' plain grid: the layout's axes, each cell's (x, y) domain row by row from the top
    (for _titles), and the grid reference (for add_trace(row=, col=) on the figure). ``share_x``: every
    x axis matches the bottom left one (shared_xaxes="all"); ``share_y``: "all" likewise, or "rows"
    (each matches its row's first)."""
    layout, domains = {}, _cell_domains(rows, cols, hspace, vspace)
    for i, (x, y) in enumerate(domains, start=1):  # make_subplots clips the axes', not the titles' x
        s = _axis_id(i)
        layout[f"xaxis{s}"] = dict(anchor=f"y{s}", domain=[max(0.0, x[0]), min(1.0, x[1])])
        layout[f"yaxis{s}"] = dict(anchor=f"x{s}", domain=y[:])
    bottom_left = _axis_id((rows - 1) * cols + 1)
    for i in range(rows * cols):
        r, c, s = i // cols, i % cols, _axis_id(i + 1)
        x_axis, y_axis = layout[f"xaxis{s}"], layout[f"yaxis{s}"]
        if share_x and s != bottom_left:
            x_axis["matches"] = f"x{bottom_left}"
            if r < rows - 1:  # tick labels on the bottom row only
                x_axis["showticklabels"] = False
        ref = {"all": bottom_left, "rows": _axis_id(r * cols + 1)}.get(share_y, s)
        if ref != s:
            y_axis["matches"] = f"y{ref}"
            if c > 0:  # tick labels in the first column only
                y_axis["showticklabels"] = False
    cells = [[_axis_id(r * cols + c + 1) for c in range(cols)] for r in range(rows)]
    grid_ref = [
        [(SubplotRef("xy", (f"xaxis{s}", f"yaxis{s}"), {"xaxis": f"x{s}", "yaxis": f"y{s}"}),) for s in row]
        for row in cells
    ]
    return layout, domains, grid_ref


def _cell_domains(rows: int, cols: int, hspace: float, vspace: float) -> list[tuple[list, list]]:
    """Each cell's x and y domain, row by row from the top, float for float as make_subplots sums them."""
    w, h = (1.0 - hspace * (cols - 1)) / cols, (1.0 - vspace * (rows - 1)) / rows
    domains = []
    for r in range(rows - 1, -1, -1):  # the r-th row from the bottom
        y0 = sum([h] * r) + r * vspace
        y = [min(max(v, 0.0), 1.0) for v in (y0, y0 + h)]
        domains += [([x0, x0 + w], y) for x0 in (sum([w] * c) + c * hspace for c in range(cols))]
    return domains


def _titles(texts, domains, *, size: int) -> list[dict]:
    """make_subplots' title annotations, centred above each cell (none for an empty title, and none
    for the cells beyond the last title)."""
    titles = []
    for text, (x, y) in zip(texts, domains, strict=False):
        if text:
            titles.append(dict(
                font=dict(size=size), showarrow=False, text=text, x=(x[0] + x[1]) / 2.0, xanchor="center",
                xref="paper", y=y[1], yanchor="bottom", yref="paper",
            ))  # fmt: skip
    return titles


def _axes(layout: dict, letter: str) -> list[dict]:
    """The layout's x (``letter`` "x") or y axes, in order."""
    return [axis for name, axis in layout.items() if name.startswith(f"{letter}axis")]


def panel_titles(titles, colors=None) -> list[str]:
    """The panels' title texts as drawn: each after a swatch of its run's colour, if ``colors``."""
    colors = list(colors) if colors is not None else [None] * len(titles)
    return [f"<span style='color:{c}'>■</span> {t}" if c else t for t, c in zip(titles, colors, strict=True)]


def _panel_grid(
    n: int, ncols: int, titles, colors=None, *, shared: bool, height: float, template=_TEMPLATE_SPEC
):
    """Layout of ``n`` panels in rows of ``ncols``, with titles, and its grid reference."""
    ncols = max(1, min(ncols, n))
    nrows = -(-n // ncols)
    titles = panel_titles(titles, colors)
    layout, domains, grid_ref = _grid(
        nrows, ncols, hspace=0.02 if shared else 0.04, vspace=min(44 / height, 0.9 / max(nrows - 1, 1)),
        share_x=shared, share_y="all" if shared else None,
    )  # fmt: skip
    for i in range(n, nrows * ncols):  # hide empty cells; the panel above shows the x ticks
        layout[f"xaxis{_axis_id(i + 1)}"]["visible"] = layout[f"yaxis{_axis_id(i + 1)}"]["visible"] = False
        layout[f"xaxis{_axis_id(i + 1 - ncols)}"]["showticklabels"] = True
    layout.update(annotations=_titles(titles, domains, size=13), template=template, height=round(height))
    return layout, grid_ref


# ---- decision boundaries -----------------------------------------------------------------------


def boundary_figure(
    xs, ys, probs, *, titles, X_train, y_train, X_val, y_val, pred_train, pred_val, n_classes,
    show_val=True, discretize=False, ncols=4, title_colors=None, width=NOMINAL_WIDTH, muted=None, notes=None,
) -> go.Figure:  # fmt: skip
    """Decision boundaries of K runs side by side, with the data; zooming one panel zooms all.

    Parameters
    ----------
    xs, ys : [R] grid axes in data coordinates.
    probs : [K, R, R, C] class probabilities on the grid (rows over ``ys``): uint8 0..255 or float 0..1.
    titles : K panel titles; ``title_colors`` (K colours) puts a swatch of each run's colour before them.
    X_train, X_val : [N, 2] points; y_train, y_val : [N] true classes.
    pred_train, pred_val : [K, N] each run's predicted classes (the wrong ones get a ring), or None.
    n_classes : C. Each panel is shaded with the predicted class's colour, faded to white as the
        confidence drops (for two classes exactly a diverging P(class 1) scale, with its colour bar),
        and the decision boundary drawn in: a PNG layout image, so that a live update of the shading
        is a cheap image swap in the browser (see nnviz/ui/charts.js).
    show_val : draw the validation points (triangles). discretize : flat shading, one tint per class.
    width : the width in px the figure will get on the page; the height follows from it.
    muted : K flags: shade these panels in greys (diverged runs). notes : K texts (or None) written
        across the middle of their panels, e.g. why a panel is blank.
    """
    xs, ys = np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64)
    probs = _check_probs(probs, xs, ys, n_classes, len(titles))
    ncols = max(1, min(ncols, len(probs)))
    aspect = np.clip((ys[-1] - ys[0]) / (xs[-1] - xs[0]), 0.45, 1.3)  # panels keep the data's aspect
    height = -(-len(probs) // ncols) * (min(0.93 * width / ncols * aspect, 360) + 44) + 70
    layout, grid_ref = _panel_grid(
        len(probs), ncols, titles, title_colors, shared=True, height=height, template=_BOUNDARY_TEMPLATE_SPEC
    )
    colors = class_colors(n_classes)
    parts = [("train", X_train, y_train, pred_train), ("val", X_val, y_val, pred_val)][: 2 if show_val else 1]
    traces, images = [], shading_images(probs, xs, ys, n_classes, discretize, muted)
    density = point_density(sum(len(X) for _, X, _, _ in parts))
    for k in range(len(probs)):  # the panels' axes are x, x2, x3, ... row by row
        axes = dict(xaxis=f"x{_axis_id(k + 1)}", yaxis=f"y{_axis_id(k + 1)}")
        images[k].update(xref=axes["xaxis"], yref=axes["yaxis"])
        traces += [dict(t, **axes) for t in _point_traces(parts, k, colors, density)]
    if n_classes == 2:  # an empty trace that carries the P(class 1) colour bar
        traces.append(dict(type="scatter", x=[None], y=[None], marker=dict(color=[0], coloraxis="coloraxis"),
                           showlegend=False, hoverinfo="skip"))  # fmt: skip
    layout["images"] = images
    for k, note in enumerate(notes or []):
        if note:
            s = _axis_id(k + 1)
            layout["annotations"].append(dict(
                text=note, showarrow=False, xref=f"x{s} domain", yref=f"y{s} domain", x=0.5, y=0.97,
                yanchor="top", font=dict(size=11, color=INK), bgcolor="rgba(255,255,255,0.85)", borderpad=3,
            ))  # fmt: skip
    _boundary_layout(layout, xs, ys, n_classes, discretize)
    return _figure(traces, layout, grid_ref)


def shading_images(probs, xs, ys, n_classes: int, discretize: bool = False, muted=None) -> list[dict]:
    """The K panels' shading as layout images (boundary_figure's, without the axes they go on): a
    live frame sends only these, see nnviz/ui/live.py. ``muted``: K flags, greyed panels."""
    colors = class_colors(n_classes)
    xs, ys = np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64)
    muted = list(muted) if muted is not None else [False] * len(probs)
    return [
        _shading_image(p, xs, ys, colors, discretize, m)
        for p, m in zip(np.asarray(probs), muted, strict=True)
    ]


def _check_probs(probs, xs, ys, n_classes: int, n_titles: int) -> np.ndarray:
    probs = np.asarray(probs)
    if probs.ndim != 4 or probs.shape[1:3] != (len(ys), len(xs)) or min(len(xs), len(ys)) < 2:
        raise ValueError(f"probs must have shape (K, {len(ys)}, {len(xs)}, C) with R >= 2, got {probs.shape}")
    if probs.shape[-1] != n_classes or n_classes < 2:
        raise ValueError(f"probs has {probs.shape[-1]} classes but n_classes is {n_classes}")
    if len(probs) != n_titles:
        raise ValueError(f"{len(probs)} runs but {n_titles} titles")
    return probs


def _shading_image(probs: np.ndarray, xs, ys, colors, discretize: bool, muted: bool = False) -> dict:
    """One panel's shading as a PNG layout image in data coordinates (see _shading_pixels)."""
    index, palette = _shading_pixels(probs, colors, discretize, muted)
    dx, dy = xs[1] - xs[0], ys[1] - ys[0]
    return dict(
        source=_encode_indexed(index, palette),
        x=xs[0] - dx / 2, y=ys[-1] + dy / 2, sizex=xs[-1] - xs[0] + dx, sizey=ys[-1] - ys[0] + dy,
        xanchor="left", yanchor="top", sizing="stretch", layer="below",
    )  # fmt: skip


def _shading_pixels(
    probs: np.ndarray, colors, discretize: bool, muted: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """One panel's shading: the argmax class colour faded to white by confidence, and the decision
    boundary as a dark line; as [H, W] palette indices (row 0 at the top, the largest y) and the
    [P, 3] palette.

    The [R, R] grid is upsampled (bilinear, in probability) to at least SHADING_PIXELS pixels a side
    before the class and the boundary are taken, so the line is drawn at the screen's resolution
    instead of in grid-cell steps. A NaN grid is white, with no line. ``muted`` (a diverged run, whose
    frozen weights no longer mean anything): the palette in pale greys."""
    p = probs.astype(np.float32) / (255.0 if probs.dtype == np.uint8 else 1.0)
    c = p.shape[-1]
    p = np.where(np.isfinite(p), p, np.float32(1.0 / c))
    scale = max(1.0, SHADING_PIXELS / min(p.shape[:2]))
    p = _upsample(_upsample(p, round(p.shape[0] * scale), axis=0), round(p.shape[1] * scale), axis=1)
    label, top = _top_class(p)
    conf = np.full_like(top, 0.8) if discretize else np.clip((top - 1 / c) / (1 - 1 / c), 0, 1)
    level = np.rint(conf * SHADES).astype(np.int64)  # steps too fine to see: a much smaller PNG
    # the palette: class x confidence step, white-to-tint, then the line colour last
    tints = np.array([_rgb(color) for color in colors[:c]], dtype=np.float64)[:, None, :]
    strength = SHADE * np.arange(SHADES + 1)[None, :, None] / SHADES
    palette = np.concatenate([np.rint(255 + (tints - 255) * strength).reshape(-1, 3), _rgb(INK)[None]])
    index = label * (SHADES + 1) + level
    edge = np.zeros(label.shape, dtype=bool)  # both pixels at a class change: a ~2 px line
    step_x, step_y = label[:, 1:] != label[:, :-1], label[1:, :] != label[:-1, :]
    edge[:, 1:] |= step_x
    edge[:, :-1] |= step_x
    edge[1:, :] |= step_y
    edge[:-1, :] |= step_y
    index[edge] = len(palette) - 1
    if muted:
        grey = palette @ np.array([0.299, 0.587, 0.114])
        palette = np.rint(np.repeat((255 - 0.45 * (255 - grey))[:, None], 3, axis=1))
    return np.ascontiguousarray(index[::-1]), palette


def _encode_indexed(index: np.ndarray, palette: np.ndarray) -> str:
    if len(palette) <= 256:
        return _png_data_uri(index.astype(np.uint8), palette.astype(np.uint8))
    return _png_data_uri(palette[index].astype(np.uint8))  # more colours than an indexed PNG has


def picture_panels(
    xs, ys, probs, *, X_train, y_train, X_val, y_val, n_classes, show_val=True, discretize=False, muted=None
) -> list[str]:  # fmt: skip
    """Each boundary panel as one PNG (data URI): boundary_figure's shading with the data drawn in
    (training circles, validation triangles, in their class colours with a white edge), for a page
    to show before plotly.js is there (nnviz/ui/charts.py, first_paint)."""
    colors = class_colors(n_classes)
    xs, ys = np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64)
    probs = _check_probs(probs, xs, ys, n_classes, len(probs))
    dx, dy = xs[1] - xs[0], ys[1] - ys[0]
    x0, x1, y0, y1 = xs[0] - dx / 2, xs[-1] + dx / 2, ys[0] - dy / 2, ys[-1] + dy / 2
    points = [(X_train, y_train, _DISC)] + ([(X_val, y_val, _TRIANGLE)] if show_val else [])
    sources = []
    muted = list(muted) if muted is not None else [False] * len(probs)
    for p, m in zip(probs, muted, strict=True):
        index, palette = _shading_pixels(p, colors, discretize, m)
        white, first_class = len(palette), len(palette) + 1
        palette = np.concatenate([palette, [[255, 255, 255]], [_rgb(c) for c in colors]])
        h, w = index.shape
        for X, y, (edge, fill) in points:
            X = np.asarray(X, dtype=np.float64).reshape(-1, 2)
            rows = np.rint((y1 - X[:, 1]) / (y1 - y0) * h - 0.5).astype(np.int64)
            cols = np.rint((X[:, 0] - x0) / (x1 - x0) * w - 0.5).astype(np.int64)
            for offsets, value in ((edge, white), (fill, first_class + np.asarray(y, dtype=np.int64))):
                for dr, dc in offsets:  # every point at once, one offset of the marker at a time
                    r, c = rows + dr, cols + dc
                    inside = (r >= 0) & (r < h) & (c >= 0) & (c < w)
                    index[r[inside], c[inside]] = value if np.isscalar(value) else value[inside]
        sources.append(_encode_indexed(index, palette))
    return sources


def _marker(inside) -> list[tuple[int, int]]:
    return [(r, c) for r in range(-6, 7) for c in range(-6, 7) if inside(r, c)]


# Plotly's markers at the picture's scale (a 240 px panel shows at ~180-250 px): a 6 px circle and
# an 8 px upward triangle, each with a 1 px white edge (the edge is the whole marker, drawn first).
_DISC = (_marker(lambda r, c: r * r + c * c <= 3.3**2), _marker(lambda r, c: r * r + c * c <= 2.3**2))
_TRIANGLE = (
    _marker(lambda r, c: -5 <= r <= 3 and abs(c) <= (r + 5) * 0.62 + 0.5),
    _marker(lambda r, c: -4 <= r <= 2 and abs(c) <= (r + 4) * 0.62),
)


def _top_class(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """argmax and max over the last axis of [H, W, C] (ties: the first class), by a loop over the few
    classes: numpy reduces over a short last axis ~10x slower (16 ms a live frame of 8 panels)."""
    top = p[..., 0].copy()
    label = np.zeros(top.shape, dtype=np.int64)
    for c in range(1, p.shape[-1]):
        better = p[..., c] > top
        np.copyto(top, p[..., c], where=better)
        label[better] = c
    return label, top


def _upsample(a: np.ndarray, size: int, axis: int) -> np.ndarray:
    """Linear interpolation of cell-centred values onto ``size`` cells along ``axis`` over the same
    extent (at the new cells' centres, clamped at the outermost old ones)."""
    n = a.shape[axis]
    if size == n:
        return a
    t = np.clip((np.arange(size) + 0.5) * (n / size) - 0.5, 0, n - 1)
    i0 = np.minimum(t.astype(np.int64), n - 2)
    w = (t - i0).astype(a.dtype)
    shape = [1] * a.ndim
    shape[axis] = -1
    w = w.reshape(shape)
    return np.take(a, i0, axis=axis) * (1 - w) + np.take(a, i0 + 1, axis=axis) * w


def _png_data_uri(pixels: np.ndarray, palette: np.ndarray | None = None) -> str:
    """A PNG data URI of ``pixels``: [H, W, 3] uint8 RGB, or [H, W] uint8 indices into ``palette``
    ([P <= 256, 3] uint8: 1 byte a pixel, a third of the size). Filter 'Up' on every row, then zlib."""
    h, w = pixels.shape[:2]
    rows = pixels.reshape(h, -1).astype(np.int16)
    up = (np.diff(rows, axis=0, prepend=0) % 256).astype(np.uint8)
    raw = np.hstack([np.full((h, 1), 2, dtype=np.uint8), up]).tobytes()

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    colour_type = 2 if palette is None else 3
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, colour_type, 0, 0, 0))
    png += b"" if palette is None else chunk(b"PLTE", np.ascontiguousarray(palette, dtype=np.uint8).tobytes())
    png += chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def point_density(n_points: int) -> tuple[float, float]:
    """Marker size factor and opacity for ``n_points`` drawn in one panel: full size up to ~600
    points, smaller and translucent beyond, so that 5000 points do not bury the boundary."""
    factor = float(np.clip(np.sqrt(600 / max(n_points, 1)), 0.45, 1.0))
    return factor, float(np.clip(0.35 + 0.65 * factor, 0.5, 1.0))


def _scaled(marker: dict, factor: float, opacity: float) -> dict:
    out = dict(marker, size=marker["size"] * factor, opacity=opacity)
    if "line" in out:
        out["line"] = dict(out["line"], width=out["line"]["width"] * max(factor, 0.6))
    return out


def _point_traces(parts, run: int, colors, density=(1.0, 1.0)) -> list[dict]:
    """One trace of train circles and one of validation triangles (coloured by class through a
    discrete colour scale), then rings around this run's mistakes. One trace per part instead of
    one per class: the browser redraws 8 panels in ~75 ms instead of ~170 ms (Chromium, measured).
    Legend entries are legend-only traces from run 0; legend groups make a click toggle every panel."""
    traces = []
    scale = _class_scale(colors)
    for part, X, y, _ in parts:
        X, y, val = np.asarray(X), np.asarray(y), part == "val"
        marker = dict(
            _VAL_MARKER if val else _TRAIN_MARKER, color=y.astype(np.uint8), colorscale=scale,
            cmin=-0.5, cmax=len(colors) - 0.5,
        )  # fmt: skip
        if density[0] < 1.0:
            marker = _scaled(marker, *density)
        kind = "validation" if val else "train"
        traces.append(
            dict(
                type="scatter",
                x=_f32(X[:, 0]),
                y=_f32(X[:, 1]),
                name=kind,
                marker=marker,
                legendgroup="val" if val else "train",
                showlegend=False,
                hovertemplate=f"{kind} point, class %{{marker.color}}<extra></extra>",
            )  # fmt: skip
        )
    traces.append(_ring_trace(parts, run, with_classes=len(colors) > 2, density=density))
    if run == 0:  # legend-only entries: train points per class, validation points, rings
        legend = [
            (f"train class {c}", "train", dict(_TRAIN_MARKER, color=col)) for c, col in enumerate(colors)
        ]
        legend += [("validation", "val", dict(_VAL_MARKER, color=MUTED))] if len(parts) > 1 else []
        if any(pred is not None for *_, pred in parts):  # even if run 0 gets everything right
            legend.append(("misclassified", "misclassified", _RING_MARKER))
        traces += [
            dict(type="scatter", x=[None], y=[None], name=n, legendgroup=g, marker=m, showlegend=True)
            for n, g, m in legend
        ]
    return traces


def _class_scale(colors) -> list:
    """A stepped colour scale: class c (a marker colour value) gets colors[c] exactly."""
    n = len(colors)
    return [[edge, color] for i, color in enumerate(colors) for edge in (i / n, (i + 1) / n)]


def _ring_trace(parts, run: int, *, with_classes: bool, density=(1.0, 1.0)) -> dict:
    """A dark ring around every point this run gets wrong (train and, when shown, validation).
    With more than two classes the hover names the predicted class (2 bytes per ring)."""
    xy, truth_pred = [np.zeros((0, 2))], [np.zeros((0, 2))]
    for _, X, y, pred in parts:
        if pred is not None:
            y, pred = np.asarray(y), np.asarray(pred)[run]
            wrong = pred != y
            xy.append(np.asarray(X)[wrong])
            truth_pred.append(np.column_stack([y[wrong], pred[wrong]]))
    xy, truth_pred = np.concatenate(xy), np.concatenate(truth_pred).astype(np.uint8)
    hover = "class %{customdata[0]}, predicted %{customdata[1]}<extra>misclassified</extra>"
    return dict(
        type="scatter", x=_f32(xy[:, 0]), y=_f32(xy[:, 1]), name="misclassified", legendgroup="misclassified",
        showlegend=False, marker=_RING_MARKER if density[0] >= 1.0 else _scaled(_RING_MARKER, *density),
        customdata=truth_pred if with_classes else None, hovertemplate=hover if with_classes else None,
    )  # fmt: skip


def _boundary_layout(layout: dict, xs, ys, n_classes: int, discretize: bool) -> None:
    dx, dy = xs[1] - xs[0], ys[1] - ys[0]
    for axis in _axes(layout, "x"):  # every panel's, the hidden ones too
        axis["range"] = [xs[0] - dx / 2, xs[-1] + dx / 2]
    for axis in _axes(layout, "y"):
        axis["range"] = [ys[0] - dy / 2, ys[-1] + dy / 2]
    # Equal aspect: anchor the reference y axis (bottom left, the one the others match) to its x axis.
    ref = next(axis for axis in _axes(layout, "y") if "matches" not in axis)
    ref.update(scaleanchor=ref["anchor"], scaleratio=1)
    c0, c1 = (_rgba(color, SHADE) for color in CLASS_COLORS[:2])  # over white: the PNG's tints
    scale = [[0, c0], [0.5, c0], [0.5, c1], [1, c1]] if discretize else [[0, c0], [0.5, "white"], [1, c1]]
    # Under the panels, in a bottom margin of fixed size (no automatic margin: the layout is known
    # before plotly.js draws it, so the page's first-paint picture of it matches, nnviz/ui/charts.py):
    # the tick labels, the legend 43 px below the axes, and the colour bar 75 px below them, right.
    bottom = 124
    height = layout["height"] + 45
    colorbar = dict(  # horizontal, under the legend on the right: the panels keep the full width
        orientation="h", x=1, xanchor="right", y=(bottom - 75) / height, yref="container", yanchor="top",
        len=180, lenmode="pixels", thickness=10, title=dict(text="P(class 1)", side="top", font=dict(size=11)),
        tickvals=[0, 50, 100], ticktext=["0%", "50%", "100%"], tickfont=dict(size=11), outlinewidth=0,
    )  # fmt: skip
    layout.update(
        height=height, margin=dict(l=40, r=10, t=30, b=bottom, autoexpand=False), hovermode="closest",
        uirevision="boundary",
        coloraxis=dict(colorscale=scale, cmin=0, cmax=100, showscale=n_classes == 2, colorbar=colorbar),
        legend=dict(orientation="h", x=0, y=(bottom - 43) / height, yref="container", yanchor="top"),
    )  # fmt: skip


# ---- learning curves ---------------------------------------------------------------------------

_CURVE_KEYS = ("train_loss", "val_loss", "train_acc", "val_acc")
_NOTE = dict(size=11, color=MUTED)


LOSS_CAP = 100.0  # the loss axis ends here: a loss of 1e36 would squash every other curve flat


def curves_figure(history, *, labels, colors, groups=None, stacked=False, diverged=None) -> go.Figure:
    """Loss (log scale) and accuracy over epochs: train solid, validation dashed, one colour per run.

    Parameters
    ----------
    history : dict with ``train_loss``, ``train_acc``, ``val_loss``, ``val_acc``, each [E, K] (NaN once
        a run diverged). Long histories are thinned to at most MAX_POINTS epochs per line.
    labels, colors : K run labels and colours.
    groups : optional list of ``(label, run indices)``: draws each group's mean and a mean ± std band
        (geometric for the loss) in the colour of its first run, instead of the single runs.
    diverged : K epochs (or None) at which runs diverged: an ✕ on their loss curve, with a note.
        The loss axis ends at LOSS_CAP; what lies beyond is said in the loss panel's title.
    """
    # panel 1 (loss) on axes x / y, panel 2 (accuracy) on x2 / y2, 0.1 (side by side) or 0.16 apart
    layout, domains, grid_ref = _grid(*((2, 1) if stacked else (1, 2)), hspace=0.1, vspace=0.16)
    axes = {"loss": dict(xaxis="x", yaxis="y"), "acc": dict(xaxis="x2", yaxis="y2")}
    idx = _decimate(len(history["train_loss"]))
    traces = []
    for s, (label, color, series) in enumerate(_curve_series(history, labels, colors, groups)):
        for key in _CURVE_KEYS:
            mean, band = series[key]
            new = [] if band is None else _band_traces(idx, band, color, s)
            new.append(_curve_trace(idx, mean, label, color, s, key))
            traces += [dict(t, **axes[key.split("_")[1]]) for t in new]
    for axis in _axes(layout, "x"):
        axis.update(title=dict(text="epoch", font=dict(size=12)), rangemode="tozero")
    losses = np.concatenate([np.ravel(history["train_loss"]), np.ravel(history["val_loss"])])
    layout["yaxis"].update(log_axis(losses, cap=LOSS_CAP))
    if groups is None and diverged is not None:
        traces += [dict(t, **axes["loss"]) for t in _diverged_marks(history, labels, colors, diverged)]
    over = bool(np.any(np.nan_to_num(losses, nan=0.0) > LOSS_CAP))
    loss_title = "Loss (log scale" + (f"; cut at {LOSS_CAP:g})" if over else ")")
    layout["yaxis2"].update(tickformat=".0%", range=[0, 1.02])  # no jumps while live
    legend = dict(title=dict(text="solid: train<br>dashed: validation<br>", font=_NOTE))
    layout.update(
        annotations=_titles((loss_title, "Accuracy"), domains, size=13), template=_TEMPLATE_SPEC,
        height=560 if stacked else 340, margin=dict(l=50, r=10, t=30, b=40), hovermode="x unified",
        legend=legend, uirevision="curves",
    )  # fmt: skip
    if stacked:  # a narrow column: the legend goes below, not beside; one "epoch" title at the bottom
        title = dict(text="solid: train, dashed: validation<br>", font=_NOTE, side="top")
        layout.update(
            legend=dict(orientation="h", y=-0.12, x=0, title=title), margin=dict(l=50, r=10, t=30, b=10)
        )
        del layout["xaxis"]["title"]
    return _figure(traces, layout, grid_ref)


def _diverged_marks(history, labels, colors, diverged) -> list[dict]:
    """An ✕ at the last finite training loss of each diverged run (clipped to LOSS_CAP)."""
    marks = []
    loss = np.asarray(history["train_loss"], dtype=np.float64)
    for k, epoch in enumerate(diverged):
        finite = np.flatnonzero(np.isfinite(loss[:, k]))
        if epoch is None or not finite.size:
            continue
        y = float(min(loss[finite[-1], k], LOSS_CAP))
        marks.append(dict(
            type="scatter", x=[int(epoch)], y=[y], mode="markers+text", text=["diverged"],
            textposition="top center", textfont=dict(size=11, color=colors[k]), showlegend=False,
            marker=dict(symbol="x-thin", size=12, line=dict(width=3, color=colors[k])),
            hovertemplate=f"{labels[k]} diverged at epoch {int(epoch)}<extra></extra>",
        ))  # fmt: skip
    return marks


def _decimate(n: int, max_points: int = MAX_POINTS) -> np.ndarray:
    """Evenly spaced epoch indices ending at the last epoch, at most ``max_points`` of them."""
    step = max(1, -(-n // max_points))
    return np.arange(n - 1, -1, -step)[::-1]


def _curve_series(history, labels, colors, groups) -> list[tuple]:
    """(label, colour, {key: (line [E], band (lo, hi) or None)}) per run, or per group."""
    hist = {key: np.asarray(history[key], dtype=np.float64) for key in _CURVE_KEYS}
    if groups is None:
        runs = [{key: (h[:, k], None) for key, h in hist.items()} for k in range(len(labels))]
        return list(zip(labels, colors, runs, strict=True))
    bands = [
        {key: _mean_band(h[:, list(r)], log="loss" in key) for key, h in hist.items()} for _, r in groups
    ]
    return [(label, colors[list(runs)[0]], band) for (label, runs), band in zip(groups, bands, strict=True)]


def _mean_band(values: np.ndarray, *, log: bool) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """Mean and (mean - std, mean + std) over runs of ``values [E, n]``, ignoring NaN; in log10 if ``log``."""
    if log:
        values = np.log10(np.where(values > 0, values, np.nan))
    with warnings.catch_warnings():  # epochs where every run diverged give NaN, without a warning
        warnings.simplefilter("ignore", RuntimeWarning)
        mean, std = np.nanmean(values, axis=1), np.nanstd(values, axis=1)
    lo, hi = mean - std, mean + std
    return (10**mean, (10**lo, 10**hi)) if log else (mean, (lo, hi))


def _epochs(idx: np.ndarray) -> dict:
    """Evenly spaced epochs as x0/dx: no x array to send."""
    return dict(x0=int(idx[0]) + 1 if len(idx) else 1, dx=int(idx[1] - idx[0]) if len(idx) > 1 else 1)


def _curve_trace(idx: np.ndarray, values: np.ndarray, label: str, color: str, group: int, key: str) -> dict:
    val = key.startswith("val")
    line = dict(color=color, width=2, dash="dash" if val else "solid")
    return dict(
        _epochs(idx), type="scatter", y=_f32(values[idx]), mode="lines",
        name=f"{label} (val)" if val else label,
        legendgroup=str(group), showlegend=key == "train_loss", line=line,
        hovertemplate="%{y:.1%}" if key.endswith("acc") else "%{y:.3g}",
    )  # fmt: skip


def _band_traces(idx: np.ndarray, band, color: str, group: int) -> list[dict]:
    """A translucent band between two invisible lines (``lo`` fills up to ``hi``), x as x0/dx."""
    common = dict(_epochs(idx), type="scatter", mode="lines", line=dict(width=0), legendgroup=str(group))
    common.update(showlegend=False, hoverinfo="skip")
    lo, hi = (_f32(b[idx]) for b in band)
    return [
        dict(common, y=hi),
        dict(common, y=lo, fill="tonexty", fillcolor=_rgba(color, 0.15)),
    ]


# ---- confusion matrices ------------------------------------------------------------------------

# plotly.py's "Blues", spelled out as its validation does: plotly.js has another scale under that name
_BLUES = go.layout.Coloraxis(colorscale="Blues").to_plotly_json()["colorscale"]


def confusion_figure(confusions, *, titles, class_names=None, ncols=None) -> go.Figure:
    """Confusion matrices side by side as small heatmaps: colour is the share of the true class (row),
    the text the count.

    Parameters
    ----------
    confusions : [K, C, C] counts, rows true class, columns predicted.
    titles : K titles. class_names : C names (default 0..C-1). ncols : panels per row (default: as many
        as fit at about 28 px per class).
    """
    cm = np.asarray(confusions, dtype=np.int64)
    n, c = cm.shape[0], cm.shape[1]
    names = [str(x) for x in (class_names if class_names is not None else range(c))]
    cols = max(1, min(n, ncols or NOMINAL_WIDTH // (28 * c + 50)))
    side = min(220.0, 0.9 * NOMINAL_WIDTH / cols)
    layout, grid_ref = _panel_grid(n, cols, titles, shared=False, height=-(-n // cols) * (side + 70) + 40)
    totals = cm.sum(-1, keepdims=True)
    share = np.divide(cm, totals, out=np.zeros(cm.shape), where=totals > 0)
    hover = "true %{y}, predicted %{x}: %{text} (%{z:.0%} of true %{y})<extra></extra>"
    traces = []
    for k in range(n):
        s = _axis_id(k + 1)
        traces.append(dict(
            type="heatmap", z=_f32(share[k]), x=names, y=names, text=cm[k].astype(str).tolist(),
            texttemplate="%{text}", textfont=dict(size=12 if c <= 4 else 10), coloraxis="coloraxis", xgap=1,
            ygap=1, hovertemplate=hover, xaxis=f"x{s}", yaxis=f"y{s}",
        ))  # fmt: skip
        layout[f"yaxis{s}"].update(
            scaleanchor=f"x{s}", constrain="domain", constraintoward="top", autorange="reversed"
        )
    for axis in _axes(layout, "x"):
        axis.update(title=dict(text="predicted", font=dict(size=11)), showgrid=False, type="category")
    for i, axis in enumerate(_axes(layout, "y")):
        axis.update(showgrid=False, type="category")
        if i % cols == 0:  # the first column
            axis["title"] = dict(text="true", font=dict(size=11))
    layout.update(
        coloraxis=dict(colorscale=_BLUES, cmin=0, cmax=1, showscale=False),
        margin=dict(l=50, r=10, t=30, b=10), uirevision="confusion",
    )  # fmt: skip
    return _figure(traces, layout, grid_ref)


# ---- diagnostics -------------------------------------------------------------------------------

_DIAG_ROWS = (("dead", "dead units"), ("saturated", "saturated units"), ("grad_norm", "gradient norm"))


def diagnostics_figure(diag, *, labels, colors) -> go.Figure:
    """Dead %, saturated % and gradient norm over epochs: a column per layer, a colour per run.

    Parameters
    ----------
    diag : dict with ``epochs`` [D], ``dead`` [D, K, H], ``saturated`` [D, K, H] (NaN where it does not
        apply; such runs are left out) and ``grad_norm`` [D, K, H + 1] (log axis).
    labels, colors : K run labels and colours.
    """
    epochs = np.asarray(diag["epochs"], dtype=np.int32)
    data = {key: np.asarray(diag[key], dtype=np.float32) for key, _ in _DIAG_ROWS}
    n_layers = data["grad_norm"].shape[2]
    titles = [f"layer {j + 1}" for j in range(n_layers - 1)] + [f"output (layer {n_layers})"]
    layout, domains, grid_ref = _grid(
        3, n_layers, hspace=0.1 / n_layers, vspace=0.07, share_x=True, share_y="rows"
    )
    layout["annotations"] = _titles(titles, domains[:n_layers], size=12)  # above the columns
    traces = []
    for k, (label, color) in enumerate(zip(labels, colors, strict=True)):
        for row, (key, _) in enumerate(_DIAG_ROWS):
            for j in range(data[key].shape[2]):
                y = data[key][:, k, j]
                if np.isfinite(y).any():  # all NaN: e.g. saturation of a non-saturating activation
                    first = not traces or traces[-1]["legendgroup"] != str(k)
                    trace = _diag_trace(epochs, y, label, color, k, first, key, j)
                    s = _axis_id(row * n_layers + j + 1)  # the cell in this row and layer's column
                    traces.append(dict(trace, xaxis=f"x{s}", yaxis=f"y{s}"))
    _diagnostics_layout(layout, data, n_layers, len(epochs))
    return _figure(traces, layout, grid_ref)


def _diag_trace(epochs, y, label, color, run, show_legend, key, layer) -> dict:
    fmt = "%{y:.3g}" if key == "grad_norm" else "%{y:.0%}"
    return dict(
        type="scatter", x=epochs, y=y, mode="lines+markers" if len(y) < 30 else "lines", name=label,
        legendgroup=str(run),
        showlegend=show_legend, line=dict(color=color, width=2), marker=dict(size=4),
        hovertemplate=f"layer {layer + 1}, epoch %{{x}}: {fmt}<extra>{label}</extra>",
    )  # fmt: skip


def _diagnostics_layout(layout: dict, data: dict, n_layers: int, n_records: int) -> None:
    def axes(letter, row):  # the x or y axes of row 1, 2 or 3
        return _axes(layout, letter)[(row - 1) * n_layers : row * n_layers]

    for row, (key, name) in enumerate(_DIAG_ROWS, start=1):
        axes("y", row)[0]["title"] = dict(text=name, font=dict(size=12))
        if key != "grad_norm":  # a fixed range here would break row 3's log autorange (plotly.js)
            for axis in axes("y", row):
                axis.update(autorangeoptions=dict(include=[0, 1]), rangemode="nonnegative", tickformat=".0%")
            for axis in (axes("x", row)[-1], axes("y", row)[-1]):  # the output layer has no hidden units
                axis["visible"] = False
    log_axis_ = log_axis(data["grad_norm"])
    for axis in axes("y", 3):
        axis.update(log_axis_)
    for axis in axes("x", 3):
        axis["title"] = dict(text="epoch", font=dict(size=12))
    if n_records and not np.isfinite(data["saturated"]).any():
        layout["annotations"].append(dict(
            text="no saturating activation among the runs", showarrow=False, font=dict(color=MUTED, size=12),
            xref=f"x{n_layers + 1} domain", yref=f"y{n_layers + 1} domain", x=0.02, y=0.5, xanchor="left",
        ))  # fmt: skip
    layout.update(
        template=_TEMPLATE_SPEC, height=560, margin=dict(l=60, r=10, t=30, b=40), hovermode="closest",
        legend=dict(orientation="h", x=0, y=-0.1, yanchor="top"), uirevision="diagnostics",
    )  # fmt: skip


# ---- the activation zoo ------------------------------------------------------------------------


def activation_figure(z, f, df, *, name) -> go.Figure:
    """An activation ``f`` and its derivative ``df`` over ``z`` (all [N]); the y range shows 0 and both
    curves, clipped to ACT_RANGE when one explodes."""
    z, f, df = _f32(z), _f32(f), _f32(df)
    fig = go.Figure()
    fig.add_scatter(x=z, y=f, name="f(z)", line=dict(color=OKABE_ITO[0], width=3), hovertemplate="%{y:.3f}")
    fig.add_scatter(
        x=z, y=df, name="f′(z)", line=dict(color=OKABE_ITO[1], width=2, dash="dash"), hovertemplate="%{y:.3f}"
    )
    zero = dict(zeroline=True, zerolinewidth=1.5, zerolinecolor="#9E9E9E")
    fig.update_xaxes(title="z", range=[float(z.min()), float(z.max())] if z.size else None, **zero)
    fig.update_yaxes(range=_value_range(f, df), **zero)
    fig.update_layout(
        template=TEMPLATE, title=dict(text=name, x=0.01, font=dict(size=15)), height=320,
        margin=dict(l=45, r=10, t=45, b=40), hovermode="x unified",
        legend=dict(orientation="h", x=1, xanchor="right", y=1.02, yanchor="bottom"),
    )  # fmt: skip
    return fig


def _value_range(*curves: np.ndarray) -> list[float]:
    """A y range that shows 0 and every curve, clipped to ACT_RANGE, with a little padding."""
    values = np.concatenate([c[np.isfinite(c)] for c in curves] + [np.zeros(1, dtype=np.float32)])
    lo, hi = max(float(values.min()), ACT_RANGE[0]), min(float(values.max()), ACT_RANGE[1])
    pad = max(0.08 * (hi - lo), 0.1)
    return [lo - pad, hi + pad]
