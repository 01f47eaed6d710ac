"""Tests for nnviz.figures: every figure builds from small synthetic arrays, with the right panels,
traces and legend entries, stays within its payload budget, and the modules stay free of Streamlit
and torch."""

import ast
import base64
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import pytest
from plotly.subplots import make_subplots

from nnviz.activations import ACTIVATIONS
from nnviz.figures import boundary, curves, diagnostics, inside, raster, style, zoo
from nnviz.figures.boundary import boundary_figure
from nnviz.figures.curves import MAX_POINTS, curves_figure
from nnviz.figures.diagnostics import confusion_figure, diagnostics_figure
from nnviz.figures.inside import agreement_figure, neurons_figure
from nnviz.figures.raster import SHADING_PIXELS, _upsample
from nnviz.figures.style import class_colors
from nnviz.figures.zoo import ACT_RANGE, activation_figure


def run_colors(n: int) -> list[str]:
    """n distinct colours for figures under test (the app colours runs by activation)."""
    return list(style.ACTIVATION_COLORS.values())[:n]


FIGURE_MODULES = [style, raster, boundary, curves, diagnostics, zoo, inside]  # plain data in, no Experiment


def boundary_data(k, c, *, r=30, n=80, acc=0.8, seed=0, dtype=np.uint8):
    """Synthetic inputs of boundary_figure: K runs, C classes, an R x R grid, N points (3/4 train)."""
    rng = np.random.default_rng(seed)
    xs, ys = np.linspace(-2.0, 3.0, r), np.linspace(-1.5, 2.0, r)
    logits = rng.normal(size=(k, 1, 1, c)) * np.linspace(-3, 3, r)[None, :, None, None]
    logits = logits + rng.normal(size=(k, 1, r, c))
    probs = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    if dtype == np.uint8:
        probs = np.rint(probs * 255).astype(np.uint8)
    X = rng.uniform([-2.0, -1.5], [3.0, 2.0], size=(n, 2))
    y = np.arange(n) % c
    pred = np.where(rng.random((k, n)) < acc, y, (y + 1) % c)
    n_train = 3 * n // 4
    return dict(
        xs=xs,
        ys=ys,
        probs=probs,
        titles=[f"run {i} · val 90%" for i in range(k)],
        X_train=X[:n_train],
        y_train=y[:n_train],
        X_val=X[n_train:],
        y_val=y[n_train:],
        pred_train=pred[:, :n_train],
        pred_val=pred[:, n_train:],
        n_classes=c,
    )


def by_group(fig, group):
    return [t for t in fig.data if t.legendgroup == group]


def n_points(traces):
    return sum(0 if t.x is None else sum(v is not None for v in t.x) for t in traces)


def legend_names(fig):
    return [t.name for t in fig.data if t.showlegend is not False]


# ---- colours -----------------------------------------------------------------------------------


def test_one_colour_per_activation_in_every_view():
    """An activation keeps its colour whatever its position (Compare titles, curves, diagnostics, the
    report's adapters), all colours distinct and none a class colour of the first five classes."""
    from nnviz.config import Config
    from nnviz.experiment import Experiment
    from nnviz.figures import adapters
    from nnviz.figures.curves import curves_figure

    colors = list(style.ACTIVATION_COLORS.values())
    assert len(set(colors)) == len(colors) == len(ACTIVATIONS) and set(style.ACTIVATION_COLORS) == set(
        ACTIVATIONS
    )
    assert all(re.fullmatch(r"#[0-9A-F]{6}", c) for c in colors)
    assert not set(colors) & set(class_colors(5))
    seen = {}
    for acts in (("relu", "sigmoid", "linear"), ("linear", "sigmoid", "relu")):
        exp = Experiment(Config(activations=acts, epochs=2, n_samples=60))
        exp.step(2)
        run_cols = adapters.run_colors(exp)
        figure = adapters.experiment_boundary_figure(exp, 20, title_colors=run_cols)
        swatches = [re.search(r"color:(#[0-9A-Fa-f]{6})", a.text).group(1) for a in figure.layout.annotations
                    if "■" in (a.text or "")]  # fmt: skip
        curves = curves_figure(exp.trainer.history(), labels=exp.run_labels, colors=run_cols)
        lines = {t.name: t.line.color for t in curves.data if t.name in exp.run_labels}
        for k, act in enumerate(acts):
            assert run_cols[k] == swatches[k] == lines[exp.run_labels[k]] == style.activation_color(act)
            assert seen.setdefault(act, run_cols[k]) == run_cols[k]


