"""Tests for the inside views on regression (docs/regression.md): the replay snapshots of the predicted
surface, the seeds' spread of the predicted value (nnviz.analysis.inside), the network's output drawn
as the predicted value, the points of the transformed space coloured by target, and the Network,
Neurons, Replay and Seeds tabs of a regression experiment in the app."""

import base64
import dataclasses
import io
import json
import re

import numpy as np
import plotly.graph_objects as go
import pytest
from PIL import Image

from nnviz.analysis import inside
from nnviz.analysis.network import networks
from nnviz.config import Config
from nnviz.experiment import MAX_SNAPSHOTS, Experiment
from nnviz.figures import adapters
from nnviz.figures import network as netfig
from nnviz.figures.boundary import value_images
from nnviz.figures.inside import epoch_titles, replay_figure, spread_figure, transformed_figure
from nnviz.figures.style import VALUE_SCALE, value_levels


def plain(text: str) -> str:
    return re.sub(r"<[^>]+>|■", "", text).strip()


def typed(value) -> np.ndarray:
    """An array of a figure's JSON: a list, or plotly's typed array {"dtype", "bdata"}."""
    if isinstance(value, dict):
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
    return np.asarray(value)


def png(uri: str) -> Image.Image:
    return Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))


def experiment(epochs=20, n_seeds=1) -> Experiment:
    return Experiment(
        Config(
            dataset="multigauss", activations=("relu", "tanh"), epochs=epochs, n_seeds=n_seeds, n_samples=200
        )
    )


@pytest.fixture(scope="module")
def trained() -> Experiment:
    exp = experiment(epochs=20, n_seeds=2)
    exp.step(20)
    return exp


# ---- the replay snapshots (core) ----------------------------------------------------------------


def test_regression_snapshots_are_the_predicted_surfaces_every_few_epochs():
    exp = experiment(epochs=130)
    assert exp.snapshot_every == 3  # ceil(130 / 50)
    exp.step(7)
    exp.step(123)  # (two calls, the first ending between two frames)
    epochs = [e for e, _ in exp.snapshots]
    assert epochs == [*range(0, 130, 3), 130]
    assert len(epochs) <= MAX_SNAPSHOTS + 1
    r = len(exp.snapshot_grid.xs)
    for _, frame in exp.snapshots:
        assert frame.dtype == np.float16 and frame.shape == (exp.n_runs, r, r)
    # the last frame is the surface now, on the snapshot grid (rows over ys)
    grid = exp.snapshot_grid
    now = exp.trainer.predict((grid.points - exp.split.mean) / exp.split.scale).reshape(exp.n_runs, r, r)
    np.testing.assert_allclose(exp.snapshots[-1][1].astype(np.float32), now, atol=2e-3, rtol=2e-3)
    assert not np.allclose(exp.snapshots[0][1], exp.snapshots[-1][1], atol=1e-2)  # training moved it


def test_regression_snapshots_clip_huge_values_to_float16():
    exp = experiment(epochs=4)
    blown = np.array([1e6, -1e6, np.nan], dtype=np.float32)  # a run blown up, and a NaN
    exp.trainer.predict = lambda x: np.resize(blown, (exp.n_runs, len(x)))
    exp.step(4)
    frame = exp.snapshots[-1][1].ravel()
    np.testing.assert_array_equal(frame[:3], [65504.0, -65504.0, np.nan])  # float16's largest


# ---- the seeds' spread (core) -------------------------------------------------------------------

# 2 activations x 2 seeds, 3 points, runs activation-major
PREDS = np.array(
    [
        [0.0, 1.0, 2.0],  # activation 0, seed 0
        [0.0, 3.0, 2.5],  # seed 1: std |a - b| / 2 = 0, 1, 0.25
        [1.0, 1.0, 1.0],  # activation 1
        [1.0, 1.0, 1.0],  # the same: std 0
    ]
)


def test_point_spread_is_the_mean_std_over_the_seeds_at_the_points():
    np.testing.assert_allclose(inside.point_spread(PREDS, 2), [(0 + 1 + 0.25) / 3, 0.0])
    # three seeds of one activation, by hand: mean 2, squared deviations 1, 0, 1 -> std sqrt(2/3)
    three = np.array([[1.0, 5.0], [2.0, 5.0], [3.0, 5.0]])
    np.testing.assert_allclose(inside.point_spread(three, 3), [np.sqrt(2 / 3) / 2])
    np.testing.assert_allclose(inside.point_spread(three, 1), [0.0, 0.0, 0.0])  # one seed: no spread
    np.testing.assert_array_equal(inside.point_spread(np.zeros((4, 0)), 2), [0.0, 0.0])


