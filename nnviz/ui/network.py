"""The Network tab: two runs' networks drawn as graphs side by side, as in TensorFlow Playground.

Each unit is a picture of its output over the input plane, each weight an edge (nnviz/figures/
network.py); hovering a unit shows its picture large with its statistics (nnviz/ui/charts.js). Two
runs of one seed start from the same initial weights, so the same unit can be compared between
activations. While training plays, a fragment trains a slice and redraws every LIVE_SECONDS at a
low picture resolution; paused or done, the pictures are drawn at FULL_RESOLUTION.
"""

from __future__ import annotations

import streamlit as st

from nnviz.analysis.network import default_pair, networks, same_start
from nnviz.experiment import Experiment
from nnviz.figures import adapters
from nnviz.figures.network import network_figure
from nnviz.grid import is_grid
from nnviz.ui import charts, compare
from nnviz.ui.common import guarded
from nnviz.ui.live.view import _epochs_per_frame, _train
from nnviz.ui.session import session

LIVE_SECONDS = 0.5  # a redraw this often while training plays (train, evaluate, draw: ~0.25 s)
TRAIN_SECONDS = 0.15  # of which training, per redraw
LIVE_RESOLUTION = 12  # the pictures' grid while playing (the hover pictures too: upscaled)
FULL_RESOLUTION = 48  # paused or done (the small pictures are scaled down from it)
KEYS = ("network_run_a", "network_run_b")


def render_network(exp: Experiment) -> None:
    """The tab: Play / Pause and Step, the two run pickers, then the two networks (a fragment)."""
    output = (
        "the predicted value ŷ on the Compare tab's value scale (orange low, white mid, blue high)"
        if exp.is_regression
        else "the probability of its class"
    )
    st.caption(
        "Each square is a unit: its output over the input plane (blue positive, red negative, each scaled "
        f"to its own largest |output|); the output column shows {output}. Edges are the "
        "weights: :blue[**blue**] positive, :orange[**orange**] negative, wider for larger |w|. The small "
        "square at a unit's lower left is its bias; a crossed grey unit is dead. Hover a unit for its "
        "picture, large, and its statistics.",
    )
    runs = exp.trainer.runs
    defaults = default_pair(runs)
    options = list(range(len(runs)))
    cols = st.columns([1, 1, 2.3, 2.3], vertical_alignment="bottom")
    _controls(exp, cols[0], cols[1])
    picks = []
    for col, key, default, side in zip(cols[2:], KEYS, defaults, ("Left", "Right"), strict=True):
        if st.session_state.get(key) not in options:
            st.session_state[key] = default  # first open, or another experiment with fewer runs
        picks.append(
            col.selectbox(f"{side} network", options, format_func=lambda k: exp.run_labels[k], key=key)
        )
    start = (
        f"both from the same initial weights (seed {runs[picks[0]][1]}): compare a unit across them"
        if same_start(runs, *picks)
        else "different seeds: they started from different initial weights"
    )
    live_now = session().playing and not exp.done

    @st.fragment(run_every=LIVE_SECONDS if live_now else None)
    def graphs() -> None:
        # Draw first, then train the next slice: the charts are replaced at the start of the run, so
        # they never look stale (Streamlit fades what a run has not re-sent yet) while it trains.
        s = session()
        current = s.experiment
        if is_grid(current):  # the row the tab shows (inside.pick_group, app.py's key)
            current = current.parts[min(st.session_state.get("group_Network", 0), len(current.parts) - 1)]
        training = s.playing and not current.done
        if s.train_error:
            st.error(s.train_error)
        st.caption(
            f"Epoch {current.epoch} / {current.cfg.epochs}"
            + (" · training" if training else "")
            + f" · {start}"
        )
        guarded("The networks", _draw, current, picks, training)
        if training:
            _train(s, TRAIN_SECONDS, _epochs_per_frame(current, LIVE_SECONDS))
            if current.done:
                s.playing = False
                st.rerun()  # full rerun: stop the timer, redraw at the full resolution

    graphs()


def _controls(exp: Experiment, play, step) -> None:
    """Play / Pause and Step, as on the Compare tab (with keys of their own: only the open tab runs)."""
    compare.play_and_step(exp, play, step, prefix="network_")


def _draw(exp: Experiment, picks: list[int], live: bool) -> None:
    """The two networks side by side; ``live``: at the live resolution (and without the weakest
    edges of a large network, see figures.network.network_figure)."""
    resolution = exp.grid_resolution(LIVE_RESOLUTION if live else FULL_RESOLUTION)  # coarser if costly

    def compute():
        grid = exp.make_grid(resolution)
        nets = networks(exp.trainer, sorted(set(picks)), grid, exp.split.mean, exp.split.scale)
        return {net.run: net for net in nets}

    nets = exp.cached(("network", tuple(sorted(set(picks))), resolution), compute)
    value_range = adapters.value_range(exp) if exp.is_regression else None
    titles = adapters.run_titles(exp)
    colors = adapters.run_colors(exp)
    revision = f"{exp.uid}-{'-'.join(map(str, picks))}"
    figures = [  # both built before either is sent: they change together
        network_figure(
            nets[run],
            title=titles[run],
            color=colors[run],
            scale=1 if live else 2,
            uirevision=revision,
            live=live,
            value_range=value_range,
        )
        for run in picks
    ]
    for i, (col, fig) in enumerate(zip(st.columns(2), figures, strict=True)):
        with col:
            charts.show(fig, key=f"network_{i}")