def test_class_colors_start_orange_blue():
    assert class_colors(2) == ["#E69F00", "#0072B2"]
    assert len(set(class_colors(5))) == 5


# ---- decision boundaries -----------------------------------------------------------------------


@pytest.mark.parametrize("k", [1, 4, 8])
@pytest.mark.parametrize("c", [2, 3, 5])
def test_boundary_panels_and_points(k, c):
    data = boundary_data(k, c)
    fig = boundary_figure(**data, title_colors=run_colors(k))
    assert isinstance(fig, go.Figure)
    images = fig.layout.images
    assert len(images) == k  # one shading image per panel, on that panel's axes
    assert [(im.xref, im.yref) for im in images] == [("x", "y")] + [
        (f"x{i}", f"y{i}") for i in range(2, k + 1)
    ]
    titles = [a.text for a in fig.layout.annotations]
    assert len(titles) == k and all(f"run {i} · val 90%" in t for i, t in enumerate(titles))
    # every run's panel shows every train and validation point once
    n_train, n_val = len(data["y_train"]), len(data["y_val"])
    train = [t for t in fig.data if t.legendgroup and t.legendgroup.startswith("train")]
    assert n_points(train) == k * n_train
    assert n_points(by_group(fig, "val")) == k * n_val
    wrong = (data["pred_train"] != data["y_train"]).sum() + (data["pred_val"] != data["y_val"]).sum()
    assert n_points(by_group(fig, "misclassified")) == wrong
    assert legend_names(fig) == [f"train class {i}" for i in range(c)] + ["validation", "misclassified"]
    assert fig.layout.uirevision == "boundary"


def test_boundary_rings_sit_on_the_misclassified_points():
    data = boundary_data(2, 3)
    fig = boundary_figure(**data)
    rings = [t for t in by_group(fig, "misclassified") if t.showlegend is False]  # not the legend entry
    assert len(rings) == 2
    X = np.concatenate([data["X_train"], data["X_val"]])
    y = np.concatenate([data["y_train"], data["y_val"]])
    for run, ring in enumerate(rings):
        pred = np.concatenate([data["pred_train"][run], data["pred_val"][run]])
        wrong = pred != y
        np.testing.assert_allclose(ring.x, X[wrong, 0], rtol=1e-6)
        np.testing.assert_allclose(ring.y, X[wrong, 1], rtol=1e-6)
        np.testing.assert_array_equal(ring.customdata, np.column_stack([y[wrong], pred[wrong]]))


def test_boundary_show_val_false_hides_validation_points_and_their_rings():
    data = boundary_data(4, 2)
    fig = boundary_figure(**data, show_val=False)
    assert by_group(fig, "val") == []
    assert "validation" not in legend_names(fig)
    assert n_points(by_group(fig, "misclassified")) == (data["pred_train"] != data["y_train"]).sum()


def test_boundary_without_predictions_has_no_rings():
    data = boundary_data(3, 3)
    fig = boundary_figure(**dict(data, pred_train=None, pred_val=None))
    assert n_points(by_group(fig, "misclassified")) == 0
    assert "misclassified" not in legend_names(fig)


def test_boundary_axes_are_shared_and_equal_aspect():
    fig = boundary_figure(**boundary_data(6, 2), ncols=4)
    xaxes, yaxes = list(fig.select_xaxes()), list(fig.select_yaxes())
    ref_x = [ax for ax in xaxes if ax.matches is None]
    ref_y = [ax for ax in yaxes if ax.matches is None]
    assert len(ref_x) == len(ref_y) == 1  # every other axis matches these: zoom one, zoom all
    assert ref_y[0].scaleanchor == ref_y[0].anchor and ref_y[0].scaleratio == 1
    assert len(xaxes) == 8 and sum(ax.visible is False for ax in xaxes) == 2  # two empty cells hidden


