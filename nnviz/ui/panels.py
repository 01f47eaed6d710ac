"""The main area: controls, the live comparison (a fragment), the summary, diagnostics and the zoo."""

from __future__ import annotations

import logging
import time

import numpy as np
import pandas as pd
import streamlit as st

from nnviz import export, fmt, plots, report
from nnviz.activations import get_activation
from nnviz.experiment import Experiment
from nnviz.plots_gradients import gradient_depth_figure
from nnviz.ui import charts, live, state

LOG = logging.getLogger("nnviz")
FRAME_SECONDS = 0.18  # without the live websocket: a fragment run per frame, ~5 a second at best
STREAM_SECONDS = 1.2  # with it: each run of the boundaries fragment streams frames for this long
RESTART_SECONDS = 0.1  # and the next run starts this soon after (once the curves and summary ran)
STREAM_GRACE = 10.0  # the page has this long to open the websocket; else frames go through Streamlit
SLOW_SECONDS = 1.0  # live refresh of the curves and the summary
TITLES_SECONDS = 2.0  # live refresh of the boundary panels' titles (their validation accuracy)
TRAIN_SECONDS = 0.06  # without the websocket: training per frame at most; the rest of the run draws
STREAM_FRAME_SECONDS = 0.1  # with the websocket: a frame every 0.1 s (trains 0.05 s, draws ~0.03 s)
STREAM_TRAIN_SECONDS = 0.05
PROGRESS_EVERY = 3  # frames per update of the epoch counter while streaming
PLAYBACK_SECONDS = 7.0  # either way, the whole epoch budget plays out over at least this long
LIVE_RESOLUTION = 80  # boundary grid while training live (a ~4.5 KB PNG a panel, upsampled to 240 px)
FULL_RESOLUTION = 160  # when paused or finished
STEP_EPOCHS = 10
MAIN_WIDTH = 880  # px of the main column at 1280 px with the sidebar open: figure heights follow it
SUMMARY_SHOWN = "summary_shown"  # the session's first page defers the summary table by one tick
LIVE_TITLES = "boundary_live_titles"  # (experiment, time, titles) while training live
CHANNEL = "live_channel"  # the session's live.Channel
FIRST_PAINT = "first_paint_done"  # the session's first page got the boundaries as plain pictures
STREAM_OFF = "live_stream_off"  # set when the page never opened the live websocket

PAGE_CSS = """<style>
.block-container { padding-top: 2.2rem; padding-bottom: 2rem; }
</style>"""


def guarded(part: str, render, *args) -> None:
    """Draw one part of the page; if it fails, say so there and let the rest of the page draw.

    Streamlit's own control flow (st.rerun, st.stop) uses BaseException and passes through.
    """
    try:
        render(*args)
    except Exception as exc:  # noqa: BLE001 - the UI boundary: show, log, carry on
        LOG.exception("%s failed", part)
        st.error(f"{part} could not be shown: {exc}")


def render_controls(exp: Experiment) -> tuple[bool, bool]:
    """Play / Pause, Step, Reset (like TF Playground) and the view toggles; returns the toggles."""
    cols = st.columns([1, 1, 1, 1.6, 1.6], vertical_alignment="center")
    playing = state.playing() and not exp.done
    icon = ":material/pause:" if playing else ":material/play_arrow:"
    if cols[0].button("Pause" if playing else "Play", icon=icon, key="play", type="primary", width="stretch"):
        st.session_state.pop(state.TRAIN_ERROR, None)
        if exp.done and not playing:
            state.reset()
        state.set_playing(not playing)
        st.rerun()
    step_help = f"Train {STEP_EPOCHS} epochs"
    if cols[1].button("Step", icon=":material/skip_next:", key="step", help=step_help, width="stretch"):
        st.session_state.pop(state.TRAIN_ERROR, None)
        state.set_playing(False)
        try:
            exp.step(STEP_EPOCHS)
        except Exception as exc:  # noqa: BLE001 - shown to the user, the last results stay
            LOG.exception("training failed")
            st.session_state[state.TRAIN_ERROR] = f"Training stopped by an error: {exc}"
    reset_help = "Back to epoch 0 with the same seed"
    if cols[2].button("Reset", icon=":material/restart_alt:", key="reset", help=reset_help, width="stretch"):
        st.session_state.pop(state.TRAIN_ERROR, None)
        state.set_playing(False)
        state.reset()
        st.rerun()
    show_val = cols[3].toggle(
        "Validation points", value=True, key="show_val", help="Triangles; circles are training points."
    )
    discretize = cols[4].toggle(
        "Discretize output",
        value=False,
        key="discretize",
        help="Flat class colours instead of probabilities.",
    )
    return show_val, discretize


