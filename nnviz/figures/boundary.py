"""Decision boundaries of K runs side by side: each panel's shading (a PNG layout image, see
nnviz/figures/raster.py), the data points, rings on the misclassified ones, the P(class 1) colour bar.

Plain arrays in, a Plotly figure out (a plain-dict spec, see nnviz/figures/style.py); no Streamlit,
no torch. Multi-class shading travels as one PNG per run, so a live update is a cheap image swap.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from nnviz.figures.raster import check_probs, check_values, picture_panels, shading_png, value_png
from nnviz.figures.style import (
    BOUNDARY_TEMPLATE_SPEC,
    CLASS_COLORS,
    INK,
    MUTED,
    NOMINAL_WIDTH,
    SHADE,
    VALUE_EDGE,
    VALUE_SCALE,
    axes_of,
    axis_id,
    build_figure,
    class_colors,
    f32,
    panel_grid,
    point_density,
    points_as_pixels,
    rgba,
)

_TRAIN_MARKER = dict(size=6)  # circles; the white edge comes from BOUNDARY_TEMPLATE
_VAL_MARKER = dict(symbol="triangle-up", size=8)
_RING_MARKER = dict(symbol="circle-open", size=11, color=INK, line=dict(color=INK, width=1.5))


@dataclass
class Block:
    """One row of a grid of boundary panels (all the panels of an ungridded figure): its grid, the
    probabilities of its runs on it, its data and its runs' predictions (see boundary_figure)."""

    xs: np.ndarray
    ys: np.ndarray
    probs: np.ndarray  # [k, R, R, C]; regression: the predicted values [k, R, R]
    titles: list
    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    pred_train: np.ndarray | None = None  # [k, N]
    pred_val: np.ndarray | None = None
    muted: list | None = None
    notes: list | None = None
    title_colors: list | None = None
    pictures: list | None = None  # the panels' pictures with the data drawn in, when already made
    label: str = ""  # the row header ("lr 0.3"), "" for none