def png_rgb(image) -> np.ndarray:
    """A layout image's PNG data URI as an [H, W, 3] int array (row 0 at the top)."""
    pil = pytest.importorskip("PIL.Image")
    png = base64.b64decode(image.source.split(",", 1)[1])
    return np.asarray(pil.open(io.BytesIO(png)).convert("RGB")).astype(int)


def ramp_probs(r=30, lo=0.0, hi=1.0) -> np.ndarray:
    """One run, two classes: P(class 1) rising linearly from ``lo`` (left) to ``hi`` (right)."""
    p1 = np.broadcast_to(np.linspace(lo, hi, r)[None, :], (r, r))
    return np.stack([1 - p1, p1], -1)[None]


def dark(rgb) -> np.ndarray:
    return (rgb < 80).all(-1)


def test_boundary_two_classes_diverging_shading_line_and_one_colorbar():
    fig = boundary_figure(**dict(boundary_data(1, 2), probs=ramp_probs()))
    bars = [t for t in fig.data if t.marker.coloraxis == "coloraxis"]
    assert len(bars) == 1 and bars[0].showlegend is False  # the colour bar's carrier, not a legend entry
    assert fig.layout.coloraxis.showscale is True
    rgb = png_rgb(fig.layout.images[0])
    assert min(rgb.shape[:2]) >= SHADING_PIXELS  # upsampled: the line is drawn at screen resolution
    row = rgb[rgb.shape[0] // 2]
    left, right, w = row[2], row[-3], rgb.shape[1]
    assert left[0] > left[2] and right[2] > right[0]  # orange where P(class 1) = 0, blue where it is 1
    # the decision line: only at P = 0.5 (the middle column), ~2 px wide, and the same in every row
    cols = np.flatnonzero(dark(row))
    assert 1 <= len(cols) <= 3 and abs(cols.mean() - (w - 1) / 2) <= 2
    assert (dark(rgb) == dark(row)[None, :]).all()
    # white next to the line (50%), full class tint at the far sides: the colour bar's 0.5 is white
    near = row[cols.min() - 2]
    assert (near > 235).all()
    scale = fig.layout.coloraxis.colorscale
    assert scale[1] == (0.5, "white")


def test_boundary_discretize_uses_two_flat_colours():
    fig = boundary_figure(**dict(boundary_data(1, 2), probs=ramp_probs(lo=0.2, hi=0.9)), discretize=True)
    scale = fig.layout.coloraxis.colorscale
    assert len({color for _, color in scale}) == 2
    rgb = png_rgb(fig.layout.images[0])
    colours = {tuple(c) for c in rgb.reshape(-1, 3) if not (c < 80).all()}
    assert len(colours) == 2  # one flat tint per class, whatever the confidence


def test_boundary_accepts_float_probabilities_and_nan():
    data = boundary_data(2, 2, dtype=np.float64)
    data["probs"][1] = np.nan  # a diverged run: a blank panel, no line
    fig = boundary_figure(**data)
    assert (png_rgb(fig.layout.images[1]) == 255).all()
    by_uint8 = boundary_figure(
        **dict(data, probs=np.rint(np.nan_to_num(data["probs"]) * 255).astype(np.uint8))
    )
    a, b = png_rgb(fig.layout.images[0]), png_rgb(by_uint8.layout.images[0])
    assert np.mean(np.abs(a - b)) < 1.0  # the same picture, up to rounding


def test_upsample_keeps_the_extent_and_interpolates_linearly():
    ramp = np.arange(5, dtype=np.float32)  # cell centres 0..4
    up = _upsample(ramp[None, :], 20, axis=1)[0]
    assert up.shape == (20,)
    assert up[0] == 0 and up[-1] == 4  # clamped beyond the outermost centres
    np.testing.assert_allclose(np.diff(up[2:-2]), 0.25, rtol=1e-6)  # linear in between
    np.testing.assert_allclose(
        up.reshape(5, 4).mean(1)[1:-1], ramp[1:-1], atol=1e-6
    )  # inner cells keep their mean
    assert _upsample(ramp, 5, axis=0) is ramp
    assert _upsample(ramp, 12, axis=0).shape == (12,)  # any size, not only multiples


def test_boundary_multiclass_image_is_a_png_oriented_like_the_data():
    data = boundary_data(1, 3, r=20)
    probs = np.zeros((1, 20, 20, 3), dtype=np.uint8)
    probs[0, :10, :, 0] = 255  # bottom half (low y): class 0, orange
    probs[0, 10:, :, 1] = 255  # top half: class 1, blue
    fig = boundary_figure(**dict(data, probs=probs))
    image = fig.layout.images[0]
    assert image.xref == "x" and image.yref == "y" and image.yanchor == "top"
    rgb = png_rgb(image)
    assert rgb.shape == (240, 240, 3)  # 20 cells upsampled 12x
    top, bottom = rgb[10, 50], rgb[-10, 50]
    assert top[2] > top[0] and bottom[0] > bottom[2]  # blue above, orange below
    line = np.flatnonzero(dark(rgb[:, 50]))  # the class boundary: a 2 px line halfway up
    assert list(line) == [119, 120]


def test_boundary_rejects_bad_shapes():
    data = boundary_data(2, 2)
    with pytest.raises(ValueError, match="shape"):
        boundary_figure(**dict(data, probs=data["probs"][:, :-1]))
    with pytest.raises(ValueError, match="classes"):
        boundary_figure(**dict(data, n_classes=3))
    with pytest.raises(ValueError, match="titles"):
        boundary_figure(**dict(data, titles=["one"]))


@pytest.mark.parametrize("c", [2, 3])
@pytest.mark.parametrize("acc", [0.5, 0.95])  # 0.5: the start of training, when half the points are ringed
def test_boundary_payload_budget(c, acc):
    data = boundary_data(8, c, r=100, n=400, acc=acc)
    size = len(boundary_figure(**data).to_json())
    assert size < 200_000, size


# ---- learning curves ---------------------------------------------------------------------------


def history(e, k, seed=0):
    rng = np.random.default_rng(seed)
    loss = np.exp(-np.linspace(0, 4, e))[:, None] * rng.uniform(0.5, 1.5, (1, k))
    acc = 1 - 0.5 * np.exp(-np.linspace(0, 4, e))[:, None] * np.ones((1, k))
    return {"train_loss": loss, "val_loss": 1.2 * loss, "train_acc": acc, "val_acc": 0.95 * acc}


@pytest.mark.parametrize("k", [1, 4, 8])
def test_curves_one_colour_and_legend_entry_per_run(k):
    labels, colors = [f"run {i}" for i in range(k)], run_colors(k)
    fig = curves_figure(history(50, k), labels=labels, colors=colors)
    assert len(fig.data) == 4 * k  # train / val x loss / accuracy
    assert legend_names(fig) == labels
    for i in range(k):
        group = [t for t in fig.data if t.legendgroup == str(i)]
        assert {t.line.color for t in group} == {colors[i]}
        assert sorted(t.line.dash for t in group) == ["dash", "dash", "solid", "solid"]
    assert fig.layout.yaxis.type == "log" and fig.layout.yaxis2.tickformat == ".0%"


def test_curves_decimate_long_histories_and_keep_the_last_epoch():
    e = 5003
    fig = curves_figure(history(e, 2), labels=["a", "b"], colors=run_colors(2))
    for t in fig.data:
        assert len(t.y) <= MAX_POINTS
        assert t.x0 + t.dx * (len(t.y) - 1) == e  # the last point is the last epoch
    hist = history(e, 2)
    last = fig.data[0]
    np.testing.assert_allclose(last.y[-1], hist["train_loss"][-1, 0], rtol=1e-6)


def test_curves_survive_nan_and_empty_histories():
    hist = history(40, 3)
    for key in hist:
        hist[key][10:, 1] = np.nan  # run 1 diverged at epoch 11
        hist[key][:, 2] = np.nan  # run 2 diverged at once
    fig = curves_figure(hist, labels=list("abc"), colors=run_colors(3))
    json.loads(fig.to_json())
    empty = {key: np.zeros((0, 2)) for key in hist}
    fig = curves_figure(empty, labels=list("ab"), colors=run_colors(2))
    assert len(fig.data) == 8


def test_curves_groups_draw_mean_and_band():
    hist = history(60, 4)
    hist["train_loss"][30:, 3] = np.nan
    groups = [("ReLU", [0, 1]), ("Tanh", [2, 3])]
    fig = curves_figure(hist, labels=list("abcd"), colors=run_colors(4), groups=groups)
    lines = [t for t in fig.data if t.line.width != 0]
    edges = [
        t for t in fig.data if t.line.width == 0
    ]  # each band: an upper edge, a lower one filling up to it
    assert len(lines) == 2 * 4 and len(edges) == 2 * len(lines)
    assert [t.fill for t in edges[:2]] == [None, "tonexty"]
    assert legend_names(fig) == ["ReLU", "Tanh"]
    loss = hist["train_loss"][:, :2]
    np.testing.assert_allclose(lines[0].y, np.exp(np.log(loss).mean(1)), rtol=1e-5)  # geometric mean
    np.testing.assert_allclose(edges[0].y, np.exp(np.log(loss).mean(1) + np.log(loss).std(1)), rtol=1e-5)
    assert all((np.asarray(t.y)[np.isfinite(t.y)] > 0).all() for t in edges if t.xaxis in (None, "x"))


# ---- confusion matrices ------------------------------------------------------------------------


@pytest.mark.parametrize("k", [1, 4, 8])
@pytest.mark.parametrize("c", [2, 3, 5])
def test_confusion_one_heatmap_per_run(k, c):
    rng = np.random.default_rng(k * 10 + c)
    cm = rng.integers(0, 30, size=(k, c, c))
    cm[0, 0] = 0  # a class with no validation points: no division by zero
    fig = confusion_figure(cm, titles=[f"run {i}" for i in range(k)], class_names=[f"c{i}" for i in range(c)])
    heatmaps = [t for t in fig.data if t.type == "heatmap"]
    assert len(heatmaps) == k
    first = heatmaps[0]
    assert [list(row) for row in first.text] == cm[0].astype(str).tolist()
    z = np.asarray(first.z)
    np.testing.assert_allclose(z[1:].sum(1), 1, rtol=1e-5)
    assert (z[0] == 0).all() and list(first.x) == [f"c{i}" for i in range(c)]


# ---- diagnostics -------------------------------------------------------------------------------


def diag(d, k, h, seed=0):
    rng = np.random.default_rng(seed)
    sat = rng.random((d, k, h))
    sat[:, ::2] = np.nan  # every other run uses a non-saturating activation
    return {
        "epochs": np.arange(1, d + 1) * 10,
        "dead": rng.random((d, k, h)),
        "saturated": sat,
        "grad_norm": 10.0 ** rng.normal(size=(d, k, h + 1)),
    }


@pytest.mark.parametrize("k", [1, 4, 8])
@pytest.mark.parametrize("h", [1, 3])
def test_diagnostics_rows_layers_and_runs(k, h):
    labels, colors = [f"run {i}" for i in range(k)], run_colors(k)
    fig = diagnostics_figure(diag(12, k, h), labels=labels, colors=colors)
    saturating = len(range(1, k, 2))
    assert len(fig.data) == k * h + saturating * h + k * (h + 1)
    assert legend_names(fig) == labels
    assert len(list(fig.select_xaxes())) == 3 * (h + 1)
    log_axes = [ax for ax in fig.select_yaxes() if ax.type == "log"]
    assert len(log_axes) == h + 1
    for t in fig.data:
        assert t.line.color == colors[int(t.legendgroup)]


def test_diagnostics_without_saturating_runs_or_records():
    d = diag(5, 3, 2)
    d["saturated"][:] = np.nan
    fig = diagnostics_figure(d, labels=list("abc"), colors=run_colors(3))
    assert len(fig.data) == 3 * 2 + 3 * 3
    assert any("no saturating" in (a.text or "") for a in fig.layout.annotations)
    empty = {key: value[:0] for key, value in d.items()}
    fig = diagnostics_figure(empty, labels=list("abc"), colors=run_colors(3))
    assert len(fig.data) == 0


# ---- activation zoo ----------------------------------------------------------------------------


def test_activation_figure_two_styled_lines():
    z = np.linspace(-5, 5, 201)
    f, df = np.tanh(z), 1 - np.tanh(z) ** 2
    fig = activation_figure(z, f, df, name="Tanh")
    assert len(fig.data) == 2 and fig.data[0].line.dash != fig.data[1].line.dash
    assert fig.layout.xaxis.zeroline and fig.layout.yaxis.zeroline
    lo, hi = fig.layout.yaxis.range
    assert -1.5 < lo < -1 and 1 < hi < 1.5


def test_activation_figure_clips_an_exploding_curve():
    z = np.linspace(-5, 5, 201)
    fig = activation_figure(z, np.exp(z), np.exp(z), name="exp")
    lo, hi = fig.layout.yaxis.range
    assert lo < 0 < hi <= ACT_RANGE[1] + 1


# ---- figures built as dicts ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "rows, cols, hspace, vspace, shared_x, shared_y",
    [
        (1, 1, 0.02, 0.1, "all", "all"),
        (1, 2, 0.1, 0.3, False, False),
        (2, 1, 0.2, 0.16, False, False),
        (2, 4, 0.02, 0.08, "all", "all"),
        (4, 4, 0.02, 0.9 / 3, "all", "all"),
        (3, 3, 0.04, 0.21, False, False),
        (3, 4, 0.1 / 4, 0.07, "all", "rows"),
        (3, 16, 0.008, 0.06, False, False),  # the x domains sum to just above 1: clipped in the axes only
        (2, 3, 0.2 / 3, 0.5 / 2, "all", "all"),
    ],
)
def test_grid_matches_make_subplots(rows, cols, hspace, vspace, shared_x, shared_y):
    """The figures compute make_subplots' grid themselves (it alone took ~20 ms): the same axes, floats
    and title positions."""
    titles = ["" if i % 5 == 4 else f"t{i}" for i in range(rows * cols)]  # empty titles get no annotation
    ref = make_subplots(
        rows=rows, cols=cols, horizontal_spacing=hspace, vertical_spacing=vspace, subplot_titles=titles,
        shared_xaxes=shared_x, shared_yaxes=shared_y,
    ).to_dict()["layout"]  # fmt: skip
    layout, domains, grid_ref = style.grid_layout(
        rows, cols, hspace=hspace, vspace=vspace, share_x=bool(shared_x), share_y=shared_y or None
    )
    assert layout == {k: v for k, v in ref.items() if "axis" in k}  # floats compared exactly
    assert style.cell_titles(titles, domains, size=16) == ref["annotations"]
    fig = go.Figure(layout=layout)
    fig._grid_ref = grid_ref
    fig.add_scatter(x=[1], row=rows, col=cols)
    assert fig.data[0].xaxis == f"x{rows * cols if rows * cols > 1 else ''}"