def test_seed_spread_is_the_std_over_the_seeds_per_grid_cell():
    rng = np.random.default_rng(0)
    values = rng.normal(size=(6, 5, 4)).astype(np.float32)  # 2 activations x 3 seeds
    spread = inside.seed_spread(values, 3)
    assert spread.shape == (2, 5, 4)
    for a in range(2):
        group = values[3 * a : 3 * a + 3].astype(np.float64)
        by_hand = np.sqrt(((group - group.mean(0)) ** 2).mean(0))
        np.testing.assert_allclose(spread[a], by_hand, rtol=1e-12)
    same = np.repeat(values[:1], 2, axis=0)
    np.testing.assert_array_equal(inside.seed_spread(same, 2), np.zeros((1, 5, 4)))


@pytest.mark.parametrize(
    "call",
    [
        lambda: inside.point_spread(np.zeros((3, 4)), 2),  # 3 runs are not A x 2 seeds
        lambda: inside.point_spread(np.zeros((4, 2, 2)), 2),  # a grid is not points
        lambda: inside.seed_spread(np.zeros((4, 5)), 2),  # points are not a grid
        lambda: inside.seed_spread(np.zeros((4, 5, 5)), 0),
    ],
)
def test_spread_rejects_bad_shapes(call):
    with pytest.raises(ValueError):
        call()


# ---- the figures --------------------------------------------------------------------------------


def regression_net(exp: Experiment, run: int = 0, resolution: int = 24):
    """A run's Network with its output column as the predicted value, as the Network tab makes it."""
    grid = exp.make_grid(resolution)
    (net,) = networks(exp.trainer, [run], grid, exp.split.mean, exp.split.scale)
    values = exp.trainer.predict((grid.points - exp.split.mean) / exp.split.scale)[run]
    return dataclasses.replace(net, maps=[*net.maps[:-1], values.reshape(1, resolution, resolution)])


def test_network_output_is_the_predicted_value_on_the_value_scale(trained):
    net = regression_net(trained)
    lo, hi = adapters.value_range(trained)
    fig = netfig.network_figure(net, title="ReLU", value_range=(lo, hi))
    text = fig.to_json()
    assert "P(class" not in text and "logit" not in text
    spec = json.loads(text)
    assert spec["layout"]["meta"]["value_range"] == [lo, hi]
    assert "ŷ" in [a["text"] for a in spec["layout"]["annotations"]]
    (units,) = [t for t in spec["data"] if t.get("name") == "units"]
    out = len(units["customdata"]) - 1  # the output unit is the last
    assert "predicted value ŷ" in units["text"][out]
    picture = png(units["customdata"][out][0])
    levels = np.asarray(picture)  # palette indices, row 0 at the top
    expected = value_levels(net.maps[-1][0][::-1], lo, hi, levels=netfig.LEVELS + 1)
    np.testing.assert_array_equal(levels, expected)
    assert len(np.unique(levels)) > 5  # a surface, not one colour
    palette = np.array(picture.getpalette()[: 3 * (netfig.LEVELS + 1)]).reshape(-1, 3)
    ends = [
        np.array([int(c[i : i + 2], 16) for i in (1, 3, 5)]) for c in (VALUE_SCALE[0][1], VALUE_SCALE[-1][1])
    ]
    np.testing.assert_array_equal(palette[0], ends[0])  # orange low ... blue high
    np.testing.assert_array_equal(palette[-1], ends[1])
    go.Figure(fig.to_dict())  # valid as plotly has it


def test_classification_network_keeps_its_probability_output():
    exp = Experiment(Config(dataset="moons", activations=("relu", "tanh"), epochs=5, n_samples=200))
    (net,) = networks(exp.trainer, [0], exp.make_grid(16), exp.split.mean, exp.split.scale)
    spec = json.loads(netfig.network_figure(net, title="ReLU").to_json())
    assert "P(class 1)" in [a["text"] for a in spec["layout"]["annotations"]]
    assert "value_range" not in spec["layout"]["meta"]


