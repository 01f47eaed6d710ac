"""The figures' common look and plumbing: colours (classes, runs, activations), the templates, the
log axis, and figures built as plain dicts (see below why) on make_subplots' grid computed here.

No Streamlit, no torch. Colours are colour-blind safe (Okabe-Ito, then Paul Tol's muted set).
Payloads stay small: plotly >= 6 sends numpy arrays as typed binary, so the figures hand it uint8 /
float32 arrays (never lists).
"""

from __future__ import annotations

import math

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
NOMINAL_WIDTH = 800  # px: about the main column beside the sidebar at 1280; heights are set for it
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


# Regression: a predicted or target value on a diverging scale, orange low, white mid, blue high
# (TF Playground's sides, as the two-class shading's); the same scale for the panels' shading, the
# points' colours and the colour bar, so a point that stands out from its background is a point the
# network gets wrong. VALUE_LEVELS steps of it in the PNGs (finer ones are invisible).
VALUE_SCALE = [[0.0, "#9A4A00"], [0.25, "#E8A23C"], [0.5, "#F7F7F7"], [0.75, "#5C9FD2"], [1.0, "#08437A"]]
VALUE_LEVELS = 48
VALUE_EDGE = dict(color="rgba(40, 40, 40, 0.45)", width=0.8)  # the points' edge: visible on any value

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


def class_colors(n: int) -> list[str]:
    """One colour per class, as in the boundary shading (orange, blue, green, ...)."""
    return [CLASS_COLORS[i % len(CLASS_COLORS)] for i in range(n)]


def rgb(color: str) -> np.ndarray:
    """A "#RRGGBB" colour as a float [3] array of 0..255."""
    return np.array([int(color[i : i + 2], 16) for i in (1, 3, 5)], dtype=np.float64)


def rgba(color: str, alpha: float) -> str:
    """A "#RRGGBB" colour as plotly's "rgba(r,g,b,alpha)"."""
    r, g, b = rgb(color).astype(int)
    return f"rgba({r},{g},{b},{alpha})"


def f32(a) -> np.ndarray:
    """``a`` as a float32 array: what plotly sends as compact typed binary."""
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
# plain dict spec, traces and layout, with make_subplots' grid computed by grid_layout, wrapped once
# without validation: ~7 ms for both (confusion and diagnostics of 8 runs: ~70 and ~65 ms -> 3 and 5 ms).
# Nothing normalises these dicts, so they must be in plotly's canonical form: titles as dict(text=...),
# colour scales spelled out, no magic underscores. tests/test_figures.py checks grid_layout against
# make_subplots and that every figure passes plotly's validation unchanged.

TEMPLATE_SPEC = TEMPLATE.to_plotly_json()
BOUNDARY_TEMPLATE_SPEC = BOUNDARY_TEMPLATE.to_plotly_json()


def axis_id(i: int) -> str:
    """The suffix of the i-th cell's axes (1-based, row by row): x, x2, x3, ..."""
    return "" if i == 1 else str(i)


def build_figure(data: list[dict], layout: dict, grid_ref=None) -> go.Figure:
    """Wrap a finished spec (validated only by the tests); later edits of the figure are validated as usual.
    Our dicts are not kept: plotly copies them."""
    fig = go.Figure(dict(data=data, layout=layout, _grid_ref=grid_ref), _validate=False)
    fig._validate = fig.layout._validate = True
    for trace in fig.data:
        trace._validate = True
    return fig


def grid_layout(rows: int, cols: int, *, hspace: float, vspace: float, share_x=False, share_y=None):
    """make_subplots' plain grid: the layout's axes, each cell's (x, y) domain row by row from the top
    (for cell_titles), and the grid reference (for add_trace(row=, col=) on the figure). ``share_x``:
    every x axis matches the bottom left one (shared_xaxes="all"); ``share_y``: "all" likewise, or
    "rows" (each matches its row's first)."""
    layout, domains = {}, _cell_domains(rows, cols, hspace, vspace)
    for i, (x, y) in enumerate(domains, start=1):  # make_subplots clips the axes', not the titles' x
        s = axis_id(i)
        layout[f"xaxis{s}"] = dict(anchor=f"y{s}", domain=[max(0.0, x[0]), min(1.0, x[1])])
        layout[f"yaxis{s}"] = dict(anchor=f"x{s}", domain=y[:])
    bottom_left = axis_id((rows - 1) * cols + 1)
    for i in range(rows * cols):
        r, c, s = i // cols, i % cols, axis_id(i + 1)
        x_axis, y_axis = layout[f"xaxis{s}"], layout[f"yaxis{s}"]
        if share_x and s != bottom_left:
            x_axis["matches"] = f"x{bottom_left}"
            if r < rows - 1:  # tick labels on the bottom row only
                x_axis["showticklabels"] = False
        ref = {"all": bottom_left, "rows": axis_id(r * cols + 1)}.get(share_y, s)
        if ref != s:
            y_axis["matches"] = f"y{ref}"
            if c > 0:  # tick labels in the first column only
                y_axis["showticklabels"] = False
    cells = [[axis_id(r * cols + c + 1) for c in range(cols)] for r in range(rows)]
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


