"""Tabs that look inside: neurons and transformed space of one run, replay, and seed agreement."""

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
    charts.show(transformed_figure(space, y, exp.split.n_classes, title=title), key="space")


def render_replay(exp: Experiment) -> None:
    snaps = exp.snapshots
    st.caption(
        f"{len(snaps)} snapshots kept (every {exp.snapshot_every} epochs, at most 50 per run); "
        "drag the slider to see how every boundary formed."
    )
    if len(snaps) < 2:
        st.info("Train for a while first.")
        return
    epochs = [e for e, _ in snaps]
    if st.session_state.get("replay_epoch") not in epochs or session().replay_follow:
        st.session_state["replay_epoch"] = epochs[-1]  # follow training until the user picks an epoch
    epoch = st.select_slider("Epoch", epochs, key="replay_epoch", on_change=_stop_following)
    probs = dict(snaps)[epoch]
    grid = exp.snapshot_grid
    X_train, y_train = exp.data_xy("train")
    X_val, y_val = exp.data_xy("val")
    val_acc = exp.trainer.history()["val_acc"]
    colors = adapters.run_colors(exp)
    # as many panels a row as the longest title any epoch can have fits ("untrained" is the longest)
    longest = style.panel_titles(
        [f"{label} · epoch {epochs[-1]} · untrained" for label in exp.run_labels], colors
    )
    fig = boundary.boundary_figure(
        grid.xs, grid.ys, probs, titles=epoch_titles(exp.run_labels, epoch, val_acc),
        X_train=X_train, y_train=y_train, X_val=X_val, y_val=y_val, pred_train=None, pred_val=None,
        n_classes=exp.split.n_classes, ncols=fitting_columns(longest, width=MAIN_WIDTH),
        title_colors=colors, width=MAIN_WIDTH,
    )  # fmt: skip
    charts.show(fig, key="replay")
    anim = st.expander("Animation of one run", key="replay_anim_open", on_change="rerun")
    if anim.open:  # built only when opened: ~50 shading images
        with anim:
            run = _pick_run(exp, "replay_run")
            charts.show(
                _replay_animation(exp, run, X_train, y_train, val_acc, colors[run]), key="replay_anim"
            )


def _replay_animation(exp: Experiment, run: int, X_train, y_train, val_acc, color: str):
    """The animation of one run, rebuilt only when a snapshot was added (or another run is picked)."""
    snaps, grid = exp.snapshots, exp.snapshot_grid
    key = (exp.uid, run, len(snaps), snaps[-1][0])
    s = session()
    cached = s.replay_animation
    if cached is None or cached[0] != key:
        fig = replay_figure(
            snaps, grid.xs, grid.ys, run=run, title=exp.run_labels[run], X_train=X_train, y_train=y_train,
            val_acc=val_acc, color=color, width=MAIN_WIDTH,
        )  # fmt: skip
        cached = s.replay_animation = (key, fig)
    return cached[1]


def _stop_following() -> None:
    session().replay_follow = False


def render_seeds(exp: Experiment) -> None:
    n_seeds = exp.cfg.n_seeds
    if n_seeds < 2:
        st.info(
            "Boundaries differ from seed to seed. Set *Seeds per activation* in the sidebar to 2 or more to see "
            "where they disagree, and the mean ± std of every metric in the summary."
        )
        return
    grid, probs = exp.boundary(SEED_RESOLUTION)  # exp.make_grid: the region of the Compare tab's panels
    agreement = inside.seed_agreement(quantize(probs), n_seeds)
    # disagreement where the data are: at the training and validation points, not in empty corners
    labels = np.concatenate([exp.predictions("train"), exp.predictions("val")], axis=1)
    share = inside.point_disagreement(labels, n_seeds)
    acts = [exp.trainer.runs[a * n_seeds][0] for a in range(len(agreement))]
    rows = [exp.trainer.run_rows[a * n_seeds] for a in range(len(agreement))]
    titles = [
        f"{get_activation(act).name}{' · ' + exp.cfg.row_label(r) if exp.cfg.vary else ''}"
        f" · seeds disagree on {s:.0%} of the points"
        for act, r, s in zip(acts, rows, share, strict=True)
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