def test_epoch_titles_with_r2():
    val = np.array([[0.5, -0.25], [0.934, np.nan]])
    labels = ["ReLU", "Tanh"]
    assert epoch_titles(labels, 0, val_r2=val) == ["ReLU · epoch 0 · untrained", "Tanh · epoch 0 · untrained"]
    assert epoch_titles(labels, 1, val_r2=val) == [
        "ReLU · epoch 1 · val R² 0.50",
        "Tanh · epoch 1 · val R² -0.25",
    ]
    assert epoch_titles(labels, 2, val_r2=val) == [
        "ReLU · epoch 2 · val R² 0.93",
        "Tanh · epoch 2 · val R² –",
    ]
    assert epoch_titles(labels, 3, val_r2=val) == ["ReLU · epoch 3 · val R² –", "Tanh · epoch 3 · val R² –"]


def test_replay_animation_of_a_regression_run_swaps_the_surface(trained):
    grid, lo_hi = trained.snapshot_grid, adapters.value_range(trained)
    X, y = trained.data_xy("train")
    hist = trained.history()["val_r2"]
    fig = replay_figure(
        trained.snapshots, grid.xs, grid.ys, run=2, title="Tanh", X_train=X, y_train=y, val_r2=hist,
        value_range=lo_hi, color="#117733",
    )  # fmt: skip
    assert [f.name for f in fig.frames] == [str(e) for e, _ in trained.snapshots]
    for frame, (_, values) in zip(fig.frames, trained.snapshots, strict=True):
        (image,) = frame.layout.images
        assert image.source == value_images(values[2:3], grid.xs, grid.ys, lo_hi)[0]["source"]
    assert plain(fig.frames[-1].layout.annotations[0].text) == f"Tanh · epoch 20 · val R² {hist[19, 2]:.2f}"
    assert fig.layout.coloraxis.cmin == lo_hi[0] and fig.layout.coloraxis.cmax == lo_hi[1]
    assert [list(s) for s in fig.layout.coloraxis.colorscale] == VALUE_SCALE
    (train,) = [
        t for t in fig.data if t.name == "train" and t.x is not None and len(t.x) and t.x[0] is not None
    ]
    np.testing.assert_allclose(train.marker.color, y, rtol=1e-6)  # the points by target
    go.Figure(fig.to_dict())


def test_transformed_space_colours_the_points_by_target():
    rng = np.random.default_rng(0)
    space = {
        "points": rng.normal(size=(30, 2)),
        "lines": rng.normal(size=(4, 5, 2)),
        "explained": [0.6, 0.3],
        "axis_titles": ("PC 1", "PC 2"),
    }
    y = rng.uniform(-0.5, 0.9, size=30).astype(np.float32)
    fig = transformed_figure(space, y, None, title="t", value_range=(-1.0, 1.0))
    (points,) = [t for t in fig.data if t.mode == "markers"]
    np.testing.assert_allclose(points.marker.color, y)
    assert points.marker.showscale and (points.marker.cmin, points.marker.cmax) == (-1.0, 1.0)
    assert [list(s) for s in points.marker.colorscale] == VALUE_SCALE
    assert not [t for t in fig.data if t.name and t.name.startswith("class")]
    go.Figure(fig.to_dict())


def test_spread_figure_draws_the_std_on_one_scale():
    rng = np.random.default_rng(1)
    spread = rng.uniform(0, 0.3, size=(2, 6, 6))
    spread[1, 0, 0] = np.nan
    xs = ys = np.linspace(-1, 1, 6)
    X, y = rng.uniform(-1, 1, size=(20, 2)), rng.normal(size=20)
    fig = spread_figure(
        spread, xs, ys, titles=["ReLU · a", "Tanh · b"], X_train=X, y_train=y, X_val=X[:5], y_val=y[:5]
    )
    heat = [t for t in fig.data if t.type == "heatmap"]
    np.testing.assert_allclose(np.asarray(heat[0].z), spread[0], rtol=1e-6)
    assert np.asarray(heat[1].z)[0, 0] == 0  # NaN drawn white
    assert fig.layout.coloraxis.cmin == 0 and fig.layout.coloraxis.cmax == pytest.approx(np.nanmax(spread))
    assert fig.layout.coloraxis.showscale and "std" in fig.layout.coloraxis.colorbar.title.text
    assert [t.name for t in fig.data if t.showlegend] == ["train", "validation"]
    go.Figure(fig.to_dict())


