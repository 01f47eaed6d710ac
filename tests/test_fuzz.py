"""Property test over the whole config space: build, train a few epochs, render every figure.

Extreme values included (learning rate 1e-6..100, depth 6 x width 64, noise 0..2, batch 1, every
activation, every loss, init and optimiser). Runs that diverge must be marked, the others finish.
"""

import math

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nnviz.analysis import inside
from nnviz.analysis.boundary import quantize
from nnviz.config import ACTIVATION_KEYS, INITS, LOSSES, OPTIMIZERS, Config
from nnviz.experiment import Experiment
from nnviz.figures.adapters import report_figures
from nnviz.figures.inside import agreement_figure, neurons_figure, replay_figure, transformed_figure
from nnviz.figures.zoo import activation_figure

GENERATED = ("moons", "circles", "xor", "spiral", "gaussians", "checkerboard", "spiral3", "blobs")


@st.composite
def configs(draw):
    acts = draw(st.lists(st.sampled_from(ACTIVATION_KEYS), min_size=1, max_size=4, unique=True))
    lr = draw(st.one_of(st.sampled_from([1e-6, 1e-3, 0.03, 1.0, 10.0, 100.0]), st.floats(1e-6, 100.0)))
    return Config(
        dataset=draw(st.sampled_from(GENERATED)),
        n_samples=draw(st.sampled_from([50, 60, 120, 300])),
        noise=draw(st.sampled_from([0.0, 0.05, 0.3, 1.0, 2.0])),
        n_classes=draw(st.integers(3, 5)),
        val_fraction=draw(st.sampled_from([0.05, 0.3, 0.5])),
        data_seed=draw(st.integers(0, 2**31 - 1)),
        standardize=draw(st.booleans()),
        activations=tuple(acts),
        seed=draw(st.integers(0, 2**31 - 10)),
        n_seeds=draw(st.integers(1, 2)),
        hidden_layers=draw(st.integers(1, 6)),
        width=draw(st.sampled_from([1, 2, 8, 64])),
        batch_norm=draw(st.booleans()),
        init=draw(st.sampled_from(INITS)),
        optimizer=draw(st.sampled_from(OPTIMIZERS)),
        lr=lr,
        batch_size=draw(st.sampled_from([0, 1, 7, 32])),
        epochs=draw(st.integers(1, 3)),
        l1=draw(st.sampled_from([0.0, 1e-3, 1.0])),
        l2=draw(st.sampled_from([0.0, 1e-2, 1.0])),
        loss=draw(st.sampled_from(LOSSES)),
        diag_every=1,
    )


def render_everything(exp: Experiment) -> None:
    for _, fig in report_figures(exp):
        fig.to_json()
    grid = exp.make_grid(20)
    maps = inside.unit_maps(exp.trainer, 0, grid, exp.split.mean, exp.split.scale)
    neurons_figure(maps, grid.xs, grid.ys, slopes=inside.prelu_slopes(exp.trainer, 0)).to_json()
    X = np.concatenate([exp.split.X_train, exp.split.X_val])
    y = np.concatenate([exp.split.y_train, exp.split.y_val])
    lines = (inside.grid_lines(grid, 5, 10) - exp.split.mean) / exp.split.scale
    for units in (None, (0, 0) if exp.cfg.width == 1 else (0, 1)):
        space = inside.transformed_space(exp.trainer, 0, 0, X, lines.astype(np.float32), units=units)
        transformed_figure(space, y, exp.split.n_classes, title="t").to_json()
    _, probs = exp.boundary(20)
    agreement = inside.seed_agreement(quantize(probs), exp.cfg.n_seeds)
    agreement_figure(agreement, grid.xs, grid.ys, titles=["a"] * len(agreement)).to_json()
    g = exp.snapshot_grid
    replay_figure(exp.snapshots, g.xs, g.ys, run=0, title="r").to_json()
    z = np.linspace(-5, 5, 11)
    activation_figure(z, z, np.ones_like(z), name="x").to_json()


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(configs())
def test_any_config_builds_trains_and_renders(cfg):
    exp = Experiment(cfg)
    assert exp.step(cfg.epochs) == cfg.epochs and exp.done
    hist = exp.trainer.history()
    for k, diverged in enumerate(exp.trainer.diverged_epoch):
        losses = hist["train_loss"][:, k]
        if diverged is None:
            assert np.isfinite(losses).all(), "a run that did not diverge has finite losses"
        else:
            assert 1 <= diverged <= cfg.epochs and not np.isfinite(losses[diverged - 1 :]).any()
            assert any(v.code == "diverged" for v in exp.summary()[k].verdicts)
    for row in exp.summary():
        assert math.isnan(row.val_acc) or 0.0 <= row.val_acc <= 1.0
    render_everything(exp)


def test_largest_allowed_experiment_runs():
    cfg = Config(
        n_samples=5000, activations=tuple(ACTIVATION_KEYS[:8]), n_seeds=5, hidden_layers=6, width=64,
        batch_size=1, epochs=1, batch_norm=True, diag_every=1,
    )  # fmt: skip
    exp = Experiment(cfg.replace(n_samples=400))  # batch 1 x 5000 points is ~10 s: the shape matters here
    exp.step(1)
    render_everything(exp)
    big = Experiment(cfg.replace(batch_size=0))
    big.step(1)
    assert big.trainer.n_runs == 40
