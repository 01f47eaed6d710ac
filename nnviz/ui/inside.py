"""Tabs that look inside: neurons and transformed space of one run, replay, and seed agreement
(for regression: the predicted surfaces, points coloured by target, the seeds' spread of values)."""

from __future__ import annotations

import numpy as np
import streamlit as st

from nnviz.activations import get_activation
from nnviz.analysis import inside
from nnviz.analysis.boundary import quantize
from nnviz.experiment import Experiment
from nnviz.figures import adapters, boundary, style
from nnviz.figures.inside import (
    MAX_UNITS,
    agreement_figure,
    epoch_titles,
    fitting_columns,
    neurons_figure,
    replay_figure,
    spread_figure,
    transformed_figure,
)
from nnviz.grid import is_grid
from nnviz.ui import charts
from nnviz.ui.common import MAIN_WIDTH
from nnviz.ui.session import session

NEURON_RESOLUTION = 40
SEED_RESOLUTION = 100


def pick_group(exp, key: str) -> Experiment:
    """The experiment a per-network tab shows: ``exp`` itself, or for a grid whose rows train as
    separate groups (another depth, width, dataset, ...) the row picked here."""
    if not is_grid(exp):
        return exp
    rows = exp.rows
    if st.session_state.get(key) not in range(len(rows)):
        st.session_state[key] = 0
    r = st.selectbox(
        "Row of the grid", range(len(rows)), format_func=lambda i: rows[i].label, key=key,
        help="Each row of this grid is a network of its own shape or data: this view shows one row.",
    )  # fmt: skip
    return rows[r].experiment


def _pick_run(exp: Experiment, key: str) -> int:
    return st.selectbox("Run", range(exp.trainer.n_runs), format_func=lambda k: exp.run_labels[k], key=key)


def render_neurons(exp: Experiment) -> None:
    st.caption(
        "The network's inputs (first row), then what each hidden unit computes over the input plane (blue "
        "positive, red negative, scaled per unit), layer by layer, and the data as a hidden layer sees it. "
        "Updates when training is paused or done."
    )
    run = _pick_run(exp, "inside_run")
    grid = exp.make_grid(NEURON_RESOLUTION)
    maps = inside.unit_maps(exp.trainer, run, grid, exp.split.mean, exp.split.scale)
    inputs = inside.input_maps(exp.trainer, grid, exp.split.mean, exp.split.scale)
    slopes = inside.prelu_slopes(exp.trainer, run)
    if slopes is not None:
        st.markdown("PReLU's learned slopes *a* are in the unit titles (they started at the initial slope).")
    if exp.cfg.width > MAX_UNITS:
        st.caption(f"Showing the first {MAX_UNITS} of {exp.cfg.width} units per layer.")
    fig = neurons_figure(
        maps, grid.xs, grid.ys, slopes=slopes, inputs=inputs, input_labels=exp.trainer.inputs.labels
    )
    charts.show(fig, key="neurons")
    st.subheader("Transformed space")
    cols = st.columns([1, 2])
    layer = cols[0].selectbox(
        "Hidden layer",
        range(exp.cfg.hidden_layers),
        format_func=lambda i: f"layer {i + 1}",
        key="space_layer",
    )
    axes = ["first two principal components"] + [
        f"units {i + 1} and {i + 2}" for i in range(exp.cfg.width - 1)
    ]
    choice = cols[1].selectbox("Axes", range(len(axes)), format_func=lambda i: axes[i], key="space_axes")
    units = None if choice == 0 else (choice - 1, choice)
    X = np.concatenate([exp.split.X_train, exp.split.X_val])
    y = np.concatenate([exp.split.y_train, exp.split.y_val])
    lines = (inside.grid_lines(grid) - exp.split.mean) / exp.split.scale
    space = inside.transformed_space(exp.trainer, run, layer, X, lines.astype(np.float32), units=units)
    title = f"{exp.run_labels[run]}: the data after hidden layer {layer + 1}"
    if exp.is_regression:
        fig = transformed_figure(space, y, None, title=title, value_range=adapters.value_range(exp))
    else:
        fig = transformed_figure(space, y, exp.split.n_classes, title=title)
    charts.show(fig, key="space")


def render_replay(exp: Experiment) -> None:
    snaps = exp.snapshots
    formed = "predicted surface" if exp.is_regression else "boundary"
    st.caption(
        f"{len(snaps)} snapshots kept (every {exp.snapshot_every} epochs, at most 50 per run); "
        f"drag the slider to see how every {formed} formed."
    )
    if len(snaps) < 2:
        st.info("Train for a while first.")
        return
    epochs = [e for e, _ in snaps]
    if st.session_state.get("replay_epoch") not in epochs or session().replay_follow:
        st.session_state["replay_epoch"] = epochs[-1]  # follow training until the user picks an epoch
    epoch = st.select_slider("Epoch", epochs, key="replay_epoch", on_change=_stop_following)
    frame = dict(snaps)[epoch]
    grid = exp.snapshot_grid
    X_train, y_train = exp.data_xy("train")
    X_val, y_val = exp.data_xy("val")
    scores = _scores(exp)
    colors = adapters.run_colors(exp)
    # as many panels a row as the longest title any epoch can have fits (of classification's,
    # "untrained"; an R² of -10.00 is longer, and wider than most)
    widest = "val R² -10.00" if exp.is_regression else "untrained"
    longest = style.panel_titles(
        [f"{label} · epoch {epochs[-1]} · {widest}" for label in exp.run_labels], colors
    )
    fig = boundary.boundary_figure(
        grid.xs, grid.ys, frame, titles=epoch_titles(exp.run_labels, epoch, **scores),
        X_train=X_train, y_train=y_train, X_val=X_val, y_val=y_val, pred_train=None, pred_val=None,
        ncols=fitting_columns(longest, width=MAIN_WIDTH), title_colors=colors, width=MAIN_WIDTH,
        **_scale(exp),
    )  # fmt: skip
    charts.show(fig, key="replay")
    anim = st.expander("Animation of one run", key="replay_anim_open", on_change="rerun")
    if anim.open:  # built only when opened: ~50 shading images
        with anim:
            run = _pick_run(exp, "replay_run")
            charts.show(_replay_animation(exp, run, X_train, y_train, colors[run]), key="replay_anim")