def canonical(fig: go.Figure) -> dict:
    return json.loads(fig.to_json())


def all_figures():
    """(name, figure) for every figure built as a dict, in their less common shapes too."""
    boundary = [
        boundary_figure(**boundary_data(5, c, r=12, n=40), ncols=ncols, discretize=d, title_colors=colors)
        for c, ncols, d, colors in [
            (2, 4, False, run_colors(5)),
            (3, 2, True, None),
            (5, 3, False, None),
        ]
    ]
    hist = history(30, 4)
    hist["val_loss"][10:, 1] = np.nan
    groups = [("a", [0, 1]), ("b", [2, 3])]
    curves = [
        curves_figure(hist, labels=list("abcd"), colors=run_colors(4), groups=g, stacked=s)
        for g in (None, groups)
        for s in (False, True)
    ]
    no_sat = diag(6, 3, 2)
    no_sat["saturated"][:] = np.nan
    rng = np.random.default_rng(0)
    maps = [rng.normal(size=(w, 10, 10)) for w in (20, 3)]
    grid = np.linspace(-1, 1, 10)
    return [
        *[(f"boundary{i}", f) for i, f in enumerate(boundary)],
        *[(f"curves{i}", f) for i, f in enumerate(curves)],
        ("confusion", confusion_figure(rng.integers(0, 9, (5, 3, 3)), titles=list("abcde"), ncols=2)),
        (
            "diagnostics",
            diagnostics_figure(diag(12, 4, 2), labels=list("abcd"), colors=run_colors(4)),
        ),
        (
            "diagnostics no sat",
            diagnostics_figure(no_sat, labels=list("abc"), colors=run_colors(3)),
        ),
        ("neurons", neurons_figure(maps, grid, grid, slopes=[np.ones(20), np.ones(3)])),
        (
            "agreement",
            agreement_figure(rng.random((5, 10, 10, 3)), grid, grid, titles=list("abcde")),
        ),
    ]


