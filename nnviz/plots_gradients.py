"""Gradient norm against depth: does the first layer get a thousandth of the output layer's gradient?

One line per run over the weight layers 1 .. L (L the output layer), its gradient norm on a log axis,
at the last diagnostics record and, faint, at the first. Plain arrays in, a Plotly figure out (like
plots.py); no Streamlit, no torch.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from nnviz.plots import MUTED, TEMPLATE, _f32, _rgba, log_axis

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
            legendgroup="start", line=dict(color=_rgba(MUTED, START_ALPHA + 0.15), width=2), hoverinfo="skip",
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
        y=_f32(y),
        mode="lines+markers",
        name=label,
        legendgroup=str(run) if end else "start",
        showlegend=end,
        customdata=_f32(ratio[:, None]),
        text=names,
        line=dict(color=color if end else _rgba(color, START_ALPHA), width=2.5 if end else 1.5),
        marker=dict(size=7 if end else 5, color=color if end else _rgba(color, START_ALPHA)),
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
