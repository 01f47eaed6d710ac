"""What the runs' numbers say besides the curves: confusion matrices side by side (regression: the
predictions against the targets, fit_figure), the diagnostics over epochs (dead units, saturated units, gradient norm, a column per layer), and gradient norm against
depth (does the first layer get a thousandth of the output layer's gradient? One line per run over
the weight layers 1 .. L, L the output layer, on a log axis, at the last diagnostics record and,
faint, at the first).

Plain arrays in, Plotly figures out (plain-dict specs, see nnviz/figures/style.py, except the small
gradient chart); no Streamlit, no torch.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from nnviz import fmt
from nnviz.analysis.metrics import r2
from nnviz.figures.style import (
    MAX_MARKERS,
    MUTED,
    NOMINAL_WIDTH,
    TEMPLATE,
    TEMPLATE_SPEC,
    axes_of,
    axis_id,
    build_figure,
    cell_titles,
    f32,
    grid_layout,
    log_axis,
    panel_grid,
    rgba,
)

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
    layout, grid_ref = panel_grid(n, cols, titles, shared=False, height=-(-n // cols) * (side + 70) + 40)
    totals = cm.sum(-1, keepdims=True)
    share = np.divide(cm, totals, out=np.zeros(cm.shape), where=totals > 0)
    hover = "true %{y}, predicted %{x}: %{text} (%{z:.0%} of true %{y})<extra></extra>"
    traces = []
    for k in range(n):
        s = axis_id(k + 1)
        traces.append(dict(
            type="heatmap", z=f32(share[k]), x=names, y=names, text=cm[k].astype(str).tolist(),
            texttemplate="%{text}", textfont=dict(size=12 if c <= 4 else 10), coloraxis="coloraxis", xgap=1,
            ygap=1, hovertemplate=hover, xaxis=f"x{s}", yaxis=f"y{s}",
        ))  # fmt: skip
        layout[f"yaxis{s}"].update(
            scaleanchor=f"x{s}", constrain="domain", constraintoward="top", autorange="reversed"
        )
    for axis in axes_of(layout, "x"):
        axis.update(title=dict(text="predicted", font=dict(size=11)), showgrid=False, type="category")
    for i, axis in enumerate(axes_of(layout, "y")):
        axis.update(showgrid=False, type="category")
        if i % cols == 0:  # the first column
            axis["title"] = dict(text="true", font=dict(size=11))
    layout.update(
        coloraxis=dict(colorscale=_BLUES, cmin=0, cmax=1, showscale=False),
        margin=dict(l=50, r=10, t=30, b=10), uirevision="confusion",
    )  # fmt: skip
    return build_figure(traces, layout, grid_ref)


# ---- predicted against target (regression) -----------------------------------------------------


def fit_figure(y_true, preds, *, titles, colors, ncols=None) -> go.Figure:
    """A regression's fit: one small square panel per run, the target on x and the prediction on y,
    with the diagonal y = x (a perfect fit) and the run's R² after its title.

    Parameters
    ----------
    y_true : [N] targets. preds : [K, N] each run's predictions of them.
    titles, colors : K titles and colours. ncols : panels per row (default: as many as fit at about
        200 px each).

    Every panel has the same range on both axes: the targets' and predictions' (predictions up to
    half the targets' span beyond them: a wild run leaves the panel rather than squashing the rest).
    More than MAX_MARKERS points over all panels are thinned evenly, the same points in each.
    """
    y = np.asarray(y_true, dtype=np.float64)
    p = np.asarray(preds, dtype=np.float64)
    n = p.shape[0]
    scores = r2(y, p) if y.size else np.full(n, np.nan)
    headings = [f"{t} · R² {fmt.loss(float(s))}" for t, s in zip(titles, scores, strict=True)]
    lo, hi = _fit_range(y, p)
    cols = max(1, min(n, ncols or NOMINAL_WIDTH // 200))
    side = min(220.0, 0.9 * NOMINAL_WIDTH / cols)
    layout, grid_ref = panel_grid(
        n, cols, headings, colors, shared=False, height=-(-n // cols) * (side + 60) + 50
    )
    idx = np.arange(0, y.size, max(1, -(-y.size * n // MAX_MARKERS)))
    hover = "target %{x:.3g}, predicted %{y:.3g}<extra></extra>"
    traces = []
    for k in range(n):
        s = axis_id(k + 1)
        traces.append(dict(
            type="scatter", x=f32(y[idx]), y=f32(p[k, idx]), mode="markers", name=titles[k], showlegend=False,
            marker=dict(color=colors[k], size=5, opacity=0.6), hovertemplate=hover,
            xaxis=f"x{s}", yaxis=f"y{s}",
        ))  # fmt: skip
        traces.append(dict(
            type="scatter", x=[lo, hi], y=[lo, hi], mode="lines", name="y = x", showlegend=False,
            line=dict(color=MUTED, width=1, dash="dash"), hoverinfo="skip", xaxis=f"x{s}", yaxis=f"y{s}",
        ))  # fmt: skip
        layout[f"yaxis{s}"].update(scaleanchor=f"x{s}", constrain="domain", constraintoward="top")
    for axis in axes_of(layout, "x"):
        axis.update(range=[lo, hi], title=dict(text="target", font=dict(size=11)))
    for i, axis in enumerate(axes_of(layout, "y")):
        axis["range"] = [lo, hi]
        if i % cols == 0:  # the first column
            axis["title"] = dict(text="predicted", font=dict(size=11))
    layout.update(margin=dict(l=50, r=10, t=30, b=10), hovermode="closest", uirevision="fit")
    return build_figure(traces, layout, grid_ref)


def _fit_range(y: np.ndarray, p: np.ndarray) -> tuple[float, float]:
    """The fit panels' common axis range (fit_figure), padded by 5%; -1 .. 1 without finite targets."""
    y = y[np.isfinite(y)]
    if not y.size:
        return -1.0, 1.0
    span = max(float(y.max() - y.min()), 1e-6)
    p = np.clip(p[np.isfinite(p)], y.min() - span / 2, y.max() + span / 2)
    lo, hi = min(y.min(), p.min(initial=y.min())), max(y.max(), p.max(initial=y.max()))
    pad = 0.05 * (hi - lo)
    return float(lo - pad), float(hi + pad)


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
    layout, domains, grid_ref = grid_layout(
        3, n_layers, hspace=0.1 / n_layers, vspace=0.07, share_x=True, share_y="rows"
    )
    layout["annotations"] = cell_titles(titles, domains[:n_layers], size=12)  # above the columns
    traces = []
    for k, (label, color) in enumerate(zip(labels, colors, strict=True)):
        for row, (key, _) in enumerate(_DIAG_ROWS):
            for j in range(data[key].shape[2]):
                y = data[key][:, k, j]
                if np.isfinite(y).any():  # all NaN: e.g. saturation of a non-saturating activation
                    first = not traces or traces[-1]["legendgroup"] != str(k)
                    trace = _diag_trace(epochs, y, label, color, k, first, key, j)
                    s = axis_id(row * n_layers + j + 1)  # the cell in this row and layer's column
                    traces.append(dict(trace, xaxis=f"x{s}", yaxis=f"y{s}"))
    _diagnostics_layout(layout, data, n_layers, len(epochs))
    return build_figure(traces, layout, grid_ref)


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
        return axes_of(layout, letter)[(row - 1) * n_layers : row * n_layers]

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
        template=TEMPLATE_SPEC, height=560, margin=dict(l=60, r=10, t=30, b=40), hovermode="closest",
        legend=dict(orientation="h", x=0, y=-0.1, yanchor="top"), uirevision="diagnostics",
    )  # fmt: skip


