"""Training in bounded slices (issue 12): the experiment trains by optimiser steps, stops inside an
epoch when the time is up and resumes there without changing a number; grids and figures of a heavy
config stay cheap (coarser grids, points drawn into the pictures); the page says where it is."""

import pickle

import numpy as np
import pytest

from nnviz.config import Config
from nnviz.experiment import GRID_MACS_PER_POINT, MIN_GRID_RESOLUTION, Experiment
from nnviz.figures import adapters, style
from tests.test_app import boundary_payload, n_boundaries, run_app

ACTS = ("linear", "sigmoid", "tanh", "relu", "leaky_relu", "prelu", "elu", "selu", "gelu", "silu", "mish",
        "softplus", "softsign")  # fmt: skip
HEAVY = dict(
    activations=ACTS, n_seeds=3, hidden_layers=6, width=64, n_samples=5000, epochs=5000, batch_size=1
)


def minibatch_exp(**kw) -> Experiment:
    kw = dict(activations=("relu", "tanh"), n_samples=200, batch_size=8, epochs=12, n_seeds=2) | kw
    return Experiment(Config(**kw).validate())


def test_train_for_stops_inside_an_epoch_and_says_where(monkeypatch):
    exp = minibatch_exp()
    spe = exp.trainer.steps_per_epoch
    assert spe == 18  # 140 training points in batches of 8
    # no time at all: one optimiser step, not an epoch (the chunk starts at one step)
    assert exp.train_for(0.0, max_epochs=5) == 0
    assert (exp.epoch, exp.trainer.batch) == (0, 1) and exp.progress == pytest.approx(1 / spe)
    assert len(exp.trainer.history()["train_loss"]) == 0  # no epoch has ended: no history row yet
    assert adapters.boundary_titles(exp)[0].endswith("in epoch 1")
    from nnviz.ui.live.view import _progress

    # the bar names the minibatch while epochs are slow (under one a second), not when they flash by
    monkeypatch.setattr(Experiment, "epochs_per_second", property(lambda self: 0.5))
    value, text = _progress(exp)
    assert "minibatch 1 / 18 of epoch 1" in text and value == pytest.approx(1 / spe / 12)
    monkeypatch.setattr(Experiment, "epochs_per_second", property(lambda self: 40.0))
    value, text = _progress(exp)
    assert (
        "minibatch" not in text and text.startswith("Epoch 0 / 12") and value == pytest.approx(1 / spe / 12)
    )
    monkeypatch.undo()
    # time enough: epochs end, and max_epochs counts the one under way as the first
    assert exp.train_for(60.0, max_epochs=2) == 2 and (exp.epoch, exp.trainer.batch) == (2, 0)


