"""Figures that look inside the networks: hidden-unit maps, the transformed space of a layer,
where seeds disagree, and a replay animation. Plain arrays in, Plotly figures out; no Streamlit,
no torch. Regression (a ``value_range``): points coloured by their target, seeds' spread of the
predicted value, replay frames of the predicted surface (docs/regression.md).
"""

from __future__ import annotations

import copy
import re

import numpy as np
import plotly.graph_objects as go

# The grids are built as plain dicts, like the other figures (see nnviz/figures/style.py why): the
# neurons of 3 layers x 16 units took ~180 ms through make_subplots and add_trace, ~10 ms so.
from nnviz import fmt
from nnviz.figures.boundary import (
    boundary_figure,
    boundary_layout,
    point_traces,
    shading_images,
    shared_ranges,
    value_images,
)
from nnviz.figures.style import (
    BOUNDARY_TEMPLATE_SPEC,
    INK,
    NOMINAL_WIDTH,
    TEMPLATE,
    TEMPLATE_SPEC,
    VALUE_EDGE,
    VALUE_SCALE,
    axis_id,
    build_figure,
    cell_titles,
    class_colors,
    f32,
    grid_layout,
    panel_grid,
    panel_titles,
    point_density,
)

UNIT_SCALE = "RdBu"  # diverging, symmetric around 0: a unit's output sign matters
# plotly.py's named scale, spelled out as its validation does: plotly.js has another under this name
_UNIT_SCALE = go.layout.Coloraxis(colorscale=UNIT_SCALE).to_plotly_json()["colorscale"]
MAX_UNITS = 16  # per layer in the neurons view; wider layers show their first 16


