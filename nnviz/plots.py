"""Plotly figures from plain arrays: decision boundaries, learning curves, confusion matrices,
diagnostics and the activation zoo.

No Streamlit, no torch, no training here: every function takes numpy arrays and lists and returns a
``plotly.graph_objects.Figure``. Colours are colour-blind safe (Okabe-Ito, then Paul Tol's muted set).
Payloads stay small: plotly >= 6 sends numpy arrays as typed binary, so we hand it uint8 / float32
arrays (never lists), and multi-class shading travels as one PNG per run.
"""

from __future__ import annotations

import base64
import struct
import warnings
import zlib

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

# Okabe-Ito without black (rings, lines) and yellow (unreadable on white), then Tol muted.
OKABE_ITO = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9")
TOL_MUTED = ("#332288", "#999933", "#882255", "#CC6677", "#DDCC77", "#44AA99", "#117733", "#AA4499", "#88CCEE")  # fmt: skip
# Classes: orange / blue first, as in TensorFlow Playground (a pair every colour vision tells apart).
CLASS_COLORS = ("#E69F00", "#0072B2", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", *TOL_MUTED)
INK, MUTED = "#222222", "#6B6B6B"
SHADE = 0.7  # class colour strength of the background at full confidence: points stay visible
LEVEL = 49.5  # the 0.5 decision contour, probabilities being sent as integer percent
MAX_POINTS = 500  # per learning curve
ACT_RANGE = (-3.0, 5.0)  # y range of the activation plot when a curve explodes
NOMINAL_WIDTH = 800  # px: about the main column beside the sidebar at 1280; heights are set for it
_TRAIN_MARKER = dict(size=6)  # circles; the white edge comes from BOUNDARY_TEMPLATE
_VAL_MARKER = dict(symbol="triangle-up", size=8)
_RING_MARKER = dict(symbol="circle-open", size=11, color=INK, line=dict(color=INK, width=1.5))
FONT = "Inter, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"

_AXIS = dict(gridcolor="#ECECEC", zerolinecolor="#BDBDBD", linecolor="#BDBDBD", ticks="", automargin=True)
TEMPLATE = go.layout.Template(  # small on purpose: a stock template adds ~8 kB to every figure
    layout=dict(
        font=dict(family=FONT, size=13, color=INK), paper_bgcolor="white", plot_bgcolor="white",
        hoverlabel=dict(font=dict(family=FONT, size=12)), legend=dict(font=dict(size=12)),
        xaxis=_AXIS, yaxis=_AXIS,
    )
)  # fmt: skip
_PANEL_AXIS = dict(_AXIS, showgrid=False, zeroline=False, showline=False, constrain="domain", tickfont=dict(size=10, color=MUTED))  # fmt: skip
BOUNDARY_TEMPLATE = go.layout.Template(  # the defaults of the boundary panels, sent once instead of K times
    layout=dict(TEMPLATE.layout.to_plotly_json(), xaxis=_PANEL_AXIS, yaxis=_PANEL_AXIS),
    data=dict(scatter=[dict(mode="markers", marker=dict(line=dict(color="white", width=1)), hovertemplate="(%{x:.2f}, %{y:.2f})")]),
)  # fmt: skip


def run_colors(n: int) -> list[str]:
    """One colour per run: Okabe-Ito, then Tol muted (15 distinct, cycling beyond)."""
    palette = OKABE_ITO + TOL_MUTED
    return [palette[i % len(palette)] for i in range(n)]


def class_colors(n: int) -> list[str]:
    """One colour per class, as in the boundary shading (orange, blue, green, ...)."""
    return [CLASS_COLORS[i % len(CLASS_COLORS)] for i in range(n)]


def _rgb(color: str) -> np.ndarray:
    return np.array([int(color[i : i + 2], 16) for i in (1, 3, 5)], dtype=np.float64)


def _tint(color: str, strength: float) -> str:
    """``color`` blended with white: strength 0 is white, 1 the colour itself."""
    r, g, b = np.rint(255 + (_rgb(color) - 255) * strength).astype(int)
    return f"rgb({r},{g},{b})"


def _rgba(color: str, alpha: float) -> str:
    r, g, b = _rgb(color).astype(int)
    return f"rgba({r},{g},{b},{alpha})"


def _f32(a) -> np.ndarray:
    return np.asarray(a, dtype=np.float32)


def _log_axis(values) -> dict:
    """A log axis labelled 0.1, 0.2, 0.5, ... over a few decades, in powers of ten beyond."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v) & (v > 0)]
    if v.size and v.max() / v.min() > 100:
        return dict(type="log", dtick=1, exponentformat="power")
    return dict(type="log", dtick="D2", tickformat=".2~g")


def _panel_grid(n: int, ncols: int, titles, colors=None, *, shared: bool, height: float, template=TEMPLATE):
    """Subplots for ``n`` panels in rows of ``ncols``: the figure and each panel's (row, col)."""
    ncols = max(1, min(ncols, n))
    nrows = -(-n // ncols)
    colors = list(colors) if colors is not None else [None] * n
    titles = [
        f"<span style='color:{c}'>■</span> {t}" if c else t for t, c in zip(titles, colors, strict=True)
    ]
    fig = make_subplots(
        rows=nrows, cols=ncols, subplot_titles=titles, shared_xaxes="all" if shared else False,
        shared_yaxes="all" if shared else False, horizontal_spacing=0.02 if shared else 0.04,
        vertical_spacing=min(44 / height, 0.9 / max(nrows - 1, 1)),
    )  # fmt: skip
    fig.update_annotations(font_size=13)
    for i in range(n, nrows * ncols):  # hide empty cells; the panel above shows the x ticks
        row, col = i // ncols + 1, i % ncols + 1
        fig.update_xaxes(visible=False, row=row, col=col)
        fig.update_yaxes(visible=False, row=row, col=col)
        fig.update_xaxes(showticklabels=True, row=row - 1, col=col)
    fig.update_layout(template=template, height=round(height))
    return fig, [(i // ncols + 1, i % ncols + 1) for i in range(n)]


# ---- decision boundaries -----------------------------------------------------------------------


def boundary_figure(
    xs, ys, probs, *, titles, X_train, y_train, X_val, y_val, pred_train, pred_val, n_classes,
    show_val=True, discretize=False, ncols=4, title_colors=None,
) -> go.Figure:  # fmt: skip
    """Decision boundaries of K runs side by side, with the data; zooming one panel zooms all.

    Parameters
    ----------
    xs, ys : [R] grid axes in data coordinates.
    probs : [K, R, R, C] class probabilities on the grid (rows over ``ys``): uint8 0..255 or float 0..1.
    titles : K panel titles; ``title_colors`` (K colours) puts a swatch of each run's colour before them.
    X_train, X_val : [N, 2] points; y_train, y_val : [N] true classes.
    pred_train, pred_val : [K, N] each run's predicted classes (the wrong ones get a ring), or None.
    n_classes : C. Two classes: P(class 1) shading (one colour bar) and the 0.5 contour. More: the
        argmax class colour faded to white by confidence, class boundaries drawn in.
    show_val : draw the validation points (triangles). discretize : flat shading, one tint per class.
    """
    xs, ys = np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64)
    probs = _check_probs(probs, xs, ys, n_classes, len(titles))
    ncols = max(1, min(ncols, len(probs)))
    height = _boundary_height(xs, ys, len(probs), ncols)
    fig, cells = _panel_grid(
        len(probs), ncols, titles, title_colors, shared=True, height=height, template=BOUNDARY_TEMPLATE
    )
    colors = class_colors(n_classes)
    parts = [("train", X_train, y_train, pred_train)] + (
        [("val", X_val, y_val, pred_val)] if show_val else []
    )
    for k, (row, col) in enumerate(cells):
        if n_classes == 2:
            fig.add_trace(_binary_trace(probs[k, ..., 1], xs, ys), row=row, col=col)
        else:
            fig.add_layout_image(_class_image(probs[k], xs, ys, colors, discretize), row=row, col=col)
        for trace in _point_traces(parts, k, colors):
            fig.add_trace(trace, row=row, col=col)
    _boundary_layout(fig, xs, ys, n_classes, discretize)
    return fig


def _check_probs(probs, xs, ys, n_classes: int, n_titles: int) -> np.ndarray:
    probs = np.asarray(probs)
    if probs.ndim != 4 or probs.shape[1:3] != (len(ys), len(xs)) or min(len(xs), len(ys)) < 2:
        raise ValueError(f"probs must have shape (K, {len(ys)}, {len(xs)}, C) with R >= 2, got {probs.shape}")
    if probs.shape[-1] != n_classes or n_classes < 2:
        raise ValueError(f"probs has {probs.shape[-1]} classes but n_classes is {n_classes}")
    if len(probs) != n_titles:
        raise ValueError(f"{len(probs)} runs but {n_titles} titles")
    return probs


def _boundary_height(xs, ys, n: int, ncols: int) -> float:
    """Panels keep the data's aspect ratio at NOMINAL_WIDTH; 44 px per title row, 70 for the legend."""
    aspect = np.clip((ys[-1] - ys[0]) / (xs[-1] - xs[0]), 0.45, 1.3)
    return -(-n // ncols) * (0.93 * NOMINAL_WIDTH / ncols * aspect + 44) + 70


def _percent(p: np.ndarray) -> np.ndarray:
    """Probabilities as uint8 percent 0..100 (so hovers read in %), from uint8 0..255 or float 0..1."""
    scale = 100.0 / 255.0 if p.dtype == np.uint8 else 100.0
    return np.clip(np.rint(np.nan_to_num(p.astype(np.float32) * scale, nan=50.0)), 0, 100).astype(np.uint8)


def _binary_trace(p1: np.ndarray, xs, ys) -> go.Contour:
    """P(class 1) shading and its 0.5 line in one trace: z is sent once, 1 byte per cell."""
    return go.Contour(
        z=_percent(p1), x0=xs[0], dx=xs[1] - xs[0], y0=ys[0], dy=ys[1] - ys[0], coloraxis="coloraxis",
        autocontour=False, contours=dict(start=LEVEL, end=LEVEL, size=1, coloring="heatmap", showlines=True),
        line=dict(color=INK, width=1.5), name="P(class 1)", showlegend=False,
        hovertemplate="P(class 1) %{z}%<extra></extra>",
    )  # fmt: skip


def _class_image(probs: np.ndarray, xs, ys, colors, discretize: bool) -> dict:
    """Argmax colour faded by confidence, boundaries drawn in: a PNG layout image in data coordinates."""
    p = np.nan_to_num(probs.astype(np.float32) / (255.0 if probs.dtype == np.uint8 else 1.0), nan=0.0)
    label, top, c = p.argmax(-1), p.max(-1), p.shape[-1]
    conf = np.full_like(top, 0.8) if discretize else np.clip((top - 1 / c) / (1 - 1 / c), 0, 1)
    conf = np.round(conf * 20) / 20  # 20 steps: invisible, and a much smaller PNG
    palette = np.array([_rgb(color) for color in colors[:c]])
    rgb = 255 + (palette[label] - 255) * (SHADE * conf)[..., None]
    edge = np.zeros(label.shape, dtype=bool)
    edge[:, 1:] |= label[:, 1:] != label[:, :-1]
    edge[1:, :] |= label[1:, :] != label[:-1, :]
    rgb[edge] = _rgb(INK)
    dx, dy = xs[1] - xs[0], ys[1] - ys[0]
    return dict(
        source=_png_data_uri(np.rint(rgb[::-1]).astype(np.uint8)),  # PNG row 0 is the top (largest y)
        x=xs[0] - dx / 2, y=ys[-1] + dy / 2, sizex=xs[-1] - xs[0] + dx, sizey=ys[-1] - ys[0] + dy,
        xanchor="left", yanchor="top", sizing="stretch", layer="below",
    )  # fmt: skip


def _png_data_uri(rgb: np.ndarray) -> str:
    """An RGB image ``[H, W, 3]`` uint8 as a PNG data URI (filter 'Up' on every row, zlib level 9)."""
    h, w, _ = rgb.shape
    rows = rgb.reshape(h, w * 3).astype(np.int16)
    up = (np.diff(rows, axis=0, prepend=0) % 256).astype(np.uint8)
    raw = np.hstack([np.full((h, 1), 2, dtype=np.uint8), up]).tobytes()

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    header = chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
    png = b"\x89PNG\r\n\x1a\n" + header + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _point_traces(parts, run: int, colors) -> list[go.Scatter]:
    """Train circles and validation triangles per class, then rings around this run's mistakes.
    Legend entries come from run 0 only; legend groups make a click toggle every panel."""
    traces = []
    for part, X, y, _ in parts:
        X, y, val = np.asarray(X), np.asarray(y), part == "val"
        for c, color in enumerate(colors):
            marker = dict(_VAL_MARKER if val else _TRAIN_MARKER, color=color)
            trace = go.Scatter(
                x=_f32(X[y == c, 0]), y=_f32(X[y == c, 1]), name=f"{part} class {c}", marker=marker,
                legendgroup="val" if val else f"train{c}", showlegend=run == 0 and not val,
            )  # fmt: skip
            traces.append(trace)
    traces.append(_ring_trace(parts, run, with_classes=len(colors) > 2))
    if run == 0:  # legend-only entries: one for validation points of every class, one for rings
        legend = [("validation", "val", dict(_VAL_MARKER, color=MUTED))] if len(parts) > 1 else []
        legend.append(("misclassified", "misclassified", _RING_MARKER))  # even if run 0 has none
        traces += [go.Scatter(x=[None], y=[None], name=n, legendgroup=g, marker=m) for n, g, m in legend]
    return traces


def _ring_trace(parts, run: int, *, with_classes: bool) -> go.Scatter:
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
    return go.Scatter(
        x=_f32(xy[:, 0]), y=_f32(xy[:, 1]), name="misclassified", legendgroup="misclassified",
        showlegend=False, marker=_RING_MARKER,
        customdata=truth_pred if with_classes else None, hovertemplate=hover if with_classes else None,
    )  # fmt: skip


def _boundary_layout(fig: go.Figure, xs, ys, n_classes: int, discretize: bool) -> None:
    dx, dy = xs[1] - xs[0], ys[1] - ys[0]
    fig.update_xaxes(range=[xs[0] - dx / 2, xs[-1] + dx / 2])
    fig.update_yaxes(range=[ys[0] - dy / 2, ys[-1] + dy / 2])
    # Equal aspect: anchor the reference y axis (bottom left, the one the others match) to its x axis.
    ref = next(ax for ax in fig.select_yaxes() if ax.matches is None)
    ref.update(scaleanchor=ref.anchor, scaleratio=1)
    c0, c1 = (_tint(color, SHADE) for color in CLASS_COLORS[:2])
    scale = [[0, c0], [0.5, c0], [0.5, c1], [1, c1]] if discretize else [[0, c0], [0.5, "white"], [1, c1]]
    height = fig.layout.height
    colorbar = dict(  # horizontal, under the panels on the right: the panels keep the full width
        orientation="h", x=1, xanchor="right", y=-34 / height, yanchor="top", len=180, lenmode="pixels",
        thickness=10, title=dict(text="P(class 1)", side="top", font=dict(size=11)), tickvals=[0, 50, 100],
        ticktext=["0%", "50%", "100%"], tickfont=dict(size=11), outlinewidth=0,
    )  # fmt: skip
    fig.update_layout(
        coloraxis=dict(colorscale=scale, cmin=0, cmax=100, showscale=n_classes == 2, colorbar=colorbar),
        margin=dict(l=40, r=10, t=30, b=30), hovermode="closest", uirevision="boundary",
        legend=dict(orientation="h", x=0, y=-30 / height, yanchor="top"),
    )  # fmt: skip


# ---- learning curves ---------------------------------------------------------------------------

_CURVE_KEYS = ("train_loss", "val_loss", "train_acc", "val_acc")


def curves_figure(history, *, labels, colors, groups=None) -> go.Figure:
    """Loss (log scale) and accuracy over epochs: train solid, validation dashed, one colour per run.

    Parameters
    ----------
    history : dict with ``train_loss``, ``train_acc``, ``val_loss``, ``val_acc``, each [E, K] (NaN once
        a run diverged). Long histories are thinned to at most MAX_POINTS epochs per line.
    labels, colors : K run labels and colours.
    groups : optional list of ``(label, run indices)``: draws each group's mean and a mean ± std band
        (geometric for the loss) in the colour of its first run, instead of the single runs.
    """
    fig = make_subplots(
        rows=1, cols=2, subplot_titles=("Loss (log scale)", "Accuracy"), horizontal_spacing=0.1
    )
    idx = _decimate(len(history["train_loss"]))
    for s, (label, color, series) in enumerate(_curve_series(history, labels, colors, groups)):
        for key in _CURVE_KEYS:
            mean, band = series[key]
            col = 1 if key.endswith("loss") else 2
            if band is not None:
                fig.add_traces(_band_traces(idx, band, color, s), rows=1, cols=col)
            fig.add_trace(_curve_trace(idx, mean, label, color, s, key), row=1, col=col)
    fig.update_xaxes(title=dict(text="epoch", font=dict(size=12)), rangemode="tozero")
    fig.update_yaxes(_log_axis([history["train_loss"], history["val_loss"]]), row=1, col=1)
    fig.update_yaxes(tickformat=".0%", range=[0, 1.02], row=1, col=2)  # fixed: no jumps while training
    fig.update_annotations(font_size=13)
    fig.update_layout(
        template=TEMPLATE, height=340, margin=dict(l=50, r=10, t=30, b=40), hovermode="x unified",
        legend=dict(title=dict(text="solid: train<br>dashed: validation<br>", font=dict(size=11, color=MUTED))),
        uirevision="curves",
    )  # fmt: skip
    return fig


def _decimate(n: int, max_points: int = MAX_POINTS) -> np.ndarray:
    """Evenly spaced epoch indices ending at the last epoch, at most ``max_points`` of them."""
    step = max(1, -(-n // max_points))
    return np.arange(n - 1, -1, -step)[::-1]


def _curve_series(history, labels, colors, groups) -> list[tuple]:
    """(label, colour, {key: (line [E], band (lo, hi) or None)}) per run, or per group."""
    hist = {key: np.asarray(history[key], dtype=np.float64) for key in _CURVE_KEYS}
    if groups is None:
        return [
            (labels[k], colors[k], {key: (h[:, k], None) for key, h in hist.items()})
            for k in range(len(labels))
        ]
    out = []
    for label, runs in groups:
        runs = list(runs)
        out.append(
            (
                label,
                colors[runs[0]],
                {key: _mean_band(h[:, runs], log="loss" in key) for key, h in hist.items()},
            )
        )
    return out


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


def _curve_trace(
    idx: np.ndarray, values: np.ndarray, label: str, color: str, group: int, key: str
) -> go.Scatter:
    val = key.startswith("val")
    return go.Scatter(
        **_epochs(idx), y=_f32(values[idx]), mode="lines", name=f"{label} (val)" if val else label, legendgroup=str(group),
        showlegend=key == "train_loss", line=dict(color=color, width=2, dash="dash" if val else "solid"),
        hovertemplate="%{y:.1%}" if key.endswith("acc") else "%{y:.3g}",
    )  # fmt: skip


def _band_traces(idx: np.ndarray, band, color: str, group: int) -> list[go.Scatter]:
    """A translucent band between two invisible lines (``lo`` fills up to ``hi``), x as x0/dx."""
    common = dict(_epochs(idx), mode="lines", line=dict(width=0), legendgroup=str(group), showlegend=False)
    lo, hi = (_f32(b[idx]) for b in band)
    fill = dict(fill="tonexty", fillcolor=_rgba(color, 0.15))
    return [
        go.Scatter(y=hi, hoverinfo="skip", **common),
        go.Scatter(y=lo, hoverinfo="skip", **fill, **common),
    ]


# ---- confusion matrices ------------------------------------------------------------------------


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
    fig, cells = _panel_grid(n, cols, titles, shared=False, height=-(-n // cols) * (side + 70) + 40)
    totals = cm.sum(-1, keepdims=True)
    share = np.divide(cm, totals, out=np.zeros(cm.shape), where=totals > 0)
    hover = "true %{y}, predicted %{x}: %{text} (%{z:.0%} of true %{y})<extra></extra>"
    for k, (row, col) in enumerate(cells):
        heatmap = go.Heatmap(
            z=_f32(share[k]), x=names, y=names, text=cm[k].astype(str).tolist(), texttemplate="%{text}",
            textfont=dict(size=12 if c <= 4 else 10), coloraxis="coloraxis", xgap=1, ygap=1, hovertemplate=hover,
        )  # fmt: skip
        fig.add_trace(heatmap, row=row, col=col)
        suffix = "" if k == 0 else str(k + 1)
        fig.layout[f"yaxis{suffix}"].update(
            scaleanchor=f"x{suffix}", constrain="domain", constraintoward="top", autorange="reversed"
        )
    fig.update_xaxes(title=dict(text="predicted", font=dict(size=11)), showgrid=False, type="category")
    fig.update_yaxes(showgrid=False, type="category")
    fig.update_yaxes(title=dict(text="true", font=dict(size=11)), col=1)
    fig.update_layout(
        coloraxis=dict(colorscale="Blues", cmin=0, cmax=1, showscale=False),
        margin=dict(l=50, r=10, t=30, b=10), uirevision="confusion",
    )  # fmt: skip
    return fig


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
    fig = make_subplots(
        rows=3, cols=n_layers, shared_xaxes="all", shared_yaxes="rows", column_titles=titles,
        horizontal_spacing=0.1 / n_layers, vertical_spacing=0.07,
    )  # fmt: skip
    for k, (label, color) in enumerate(zip(labels, colors, strict=True)):
        shown = False
        for row, (key, _) in enumerate(_DIAG_ROWS, start=1):
            for j in range(data[key].shape[2]):
                y = data[key][:, k, j]
                if np.isfinite(y).any():  # all NaN: e.g. saturation of a non-saturating activation
                    fig.add_trace(
                        _diag_trace(epochs, y, label, color, k, not shown, key, j), row=row, col=j + 1
                    )
                    shown = True
    _diagnostics_layout(fig, data, n_layers, len(epochs))
    return fig


def _diag_trace(epochs, y, label, color, run, show_legend, key, layer) -> go.Scatter:
    fmt = "%{y:.3g}" if key == "grad_norm" else "%{y:.0%}"
    return go.Scatter(
        x=epochs, y=y, mode="lines+markers" if len(y) < 30 else "lines", name=label, legendgroup=str(run),
        showlegend=show_legend, line=dict(color=color, width=2), marker=dict(size=4),
        hovertemplate=f"layer {layer + 1}, epoch %{{x}}: {fmt}<extra>{label}</extra>",
    )  # fmt: skip


def _diagnostics_layout(fig: go.Figure, data: dict, n_layers: int, n_records: int) -> None:
    for row, (key, name) in enumerate(_DIAG_ROWS, start=1):
        fig.update_yaxes(title=dict(text=name, font=dict(size=12)), row=row, col=1)
        if key != "grad_norm":  # a fixed range here would break row 3's log autorange (plotly.js)
            fig.update_yaxes(
                autorangeoptions=dict(include=[0, 1]), rangemode="nonnegative", tickformat=".0%", row=row
            )
            fig.update_xaxes(visible=False, row=row, col=n_layers)  # the output layer has no hidden units
            fig.update_yaxes(visible=False, row=row, col=n_layers)
    fig.update_yaxes(_log_axis(data["grad_norm"]), row=3)
    fig.update_xaxes(title=dict(text="epoch", font=dict(size=12)), row=3)
    if n_records and not np.isfinite(data["saturated"]).any():
        fig.add_annotation(
            text="no saturating activation among the runs", showarrow=False, font=dict(color=MUTED, size=12),
            xref=f"x{n_layers + 1} domain", yref=f"y{n_layers + 1} domain", x=0.02, y=0.5, xanchor="left",
        )  # fmt: skip
    fig.update_annotations(font_size=12)
    fig.update_layout(
        template=TEMPLATE, height=560, margin=dict(l=60, r=10, t=30, b=40), hovermode="closest",
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