def test_an_experiment_trained_in_slices_equals_one_trained_in_one_go():
    """History, weights, diagnostics and every replay frame, bit for bit, through a pickle."""
    straight = minibatch_exp()
    straight.step(100)
    sliced = minibatch_exp()
    rng = np.random.default_rng(0)
    while not sliced.done:
        sliced.advance(int(rng.integers(1, 30)))
        if rng.random() < 0.2:
            sliced = pickle.loads(pickle.dumps(sliced))
    for key, values in straight.trainer.history().items():
        np.testing.assert_array_equal(values, sliced.trainer.history()[key], err_msg=key)
    assert [e for e, _ in straight.snapshots] == [e for e, _ in sliced.snapshots]
    for (_, a), (_, b) in zip(straight.snapshots, sliced.snapshots, strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(straight.trainer.params.numpy(), sliced.trainer.params.numpy())
    for key, values in straight.trainer.diagnostics.arrays().items():
        np.testing.assert_array_equal(values, sliced.trainer.diagnostics.arrays()[key], err_msg=key)


def test_cached_results_follow_the_weights():
    exp = minibatch_exp(epochs=30)
    before = exp.predictions("val").copy(), exp.boundary(40)[1].copy()
    assert exp.predictions("val") is exp.predictions("val")  # a paused page's reruns reuse them
    exp.step(30)
    after = exp.predictions("val"), exp.boundary(40)[1]
    assert not np.array_equal(before[1], after[1])  # recomputed after training
    fresh = exp.trainer.predict_proba(exp.split.X_val).argmax(-1)
    np.testing.assert_array_equal(after[0], fresh)


def test_grids_of_a_heavy_config_get_coarser_and_light_ones_do_not():
    light = Experiment(Config().validate())
    assert light.grid_resolution(160) == 160 and light.boundary(80)[1].shape[1] == 80
    heavy = Experiment(Config(**HEAVY).validate())
    assert heavy.macs_per_point > 5 * GRID_MACS_PER_POINT
    for requested in (50, 80, 160):
        r = heavy.grid_resolution(requested)
        assert MIN_GRID_RESOLUTION <= r < requested
        # a grid costs at most what a light-enough config's grid at the requested resolution does
        # (unless the floor on the resolution holds it)
        assert r == MIN_GRID_RESOLUTION or heavy.macs_per_point * r * r <= GRID_MACS_PER_POINT * requested**2
    grid, probs = heavy.boundary(80)
    assert probs.shape == (39, heavy.grid_resolution(80), heavy.grid_resolution(80), 2)
    assert len(heavy.snapshot_grid.xs) == heavy.grid_resolution(50)


def test_predictions_in_chunks_equal_one_pass():
    exp = Experiment(Config(activations=("relu", "gelu"), width=64, hidden_layers=3).validate())
    exp.step(5)
    x = np.random.default_rng(1).normal(size=(3 * exp.trainer.eval_chunk + 17, 2)).astype(np.float32)
    chunked = exp.trainer.predict_proba(x)
    logits, _ = exp.trainer.forward_eval(x)
    import torch

    one = torch.sigmoid(logits[:, 0]).numpy()
    np.testing.assert_allclose(chunked[..., 1], one, rtol=1e-6, atol=1e-7)


def test_a_figure_with_many_points_draws_them_into_its_pictures():
    exp = Experiment(Config(activations=("relu", "tanh", "gelu", "elu", "silu"), n_samples=5000).validate())
    exp.step(3)
    n_points = len(exp.split.X_train) + len(exp.split.X_val)
    assert style.points_as_pixels(5, n_points)
    fig = adapters.experiment_boundary_figure(exp, 60).to_plotly_json()

    def markers(fig) -> list:  # the data and ring traces (legend entries have one None point)
        return [t for t in fig["data"] if not t.get("showlegend") and t.get("name")]

    assert markers(fig) == []  # no marker traces: the points are in the pictures
    assert [t["name"] for t in fig["data"] if t.get("showlegend")][:2] == ["train class 0", "train class 1"]
    images = [im["source"] for im in fig["layout"]["images"]]
    assert (exp.predictions("train") != exp.split.y_train).any()  # some points get rings
    # the pictures carry rings when the figure has predictions; live (no rings) they are the frames'
    assert images != adapters.experiment_shading(exp, 60)
    live = adapters.experiment_boundary_figure(exp, 60, predictions=(None, None)).to_plotly_json()
    assert [im["source"] for im in live["layout"]["images"]] == adapters.experiment_shading(exp, 60)
    assert adapters.experiment_shading(exp, 60) == adapters.experiment_picture(exp, 60)
    few = Experiment(Config(activations=("relu", "tanh")).validate())
    assert not style.points_as_pixels(2, len(few.split.X_train) + len(few.split.X_val))
    few_fig = adapters.experiment_boundary_figure(few, 60).to_plotly_json()
    assert {t["name"] for t in markers(few_fig)} == {"train", "validation", "misclassified"}


def test_the_heavy_page_opens_inside_its_first_epoch():
    """Issue 12's heavy config: the first script run ends with its boundaries drawn and training
    inside the first epoch (one epoch of it takes ~12 s), then Pause holds it there."""
    query = {k: v for k, v in Config(**HEAVY).validate().to_params().items()}
    at = run_app(query)
    exp = at.session_state["nnviz"].experiment
    assert n_boundaries(at) == 39
    assert exp.epoch == 0 and 0 < exp.trainer.batch < exp.trainer.steps_per_epoch
    progress = [p.proto.text for p in at.get("progress")]
    assert any("minibatch" in t and "of epoch 1" in t for t in progress), progress
    at.button(key="play").click().run()  # Pause
    position = (exp.epoch, exp.trainer.batch)
    at.run()
    assert not at.session_state["nnviz"].playing and (exp.epoch, exp.trainer.batch) == position
    at.button(key="step").click().run()  # Step: a bounded slice, still inside the epoch
    assert exp.epoch == 0 and exp.trainer.batch > position[1]
    assert boundary_payload(at)["stream"] is None