# ---- the tabs in the app ------------------------------------------------------------------------

QUERY = {"dataset": "multigauss", "act": "relu,tanh", "epochs": "20", "n_seeds": "2"}


@pytest.fixture(scope="module")
def app():
    from tests.test_app import run_app  # AppTest: the app as Streamlit runs it

    at = run_app(QUERY)
    assert not at.error, [e.value for e in at.error]
    at.button(key="step").click().run()
    exp = at.session_state["nnviz"].experiment
    assert exp.is_regression and exp.epoch > 0
    return at


def open_tab(at, tab: str) -> dict:
    from tests.test_app import charts

    at.session_state["main_tab"] = tab
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return charts(at)


def test_the_network_tab_draws_the_predicted_value(app):
    figures = open_tab(app, "Network")
    exp = app.session_state["nnviz"].experiment
    lo, hi = adapters.value_range(exp)
    run = app.session_state["network_run_a"]
    fig = figures["network_0"]
    assert "P(class" not in json.dumps(fig)
    assert fig["layout"]["meta"]["value_range"] == pytest.approx([lo, hi])
    assert "val R²" in fig["layout"]["title"]["text"]
    (units,) = [t for t in fig["data"] if t.get("name") == "units"]
    levels = np.asarray(png(units["customdata"][-1][0]))
    r = levels.shape[0]
    grid = exp.make_grid(r)
    values = exp.trainer.predict((grid.points - exp.split.mean) / exp.split.scale)[run].reshape(r, r)
    np.testing.assert_array_equal(levels, value_levels(values[::-1], lo, hi, levels=netfig.LEVELS + 1))


def test_the_neurons_tab_colours_the_transformed_points_by_target(app):
    figures = open_tab(app, "Neurons")
    exp = app.session_state["nnviz"].experiment
    (points,) = [t for t in figures["space"]["data"] if t.get("mode") == "markers"]
    y = np.concatenate([exp.split.y_train, exp.split.y_val])
    np.testing.assert_allclose(typed(points["marker"]["color"]), y, rtol=1e-6)
    assert points["marker"]["showscale"] is True


def test_the_replay_tab_shows_the_surfaces_with_r2(app):
    figures = open_tab(app, "Replay")
    exp = app.session_state["nnviz"].experiment
    fig = figures["replay"]
    assert len(fig["layout"]["images"]) == exp.n_runs
    r2 = exp.history()["val_r2"][exp.epoch - 1]
    texts = [plain(a["text"]) for a in fig["layout"]["annotations"] if "epoch" in a["text"]]
    assert texts == [
        f"{label} · epoch {exp.epoch} · val R² {s:.2f}" for label, s in zip(exp.run_labels, r2, strict=True)
    ]
    assert fig["layout"]["coloraxis"]["colorscale"] == VALUE_SCALE
    app.session_state["replay_anim_open"] = True  # the animation of one run
    figures = open_tab(app, "Replay")
    assert len(figures["replay_anim"]["frames"]) == len(exp.snapshots)


def test_the_seeds_tab_shows_the_spread_of_the_predictions(app):
    figures = open_tab(app, "Seeds")
    exp = app.session_state["nnviz"].experiment
    fig = figures["spread"]
    preds = np.concatenate([exp.predictions("train"), exp.predictions("val")], axis=1)
    spread = inside.point_spread(preds, 2)
    texts = [plain(a["text"]) for a in fig["layout"]["annotations"] if "·" in a["text"]]
    assert texts == [
        f"{name} · seeds' prediction std {s:.2g} at the points"
        for name, s in zip(("ReLU", "Tanh"), spread, strict=True)
    ]
    assert spread.min() > 0  # two seeds of a briefly trained net do differ
    grid, values = exp.surface(100)
    heat = [t for t in fig["data"] if t["type"] == "heatmap"]
    np.testing.assert_allclose(
        typed(heat[1]["z"]).reshape(len(grid.ys), len(grid.xs)), inside.seed_spread(values, 2)[1], rtol=1e-5
    )