# ---- gradient norm against depth ---------------------------------------------------------------

START_ALPHA = 0.35  # the faint lines at the first record


def gradient_depth_figure(grad_norm_first, grad_norm_last, *, labels, colors, epochs) -> go.Figure:
    """Each run's gradient norm per weight layer, solid at the last record, faint at the first.

    Parameters
    ----------
    grad_norm_first, grad_norm_last : [K, L] gradient norms at the first and the last record (layer L
        is the output layer); ``grad_norm_first`` may be None (no faint lines). A run with a
        non-finite value (it diverged: NaN from then on) is left out of that record and named in a
        note; a zero (no gradient at all) cannot sit on a log axis: that point is left out, noted too.
    labels, colors : K run labels and colours.
    epochs : (first, last) epoch of the two records.
    """
    last = np.asarray(grad_norm_last, dtype=np.float64)
    first = None if grad_norm_first is None else np.asarray(grad_norm_first, dtype=np.float64)
    n_layers = last.shape[1]
    layers = np.arange(1, n_layers + 1)
    names = [f"layer {j}" for j in layers[:-1]] + [f"output (layer {n_layers})"]
    traces, shown, left_out, zeros = [], [], [], []
    records = [("start", first, epochs[0]), ("end", last, epochs[1])] if first is not None else []
    records = records or [("end", last, epochs[1])]
    for when, norms, epoch in records:
        for k, (label, color) in enumerate(zip(labels, colors, strict=True)):
            y = norms[k]
            if not np.isfinite(y).all():
                left_out.append(label if len(records) == 1 else f"{label} (epoch {epoch})")
                continue
            if (y <= 0).any():
                zeros.append(f"{label} (epoch {epoch})")
            y = np.where(y > 0, y, np.nan)
            shown.append(y)
            traces.append(_line(layers, y, names, label, color, k, when, epoch))
    if first is not None and any(t.legendgroup == "start" for t in traces):
        traces.append(go.Scatter(  # the legend's one entry for all the faint lines
            x=[None], y=[None], mode="lines", name=f"faint: at the start (epoch {epochs[0]})",
            legendgroup="start", line=dict(color=rgba(MUTED, START_ALPHA + 0.15), width=2), hoverinfo="skip",
        ))  # fmt: skip
    fig = go.Figure(traces)
    values = np.concatenate(shown) if shown else np.zeros(0)
    fig.update_xaxes(
        title=dict(text="layer (weight matrix), input side → output", font=dict(size=12)), tickmode="array",
        tickvals=layers.tolist(), ticktext=[str(j) for j in layers[:-1]] + ["output"],
        range=[0.7, n_layers + 0.3], zeroline=False,
    )  # fmt: skip
    fig.update_yaxes(title=dict(text="gradient norm", font=dict(size=12)), **log_axis(values))
    fig.update_layout(
        template=TEMPLATE, height=380, margin=dict(l=60, r=10, t=30, b=40), hovermode="closest",
        legend=dict(orientation="h", x=0, y=-0.2, yanchor="top"), uirevision="gradient_depth",
        annotations=_notes(left_out, zeros),
    )  # fmt: skip
    return fig