def render_live(exp: Experiment, show_val: bool, discretize: bool) -> None:
    """The parts that update while training, as fragments re-run on a timer while playing: the
    boundaries (which also train), the curves and the summary (every SLOW_SECONDS).

    Every fragment run costs the browser's main thread Streamlit's own bookkeeping besides the
    drawing. So when the page has the live websocket (nnviz/ui/live.py), one run of the boundaries
    fragment trains for STREAM_SECONDS and streams a frame after each chunk of epochs through it,
    and the chart, which the frames update, is drawn by full runs only (Play, Pause, a setting);
    without the websocket, each run of the fragment is one frame (FRAME_SECONDS apart)."""
    live_now = state.playing() and not exp.done
    channel = _stream_channel()
    left, right = st.columns([3, 2]) if _side_by_side(exp) else (st.container(), st.container())
    inline = [True]  # the fragment's first call is part of the full page run: that one never loops

    @st.fragment(run_every=(RESTART_SECONDS if channel else FRAME_SECONDS) if live_now else None)
    def boundaries() -> None:
        current: Experiment = st.session_state[state.EXPERIMENT]
        training = state.playing() and not current.done
        if channel is not None and _stream_channel() is None:
            st.rerun()  # the page never opened the websocket: back to a fragment run per frame
        stream = channel is not None and training and not inline[0]
        inline[0] = False
        if stream:
            channel.offered()  # a timer rerun: the page has the chart, which opens the websocket
        if training and channel is None:  # (with the websocket, training is in the streaming loop)
            _train(current, TRAIN_SECONDS, _epochs_per_frame(current, FRAME_SECONDS))
        if training and current.done:
            state.set_playing(False)
            st.rerun()  # full rerun: stop the timers, redraw everything at full resolution
        if st.session_state.get(state.TRAIN_ERROR):
            st.error(st.session_state[state.TRAIN_ERROR])
        bar = st.progress(*_progress(current))
        if channel is None:
            guarded("The boundaries", _draw_boundaries, current, show_val, discretize, training)
        elif stream:
            _stream_frames(current, channel, discretize, bar)

    @st.fragment(run_every=SLOW_SECONDS if live_now else None)
    def curves() -> None:
        guarded("The curves", _draw_curves, st.session_state[state.EXPERIMENT])

    @st.fragment(run_every=SLOW_SECONDS if live_now else None)
    def summary() -> None:
        current: Experiment = st.session_state[state.EXPERIMENT]
        st.subheader("Summary")
        if live_now and not st.session_state.get(SUMMARY_SHOWN):
            # A session's first page: the table (and the browser's table component, a large script)
            # waits for the first timer tick, so that the boundaries are on screen sooner.
            st.session_state[SUMMARY_SHOWN] = True
            st.caption("The table follows in a second.")
            return
        guarded("The summary", render_summary, current)
        if current.cfg.n_seeds > 1:
            guarded("The seed summary", render_seed_summary, current)

    first = not st.session_state.get(FIRST_PAINT)
    st.session_state[FIRST_PAINT] = True
    with left:
        if first and channel is None:  # (the chart is in the fragment, below its progress bar)
            guarded("The boundary picture", _first_paint, exp, show_val, discretize, live_now)
        boundaries()
        if channel is not None:  # frames update the chart: only full runs draw it, so outside the fragment
            exp = st.session_state[state.EXPERIMENT]
            live_now = state.playing() and not exp.done
            guarded("The boundaries", _draw_boundaries, exp, show_val, discretize, live_now, channel, first)
    with right:
        curves()
    summary()


