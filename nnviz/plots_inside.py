"""Figures that look inside the networks: hidden-unit maps, the transformed space of a layer,
where seeds disagree, and a replay animation. Plain arrays in, Plotly figures out (like plots.py).
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

# The grids are built as plain dicts, like the figures of plots.py (see there why): the neurons of 3
# layers x 16 units took ~180 ms through make_subplots and add_trace, ~10 ms so.
from nnviz.plots import _TEMPLATE_SPEC, TEMPLATE, _axes, _axis_id, _figure, _grid, _titles, class_colors

UNIT_SCALE = "RdBu"  # diverging, symmetric around 0: a unit's output sign matters
# plotly.py's named scales, spelled out as its validation does: plotly.js has others under these names
_UNIT_SCALE, _GREYS = (
    go.layout.Coloraxis(colorscale=name).to_plotly_json()["colorscale"] for name in (UNIT_SCALE, "Greys")
)
MAX_UNITS = 16  # per layer in the neurons view; wider layers show their first 16


def neurons_figure(maps: list[np.ndarray], xs, ys, *, slopes: list[np.ndarray] | None = None) -> go.Figure:
    """Every hidden unit's output over the input plane, one row per layer (TF Playground's view).

    ``maps``: per layer ``[width, R, R]``; ``slopes``: PReLU's learned slope per unit, shown in titles.
    """
    n_cols = min(MAX_UNITS, max(m.shape[0] for m in maps))
    titles = []
    for layer, m in enumerate(maps):
        for u in range(n_cols):
            if u < m.shape[0]:
                slope = f" · a={slopes[layer][u]:.2f}" if slopes is not None else ""
                titles.append(f"L{layer + 1}·{u + 1}{slope}")
            else:
                titles.append("")
    layout, domains, grid_ref = _grid(len(maps), n_cols, hspace=0.008, vspace=0.06)
    traces = []
    for layer, m in enumerate(maps):
        for u in range(min(n_cols, m.shape[0])):
            z = np.nan_to_num(m[u].astype(np.float32))
            bound = float(np.abs(z).max()) or 1.0
            relative = np.round(z / bound * 100).astype(np.int8)  # -100..100: a small payload
            s = _axis_id(layer * n_cols + u + 1)
            hover = f"layer {layer + 1} unit {u + 1}<br>%{{z}}% of max |output| {bound:.3g}<extra></extra>"
            traces.append(dict(
                type="heatmap", z=relative, x0=float(xs[0]), dx=float(xs[1] - xs[0]), y0=float(ys[0]),
                dy=float(ys[1] - ys[0]), zmin=-100, zmax=100, colorscale=_UNIT_SCALE, showscale=False,
                hovertemplate=hover, xaxis=f"x{s}", yaxis=f"y{s}",
            ))  # fmt: skip
    for axis in layout.values():
        axis["visible"] = False
    cell = max(48, min(90, 1100 // n_cols))
    layout.update(
        annotations=_titles(titles, domains, size=9), template=_TEMPLATE_SPEC,
        height=len(maps) * (cell + 22) + 40, margin=dict(l=10, r=10, t=30, b=10),
    )  # fmt: skip
    return _figure(traces, layout, grid_ref)


def transformed_figure(space: dict, y: np.ndarray, n_classes: int, *, title: str) -> go.Figure:
    """Data points and the warped grid lines in a hidden layer's space (ConvNetJS's view)."""
    fig = go.Figure()
    xs, ys = [], []
    for line in space["lines"]:
        xs += [*np.round(line[:, 0], 4), None]
        ys += [*np.round(line[:, 1], 4), None]
    fig.add_trace(
        go.Scattergl(
            x=xs, y=ys, mode="lines", line=dict(color="#bbbbbb", width=1), hoverinfo="skip", name="input grid"
        )
    )
    colors = class_colors(n_classes)
    for c in range(n_classes):
        pts = space["points"][y == c]
        fig.add_trace(
            go.Scattergl(
                x=np.round(pts[:, 0], 4),
                y=np.round(pts[:, 1], 4),
                mode="markers",
                name=f"class {c}",
                marker=dict(color=colors[c], size=6, line=dict(color="white", width=0.5)),
            )  # fmt: skip
        )
    ax_x, ax_y = space["axis_titles"]
    if space["explained"] is not None:
        ax_x += f" ({space['explained'][0]:.0%} of variance)"
        ax_y += f" ({space['explained'][1]:.0%})"
    fig.update_layout(
        template=TEMPLATE, title=title, height=520, xaxis_title=ax_x, yaxis_title=ax_y,
        legend=dict(orientation="h", y=-0.15), margin=dict(l=50, r=20, t=50, b=60),
    )  # fmt: skip
    return fig


def agreement_figure(agreement: np.ndarray, xs, ys, *, titles: list[str]) -> go.Figure:
    """Per activation: where its seeds disagree. 0 = every seed predicts the same class."""
    n = len(agreement)
    ncols = min(4, n)
    rows = -(-n // ncols)
    # make_subplots' default spacings (with titles)
    layout, domains, grid_ref = _grid(
        rows, ncols, hspace=0.2 / ncols, vspace=0.5 / rows, share_x=True, share_y="all"
    )
    traces = []
    for a in range(n):
        disagree = 1.0 - agreement[a].max(-1)  # 0 (all agree) .. 1 - 1/C
        s = _axis_id(a + 1)
        traces.append(dict(
            type="heatmap", z=np.round(disagree * 100).astype(np.uint8),
            x0=float(xs[0]), dx=float(xs[1] - xs[0]), y0=float(ys[0]), dy=float(ys[1] - ys[0]),
            zmin=0, zmax=50, colorscale=_GREYS, showscale=a == 0,
            colorbar=dict(title=dict(text="seeds<br>disagree %"), len=0.6), xaxis=f"x{s}", yaxis=f"y{s}",
            hovertemplate="%{z}% of seeds disagree with the majority<extra></extra>",
        ))  # fmt: skip
    for axis in _axes(layout, "y"):
        axis.update(scaleanchor="x", scaleratio=1)
    layout.update(
        annotations=_titles(titles, domains, size=16), template=_TEMPLATE_SPEC, height=rows * 260 + 60,
        margin=dict(l=30, r=30, t=40, b=20),
    )  # fmt: skip
    return _figure(traces, layout, grid_ref)


def replay_figure(snapshots: list[tuple[int, np.ndarray]], xs, ys, *, run: int, title: str) -> go.Figure:
    """A Plotly animation of one run's boundary forming: one frame per kept snapshot."""

    def z_of(probs):  # [R, R, C] uint8 -> P(class 1) or argmax class
        return probs[..., 1] if probs.shape[-1] == 2 else probs.argmax(-1).astype(np.uint8)

    binary = snapshots[0][1].shape[-1] == 2
    scale = "PuOr" if binary else "Viridis"
    zmax = 255 if binary else snapshots[0][1].shape[-1] - 1
    heat = dict(x0=float(xs[0]), dx=float(xs[1] - xs[0]), y0=float(ys[0]), dy=float(ys[1] - ys[0]),
                zmin=0, zmax=zmax, colorscale=scale, showscale=False)  # fmt: skip
    fig = go.Figure(go.Heatmap(z=z_of(snapshots[0][1][run]), **heat))
    fig.frames = [
        go.Frame(data=[go.Heatmap(z=z_of(probs[run]), **heat)], name=str(epoch)) for epoch, probs in snapshots
    ]
    steps = [
        dict(
            method="animate",
            label=str(epoch),
            args=[[str(epoch)], dict(mode="immediate", frame=dict(duration=0))],
        )
        for epoch, _ in snapshots
    ]
    fig.update_layout(
        template=TEMPLATE, title=title, height=480, margin=dict(l=40, r=20, t=50, b=40),
        yaxis=dict(scaleanchor="x", scaleratio=1),
        sliders=[dict(steps=steps, currentvalue=dict(prefix="epoch "), pad=dict(t=30))],
        updatemenus=[dict(type="buttons", showactive=False, x=0, y=-0.12, xanchor="left", buttons=[
            dict(label="▶ replay", method="animate",
                 args=[None, dict(frame=dict(duration=120, redraw=True), fromcurrent=True)]),
        ])],
    )  # fmt: skip
    return fig