@pytest.mark.parametrize("name, fig", all_figures())
def test_dict_built_figures_are_valid_and_canonical(name, fig):
    """Built without plotly's validation, a figure must pass it unchanged: no invalid value, and no
    shorthand validation would rewrite (a title given as a string, a named colour scale)."""
    validated = go.Figure(fig.to_dict())  # raises on any invalid property
    assert canonical(validated) == canonical(fig), name


def test_dict_built_figures_stay_editable_like_any_figure():
    fig = boundary_figure(**boundary_data(6, 2), ncols=4)
    with pytest.raises(ValueError):
        fig.update_layout(heigth=300)  # later edits are validated again
    with pytest.raises(ValueError):
        fig.data[0].update(colour="red")
    fig.add_scatter(x=[0], y=[0], row=2, col=2)  # subplot rows and columns still address the panels
    assert (fig.data[-1].xaxis, fig.data[-1].yaxis) == ("x6", "y6")


# ---- rendering and layering --------------------------------------------------------------------


def test_figures_import_neither_streamlit_nor_torch():
    for module in FIGURE_MODULES:
        tree = ast.parse(Path(module.__file__).read_text())
        imported = {
            a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names
        }
        imported |= {
            n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module
        }
        assert not imported & {"streamlit", "torch"}, module.__name__
    modules = ", ".join(m.__name__ for m in FIGURE_MODULES)
    code = f"import sys, {modules}; print(sorted(m for m in ('streamlit', 'torch') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_shading_png_is_indexed_and_falls_back_to_truecolour_beyond_256_colours():
    pil = pytest.importorskip("PIL.Image")
    for c, mode in ((3, "P"), (16, "RGB")):  # 16 classes x 17 shades + the line > 256 palette entries
        data = boundary_data(1, c, r=12)
        image = boundary_figure(**data).layout.images[0]
        png = pil.open(io.BytesIO(base64.b64decode(image.source.split(",", 1)[1])))
        assert png.mode == mode and png.size == (240, 240)
        assert len({tuple(px) for px in np.asarray(png.convert("RGB")).reshape(-1, 3)}) > c  # shaded


def test_first_paint_markers_shrink_with_many_points():
    """As in the figure (point_density), 5000 points get smaller markers than 100 in the picture."""
    import base64
    import io

    from PIL import Image

    from nnviz.figures.raster import picture_panels

    xs = ys = np.linspace(-1, 1, 20)
    probs = np.full((1, 20, 20, 2), 128, dtype=np.uint8)

    def painted(n):
        X = np.zeros((n, 2))  # every point on the same spot: the marker's area is what differs
        src = picture_panels(xs, ys, probs, X_train=X, y_train=np.zeros(n, dtype=int), X_val=X[:0],
                             y_val=np.zeros(0, dtype=int), n_classes=2)[0]  # fmt: skip
        image = np.asarray(Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1]))).convert("RGB"))
        return int((np.abs(image.astype(int) - image[0, 0].astype(int)).sum(-1) > 30).sum())

    few, many = painted(100), painted(5000)
    assert few > 0 and many > 0 and many < 0.6 * few, (few, many)