def _stream_channel() -> live.Channel | None:
    """The session's live channel, or None when frames go through Streamlit: no websocket route
    (``streamlit run app.py``, AppTest), or the page has not connected to it STREAM_GRACE s after
    the first streaming run (its timer's request shows that the page has the chart by then)."""
    if not live.served() or st.session_state.get(STREAM_OFF):
        return None
    channel = st.session_state.get(CHANNEL)
    if channel is None:
        channel = st.session_state[CHANNEL] = live.Channel()
    elif not channel.ever_connected and channel.waited() > STREAM_GRACE:
        LOG.warning("the page has not opened the live websocket: frames go through Streamlit")
        st.session_state[STREAM_OFF] = True
        return None
    return channel


def _train(exp: Experiment, seconds: float, max_epochs: int) -> None:
    """Train a frame's chunk; if that fails, stop playing and say why (the last results stay)."""
    try:
        state.train_for(exp, seconds, max_epochs=max_epochs)
    except Exception as exc:  # noqa: BLE001 - shown to the user
        LOG.exception("training failed")
        state.set_playing(False)
        st.session_state[state.TRAIN_ERROR] = f"Training stopped by an error: {exc}"
        st.rerun()  # full rerun: stop the timers


def _epochs_per_frame(exp: Experiment, frame_seconds: float) -> int:
    """At most this many epochs per frame: even a small budget plays out over PLAYBACK_SECONDS."""
    return max(1, round(exp.cfg.epochs * frame_seconds / PLAYBACK_SECONDS))


def _progress(exp: Experiment) -> tuple[float, str]:
    """The progress bar: the epoch, and while epochs remain the speed and the training time left."""
    text = f"Epoch {exp.epoch} / {exp.cfg.epochs}"
    rate = exp.epochs_per_second  # of training time; a live frame trains for about half its time
    if rate and not exp.done:
        rate = min(rate * STREAM_TRAIN_SECONDS / STREAM_FRAME_SECONDS, exp.cfg.epochs / PLAYBACK_SECONDS)
        left = (exp.cfg.epochs - exp.epoch) / rate
        text += f" · {rate:.3g} epochs/s · about {fmt.duration(left)} left"
    return exp.epoch / exp.cfg.epochs, text


def _stream_frames(exp: Experiment, channel: live.Channel, discretize: bool, bar) -> None:
    """Train for STREAM_SECONDS, publishing a frame after each chunk, then end this fragment run (its
    timer starts the next one; the curves and the summary run in between).

    Reading ``st.session_state`` is where Streamlit ends a run for a pending rerun: a click on Pause,
    a changed setting or a closed tab stops the loop within one chunk."""
    while not channel.ever_connected and channel.waited() <= STREAM_GRACE:
        # The page is still starting (its chart, which opens the websocket, and plotly.js to load):
        # training now would take the server's time from it. (A pending rerun ends the wait.)
        time.sleep(0.05)
        if not st.session_state.get(state.PLAYING):
            return
    start = time.monotonic()
    rev = _frame_revision(exp, discretize)
    per_frame = _epochs_per_frame(exp, STREAM_FRAME_SECONDS)
    seconds = STREAM_SECONDS if channel.loops else STREAM_SECONDS / 2  # the curves' first data sooner
    channel.loops += 1
    for k in range(1, round(seconds / STREAM_FRAME_SECONDS) + 1):
        if not st.session_state.get(state.PLAYING):
            return
        _train(exp, STREAM_TRAIN_SECONDS, per_frame)
        channel.publish(_frame(exp, rev, discretize))
        if k % PROGRESS_EVERY == 0:
            bar.progress(*_progress(exp))  # one small Streamlit message
        if exp.done:
            state.set_playing(False)
            st.rerun()
        # the rest of the frame's time is the browser's (on a small machine it shares the cores)
        time.sleep(max(0.0, start + k * STREAM_FRAME_SECONDS - time.monotonic()))