def boundary_figure(
    xs, ys, probs, *, titles, X_train, y_train, X_val, y_val, pred_train=None, pred_val=None, n_classes=None,
    show_val=True, discretize=False, ncols=4, title_colors=None, width=NOMINAL_WIDTH, muted=None, notes=None,
    pictures=None, value_range=None,
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

    With more points x panels than style.MAX_MARKERS, the points (and rings) are drawn into the
    panels' pictures (raster.picture_panels) instead of as markers, and have no hover;
    ``pictures``: those pictures when the caller has them already (for these arguments).

    Regression (``value_range=(lo, hi)``): ``probs`` are the runs' predicted values [K, R, R] and
    ``y_train`` / ``y_val`` real targets. Each panel is a heatmap of the prediction on the diverging
    style.VALUE_SCALE over [lo, hi], the points are coloured by their target on the same scale (one
    colour bar says the values), with no rings and no ``n_classes``.
    """
    block = Block(
        np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64), probs, list(titles), X_train,
        y_train, X_val, y_val, pred_train, pred_val, muted, notes, title_colors, pictures,
    )  # fmt: skip
    return grid_boundary_figure(
        [block], n_classes=n_classes, show_val=show_val, discretize=discretize, ncols=ncols, width=width,
        value_range=value_range,
    )  # fmt: skip


ROW_LABEL_MARGIN = 30  # px left of the panels for a grid's row headers


def grid_boundary_figure(
    blocks: list[Block], *, n_classes=None, show_val=True, discretize=False, ncols=4, width=NOMINAL_WIDTH,
    value_range=None,
) -> go.Figure:  # fmt: skip
    """A grid of decision boundaries: one block of panels per row of the grid (each starting a new
    line of panels, ``ncols`` to a line, its header on the left), each block on its own grid and
    data. A block's panels share their axes (zooming one zooms the block); all blocks share them
    when their grids agree. One block without a label is boundary_figure's figure. Regression
    (``value_range``): every block's panels are predicted values on one scale (boundary_figure)."""
    regression = value_range is not None
    for b in blocks:
        b.xs, b.ys = np.asarray(b.xs, dtype=np.float64), np.asarray(b.ys, dtype=np.float64)
        if regression:
            b.probs = check_values(b.probs, b.xs, b.ys, len(b.titles))
            b.pred_train = b.pred_val = None  # (a wrong value has no ring: its colour shows it)
        else:
            b.probs = check_probs(b.probs, b.xs, b.ys, n_classes, len(b.titles))
    ncols = max(1, min(ncols, max(len(b.probs) for b in blocks)))
    lines = [-(-len(b.probs) // ncols) for b in blocks]  # lines of panels per block
    same = all(np.array_equal(b.xs, blocks[0].xs) and np.array_equal(b.ys, blocks[0].ys) for b in blocks)
    labelled = any(b.label for b in blocks)
    inner = width - (ROW_LABEL_MARGIN if labelled else 0)
    # a grid's lines of panels share ~440 px (a laptop's screen below the controls), 140-240 px each
    cap = float(np.clip(440 / sum(lines), 140, 240)) if labelled else 360
    line_heights = []
    for b, n in zip(blocks, lines, strict=True):
        aspect = np.clip(
            (b.ys[-1] - b.ys[0]) / (b.xs[-1] - b.xs[0]), 0.45, 1.3
        )  # panels keep the data's aspect
        line_heights += [min(0.93 * inner / ncols * aspect, cap) + 44] * n
    height = sum(line_heights) + 70
    titles = [t for b in blocks for t in _cells(b.titles, ncols)]
    colors = [c for b in blocks for c in _cells(b.title_colors or [None] * len(b.titles), ncols)]
    layout, grid_ref = panel_grid(
        len(titles), ncols, titles, colors, shared=False, height=height, template=BOUNDARY_TEMPLATE_SPEC,
        hspace=0.02,
    )  # fmt: skip
    class_cols = None if regression else class_colors(n_classes)
    traces, images, annotations = [], [], layout["annotations"]
    cell = 0  # the first cell of the block (cells are ncols to a line, row by row)
    roots = []  # (x axis, y axis) that a block's axes match
    any_rings = False
    for b, n_lines in zip(blocks, lines, strict=True):
        parts = [("train", b.X_train, b.y_train, b.pred_train), ("val", b.X_val, b.y_val, b.pred_val)]
        parts = parts[: 2 if show_val else 1]
        n_points = sum(len(X) for _, X, _, _ in parts)
        pixels = points_as_pixels(sum(len(x.probs) for x in blocks), n_points)
        if pixels:
            pictures = b.pictures or picture_panels(
                b.xs, b.ys, b.probs, X_train=b.X_train, y_train=b.y_train, X_val=b.X_val, y_val=b.y_val,
                n_classes=n_classes, show_val=show_val, discretize=discretize, muted=b.muted,
                pred_train=b.pred_train, pred_val=b.pred_val, value_range=value_range,
            )  # fmt: skip
            block_images = [_placed(source, b.xs, b.ys) for source in pictures]
        elif regression:
            block_images = value_images(b.probs, b.xs, b.ys, value_range, b.muted)
        else:
            block_images = shading_images(b.probs, b.xs, b.ys, n_classes, discretize, b.muted)
        density = _panel_density(n_points, inner / ncols)
        root = roots[0] if same and roots else (axis_id(cell + 1), axis_id(cell + 1))
        roots.append(root)
        for k in range(len(b.probs)):
            s = axis_id(cell + k + 1)
            axes = dict(xaxis=f"x{s}", yaxis=f"y{s}")
            block_images[k].update(xref=axes["xaxis"], yref=axes["yaxis"])
            if not pixels:
                drawn = (
                    value_point_traces(parts, density)
                    if regression
                    else point_traces(parts, k, class_cols, density)
                )
                traces += [dict(t, **axes) for t in drawn if not t.get("showlegend")]
            note = (b.notes or [None] * len(b.probs))[k]
            if note:
                annotations.append(dict(
                    text=note, showarrow=False, xref=f"x{s} domain", yref=f"y{s} domain", x=0.5, y=0.97,
                    yanchor="top", font=dict(size=11, color=INK), bgcolor="rgba(255,255,255,0.85)", borderpad=3,
                ))  # fmt: skip
        _block_axes(layout, cell, len(b.probs), n_lines * ncols, ncols, root, b.xs, b.ys)
        if b.label:
            y_dom = [layout[f"yaxis{axis_id(cell + 1 + i * ncols)}"]["domain"] for i in range(n_lines)]
            annotations.append(dict(
                text=f"<b>{b.label}</b>", showarrow=False, textangle=-90, xref="paper", yref="paper",
                x=0, xshift=-34, xanchor="right", y=(y_dom[-1][0] + y_dom[0][1]) / 2, yanchor="middle",
                font=dict(size=13, color=INK),
            ))  # fmt: skip
        images += block_images
        any_rings |= any(pred is not None for *_, pred in parts)
        cell += n_lines * ncols
    first = blocks[0]
    parts0 = [
        ("train", first.X_train[:0], first.y_train[:0], None),
        ("val", first.X_val[:0], first.y_val[:0], None),
    ]
    parts0 = parts0[: 2 if show_val else 1]
    if any_rings:  # legend entry for the rings, even when run 0 gets everything right
        parts0[0] = ("train", first.X_train[:0], first.y_train[:0], np.zeros((1, 0), dtype=np.int64))
    if regression:
        traces += _value_legend(len(parts0) > 1)
    else:
        traces += [t for t in point_traces(parts0, 0, class_cols) if t.get("showlegend")]
    if n_classes == 2 or regression:  # an empty trace that carries the colour bar
        traces.append(dict(type="scatter", x=[None], y=[None], marker=dict(color=[0], coloraxis="coloraxis"),
                           showlegend=False, hoverinfo="skip"))  # fmt: skip
    layout["images"] = images
    boundary_layout(
        layout,
        n_classes,
        discretize,
        left=40 + (ROW_LABEL_MARGIN if labelled else 0),
        value_range=value_range,
    )
    layout["meta"] = dict(nominalWidth=round(width))  # charts.js fits the height to the real width
    return build_figure(traces, layout, grid_ref)


def _panel_density(n_points: int, panel_px: float) -> tuple[float, float]:
    """point_density's (size factor, opacity), markers smaller still in narrow panels (a grid's):
    full size from ~220 px, so that rings and points do not bury a small panel's boundary."""
    factor, opacity = point_density(n_points)
    shrink = float(np.clip(panel_px / 220.0, 0.6, 1.0))
    return factor * shrink, opacity if shrink == 1.0 else min(opacity, 0.9)


def _cells(values: list, ncols: int) -> list:
    """A block's per-panel values padded to whole lines of ``ncols`` cells."""
    values = list(values)
    return values + [None if values and values[0] is None else ""] * (-len(values) % ncols)


def _block_axes(layout: dict, first: int, n: int, n_cells: int, ncols: int, root, xs, ys) -> None:
    """A block's axes: its grid's ranges, matched to ``root`` (its first panel's, or the figure's),
    tick labels on its last line and first column, its empty cells hidden, equal aspect."""
    dx, dy = xs[1] - xs[0], ys[1] - ys[0]
    x_root, y_root = root
    for i in range(n_cells):
        s = axis_id(first + i + 1)
        x_axis, y_axis = layout[f"xaxis{s}"], layout[f"yaxis{s}"]
        x_axis["range"] = [xs[0] - dx / 2, xs[-1] + dx / 2]
        y_axis["range"] = [ys[0] - dy / 2, ys[-1] + dy / 2]
        if s != x_root:
            x_axis["matches"] = f"x{x_root}"
        if s != y_root:
            y_axis["matches"] = f"y{y_root}"
        if i >= n:  # an empty cell (its axes match too: one zoom for all)
            x_axis["visible"] = y_axis["visible"] = False
            continue
        x_axis["showticklabels"] = i + ncols >= n
        y_axis["showticklabels"] = i % ncols == 0
        y_axis["constraintoward"] = "top"  # the panel right under its title (extra space below it)
    if axis_id(first + 1) == y_root:  # equal aspect: the block's root y axis anchored to its x axis
        layout[f"yaxis{y_root}"].update(scaleanchor=f"x{x_root}", scaleratio=1)


def shading_images(probs, xs, ys, n_classes: int, discretize: bool = False, muted=None) -> list[dict]:
    """The K panels' shading as layout images (boundary_figure's, without the axes they go on): a
    live frame sends only these, see nnviz/ui/live/route.py. ``muted``: K flags, greyed panels."""
    colors = class_colors(n_classes)
    xs, ys = np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64)
    muted = list(muted) if muted is not None else [False] * len(probs)
    return [
        _shading_image(p, xs, ys, colors, discretize, m)
        for p, m in zip(np.asarray(probs), muted, strict=True)
    ]


def value_images(values, xs, ys, value_range, muted=None) -> list[dict]:
    """Regression: the K panels' predicted values ([K, R, R]) as layout images on VALUE_SCALE over
    ``value_range`` (shading_images' counterpart: what a live frame sends)."""
    xs, ys = np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64)
    muted = list(muted) if muted is not None else [False] * len(values)
    lo, hi = value_range
    return [_placed(value_png(v, lo, hi, m), xs, ys) for v, m in zip(np.asarray(values), muted, strict=True)]


def _shading_image(probs: np.ndarray, xs, ys, colors, discretize: bool, muted: bool = False) -> dict:
    """One panel's shading as a PNG layout image in data coordinates (see raster.shading_png)."""
    return _placed(shading_png(probs, colors, discretize, muted), xs, ys)


def _placed(source: str, xs, ys) -> dict:
    """A panel's picture as a layout image covering the grid's cells, below the data."""
    dx, dy = xs[1] - xs[0], ys[1] - ys[0]
    return dict(
        source=source,
        x=xs[0] - dx / 2, y=ys[-1] + dy / 2, sizex=xs[-1] - xs[0] + dx, sizey=ys[-1] - ys[0] + dy,
        xanchor="left", yanchor="top", sizing="stretch", layer="below",
    )  # fmt: skip


def _scaled(marker: dict, factor: float, opacity: float) -> dict:
    out = dict(marker, size=marker["size"] * factor, opacity=opacity)
    if "line" in out:
        out["line"] = dict(out["line"], width=out["line"]["width"] * max(factor, 0.6))
    return out


def point_traces(parts, run: int, colors, density=(1.0, 1.0)) -> list[dict]:
    """One trace of train circles and one of validation triangles (coloured by class through a
    discrete colour scale), then rings around this run's mistakes. One trace per part instead of
    one per class: the browser redraws 8 panels in ~75 ms instead of ~170 ms (Chromium, measured).
    Legend entries are legend-only traces from run 0; legend groups make a click toggle every panel.

    ``parts``: (``"train"`` or ``"val"``, X [N, 2], y [N], predictions [K, N] or None) each;
    ``density``: point_density's (size factor, opacity)."""
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
                x=f32(X[:, 0]),
                y=f32(X[:, 1]),
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


def value_point_traces(parts, density=(1.0, 1.0)) -> list[dict]:
    """Regression's points: one trace of train circles and one of validation triangles, coloured by
    their target on the figure's colour axis (the shading's scale), with a grey edge that shows on
    any value. ``parts`` as point_traces' (their predictions unused)."""
    traces = []
    for part, X, y, _ in parts:
        X, val = np.asarray(X), part == "val"
        marker = dict(
            _VAL_MARKER if val else _TRAIN_MARKER, color=f32(y), coloraxis="coloraxis", line=VALUE_EDGE
        )
        if density[0] < 1.0:
            marker = _scaled(marker, *density)
        kind = "validation" if val else "train"
        traces.append(dict(
            type="scatter", x=f32(X[:, 0]), y=f32(X[:, 1]), name=kind, marker=marker,
            legendgroup="val" if val else "train", showlegend=False,
            hovertemplate=f"{kind} point, target %{{marker.color:.3g}}<extra></extra>",
        ))  # fmt: skip
    return traces


def _value_legend(with_val: bool) -> list[dict]:
    """Regression's legend-only entries: the train circles and the validation triangles."""
    entries = [("train (colour: target)", "train", _TRAIN_MARKER)]
    entries += [("validation", "val", _VAL_MARKER)] if with_val else []
    return [
        dict(type="scatter", x=[None], y=[None], name=n, legendgroup=g, showlegend=True,
             marker=dict(m, color=MUTED, line=VALUE_EDGE))
        for n, g, m in entries
    ]  # fmt: skip


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
        type="scatter", x=f32(xy[:, 0]), y=f32(xy[:, 1]), name="misclassified", legendgroup="misclassified",
        showlegend=False, marker=_RING_MARKER if density[0] >= 1.0 else _scaled(_RING_MARKER, *density),
        customdata=truth_pred if with_classes else None, hovertemplate=hover if with_classes else None,
    )  # fmt: skip