def _scores(exp: Experiment) -> dict:
    """The replay titles' score history, as epoch_titles takes it: validation accuracy, or R²."""
    if exp.is_regression:
        return dict(val_r2=exp.trainer.history()["val_r2"])
    return dict(val_acc=exp.trainer.history()["val_acc"])


def _scale(exp: Experiment) -> dict:
    """How the replay's frames are coloured: by class, or by value over the experiment's value range."""
    if exp.is_regression:
        return dict(value_range=adapters.value_range(exp))
    return dict(n_classes=exp.split.n_classes)


def _replay_animation(exp: Experiment, run: int, X_train, y_train, color: str):
    """The animation of one run, rebuilt only when a snapshot was added (or another run is picked)."""
    snaps, grid = exp.snapshots, exp.snapshot_grid
    key = (exp.uid, run, len(snaps), snaps[-1][0])
    s = session()
    cached = s.replay_animation
    if cached is None or cached[0] != key:
        value_range = adapters.value_range(exp) if exp.is_regression else None
        fig = replay_figure(
            snaps, grid.xs, grid.ys, run=run, title=exp.run_labels[run], X_train=X_train, y_train=y_train,
            value_range=value_range, color=color, width=MAIN_WIDTH, **_scores(exp),
        )  # fmt: skip
        cached = s.replay_animation = (key, fig)
    return cached[1]


def _stop_following() -> None:
    session().replay_follow = False


def render_seeds(exp: Experiment) -> None:
    n_seeds = exp.cfg.n_seeds
    if n_seeds < 2:
        what = "Predicted surfaces" if exp.is_regression else "Boundaries"
        st.info(
            f"{what} differ from seed to seed. Set *Seeds per activation* in the sidebar to 2 or more to see "
            "where they disagree, and the mean ± std of every metric in the summary."
        )
        return
    if exp.is_regression:
        _render_spread(exp, n_seeds)
        return
    grid, probs = exp.boundary(SEED_RESOLUTION)  # exp.make_grid: the region of the Compare tab's panels
    agreement = inside.seed_agreement(quantize(probs), n_seeds)
    # disagreement where the data are: at the training and validation points, not in empty corners
    labels = np.concatenate([exp.predictions("train"), exp.predictions("val")], axis=1)
    share = inside.point_disagreement(labels, n_seeds)
    acts, names = _activations(exp, n_seeds)
    titles = [
        f"{name} · seeds disagree on {s:.0%} of the points" for name, s in zip(names, share, strict=True)
    ]
    st.caption(
        f"Dark where the {n_seeds} seeds of an activation predict different classes. The share in each "
        "title counts the data points (train and validation) at which they do."
    )
    X_train, y_train = exp.data_xy("train")
    X_val, y_val = exp.data_xy("val")
    fig = agreement_figure(
        agreement, grid.xs, grid.ys, titles=titles, title_colors=[style.activation_color(a) for a in acts],
        X_train=X_train, y_train=y_train, X_val=X_val, y_val=y_val, n_classes=exp.split.n_classes,
        width=MAIN_WIDTH,
    )  # fmt: skip
    charts.show(fig, key="agreement")


def _activations(exp: Experiment, n_seeds: int) -> tuple[list[str], list[str]]:
    """Each activation's key and panel name (with its row of a grid: "ReLU · lr 0.3"), in run order."""
    firsts = range(0, exp.trainer.n_runs, n_seeds)
    acts = [exp.trainer.runs[k][0] for k in firsts]
    names = [
        get_activation(act).name
        + (f" · {exp.cfg.row_label(exp.trainer.run_rows[k])}" if exp.cfg.vary else "")
        for act, k in zip(acts, firsts, strict=True)
    ]
    return acts, names


def _render_spread(exp: Experiment, n_seeds: int) -> None:
    """Regression's Seeds view: per activation, the standard deviation over its seeds of the
    predicted value over the plane, and its mean at the data points in the title."""
    grid, values = exp.surface(SEED_RESOLUTION)  # exp.make_grid: the region of the Compare tab's panels
    spread = inside.seed_spread(values, n_seeds)
    preds = np.concatenate([exp.predictions("train"), exp.predictions("val")], axis=1)
    at_points = inside.point_spread(preds, n_seeds)
    acts, names = _activations(exp, n_seeds)
    titles = [
        f"{name} · seeds' prediction std {f'{s:.2g}' if np.isfinite(s) else '–'} at the points"
        for name, s in zip(names, at_points, strict=True)  # (not finite: a seed's values blew up)
    ]
    st.caption(
        f"Dark where the {n_seeds} seeds of an activation predict different values: the standard deviation "
        "of their predictions, on one scale for all panels. The number in each title is its mean over the "
        "data points (train and validation), in the targets' units."
    )
    X_train, y_train = exp.data_xy("train")
    X_val, y_val = exp.data_xy("val")
    fig = spread_figure(
        spread, grid.xs, grid.ys, titles=titles, title_colors=[style.activation_color(a) for a in acts],
        X_train=X_train, y_train=y_train, X_val=X_val, y_val=y_val, width=MAIN_WIDTH,
    )  # fmt: skip
    charts.show(fig, key="spread")
