"""The Compare tab's controls and tables: Play / Pause / Step / Reset and the view toggles, the summary
with its verdicts, the mean over seeds, and the downloads. (The boundaries and curves: nnviz/ui/live.)"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from nnviz import export
from nnviz.analysis.summary import columns_for, run_label
from nnviz.config import VARY, value_name
from nnviz.experiment import Experiment
from nnviz.figures import report
from nnviz.ui import draw
from nnviz.ui.common import LOG
from nnviz.ui.session import session

STEP_EPOCHS = 10
STEP_SECONDS = 0.25  # a Step trains at most this long: a slow epoch is cut there (Step again goes on)


def play_and_step(exp: Experiment, play, step, prefix: str = "") -> None:
    """The Play / Pause and Step buttons in the containers ``play`` and ``step`` (keys ``prefix`` +
    "play" / "step": every tab that trains has its own pair, since only the open tab runs)."""
    s = session()
    playing = s.playing and not exp.done
    icon = ":material/pause:" if playing else ":material/play_arrow:"
    label = "Pause" if playing else "Play"
    if play.button(label, icon=icon, key=prefix + "play", type="primary", width="stretch"):
        s.train_error = None
        if exp.done and not playing:
            s.restart()
        s.playing = not playing
        st.rerun()
    step_help = f"Train {STEP_EPOCHS} epochs, or for {STEP_SECONDS:g} s when epochs are slow"
    if step.button("Step", icon=":material/skip_next:", key=prefix + "step", help=step_help, width="stretch"):
        s.train_error, s.playing = None, False
        try:
            exp.train_for(STEP_SECONDS, max_epochs=STEP_EPOCHS)
        except Exception as exc:  # noqa: BLE001 - shown to the user, the last results stay
            LOG.exception("training failed")
            s.train_error = f"Training stopped by an error: {exc}"


def render_controls(exp: Experiment) -> tuple[bool, bool]:
    """Play / Pause, Step, Reset (like TF Playground), the view toggles and Draw points (with its
    own controls under these while it is on, nnviz/ui/draw.py); returns the view toggles (Discretize
    output is off, and greyed, for a regression: it has no classes)."""
    s = session()
    cols = st.columns([0.86, 0.84, 0.86, 1.58, 1.58, 1.3], vertical_alignment="center")
    play_and_step(exp, cols[0], cols[1])
    reset_help = "Back to epoch 0 with the same seed"
    if cols[2].button("Reset", icon=":material/restart_alt:", key="reset", help=reset_help, width="stretch"):
        s.train_error, s.playing = None, False
        s.restart()
        st.rerun()
    show_val = cols[3].toggle(
        "Validation points", value=True, key="show_val", help="Triangles; circles are training points."
    )
    regression = exp.is_regression
    discretize_help = "Flat class colours instead of probabilities."
    if regression:
        discretize_help = "Classification only: a regression's values have no classes to flatten to."
    discretize = cols[4].toggle(
        "Discretize output", value=False, key="discretize", help=discretize_help, disabled=regression
    )
    cols[5].toggle(
        "Draw points", value=False, key=draw.TOGGLE_KEY, help="Click the boundaries to add training points."
    )
    draw.render_toolbar(exp)
    return show_val, discretize and not regression


VERDICT_ICONS = {
    "good": ":material/check_circle:", "info": ":material/info:", "warn": ":material/warning:",
    "bad": ":material/error:",
}  # fmt: skip


def render_summary(exp: Experiment) -> None:
    """The summary table (its columns, those of the experiment's task: nnviz.analysis.summary), then
    each run's verdicts in full."""
    if not exp.epoch:
        if session().playing:
            st.caption("Training has started; the table follows with the first epochs.")
        else:
            st.info("Press :material/play_arrow: **Play** or :material/skip_next: **Step** to train.")
        return
    rows = exp.summary()
    labels = [run_label(exp.run_labels[r.run], r) for r in rows]
    table = {"run": labels}
    if exp.cfg.vary:  # a column of the row values, to sort and compare by
        table |= {VARY[exp.cfg.vary][0]: [value_name(exp.cfg.vary, r.value) for r in rows]}
    columns = columns_for(exp.task)
    table |= {c.header: [c.cell(r) for r in rows] for c in columns}
    help_texts = {c.header: st.column_config.TextColumn(help=c.help) for c in columns if c.help}
    st.dataframe(pd.DataFrame(table), hide_index=True, width="stretch", column_config=help_texts)
    st.markdown("**Verdicts** (train = the training points, validation = the held-out ones)")
    for label, r in zip(labels, rows, strict=True):
        findings = " · ".join(f"{VERDICT_ICONS[v.level]} {v.text}" for v in r.verdicts)
        st.markdown(f"**{label}**: {findings}")


SEED_METRICS = (("val acc %", "val_acc", 100), ("val loss", "val_loss", 1), ("F1", "f1", 1))
SEED_METRICS_REGRESSION = (("val R²", "r2", 1), ("val RMSE", "rmse", 1), ("val MSE", "val_loss", 1))


def render_seed_summary(exp: Experiment) -> None:
    """Mean ± std over seeds per activation: run-to-run variation made measurable (for
    classification also the epochs to 90% validation accuracy, which regression has no analogue of)."""
    if not exp.epoch:  # nothing to average before the first epoch has ended
        return
    rows = exp.summary()
    s = exp.cfg.n_seeds
    table = []
    metrics = SEED_METRICS_REGRESSION if exp.is_regression else SEED_METRICS
    for g in range(len(rows) // s):  # runs are activation-major, then row, then seed
        mine = rows[g * s : (g + 1) * s]
        entry = {"activation": mine[0].name}
        if exp.cfg.vary:
            entry[VARY[exp.cfg.vary][0]] = value_name(exp.cfg.vary, mine[0].value)
        for name, field, scale in metrics:
            values = np.array([getattr(r, field) for r in mine], dtype=float) * scale
            entry[name] = f"{np.nanmean(values):.3g} ± {np.nanstd(values):.2g}"
        if not exp.is_regression:
            reach = [r.epochs_to_90 for r in mine if r.epochs_to_90 is not None]
            entry["epochs to 90%"] = f"{np.mean(reach):.0f} ± {np.std(reach):.0f}" if reach else "–"
            entry["reached 90%"] = f"{len(reach)}/{s} seeds"
        table.append(entry)
    st.markdown(f"**Mean ± std over {s} seeds**")
    st.dataframe(pd.DataFrame(table), hide_index=True, width="stretch")


def render_exports(exp: Experiment) -> None:
    """Downloads; each file is generated only when its button is clicked."""
    # read now: a deferred download runs outside the script run, without the session state
    preset = session().active_preset()
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
    exp = exp.locate(0)[0]  # a grid: its first row's data (every row's but for noise or dataset grids)
    X = np.concatenate([exp.data_xy("train")[0], exp.data_xy("val")[0]])
    y = np.concatenate([exp.split.y_train, exp.split.y_val])
    return export.dataset_csv(X, y)