def _frame(exp: Experiment, rev: str, discretize: bool) -> dict:
    """One live frame: the panels' shading at LIVE_RESOLUTION, their titles (new every
    TITLES_SECONDS) and the epoch, for charts.js to swap into the chart drawn by _draw_boundaries."""
    return {
        "rev": rev,
        "epoch": exp.epoch,
        "epochs": exp.cfg.epochs,
        "images": report.experiment_shading(exp, LIVE_RESOLUTION, discretize=discretize),
        "titles": plots.panel_titles(_live_titles(exp, True), run_colors(exp)),
    }


def _frame_revision(exp: Experiment, discretize: bool) -> str:
    """What a frame's images belong to: this experiment object (Reset makes a new one) and shading."""
    return f"{id(exp):x}-{int(discretize)}"


def _first_paint(exp: Experiment, show_val: bool, discretize: bool, live_now: bool, fig=None) -> None:
    """The session's first page shows the boundaries as plain pictures first (see charts.first_paint)."""
    fig = fig or boundary_figure(exp, show_val, discretize, live_now)
    resolution = LIVE_RESOLUTION if live_now else FULL_RESOLUTION
    sources = report.experiment_picture(exp, resolution, show_val=show_val, discretize=discretize)
    titles, colors = _live_titles(exp, live_now), run_colors(exp)
    charts.first_paint(fig, key="boundary", sources=sources, titles=titles, colors=colors)


def _draw_boundaries(
    exp: Experiment, show_val: bool, discretize: bool, live_now: bool, channel: live.Channel | None = None,
    first: bool = False,
) -> None:  # fmt: skip
    fig = boundary_figure(exp, show_val, discretize, live_now)
    if first:  # the picture goes right before the chart
        guarded("The boundary picture", _first_paint, exp, show_val, discretize, live_now, fig)
    stream = None
    if channel is not None and live_now:
        stream = {"path": channel.path, "rev": _frame_revision(exp, discretize), "epoch": exp.epoch}
    charts.show(fig, key="boundary", uirevision=_view_revision(exp), preview=True, stream=stream)


def _draw_curves(exp: Experiment) -> None:
    fig = plots.curves_figure(
        exp.trainer.history(), labels=exp.run_labels, colors=run_colors(exp), groups=seed_groups(exp),
        stacked=_side_by_side(exp), diverged=exp.trainer.diverged_epoch,
    )  # fmt: skip
    charts.show(fig, key="curves", uirevision=_view_revision(exp))


def _view_revision(exp: Experiment) -> str:
    """Zoom, pan and legend clicks on a live chart last until the experiment changes."""
    return f"{hash(exp.cfg)}-{exp.data_token}"


def run_colors(exp: Experiment) -> list[str]:
    """One colour per activation (all seeds of an activation share it), the same in every view."""
    return report.run_colors(exp)


def seed_groups(exp: Experiment) -> list[tuple[str, list[int]]] | None:
    """(activation name, its runs) when there are several seeds: curves show mean and band."""
    s = exp.cfg.n_seeds
    if s < 2:
        return None
    return [
        (get_activation(act).name, list(range(a * s, (a + 1) * s)))
        for a, act in enumerate(exp.cfg.activations)
    ]


def _side_by_side(exp: Experiment) -> bool:
    return exp.trainer.n_runs <= 4


def boundary_figure(exp: Experiment, show_val: bool, discretize: bool, live: bool):
    """While training live, the shading changes every frame but the titles only every TITLES_SECONDS,
    and misclassified points get their rings once training pauses or ends: in between, the browser
    swaps the shading images alone (~2 ms) instead of redrawing every point (~220 ms for 8 panels;
    see nnviz/ui/charts.js). Rings refreshed at that slower pace would lag the boundary they judge."""
    return report.experiment_boundary_figure(
        exp, LIVE_RESOLUTION if live else FULL_RESOLUTION, titles=_live_titles(exp, live),
        predictions=(None, None) if live else None, show_val=show_val, discretize=discretize,
        ncols=2 if _side_by_side(exp) else 4, width=MAIN_WIDTH * 0.58 if _side_by_side(exp) else MAIN_WIDTH,
        title_colors=run_colors(exp),
    )  # fmt: skip