def cell_titles(texts, domains, *, size: int) -> list[dict]:
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


def axes_of(layout: dict, letter: str) -> list[dict]:
    """The layout's x (``letter`` "x") or y axes, in order."""
    return [axis for name, axis in layout.items() if name.startswith(f"{letter}axis")]


def panel_titles(titles, colors=None) -> list[str]:
    """The panels' title texts as drawn: each after a swatch of its run's colour, if ``colors``."""
    colors = list(colors) if colors is not None else [None] * len(titles)
    return [f"<span style='color:{c}'>■</span> {t}" if c else t for t, c in zip(titles, colors, strict=True)]


def panel_grid(
    n: int, ncols: int, titles, colors=None, *, shared: bool, height: float, template=TEMPLATE_SPEC,
    hspace: float | None = None,
):  # fmt: skip
    """Layout of ``n`` panels in rows of ``ncols``, with titles, and its grid reference."""
    ncols = max(1, min(ncols, n))
    nrows = -(-n // ncols)
    titles = panel_titles(titles, colors)
    layout, domains, grid_ref = grid_layout(
        nrows, ncols, hspace=hspace if hspace is not None else 0.02 if shared else 0.04, vspace=min(44 / height, 0.9 / max(nrows - 1, 1)),
        share_x=shared, share_y="all" if shared else None,
    )  # fmt: skip
    for i in range(n, nrows * ncols):  # hide empty cells; the panel above shows the x ticks
        layout[f"xaxis{axis_id(i + 1)}"]["visible"] = layout[f"yaxis{axis_id(i + 1)}"]["visible"] = False
        layout[f"xaxis{axis_id(i + 1 - ncols)}"]["showticklabels"] = True
    layout.update(annotations=cell_titles(titles, domains, size=13), template=template, height=round(height))
    return layout, grid_ref


MAX_MARKERS = 24_000  # data markers (points x panels) a boundary figure draws as SVG


def points_as_pixels(n_panels: int, n_points: int) -> bool:
    """Whether a boundary figure draws its data into the panels' pictures instead of as markers:
    a browser takes ~1 s per 10k SVG markers to draw (39 panels of 5000 points froze a page for
    ~20 s), and a picture costs the same whatever the points."""
    return n_panels * n_points > MAX_MARKERS


def point_density(n_points: int) -> tuple[float, float]:
    """Marker size factor and opacity for ``n_points`` drawn in one panel: full size up to ~600
    points, smaller and translucent beyond, so that 5000 points do not bury the boundary."""
    factor = float(np.clip(np.sqrt(600 / max(n_points, 1)), 0.45, 1.0))
    return factor, float(np.clip(0.35 + 0.65 * factor, 0.5, 1.0))


def value_colors(levels: int = VALUE_LEVELS) -> np.ndarray:
    """``[levels, 3]`` colours evenly along VALUE_SCALE (level 0 its low end, the last its high end)."""
    stops = np.array([t for t, _ in VALUE_SCALE])
    colors = np.array([rgb(c) for _, c in VALUE_SCALE], dtype=np.float64)
    t = np.linspace(0.0, 1.0, levels)
    return np.rint(np.column_stack([np.interp(t, stops, colors[:, i]) for i in range(3)]))


def value_levels(values, lo: float, hi: float, levels: int = VALUE_LEVELS) -> np.ndarray:
    """Values as int64 levels 0 .. levels - 1 of VALUE_SCALE over [lo, hi] (clipped; NaN: the middle)."""
    v = np.asarray(values, dtype=np.float64)
    t = np.clip((v - lo) / (hi - lo if hi > lo else 1.0), 0.0, 1.0)
    return np.rint(np.where(np.isfinite(t), t, 0.5) * (levels - 1)).astype(np.int64)
