"""Tests for the Seeds and Replay views: the point-based seed disagreement (nnviz.analysis.inside), the seeds
figure laid out as the boundary panels, the replay animation (shading frames, points, colour bar,
controls that do not overlap) and the replay titles with the accuracy at each epoch."""

import ast
import base64
import json
import re
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import pytest

from nnviz.analysis import inside
from nnviz.analysis.boundary import make_grid, quantize
from nnviz.figures.boundary import boundary_figure, shading_images
from nnviz.figures.inside import agreement_figure, epoch_titles, fitting_columns, panel_width, replay_figure
from nnviz.figures.style import activation_color, panel_titles

MAIN_WIDTH = 880  # nnviz.ui.common.MAIN_WIDTH (not imported: that module imports streamlit)
CHAR_PX = 7  # a generous average width of a 13 px title character


def plain(text: str) -> str:
    return re.sub(r"<[^>]+>", "", text)


def typed(value) -> np.ndarray:
    """An array of a figure's JSON: a list, or plotly's typed array {"dtype", "bdata"}."""
    if isinstance(value, dict):
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
    return np.asarray(value)


# ---- the point-based disagreement (core) -------------------------------------------------------

# 2 activations x 3 seeds, 4 points, runs activation-major
LABELS = np.array(
    [
        [0, 0, 1, 1],  # activation 0, seeds 0..2
        [0, 0, 1, 1],
        [0, 1, 1, 1],  # differs at point 1
        [1, 1, 1, 1],  # activation 1
        [0, 1, 1, 1],  # differs at point 0
        [1, 1, 1, 0],  # differs at point 3
    ]
)


def test_disputed_points_marks_where_any_seed_differs():
    expected = np.array([[False, True, False, False], [True, False, False, True]])
    np.testing.assert_array_equal(inside.disputed_points(LABELS, 3), expected)


def test_point_disagreement_is_the_share_of_disputed_points():
    np.testing.assert_allclose(inside.point_disagreement(LABELS, 3), [0.25, 0.5])
    # one seed per activation: nothing to disagree with
    np.testing.assert_allclose(inside.point_disagreement(LABELS, 1), np.zeros(6))
    # as 3 activations of 2 seeds: pairs (0, 1), (2, 3), (4, 5)
    np.testing.assert_allclose(inside.point_disagreement(LABELS, 2), [0.0, 0.25, 0.5])


def test_point_disagreement_with_three_classes_and_no_points():
    labels = np.array([[0, 1, 2, 2], [0, 2, 2, 2], [1, 1, 2, 0]])  # 1 activation, 3 seeds
    np.testing.assert_allclose(inside.point_disagreement(labels, 3), [0.75])
    np.testing.assert_array_equal(inside.point_disagreement(np.zeros((4, 0), dtype=int), 2), [0.0, 0.0])


@pytest.mark.parametrize("shape, n_seeds", [((5, 3), 2), ((6,), 3), ((6, 2), 0)])
def test_point_disagreement_rejects_bad_shapes(shape, n_seeds):
    with pytest.raises(ValueError):
        inside.point_disagreement(np.zeros(shape, dtype=int), n_seeds)


def test_plane_disagreement_still_counts_grid_cells():
    probs = np.zeros((4, 2, 2, 2), dtype=np.uint8)  # 2 activations x 2 seeds on a 2 x 2 grid
    probs[..., 0] = 255
    probs[1, 0, 0] = [0, 255]  # activation 0: seed 1 differs in one cell of four
    agreement = inside.seed_agreement(probs, 2)
    np.testing.assert_allclose(inside.disagreement(agreement), [0.25, 0.0])


def test_hidden_imports_neither_streamlit_nor_plotly():
    tree = ast.parse(Path(inside.__file__).read_text())
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert not imported & {"streamlit", "plotly"}


# ---- the seeds figure --------------------------------------------------------------------------


def seeds_data(n_act=4, n_seeds=3, c=2, r=30, n=120, seed=0):
    """Data in about -1.5..2.5 x -1..1.5 (a moons-like box), its grid, and the agreement of A activations."""
    rng = np.random.default_rng(seed)
    X = rng.uniform([-1.5, -1.0], [2.5, 1.5], size=(n, 2))
    y = np.arange(n) % c
    grid = make_grid(X, r)
    logits = rng.normal(size=(n_act * n_seeds, r, r, c))
    probs = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    agreement = inside.seed_agreement(quantize(probs), n_seeds)
    n_train = 3 * n // 4
    return dict(X=X, y=y, n_train=n_train, grid=grid, agreement=agreement, c=c)