def neurons_figure(
    maps: list[np.ndarray], xs, ys, *, slopes: list[np.ndarray] | None = None,
    inputs: np.ndarray | None = None, input_labels: list[str] | None = None,
) -> go.Figure:  # fmt: skip
    """Every hidden unit's output over the input plane, one row per layer (TF Playground's view).

    ``maps``: per layer ``[width, R, R]``; ``slopes``: PReLU's learned slope per unit, shown in titles;
    ``inputs``: the network's input features ``[F, R, R]`` as the first row, titled ``input_labels``.
    """
    rows = [] if inputs is None else [(inputs, None)]
    rows += [(m, layer) for layer, m in enumerate(maps)]
    n_cols = min(MAX_UNITS, max(m.shape[0] for m, _ in rows))
    titles, names = [], []
    for m, layer in rows:
        for u in range(n_cols):
            if u >= m.shape[0]:
                titles.append("")
            elif layer is None:
                label = input_labels[u] if input_labels is not None else f"x{u + 1}"
                titles.append(label)
                names.append(f"input {label}")
            else:
                slope = f" · a={slopes[layer][u]:.2f}" if slopes is not None else ""
                titles.append(f"L{layer + 1}·{u + 1}{slope}")
                names.append(f"layer {layer + 1} unit {u + 1}")
    layout, domains, grid_ref = grid_layout(len(rows), n_cols, hspace=0.008, vspace=0.06)
    traces = []
    for row, (m, _) in enumerate(rows):
        for u in range(min(n_cols, m.shape[0])):
            z = np.nan_to_num(m[u].astype(np.float32))
            bound = float(np.abs(z).max()) or 1.0
            relative = np.round(z / bound * 100).astype(np.int8)  # -100..100: a small payload
            s = axis_id(row * n_cols + u + 1)
            hover = f"{names[len(traces)]}<br>%{{z}}% of max |output| {bound:.3g}<extra></extra>"
            traces.append(dict(
                type="heatmap", z=relative, x0=float(xs[0]), dx=float(xs[1] - xs[0]), y0=float(ys[0]),
                dy=float(ys[1] - ys[0]), zmin=-100, zmax=100, colorscale=_UNIT_SCALE, showscale=False,
                hovertemplate=hover, xaxis=f"x{s}", yaxis=f"y{s}",
            ))  # fmt: skip
    for axis in layout.values():
        axis["visible"] = False
    cell = max(48, min(90, 1100 // n_cols))
    layout.update(
        annotations=cell_titles(titles, domains, size=9), template=TEMPLATE_SPEC,
        height=len(rows) * (cell + 22) + 40, margin=dict(l=10, r=10, t=30, b=10),
    )  # fmt: skip
    return build_figure(traces, layout, grid_ref)


def transformed_figure(
    space: dict, y: np.ndarray, n_classes: int | None, *, title: str, value_range=None
) -> go.Figure:
    """Data points and the warped grid lines in a hidden layer's space (ConvNetJS's view): the points
    in their class colours (``n_classes``), or for regression (``value_range=(lo, hi)``) coloured by
    their target ``y`` on style.VALUE_SCALE over it, with its colour bar."""
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
    if value_range is not None:
        pts, (lo, hi) = space["points"], value_range
        colorbar = dict(title=dict(text="target", side="right"), thickness=12)
        fig.add_trace(
            go.Scattergl(
                x=np.round(pts[:, 0], 4), y=np.round(pts[:, 1], 4), mode="markers",
                name="data (colour: target)", marker=dict(
                    color=f32(y), colorscale=VALUE_SCALE, cmin=float(lo), cmax=float(hi), showscale=True,
                    colorbar=colorbar, size=6, line=VALUE_EDGE,
                ),
                hovertemplate="target %{marker.color:.3g}<extra></extra>",
            )
        )  # fmt: skip
    else:
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


# ---- panels of several runs: seeds, replay ------------------------------------------------------

TITLE_CHAR_PX = 7  # a generous average width of a character of a 13 px panel title (Source Sans)
_PLOT_MARGIN = 50  # px left and right of the boundary panels (boundary.boundary_layout's margin)
_PANEL_GAP = 0.02  # the gap between shared panels, a fraction of the plot's width (style.panel_grid)


def _plain(text: str) -> str:
    return re.sub(r"<[^>]+>", "", text)


def fitting_columns(titles, *, width: float = NOMINAL_WIDTH, max_cols: int = 4) -> int:
    """The most panels per row (1 .. ``max_cols``, at most one per title) at which every title, as
    drawn (swatch markup included, see style.panel_titles), fits its panel's width at TITLE_CHAR_PX a
    character: centred titles that fit their cells cannot run into their neighbours'."""
    longest = max((len(_plain(t)) for t in titles), default=0) * TITLE_CHAR_PX
    for ncols in range(max(1, min(max_cols, len(titles))), 1, -1):
        if longest <= panel_width(ncols, width):
            return ncols
    return 1


def panel_width(ncols: int, width: float = NOMINAL_WIDTH) -> float:
    """The width in px of one of ``ncols`` shared boundary panels in a figure ``width`` px wide."""
    return (width - _PLOT_MARGIN) * (1 - _PANEL_GAP * (ncols - 1)) / ncols


def _panels_height(n: int, ncols: int, xs, ys, width: float) -> float:
    """boundary.boundary_figure's height for ``n`` panels in rows of ``ncols`` (before the legend margin)."""
    aspect = np.clip((ys[-1] - ys[0]) / (xs[-1] - xs[0]), 0.45, 1.3)
    return -(-n // ncols) * (min(0.93 * width / ncols * aspect, 360) + 44) + 70


SEEDS_ZMAX = 50  # % of the seeds off the majority drawn darkest (two classes: at most 50%)
_SEED_SCALE = [[0.0, "#FFFFFF"], [1.0, "#4D4D4D"]]  # white to dark grey: points stay visible on it


def agreement_figure(
    agreement: np.ndarray, xs, ys, *, titles: list[str], title_colors=None, X_train=None, y_train=None,
    X_val=None, y_val=None, n_classes: int | None = None, ncols: int | None = None,
    width: float = NOMINAL_WIDTH,
) -> go.Figure:  # fmt: skip
    """Per activation: where its seeds disagree, laid out as the boundary panels (boundary.boundary_figure).

    Parameters
    ----------
    agreement : [A, R, R, C] share of an activation's seeds predicting each class
        (nnviz.analysis.inside.seed_agreement); a panel is white where every seed predicts the same
        class, darker the more seeds leave the majority.
    xs, ys : [R] grid axes in data coordinates (the panels show exactly the grid, as the boundary panels).
    titles : A panel titles; ``title_colors`` (A colours) puts a swatch of each activation's colour before.
    X_train, y_train, X_val, y_val : the data drawn on every panel, as on the boundary panels (optional).
    n_classes : C (default: agreement's last axis). ncols : panels per row (default: as many as up to 4
        whose titles fit, fitting_columns). width : the width in px the figure gets on the page.
    """
    n_classes = n_classes or agreement.shape[-1]
    disagree = np.round((1.0 - np.asarray(agreement).max(-1)) * 100).astype(np.uint8)  # 0 .. 1 - 1/C
    colors = class_colors(n_classes)
    return _seed_panels(
        disagree, "%{z}% of the seeds predict another class than the majority", xs, ys,
        points=lambda parts, a, density: point_traces(parts, a, colors, density), titles=titles,
        title_colors=title_colors, X_train=X_train, y_train=y_train, X_val=X_val, y_val=y_val,
        n_classes=n_classes, ncols=ncols, width=width, uirevision="agreement",
        coloraxis=dict(cmin=0, cmax=SEEDS_ZMAX, tickvals=[0, 25, 50], ticktext=["0%", "25%", "50%"],
                       title="seeds off the majority"),
    )  # fmt: skip


def spread_figure(
    spread: np.ndarray, xs, ys, *, titles: list[str], title_colors=None, X_train=None, y_train=None,
    X_val=None, y_val=None, ncols: int | None = None, width: float = NOMINAL_WIDTH,
) -> go.Figure:  # fmt: skip
    """Regression: per activation, how far apart its seeds' predicted values are, laid out as
    agreement_figure's panels: white where every seed predicts the same value, darker the larger the
    standard deviation over the seeds, on one scale for all panels (0 to the largest, its colour bar
    in the targets' units).

    Parameters
    ----------
    spread : [A, R, R] the seeds' standard deviation of the predicted value per grid cell
        (nnviz.analysis.inside.seed_spread; NaN cells are drawn white).
    xs, ys, titles, title_colors, ncols, width : as agreement_figure's.
    X_train, y_train, X_val, y_val : the data (real targets, shown on hover), drawn as plain markers
        where they are (their colours would need a second scale).
    """
    z = np.nan_to_num(np.asarray(spread, dtype=np.float64), nan=0.0, posinf=0.0)
    top = float(z.max()) if z.size and z.max() > 0 else 1.0
    return _seed_panels(
        f32(z), "seeds' std of the prediction %{z:.3g}", xs, ys, points=_plain_points, titles=titles,
        title_colors=title_colors, X_train=X_train, y_train=y_train, X_val=X_val, y_val=y_val,
        n_classes=None, ncols=ncols, width=width, uirevision="spread",
        coloraxis=dict(cmin=0, cmax=top, title="seeds' std of the prediction"),
    )  # fmt: skip


def _seed_panels(
    z: np.ndarray, hover: str, xs, ys, *, points, titles, title_colors, X_train, y_train, X_val, y_val,
    n_classes, ncols, width, uirevision: str, coloraxis: dict,
) -> go.Figure:  # fmt: skip
    """The Seeds panels: a heatmap ``z`` [A, R, R] per activation on one white-to-grey colour axis
    (``coloraxis``: cmin, cmax, its bar's title and optional ticks), ``hover`` on it, and the data
    drawn by ``points(parts, a, density)``, laid out and sized as the boundary panels."""
    xs, ys = np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64)
    n = len(z)
    ncols = max(1, min(ncols or fitting_columns(panel_titles(titles, title_colors), width=width), n))
    layout, grid_ref = panel_grid(
        n, ncols, titles, title_colors, shared=True, height=_panels_height(n, ncols, xs, ys, width),
        template=BOUNDARY_TEMPLATE_SPEC,
    )  # fmt: skip
    parts = [
        (p, X, y, None) for p, X, y in (("train", X_train, y_train), ("val", X_val, y_val)) if X is not None
    ]
    density = point_density(sum(len(X) for _, X, _, _ in parts))
    heat = dict(x0=float(xs[0]), dx=float(xs[1] - xs[0]), y0=float(ys[0]), dy=float(ys[1] - ys[0]))
    hover += "<extra></extra>"
    traces = []
    for a in range(n):
        axes = dict(xaxis=f"x{axis_id(a + 1)}", yaxis=f"y{axis_id(a + 1)}")
        traces.append(dict(heat, type="heatmap", z=z[a], coloraxis="coloraxis", hovertemplate=hover, **axes))
        if parts:
            traces += [dict(t, **axes) for t in points(parts, a, density)]
    shared_ranges(layout, xs, ys, n, ncols)
    layout["meta"] = dict(nominalWidth=round(width))  # sized as the boundary panels (charts.js)
    boundary_layout(layout, n_classes, False)
    bar = dict(layout["coloraxis"]["colorbar"])
    for key in ("tickvals", "ticktext"):
        bar.pop(key, None)
        if key in coloraxis:
            bar[key] = coloraxis[key]
    bar["title"] = dict(text=coloraxis["title"], side="top", font=dict(size=11))
    layout.update(
        coloraxis=dict(colorscale=_SEED_SCALE, cmin=coloraxis["cmin"], cmax=coloraxis["cmax"], showscale=True,
                       colorbar=bar),
        uirevision=uirevision,
    )  # fmt: skip
    return build_figure(traces, layout, grid_ref)


def _plain_points(parts, a: int, density) -> list[dict]:
    """The spread panels' data: white circles (train) and triangles (validation) with a grey edge,
    visible on white and grey alike; their target on hover; the legend's entries on the first panel."""
    factor, opacity = density
    traces = []
    for part, X, y, _ in parts:
        X, val = np.asarray(X), part == "val"
        kind = "validation" if val else "train"
        marker = dict(symbol="triangle-up" if val else "circle", size=(8 if val else 6) * factor,
                      opacity=opacity, color="white", line=VALUE_EDGE)  # fmt: skip
        traces.append(dict(
            type="scatter", x=f32(X[:, 0]), y=f32(X[:, 1]), name=kind, marker=marker, legendgroup=part,
            showlegend=a == 0, customdata=f32(y),
            hovertemplate=f"{kind} point, target %{{customdata:.3g}}<extra></extra>",
        ))  # fmt: skip
    return traces


def epoch_titles(labels, epoch: int, val_acc=None, *, val_r2=None) -> list[str]:
    """Each run's panel title at a replay ``epoch``: "ReLU · epoch 120 · val 87%", for regression
    "ReLU · epoch 120 · val R² 0.93".

    ``val_acc`` : [E, K] validation accuracy history (row e - 1 = epoch e, NaN once a run diverged),
    e.g. ``trainer.history()["val_acc"]``; ``val_r2`` (in its place, for regression) the validation
    R² history ``history()["val_r2"]``. At epoch 0 the runs are "untrained", a dash where there is
    no score (diverged, or beyond the history). Neither: the epoch alone.
    """
    scores = val_acc if val_r2 is None else val_r2
    if scores is None:
        return [f"{label} · epoch {epoch}" for label in labels]
    scores = np.asarray(scores, dtype=np.float64).reshape(-1, len(labels))
    if epoch == 0:
        return [f"{label} · epoch 0 · untrained" for label in labels]
    row = scores[epoch - 1] if epoch <= len(scores) else np.full(len(labels), np.nan)
    if val_r2 is not None:
        return [
            f"{label} · epoch {epoch} · val R² {fmt.r2(score)}"
            for label, score in zip(labels, row, strict=True)
        ]
    return [
        f"{label} · epoch {epoch} · val " + (format(score, ".0%") if np.isfinite(score) else "–")
        for label, score in zip(labels, row, strict=True)
    ]


REPLAY_CONTROLS = 84  # px under the legend and colour bar for the slider and the play / pause buttons
_BUTTONS_PX = 190  # room the two buttons take left of the slider


def replay_figure(
    snapshots: list[tuple[int, np.ndarray]], xs, ys, *, run: int, title: str, X_train=None, y_train=None,
    val_acc=None, val_r2=None, value_range=None, color: str | None = None, width: float = NOMINAL_WIDTH,
) -> go.Figure:  # fmt: skip
    """A Plotly animation of one run's boundary forming: one frame per kept snapshot.

    The panel is a boundary panel (boundary.boundary_figure: class colours faded by confidence, the
    training points, the P(class 1) colour bar for two classes); each frame swaps its shading image
    and its title (epoch and validation accuracy, epoch_titles). Regression (``value_range=(lo,
    hi)``): the predicted surface forming, on style.VALUE_SCALE over that range.

    Parameters
    ----------
    snapshots : (epoch, [K, R, R, C] uint8 probabilities) per kept epoch, as Experiment.snapshots;
        regression: (epoch, [K, R, R] predicted values).
    xs, ys : [R] the snapshots' grid axes. run : which of the K runs. title : its label.
    X_train, y_train : the training points and classes or targets (optional). val_acc : [E, K]
        validation accuracy history, or for regression ``val_r2`` the validation R² history (for
        the titles, optional). color : the run's colour, for the title's swatch.
    """
    xs, ys = np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64)
    regression = value_range is not None
    n_classes = None if regression else snapshots[0][1].shape[-1]
    scores = [
        None if h is None else np.asarray(h, dtype=np.float64)[:, run : run + 1] for h in (val_acc, val_r2)
    ]
    titles = {epoch: epoch_titles([title], epoch, scores[0], val_r2=scores[1]) for epoch, _ in snapshots}
    if X_train is None:
        X_train, y_train = np.zeros((0, 2)), np.zeros(0, dtype=np.float32 if regression else np.int64)
    none = np.zeros((0, 2)), y_train[:0]
    colors = None if color is None else [color]
    fig = boundary_figure(
        xs, ys, snapshots[0][1][run : run + 1], titles=titles[snapshots[0][0]], X_train=X_train,
        y_train=y_train, X_val=none[0], y_val=none[1], pred_train=None, pred_val=None, n_classes=n_classes,
        show_val=False, ncols=1, title_colors=colors, width=width, value_range=value_range,
    )  # fmt: skip
    # on as plain dicts (50 frames through plotly's validation took ~0.3 s); the numpy arrays stay arrays
    data, layout = copy.deepcopy(fig._data), copy.deepcopy(fig._layout)
    frames = []
    for epoch, frame in snapshots:
        one = frame[run : run + 1]
        images = (
            value_images(one, xs, ys, value_range) if regression else shading_images(one, xs, ys, n_classes)
        )
        image = dict(images[0], xref="x", yref="y")
        annotation = dict(layout["annotations"][0], text=panel_titles(titles[epoch], colors)[0])
        frames.append(dict(name=str(epoch), layout=dict(images=[image], annotations=[annotation])))
    _replay_controls(layout, [epoch for epoch, _ in snapshots])
    out = go.Figure(dict(data=data, layout=layout, frames=frames, _grid_ref=fig._grid_ref), _validate=False)
    out._validate = out.layout._validate = True  # later edits are validated, as style.build_figure's
    for trace in out.data:
        trace._validate = True
    return out


def _replay_controls(layout: dict, epochs: list[int]) -> None:
    """The slider and the play / pause buttons in a row of their own under the legend and colour bar
    (which keep their place: they are placed in px from the panels' bottom)."""
    margin = layout["margin"]
    top = margin["b"] + 8  # px under the panels: the row's top
    margin["b"] += REPLAY_CONTROLS
    layout["height"] += REPLAY_CONTROLS
    bottom, height = margin["b"], layout["height"]
    layout["legend"]["y"] = (bottom - 43) / height
    layout["coloraxis"]["colorbar"]["y"] = (bottom - 75) / height
    row = -top / (height - margin["t"] - bottom)  # in paper coordinates
    still = dict(mode="immediate", frame=dict(duration=0, redraw=True), transition=dict(duration=0))
    steps = [dict(method="animate", label=str(e), args=[[str(e)], still]) for e in epochs]
    play = dict(frame=dict(duration=150, redraw=True), fromcurrent=True, transition=dict(duration=0))
    pause = dict(mode="immediate", frame=dict(duration=0, redraw=False), transition=dict(duration=0))
    layout.update(
        uirevision="replay",
        sliders=[dict(  # the steps' labels are transparent: 50 of them do not fit; the current one shows
            steps=steps, active=0, x=0, len=1, y=row, yanchor="top", pad=dict(l=_BUTTONS_PX, t=0, b=0, r=10),
            currentvalue=dict(prefix="epoch ", font=dict(size=13, color=INK)),
            font=dict(size=10, color="rgba(0,0,0,0)"), ticklen=4, minorticklen=2,
        )],
        updatemenus=[dict(
            type="buttons", direction="left", showactive=False, x=0, xanchor="left", y=row, yanchor="top",
            pad=dict(t=18, l=0, r=0, b=0), buttons=[
                dict(label="▶ replay", method="animate", args=[None, play]),
                dict(label="❚❚ pause", method="animate", args=[[None], pause]),
            ],
        )],
    )  # fmt: skip