def _live_titles(exp: Experiment, live: bool) -> list[str]:
    """The boundary panels' titles, recomputed at most every TITLES_SECONDS while training live."""
    cached = st.session_state.get(LIVE_TITLES)
    if not live or cached is None or cached[0] is not exp or time.monotonic() - cached[1] >= TITLES_SECONDS:
        cached = (exp, time.monotonic(), report.boundary_titles(exp))
        st.session_state[LIVE_TITLES] = cached
    return cached[2]


VERDICT_ICONS = {
    "good": ":material/check_circle:", "info": ":material/info:", "warn": ":material/warning:",
    "bad": ":material/error:",
}  # fmt: skip


def render_summary(exp: Experiment) -> None:
    """The summary table (numbers formatted for people), then each run's verdicts in full."""
    if not exp.epoch:
        if state.playing():
            st.caption("Training has started; the table follows with the first epochs.")
        else:
            st.info("Press :material/play_arrow: **Play** or :material/skip_next: **Step** to train.")
        return
    rows = exp.summary()
    labels = [_row_label(exp, r) for r in rows]
    frame = pd.DataFrame(
        {
            "run": labels,
            "train loss": [fmt.loss(r.train_loss) for r in rows],
            "val loss": [fmt.loss(r.val_loss) for r in rows],
            "train acc": [fmt.pct(r.train_acc) for r in rows],
            "val acc": [fmt.pct(r.val_acc) for r in rows],
            "precision": [f"{r.precision:.3f}" for r in rows],
            "recall": [f"{r.recall:.3f}" for r in rows],
            "F1": [f"{r.f1:.3f}" for r in rows],
            "epochs to 90%": [fmt.epochs_to(r.epochs_to_90, r.held_90) for r in rows],
            "dead units": [fmt.pct(r.dead_pct / 100, 0) for r in rows],
        }
    )
    st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        column_config={
            "train loss": st.column_config.TextColumn(
                help="Training loss (cross-entropy unless set to MSE)."
            ),
            "val loss": st.column_config.TextColumn(help="Loss on the held-out validation points."),
            "epochs to 90%": st.column_config.TextColumn(
                help="The first epoch at which validation accuracy reached 90%; "
                "'then fell back' when it is below 90% now."
            ),
            "dead units": st.column_config.TextColumn(
                help="Hidden units whose output is 0 on every training point (no gradient reaches them). "
                "A dash for saturating activations (sigmoid, tanh, softsign): their zero outputs are "
                "saturation, shown in Diagnostics."
            ),
        },
    )
    st.markdown("**Verdicts** (train = the training points, validation = the held-out ones)")
    for label, r in zip(labels, rows, strict=True):
        findings = " · ".join(f"{VERDICT_ICONS[v.level]} {v.text}" for v in r.verdicts)
        st.markdown(f"**{label}**: {findings}")


def _row_label(exp: Experiment, row) -> str:
    label = exp.run_labels[row.run]
    return label if row.diverged_epoch is None else f"{label} ✕ diverged"


def render_seed_summary(exp: Experiment) -> None:
    """Mean ± std over seeds per activation: run-to-run variation made measurable."""
    rows = exp.summary()
    s = exp.cfg.n_seeds
    table = []
    for a, _act in enumerate(exp.cfg.activations):
        mine = rows[a * s : (a + 1) * s]
        entry = {"activation": mine[0].name}
        for name, field, scale in (
            ("val acc %", "val_acc", 100),
            ("val loss", "val_loss", 1),
            ("F1", "f1", 1),
        ):
            values = np.array([getattr(r, field) for r in mine], dtype=float) * scale
            entry[name] = f"{np.nanmean(values):.3g} ± {np.nanstd(values):.2g}"
        reach = [r.epochs_to_90 for r in mine if r.epochs_to_90 is not None]
        entry["epochs to 90%"] = f"{np.mean(reach):.0f} ± {np.std(reach):.0f}" if reach else "–"
        entry["reached 90%"] = f"{len(reach)}/{s} seeds"
        table.append(entry)
    st.markdown(f"**Mean ± std over {s} seeds**")
    st.dataframe(pd.DataFrame(table), hide_index=True, width="stretch")