ACTS = ("relu", "tanh", "sigmoid", "leaky_relu")
NAMES = ("ReLU", "Tanh", "Sigmoid", "Leaky ReLU")


def seeds_figure(d, titles=None, **kw):
    n_act = len(d["agreement"])
    titles = titles or [f"{NAMES[a]} · seeds disagree on 100% of the points" for a in range(n_act)]
    X, y, n_train = d["X"], d["y"], d["n_train"]
    return agreement_figure(
        d["agreement"], d["grid"].xs, d["grid"].ys, titles=titles,
        title_colors=[activation_color(a) for a in ACTS[:n_act]], X_train=X[:n_train],
        y_train=y[:n_train], X_val=X[n_train:], y_val=y[n_train:], n_classes=d["c"], **kw,
    )  # fmt: skip


def test_seeds_axes_cover_the_data_and_its_margin_only():
    d = seeds_data()
    fig = seeds_figure(d, width=MAIN_WIDTH)
    lo, hi = d["X"].min(0), d["X"].max(0)
    span = hi - lo
    for letter, i in (("x", 0), ("y", 1)):
        for axis in getattr(fig, f"select_{letter}axes")():
            a, b = axis.range
            assert a <= lo[i] and b >= hi[i]  # every point is inside
            assert a >= lo[i] - 0.2 * span[i] and b <= hi[i] + 0.2 * span[i]  # the grid's 15% margin
    assert fig.layout.xaxis.range[0] > -2.2 and fig.layout.xaxis.range[1] < 3.2  # not -4..4


def test_seeds_panels_are_laid_out_as_the_boundary_panels():
    d = seeds_data()
    fig = seeds_figure(d, width=MAIN_WIDTH, ncols=2)
    grid, n_train = d["grid"], d["n_train"]
    probs = np.full((4, len(grid.ys), len(grid.xs), 2), 128, dtype=np.uint8)
    boundary = boundary_figure(
        grid.xs, grid.ys, probs, titles=list("abcd"), X_train=d["X"][:n_train], y_train=d["y"][:n_train],
        X_val=d["X"][n_train:], y_val=d["y"][n_train:], pred_train=None, pred_val=None, n_classes=2, ncols=2,
        width=MAIN_WIDTH,
    )  # fmt: skip
    assert fig.layout.height == boundary.layout.height
    for a, b in zip(fig.select_xaxes(), boundary.select_xaxes(), strict=True):
        assert (a.domain, a.range, a.matches) == (b.domain, b.range, b.matches)
    for a, b in zip(fig.select_yaxes(), boundary.select_yaxes(), strict=True):
        assert (a.domain, a.range, a.matches, a.scaleanchor) == (b.domain, b.range, b.matches, b.scaleanchor)
    assert fig.layout.yaxis.scaleanchor == "x"  # equal aspect on the reference (top left) axes
    assert fig.layout.margin == boundary.layout.margin
    # titles with the activation's colour swatch
    texts = [a.text for a in fig.layout.annotations]
    assert texts[0].startswith(f"<span style='color:{activation_color('relu')}'>■</span> ReLU")
    assert texts[3].startswith(f"<span style='color:{activation_color('leaky_relu')}'>■</span> Leaky")


def test_seeds_figure_draws_the_points_as_the_boundary_panels():
    d = seeds_data(n_act=3)
    fig = seeds_figure(d)
    n_train, n = d["n_train"], len(d["y"])
    train = [t for t in fig.data if t.name == "train" and t.x is not None and len(t.x)]
    val = [
        t for t in fig.data if t.name == "validation" and t.x is not None and len(t.x) and t.x[0] is not None
    ]
    assert len(train) == len(val) == 3  # on every panel
    for panel, (t, v) in enumerate(zip(train, val, strict=True)):
        suffix = "" if panel == 0 else str(panel + 1)
        assert (t.xaxis, t.yaxis) == (v.xaxis, v.yaxis) == (f"x{suffix}", f"y{suffix}")
        np.testing.assert_allclose(t.x, d["X"][:n_train, 0], rtol=1e-6)
        np.testing.assert_allclose(v.y, d["X"][n_train:, 1], rtol=1e-6)
        np.testing.assert_array_equal(t.marker.color, d["y"][:n_train])  # class colours
        assert v.marker.symbol == "triangle-up" and len(v.x) == n - n_train
    legend = [t.name for t in fig.data if t.showlegend]
    assert legend == ["train class 0", "train class 1", "validation"]
    heat = [t for t in fig.data if t.type == "heatmap"]
    assert len(heat) == 3 and all(h.coloraxis == "coloraxis" for h in heat)
    assert fig.layout.coloraxis.showscale and "seeds" in fig.layout.coloraxis.colorbar.title.text


