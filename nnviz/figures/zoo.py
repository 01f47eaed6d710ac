"""The activation zoo: one activation's f and f' (activation_figure), and several activations' f and
f' on the same axes, each derivative's maximum marked (activations_figure: sigmoid' peaks at 0.25,
tanh' at 1, the picture behind vanishing gradients).

Plain arrays in, Plotly figures out; no Streamlit, no torch.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from nnviz.figures.style import OKABE_ITO, TEMPLATE, f32

ACT_RANGE = (-3.0, 5.0)  # y range of the activation plots when a curve explodes
PLATEAU_TOL = 1e-6  # relative: points of f' this close to its maximum count as the maximum (ReLU's z > 0)
PLOT_PX = (430.0, 180.0)  # about the plot area's size in the zoo's column, for placing the max labels
# where a max label may go, relative to its point (px, y down), in order of preference
LABEL_OFFSETS = [
    (dx * side, dy) for dy in (-30, 30, -55, 55, -80, 80) for dx in (60, 75, 95) for side in (1, -1)
]  # fmt: skip
LEGEND_ROW = 22  # px of figure height per extra legend row


def activation_figure(z, f, df, *, name) -> go.Figure:
    """An activation ``f`` and its derivative ``df`` over ``z`` (all [N]); the y range shows 0 and both
    curves, clipped to ACT_RANGE when one explodes."""
    z, f, df = f32(z), f32(f), f32(df)
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


def activations_figure(z, curves, *, title: str, derivatives_only: bool = False) -> go.Figure:
    """Every activation of ``curves`` over ``z`` [N]: f solid, f' dashed, in the activation's colour,
    with ``max f′ = ...`` marked at each derivative's maximum (the middle of a plateau, e.g. ReLU's
    z > 0) and in its hover. ``curves``: (name, colour, f [N], df [N]) each; ``derivatives_only``
    draws f' alone. The y range shows 0 and every drawn curve, clipped to ACT_RANGE."""
    z = f32(z)
    traces, drawn, maxima = [], [], []
    for name, color, f, df in curves:
        f, df = f32(f), f32(df)
        peak = _maximum(z, df)
        if not derivatives_only:
            traces.append(go.Scatter(
                x=z, y=f, name=name, legendgroup=name, line=dict(color=color, width=3),
                hovertemplate="f = %{y:.3f}",
            ))  # fmt: skip
            drawn.append(f)
        hover = "f′ = %{y:.3f}" + (f" (max {peak[1]:.3g})" if peak else "")
        traces.append(go.Scatter(
            x=z, y=df, name=f"{name} f′", legendgroup=name, line=dict(color=color, width=2, dash="dash"),
            hovertemplate=hover,
        ))  # fmt: skip
        drawn.append(df)
        if peak:
            maxima.append((*peak, color))
    y_range = _value_range(*drawn) if drawn else [-1.0, 1.0]
    x_range = [float(z.min()), float(z.max())] if z.size else [-1.0, 1.0]
    fig = go.Figure(traces)
    fig.update_layout(annotations=_max_labels(maxima, z, drawn, x_range, y_range))
    zero = dict(zeroline=True, zerolinewidth=1.5, zerolinecolor="#9E9E9E")
    fig.update_xaxes(title=dict(text="z", standoff=4), range=x_range, **zero)
    fig.update_yaxes(range=y_range, title="f′(z)" if derivatives_only else None, **zero)
    per_row = 4  # legend entries per row, about, in the zoo's column
    rows = -(-len(traces) // per_row)
    fig.update_layout(
        template=TEMPLATE, title=dict(text=title, x=0.01, font=dict(size=15)),
        height=340 + LEGEND_ROW * max(0, rows - 1), margin=dict(l=45, r=10, t=45, b=60 + LEGEND_ROW * rows),
        hovermode="x unified",
        legend=dict(orientation="h", x=0, y=0, yref="container", yanchor="bottom", tracegroupgap=2),
    )  # fmt: skip
    return fig


def _maximum(z: np.ndarray, df: np.ndarray) -> tuple[float, float] | None:
    """(z, f'(z)) at the derivative's maximum over the finite points; the middle of the stretch where
    f' stays at its maximum when it is a plateau (ReLU, linear); None without a finite point."""
    ok = np.isfinite(df)
    if not ok.any():
        return None
    top = float(df[ok].max())
    at = np.flatnonzero(ok & (df >= top - PLATEAU_TOL * max(abs(top), 1.0)))
    run = at[: np.argmax(np.diff(at, append=at[-1] + 2) > 1) + 1]  # the first contiguous stretch
    return float(z[run[len(run) // 2]]), top


def _max_labels(maxima, z, drawn, x_range, y_range) -> list[dict]:
    """An arrow and ``max f′ = ...`` in the activation's colour at each maximum, its label put where it
    covers the fewest curve points and no other label, inside the plot (see _place)."""
    plot_px = np.array(
        [PLOT_PX[0] / (x_range[1] - x_range[0] or 1.0), PLOT_PX[1] / (y_range[1] - y_range[0])]
    )
    origin = np.array([x_range[0], y_range[1]])
    flip = np.array([1.0, -1.0])  # pixels grow downwards

    def to_px(x, y):
        return (np.stack([x, y], -1) - origin) * flip * plot_px

    points = np.concatenate([to_px(z, c)[np.isfinite(c)] for c in drawn]) if drawn else np.zeros((0, 2))
    taken, labels = [], []
    for x, y, color in sorted(maxima, key=lambda m: -m[1]):  # the highest first: it has the least room
        text = f"max f′ = {y:.3g}"
        shown_y = min(y, y_range[1])  # off the top of a clipped range: point at the edge
        at = to_px(np.float64(x), np.float64(shown_y))
        ax, ay, box = _place(at, len(text), points, taken)
        taken.append(box)
        labels.append(dict(
            x=x, y=shown_y, text=text, showarrow=True, arrowhead=2, arrowsize=1, arrowwidth=1.5,
            arrowcolor=color, ax=ax, ay=ay, font=dict(color=color, size=12), bgcolor="rgba(255,255,255,0.85)",
        ))  # fmt: skip
    return labels


def _place(at: np.ndarray, n_chars: int, points: np.ndarray, taken: list) -> tuple[float, float, tuple]:
    """The arrow's tail offset (ax, ay) in px for a label of ``n_chars`` pointing at ``at`` (px from
    the plot's top left), and its box: of LABEL_OFFSETS, the first that stays inside the plot, clear
    of the ``taken`` boxes, over the fewest curve ``points``."""
    w, h = 7.0 * n_chars + 6, 18.0
    best = None
    for rank, (ax, ay) in enumerate(LABEL_OFFSETS):
        cx, cy = at[0] + ax, at[1] + ay  # plotly centres the label on the arrow's tail
        box = (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
        pad = 3.0
        inside = (points[:, 0] > box[0] - pad) & (points[:, 0] < box[2] + pad)
        inside &= (points[:, 1] > box[1] - pad) & (points[:, 1] < box[3] + pad)
        outside = box[0] < 0 or box[1] < 0 or box[2] > PLOT_PX[0] or box[3] > PLOT_PX[1]
        overlaps = sum(
            1 for t in taken if box[0] < t[2] and t[0] < box[2] and box[1] < t[3] and t[1] < box[3]
        )
        score = (100 * overlaps + 50 * outside + int(inside.sum()), rank)
        if best is None or score < best[0]:
            best = (score, ax, ay, box)
    return best[1], best[2], best[3]