def shared_ranges(layout: dict, xs, ys, n: int, ncols: int) -> None:
    """Lay out the ``n`` shared panels of a layout (style.panel_grid's) as one block of a boundary
    grid: ranged to the grid, every axis matching the first panel's, equal aspect."""
    for axis in [*axes_of(layout, "x"), *axes_of(layout, "y")]:
        axis.pop("matches", None)
    n_cells = len(axes_of(layout, "x"))
    _block_axes(layout, 0, n, n_cells, ncols, ("", ""), np.asarray(xs), np.asarray(ys))


def boundary_layout(layout: dict, n_classes, discretize: bool, left: int = 40, value_range=None) -> None:
    """Finish a boundary panels' ``layout`` (axes ranged by _block_axes): the class colour scale
    (its bar for two classes; regression's ``value_range``: VALUE_SCALE over it, with its bar) and
    the legend, in a bottom margin of fixed size."""
    c0, c1 = (rgba(color, SHADE) for color in CLASS_COLORS[:2])  # over white: the PNG's tints
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
    coloraxis = dict(colorscale=scale, cmin=0, cmax=100, showscale=n_classes == 2, colorbar=colorbar)
    if value_range is not None:  # the values' own scale and ticks
        colorbar = {k: v for k, v in colorbar.items() if k not in ("tickvals", "ticktext")}
        colorbar["title"] = dict(colorbar["title"], text="value")
        coloraxis = dict(colorscale=VALUE_SCALE, cmin=float(value_range[0]), cmax=float(value_range[1]),
                         showscale=True, colorbar=colorbar)  # fmt: skip
    layout.update(
        height=height, margin=dict(l=left, r=10, t=30, b=bottom, autoexpand=False), hovermode="closest",
        uirevision="boundary", coloraxis=coloraxis,
        legend=dict(orientation="h", x=0, y=(bottom - 43) / height, yref="container", yanchor="top"),
    )  # fmt: skip