def test_seeds_heatmap_is_the_share_of_seeds_off_the_majority():
    agreement = np.zeros((1, 2, 2, 2))
    agreement[0, ..., 0] = [[1.0, 2 / 3], [1 / 3, 0.0]]
    agreement[0, ..., 1] = 1 - agreement[0, ..., 0]
    fig = agreement_figure(agreement, [0.0, 1.0], [0.0, 1.0], titles=["a"])
    np.testing.assert_array_equal(fig.data[0].z, [[0, 33], [33, 0]])


def title_extents(fig, width):
    """Per panel title: its row (paper y), its (left, right) px at CHAR_PX a character and its cell's
    width in px."""
    plot_width = width - fig.layout.margin.l - fig.layout.margin.r
    out = []
    for a in fig.layout.annotations:
        x_axis = next(ax for ax in fig.select_xaxes() if abs(sum(ax.domain) / 2 - a.x) < 1e-9)
        half = len(plain(a.text)) * CHAR_PX / 2
        cell = (x_axis.domain[1] - x_axis.domain[0]) * plot_width
        out.append((a.y, a.x * plot_width - half, a.x * plot_width + half, cell))
    return out


def titles_fit(fig, width) -> bool:
    extents = title_extents(fig, width)
    fit = all(right - left < cell for _, left, right, cell in extents)
    rows = {}
    for y, left, right, _ in extents:
        rows.setdefault(y, []).append((left, right))
    apart = all(
        a[1] < b[0] for row in rows.values() for a, b in zip(sorted(row)[:-1], sorted(row)[1:], strict=True)
    )
    return fit and apart


def test_seeds_titles_fit_their_panels_at_the_app_width():
    d = seeds_data()
    fig = seeds_figure(d, width=MAIN_WIDTH)  # the longest title: "Leaky ReLU · seeds disagree on 100% ..."
    assert all(a.font.size <= 13 for a in fig.layout.annotations)
    assert len({a.x for a in fig.layout.annotations}) == 2  # 4 a row would need ~357 px each, not ~200
    assert titles_fit(fig, MAIN_WIDTH)
    assert not titles_fit(seeds_figure(d, width=MAIN_WIDTH, ncols=4), MAIN_WIDTH)  # the check can fail
    short = seeds_figure(d, titles=[f"{n} · 5%" for n in NAMES], width=MAIN_WIDTH)
    assert len({a.x for a in short.layout.annotations}) == 4 and titles_fit(short, MAIN_WIDTH)


def test_fitting_columns():
    short = panel_titles(["ReLU · val 90%"] * 4, ["#000000"] * 4)
    assert fitting_columns(short, width=MAIN_WIDTH) == 4
    assert fitting_columns(short[:3], width=MAIN_WIDTH) == 3  # never more columns than titles
    assert fitting_columns(["x" * 50] * 4, width=MAIN_WIDTH) == 2
    assert fitting_columns(["x" * 35] * 4, width=MAIN_WIDTH) == 3
    assert fitting_columns(["x" * 200] * 4, width=MAIN_WIDTH) == 1
    for length in range(10, 80, 7):
        ncols = fitting_columns(["x" * length] * 4, width=MAIN_WIDTH)
        assert ncols == 1 or length * CHAR_PX <= panel_width(ncols, MAIN_WIDTH)
    assert panel_width(2, MAIN_WIDTH) == pytest.approx((MAIN_WIDTH - 50) * 0.98 / 2)


def test_seeds_figure_is_valid_with_and_without_points():
    d = seeds_data(c=3)
    for fig in (
        seeds_figure(d),
        agreement_figure(d["agreement"], d["grid"].xs, d["grid"].ys, titles=list("abcd")),
    ):
        validated = go.Figure(fig.to_dict())  # raises on any invalid property
        assert json.loads(validated.to_json()) == json.loads(fig.to_json())


# ---- the replay --------------------------------------------------------------------------------


