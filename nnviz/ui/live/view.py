"""The Compare tab's live part: the boundaries (which also train) and the curves, as fragments that
re-run on a timer while the networks train, and the summary below them.

Every fragment run costs the browser's main thread Streamlit's own bookkeeping besides the drawing.
So when the page has the live websocket (route.py), one run of the boundaries fragment trains for
``PACING.stream_seconds`` and streams a frame after each chunk of epochs, and the chart, which the
frames update, is drawn by full runs only (Play, Pause, a setting); without the websocket, each run
of the fragment is one frame (``PACING.frame_seconds`` apart). ``stream_channel`` decides which.
"""

from __future__ import annotations

import time

import streamlit as st

from nnviz import fmt
from nnviz.activations import get_activation
from nnviz.experiment import Experiment
from nnviz.figures import adapters, style
from nnviz.figures.curves import curves_figure
from nnviz.ui import charts, compare, draw
from nnviz.ui.common import LOG, MAIN_WIDTH, guarded
from nnviz.ui.live import route
from nnviz.ui.live.pacing import PACING
from nnviz.ui.session import Session, session


def render_live(exp: Experiment, show_val: bool, discretize: bool) -> None:
    """The boundaries and curves (side by side for up to 4 runs), then the summary."""
    live_now = session().playing and not exp.done
    channel = stream_channel()
    left, right = st.columns([3, 2]) if _side_by_side(exp) else (st.container(), st.container())

    @st.fragment(
        run_every=(PACING.restart_seconds if channel else PACING.frame_seconds) if live_now else None
    )
    def boundaries() -> None:
        s = session()
        current = s.experiment
        training = s.playing and not current.done
        inline = s.live.inline_run != s.live.script_runs  # this script run's own call: it never loops
        s.live.inline_run = s.live.script_runs
        if channel is not None and stream_channel() is None:
            st.rerun()  # the page never opened the websocket: back to a fragment run per frame
        stream = channel is not None and training and not inline
        if stream:
            channel.offered()  # a timer rerun: the page has the chart, which opens the websocket
        if training and channel is None:  # (with the websocket, training is in the streaming loop)
            _train(s, PACING.fallback_train_seconds, _epochs_per_frame(current, PACING.frame_seconds))
        if training and current.done:
            s.playing = False
            st.rerun()  # full rerun: stop the timers, redraw everything at full resolution
        if s.train_error:
            st.error(s.train_error)
        bar = st.progress(*_progress(current))
        if channel is None:
            guarded("The boundaries", _draw_boundaries, current, show_val, discretize, training)
        elif stream:
            _stream_frames(current, channel, discretize, show_val, bar)

    @st.fragment(run_every=PACING.slow_seconds if live_now else None)
    def curves() -> None:
        guarded("The curves", _draw_curves, session().experiment)

    @st.fragment(run_every=PACING.slow_seconds if live_now else None)
    def summary() -> None:
        s = session()
        st.subheader("Summary")
        if live_now and not s.live.summary_shown:
            # A session's first page: the table (and the browser's table component, a large script)
            # waits for the first timer tick, so that the boundaries are on screen sooner.
            s.live.summary_shown = True
            st.caption("The table follows in a second.")
            return
        guarded("The summary", compare.render_summary, s.experiment)
        if s.experiment.cfg.n_seeds > 1:
            guarded("The seed summary", compare.render_seed_summary, s.experiment)

    s = session()
    first, s.live.first_paint_done = not s.live.first_paint_done, True
    with left:
        if first and channel is None:  # (the chart is in the fragment, below its progress bar)
            guarded("The boundary picture", _first_paint, exp, show_val, discretize, live_now)
        boundaries()
        if channel is not None:  # frames update the chart: only full runs draw it, so outside the fragment
            exp = s.experiment
            live_now = s.playing and not exp.done
            guarded("The boundaries", _draw_boundaries, exp, show_val, discretize, live_now, channel, first)
    with right:
        curves()
    summary()


def stream_channel() -> route.Channel | None:
    """The session's live channel, or None when frames go through Streamlit: no websocket route
    (``streamlit run app.py``, AppTest), or the page has not connected to it ``PACING.stream_grace``
    seconds after the first streaming run (its timer's request shows that the page has the chart)."""
    live = session().live
    if not route.served() or live.stream_off:
        return None
    if live.channel is None:
        live.channel = route.Channel()
    elif not live.channel.ever_connected and live.channel.waited() > PACING.stream_grace:
        LOG.warning("the page has not opened the live websocket: frames go through Streamlit")
        live.stream_off = True
        return None
    return live.channel