def render_exports(exp: Experiment) -> None:
    """Downloads; each file is generated only when its button is clicked."""
    from nnviz.ui import sidebar  # here, not at the top: no import cycle

    # read now: a deferred download runs outside the script run, without the session state
    preset = sidebar.active_preset(exp.cfg)
    files = [
        ("Histories CSV", lambda: export.histories_csv(exp), "nnviz-histories.csv", "text/csv"),
        ("Summary CSV", lambda: export.summary_csv(exp), "nnviz-summary.csv", "text/csv"),
        ("Config JSON", lambda: export.config_json(exp.cfg), "nnviz-config.json", "application/json"),
        (
            "Weights (torch)",
            lambda: export.weights_bytes(exp),
            "nnviz-weights.pt",
            "application/octet-stream",
        ),
        ("HTML report", lambda: report.build_report(exp, preset=preset), "nnviz-report.html", "text/html"),
        ("Dataset CSV", lambda: _dataset_csv(exp), "nnviz-data.csv", "text/csv"),
    ]
    cols = st.columns(len(files))
    for col, (label, data, name, mime) in zip(cols, files, strict=False):
        col.download_button(
            label, data, file_name=name, mime=mime, on_click="ignore", key=f"dl_{name}", width="stretch"
        )
    st.caption(
        "Weights load into a plain torch module: `nnviz.export.load_run_model(torch.load(f, weights_only=False), run)`. "
        "`python -m nnviz run --config nnviz-config.json` reruns this experiment headless with the same numbers."
    )


def _dataset_csv(exp: Experiment) -> str:
    X = np.concatenate([exp.data_xy("train")[0], exp.data_xy("val")[0]])
    y = np.concatenate([exp.split.y_train, exp.split.y_val])
    return export.dataset_csv(X, y)


def render_diagnostics(exp: Experiment) -> None:
    colors = run_colors(exp)
    for k, epoch in enumerate(exp.trainer.diverged_epoch):
        if epoch is not None:
            st.error(f"{exp.run_labels[k]} diverged at epoch {epoch} (loss became NaN/inf) and was frozen.")
    if not exp.epoch:
        st.info("Train first: diagnostics are recorded while training.")
        return
    grads = exp.trainer.diagnostics.arrays()
    if len(grads["epochs"]):
        st.subheader("Gradient norm by layer")
        st.caption(
            "One line per run: each weight layer's gradient norm, layer 1 to the output, log scale (faint: at "
            "the start). Every decade lower at layer 1 is 10× less gradient reaching it: vanishing gradients."
        )
        first, last = grads["grad_norm"][0], grads["grad_norm"][-1]
        epochs = (int(grads["epochs"][0]), int(grads["epochs"][-1]))
        fig = gradient_depth_figure(first, last, labels=exp.run_labels, colors=colors, epochs=epochs)
        charts.show(fig, key="gradient_depth")
    st.subheader("Confusion matrices (validation)")
    charts.show(plots.confusion_figure(exp.confusion("val"), titles=exp.run_labels), key="confusion")
    st.subheader("Inside the networks")
    st.caption(
        "Dead: a unit whose output is 0 on every training point. Saturated (sigmoid, tanh, softsign): "
        "f'(z) below 5% of f'(0) on 90% of points. Gradient norm: per weight matrix, log scale."
    )
    diag = exp.trainer.diagnostics.arrays()
    charts.show(plots.diagnostics_figure(diag, labels=exp.run_labels, colors=colors), key="diagnostics")