def _line(layers, y, names, label, color, run, when, epoch) -> go.Scatter:
    """A run's line; the faint start lines share one legend entry, the end lines have one each."""
    ratio = y / y[-1] if np.isfinite(y[-1]) else np.full_like(y, np.nan)
    end = when == "end"
    return go.Scatter(
        x=layers,
        y=f32(y),
        mode="lines+markers",
        name=label,
        legendgroup=str(run) if end else "start",
        showlegend=end,
        customdata=f32(ratio[:, None]),
        text=names,
        line=dict(color=color if end else rgba(color, START_ALPHA), width=2.5 if end else 1.5),
        marker=dict(size=7 if end else 5, color=color if end else rgba(color, START_ALPHA)),
        hovertemplate=(
            f"{label}, epoch {epoch}<br>%{{text}}: %{{y:.3g}}<br>%{{customdata[0]:.2g}} × the output layer's"
            "<extra></extra>"
        ),
    )


def _notes(left_out, zeros) -> list[dict]:
    """What the chart does not draw, under its top left corner."""
    lines = []
    if left_out:
        lines.append("left out (diverged): " + ", ".join(left_out))
    if zeros:
        lines.append("zero gradient (not on a log axis) in: " + ", ".join(zeros))
    if not lines:
        return []
    return [dict(
        text="<br>".join(lines), showarrow=False, xref="paper", yref="paper", x=0.01, y=0.99,
        xanchor="left", yanchor="top", align="left", font=dict(color=MUTED, size=12),
        bgcolor="rgba(255,255,255,0.85)",
    )]  # fmt: skip