def _train(s: Session, seconds: float, max_epochs: int) -> None:
    """Train a frame's chunk; if that fails, stop playing and say why (the last results stay)."""
    try:
        s.experiment.train_for(seconds, max_epochs=max_epochs)
    except Exception as exc:  # noqa: BLE001 - shown to the user
        LOG.exception("training failed")
        s.playing = False
        s.train_error = f"Training stopped by an error: {exc}"
        st.rerun()  # full rerun: stop the timers


def _epochs_per_frame(exp: Experiment, frame_seconds: float) -> int:
    """At most this many epochs per frame: even a small budget plays out over PACING.playback_seconds."""
    return max(1, round(exp.cfg.epochs * frame_seconds / PACING.playback_seconds))


def _progress(exp: Experiment) -> tuple[float, str]:
    """The progress bar: the epoch, and while epochs remain the speed and about how long is left."""
    text = f"Epoch {exp.epoch} / {exp.cfg.epochs}"
    trainer = exp.locate(0)[0].trainer  # (a grid: the first row's group, which trains first)
    rate = exp.epochs_per_second  # of training time; a live frame trains for part of its time
    if trainer.batch and (rate is None or rate < 1):  # a slow epoch of many minibatches, under way
        text += f" · minibatch {trainer.batch:,} / {trainer.steps_per_epoch:,} of epoch {exp.epoch + 1}"
    if rate and not exp.done:
        rate = min(rate * PACING.train_share, exp.cfg.epochs / PACING.playback_seconds)
        left = (exp.cfg.epochs - exp.progress) / rate
        text += f" · {rate:.3g} epochs/s · about {fmt.duration(left)} left"
    return min(1.0, exp.progress / exp.cfg.epochs), text


def _stream_frames(exp: Experiment, channel: route.Channel, discretize: bool, show_val: bool, bar) -> None:
    """Train for ``PACING.stream_seconds``, publishing a frame after each chunk, then end this fragment
    run (its timer starts the next one; the curves and the summary run in between).

    ``session()`` reads ``st.session_state``, which is where Streamlit ends a run for a pending
    rerun: a click on Pause, a changed setting or a closed tab stops the loop within one chunk."""
    while not channel.ever_connected and channel.waited() <= PACING.stream_grace:
        # The page is still starting (its chart, which opens the websocket, and plotly.js to load):
        # training now would take the server's time from it. (A pending rerun ends the wait.)
        time.sleep(0.05)
        if not session().playing:
            return
    start = time.monotonic()
    rev = frame_revision(exp, discretize, show_val)
    per_frame = _epochs_per_frame(exp, PACING.stream_frame_seconds)
    seconds = PACING.stream_seconds if channel.loops else PACING.stream_seconds / 2  # the curves sooner
    channel.loops += 1
    for k in range(1, round(seconds / PACING.stream_frame_seconds) + 1):
        s = session()
        if not s.playing:
            return
        _train(s, PACING.stream_train_seconds, per_frame)
        channel.publish(_frame(exp, rev, discretize, show_val))
        if k % PACING.progress_every == 0:
            bar.progress(*_progress(exp))  # one small Streamlit message
        if exp.done:
            s.playing = False
            st.rerun()
        # the rest of the frame's time is the browser's (on a small machine it shares the cores)
        time.sleep(max(0.0, start + k * PACING.stream_frame_seconds - time.monotonic()))


def _frame(exp: Experiment, rev: str, discretize: bool, show_val: bool) -> dict:
    """One live frame: the panels' shading at the live resolution, their titles (new every
    ``PACING.titles_seconds``) and the epoch, for charts.js to swap into the chart."""
    return {
        "rev": rev,
        "epoch": exp.epoch,
        "epochs": exp.cfg.epochs,
        "images": adapters.experiment_shading(
            exp, PACING.live_resolution, discretize=discretize, show_val=show_val
        ),
        "titles": style.panel_titles(_live_titles(exp, True), adapters.panel_colors(exp)),
    }


def frame_revision(exp: Experiment, discretize: bool, show_val: bool) -> str:
    """What a frame's images belong to: this experiment (Reset makes a new one), its shading, and
    the validation points (drawn into the images of a figure with many points)."""
    return f"{exp.uid}-{int(discretize)}-{int(show_val)}"