def snapshots(epochs=(0, 10, 20), k=2, c=2, r=20, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for i, e in enumerate(epochs):
        logits = rng.normal(size=(k, 1, 1, c)) * np.linspace(-3, 3, r)[None, :, None, None] * (i + 0.2)
        logits = logits + rng.normal(size=(k, 1, r, c))
        probs = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
        out.append((e, quantize(probs)))
    return out


def history(e=20, k=2):
    val = np.linspace(0.5, 0.9, e)[:, None] * np.ones((1, k))
    val[9] = [0.87, 0.6]  # epoch 10
    val[19] = [0.95, np.nan]  # epoch 20: run 1 diverged
    return val


def replay(run=1, c=2, **kw):
    rng = np.random.default_rng(1)
    X, y = rng.uniform(-1, 1, size=(60, 2)), np.arange(60) % c
    xs = ys = np.linspace(-1.2, 1.2, 20)
    snaps = snapshots(c=c)
    fig = replay_figure(
        snaps, xs, ys, run=run, title="Tanh", X_train=X, y_train=y, val_acc=history(), color="#117733", **kw
    )
    return fig, snaps, X, y, xs, ys


def test_epoch_titles_show_the_accuracy_at_that_epoch():
    val = history()
    labels = ["ReLU", "Tanh"]
    assert epoch_titles(labels, 0, val) == [
        "ReLU · epoch 0 · untrained",
        "Tanh · epoch 0 · untrained",
    ]
    assert epoch_titles(labels, 10, val) == [
        "ReLU · epoch 10 · val 87%",
        "Tanh · epoch 10 · val 60%",
    ]
    assert epoch_titles(labels, 20, val) == [
        "ReLU · epoch 20 · val 95%",
        "Tanh · epoch 20 · val –",
    ]
    assert epoch_titles(labels, 25, val) == [
        "ReLU · epoch 25 · val –",
        "Tanh · epoch 25 · val –",
    ]
    assert epoch_titles(labels, 5) == ["ReLU · epoch 5", "Tanh · epoch 5"]
    assert epoch_titles(labels, 3, np.zeros((0, 2))) == [
        "ReLU · epoch 3 · val –",
        "Tanh · epoch 3 · val –",
    ]


def test_replay_frames_swap_the_boundary_shading_and_the_title():
    fig, snaps, *_, xs, ys = replay()
    assert [f.name for f in fig.frames] == ["0", "10", "20"]
    sources = []
    for frame, (_, probs) in zip(fig.frames, snaps, strict=True):
        assert frame.data == ()  # the points stay; only the layout changes
        (image,) = frame.layout.images
        expected = shading_images(probs[1:2], xs, ys, 2)[0]  # the boundary panels' shading
        assert image.source == expected["source"] and image.source.startswith("data:image/png;base64,")
        assert (image.xref, image.yref, image.layer) == ("x", "y", "below")
        sources.append(image.source)
    assert len(set(sources)) == 3
    assert fig.layout.images[0].source == sources[0]  # the figure opens at the first frame
    titles = [plain(f.layout.annotations[0].text) for f in fig.frames]
    assert titles == [
        "■ Tanh · epoch 0 · untrained",
        "■ Tanh · epoch 10 · val 60%",
        "■ Tanh · epoch 20 · val –",
    ]
    assert "color:#117733" in fig.frames[1].layout.annotations[0].text  # the run's swatch
    assert plain(fig.layout.annotations[0].text) == titles[0]


def test_replay_draws_the_training_points_and_the_colour_bar():
    fig, _, X, y, *_ = replay()
    (train,) = [
        t for t in fig.data if t.name == "train" and t.x is not None and len(t.x) and t.x[0] is not None
    ]
    np.testing.assert_allclose(train.x, X[:, 0], rtol=1e-6)
    np.testing.assert_allclose(train.y, X[:, 1], rtol=1e-6)
    np.testing.assert_array_equal(train.marker.color, y)
    assert [t.name for t in fig.data if t.showlegend] == ["train class 0", "train class 1"]
    assert fig.layout.coloraxis.showscale is True
    assert fig.layout.coloraxis.colorbar.title.text == "P(class 1)"
    assert any(t.marker.coloraxis == "coloraxis" for t in fig.data if t.type == "scatter")
    assert not [t for t in fig.data if t.type == "heatmap"]  # no other colour map
    # three classes: the class colours, no P(class 1) bar, as on the boundary panels
    fig3, *_ = replay(c=3)
    assert fig3.layout.coloraxis.showscale is False


def test_replay_controls_do_not_overlap():
    fig, *_ = replay()
    layout = fig.layout
    (slider,) = layout.sliders
    (menu,) = layout.updatemenus
    assert [s.label for s in slider.steps] == ["0", "10", "20"]
    assert [list(s.args[0]) for s in slider.steps] == [["0"], ["10"], ["20"]]
    assert [b.label for b in menu.buttons] == ["▶ replay", "❚❚ pause"]
    plot_height = layout.height - layout.margin.t - layout.margin.b
    # the controls' row starts under the tick labels, the legend (43 px) and the colour bar (75 px)
    assert slider.y == menu.y and slider.yanchor == menu.yanchor == "top"
    assert -slider.y * plot_height >= 124
    assert layout.height - layout.margin.b + (-slider.y * plot_height) + 60 <= layout.height  # room below
    # the buttons sit left of the slider, whose current value ("epoch 10") starts after them
    assert menu.x == slider.x == 0 and menu.xanchor == "left" and menu.direction == "left"
    buttons_px = sum(len(b.label) * CHAR_PX + 20 for b in menu.buttons)
    assert slider.pad.l >= buttons_px
    assert slider.currentvalue.prefix == "epoch " and slider.currentvalue.font.color != "rgba(0,0,0,0)"
    # the legend and colour bar moved down with the bottom margin: still 43 / 75 px under the panels
    assert layout.legend.y * layout.height == pytest.approx(layout.margin.b - 43)
    assert layout.coloraxis.colorbar.y * layout.height == pytest.approx(layout.margin.b - 75)


def test_replay_figure_is_valid_and_works_without_points_or_history():
    fig, *_ = replay()
    validated = go.Figure(fig.to_dict())  # frames, sliders and buttons pass plotly's validation
    assert len(validated.frames) == 3
    assert json.loads(validated.to_json()) == json.loads(fig.to_json())
    snaps = snapshots(c=3)
    xs = np.linspace(-1, 1, 20)
    bare = replay_figure(snaps, xs, xs, run=0, title="r")  # as tests/test_fuzz.py calls it
    assert [plain(f.layout.annotations[0].text) for f in bare.frames] == [
        "r · epoch 0",
        "r · epoch 10",
        "r · epoch 20",
    ]
    go.Figure(bare.to_dict())


# ---- the two tabs in the app -------------------------------------------------------------------


def open_tab(query: dict, tab: str):
    from tests.test_app import charts, run_app  # AppTest: the app as Streamlit runs it

    at = run_app(query)
    at.session_state["main_tab"] = tab
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at, charts(at), at.session_state["nnviz"].experiment


def test_seeds_tab_titles_count_disputed_points_and_axes_fit_the_data():
    at, figures, exp = open_tab({"epochs": "30", "n_seeds": "3", "act": "relu,tanh,leaky_relu"}, "Seeds")
    fig = figures["agreement"]
    labels = np.concatenate([exp.predictions("train"), exp.predictions("val")], axis=1)
    share = inside.point_disagreement(labels, 3)
    texts = [plain(a["text"]) for a in fig["layout"]["annotations"]]
    assert texts == [
        f"■ {name} · seeds disagree on {s:.0%} of the points"
        for name, s in zip(("ReLU", "Tanh", "Leaky ReLU"), share, strict=True)
    ]
    grid = exp.make_grid(100)
    assert fig["layout"]["xaxis"]["range"] == pytest.approx(
        [grid.xs[0] - (grid.xs[1] - grid.xs[0]) / 2, grid.xs[-1] + (grid.xs[1] - grid.xs[0]) / 2]
    )
    drawn = [
        t for t in fig["data"] if t.get("name") in ("train", "validation") and t.get("showlegend") is False
    ]
    assert [t["name"] for t in drawn] == ["train", "validation"] * 3  # on each of the 3 panels
    X_train, _ = exp.data_xy("train")
    for t in drawn:
        n = len(exp.split.y_train if t["name"] == "train" else exp.split.y_val)
        assert len(typed(t["x"])) == len(typed(t["marker"]["color"])) == n
    np.testing.assert_allclose(typed(drawn[0]["x"]), X_train[:, 0], rtol=1e-5)


def test_replay_tab_titles_show_the_validation_accuracy():
    from tests.test_app import charts

    at, _, exp = open_tab({"epochs": "30", "act": "relu,tanh"}, "Replay")
    exp.step(30)  # to the end (the app itself trains while the page is open)
    at.run()
    texts = [plain(a["text"]) for a in charts(at)["replay"]["layout"]["annotations"]]
    acc = exp.trainer.history()["val_acc"][29]
    assert texts == [f"■ ReLU · epoch 30 · val {acc[0]:.0%}", f"■ Tanh · epoch 30 · val {acc[1]:.0%}"]
    at.select_slider(key="replay_epoch").set_value(0).run()
    texts = [plain(a["text"]) for a in charts(at)["replay"]["layout"]["annotations"]]
    assert texts == ["■ ReLU · epoch 0 · untrained", "■ Tanh · epoch 0 · untrained"]