def _first_paint(exp: Experiment, show_val: bool, discretize: bool, live_now: bool, fig=None) -> None:
    """The session's first page shows the boundaries as plain pictures first (see charts.first_paint)."""
    fig = fig or boundary_figure(exp, show_val, discretize, live_now)
    resolution = PACING.live_resolution if live_now else PACING.full_resolution
    sources = adapters.experiment_picture(exp, resolution, show_val=show_val, discretize=discretize)
    titles, colors = _live_titles(exp, live_now), adapters.panel_colors(exp)
    charts.first_paint(fig, key="boundary", sources=sources, titles=titles, colors=colors)


def _draw_boundaries(
    exp: Experiment, show_val: bool, discretize: bool, live_now: bool, channel: route.Channel | None = None,
    first: bool = False,
) -> None:  # fmt: skip
    fig = boundary_figure(exp, show_val, discretize, live_now)
    if first:  # the picture goes right before the chart
        guarded("The boundary picture", _first_paint, exp, show_val, discretize, live_now, fig)
    stream = None
    if channel is not None and live_now:
        stream = {"path": channel.path, "rev": frame_revision(exp, discretize, show_val), "epoch": exp.epoch}
    drawing = draw.chart_drawing()  # (None unless Draw points is on)
    charts.show(
        fig, key="boundary", uirevision=_view_revision(exp), preview=True, stream=stream, draw=drawing
    )


def _draw_curves(exp: Experiment) -> None:
    fig = curves_figure(
        exp.history(), labels=exp.run_labels, colors=adapters.run_colors(exp), groups=seed_groups(exp),
        stacked=_side_by_side(exp), diverged=exp.diverged_epoch, dashes=adapters.run_dashes(exp),
        rows_note=adapters.rows_note(exp),
    )  # fmt: skip
    charts.show(fig, key="curves", uirevision=_view_revision(exp))


def _view_revision(exp: Experiment) -> str:
    """Zoom, pan and legend clicks on a live chart last until the experiment changes."""
    return f"{hash(exp.cfg)}-{exp.data_token}"


def seed_groups(exp: Experiment) -> list[tuple[str, list[int]]] | None:
    """(activation name, its runs) when there are several seeds (per grid row: "ReLU · lr 0.3"):
    curves show mean and band. Runs are activation-major, then row, then seed."""
    s = exp.cfg.n_seeds
    if s < 2:
        return None
    n_rows = len(exp.cfg.rows)
    return [
        (get_activation(act).name + (f" · {exp.cfg.row_label(r)}" if exp.cfg.vary else ""),
         list(range((a * n_rows + r) * s, (a * n_rows + r + 1) * s)))
        for a, act in enumerate(exp.cfg.activations) for r in range(n_rows)
    ]  # fmt: skip


def _side_by_side(exp: Experiment) -> bool:
    return exp.n_runs <= 4 and not exp.cfg.vary


def boundary_figure(exp: Experiment, show_val: bool, discretize: bool, live: bool):
    """While training live, the shading changes every frame but the titles only every
    ``PACING.titles_seconds``, and misclassified points get their rings once training pauses or ends:
    in between, the browser swaps the shading images alone (~2 ms) instead of redrawing every point
    (~220 ms for 8 panels; see nnviz/ui/charts.js). Rings refreshed at that slower pace would lag the
    boundary they judge."""
    return adapters.experiment_boundary_figure(
        exp, PACING.live_resolution if live else PACING.full_resolution, titles=_live_titles(exp, live),
        predictions=(None, None) if live else None, show_val=show_val, discretize=discretize,
        ncols=2 if _side_by_side(exp) else adapters.grid_columns(exp),
        width=MAIN_WIDTH * 0.58 if _side_by_side(exp) else MAIN_WIDTH, title_colors=adapters.panel_colors(exp),
    )  # fmt: skip


def _live_titles(exp: Experiment, live: bool) -> list[str]:
    """The boundary panels' titles, recomputed at most every ``PACING.titles_seconds`` while live."""
    state = session().live
    cached = state.titles
    stale = cached is None or cached[0] != exp.uid or time.monotonic() - cached[1] >= PACING.titles_seconds
    if not live or stale:
        cached = state.titles = (exp.uid, time.monotonic(), adapters.boundary_titles(exp))
    return cached[2]
