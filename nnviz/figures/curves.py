"""Learning curves: loss (log scale) and accuracy (regression: R²) over epochs, train solid and
validation dashed, one colour per run (or a mean and a band per group of seeds), diverged runs marked.

Plain arrays in, a Plotly figure out (a plain-dict spec, see nnviz/figures/style.py); no Streamlit,
no torch.
"""

from __future__ import annotations

import warnings

import numpy as np
import plotly.graph_objects as go

from nnviz.figures.style import (
    MUTED,
    TEMPLATE_SPEC,
    axes_of,
    build_figure,
    cell_titles,
    f32,
    grid_layout,
    log_axis,
    rgba,
)

MAX_POINTS = 500  # per learning curve
LOSS_CAP = 100.0  # the loss axis ends here: a loss of 1e36 would squash every other curve flat
R2_FLOOR = -1.0  # the R² axis starts here at the lowest: an untrained net's R² of -1e4 would squash the rest
_NOTE = dict(size=11, color=MUTED)


def curves_figure(
    history, *, labels, colors, groups=None, stacked=False, diverged=None, dashes=None, rows_note=None
) -> go.Figure:  # fmt: skip
    """Loss (log scale) and accuracy over epochs: train solid, validation dashed, one colour per run.
    A regression history (``train_r2`` in it) has the MSE and R² instead (see _r2_axis).

    Parameters
    ----------
    history : dict with ``train_loss``, ``train_acc``, ``val_loss``, ``val_acc`` (regression:
        ``train_r2`` and ``val_r2`` for the accuracies), each [E, K] (NaN once a run diverged). Long
        histories are thinned to at most MAX_POINTS epochs per line.
    labels, colors : K run labels and colours.
    groups : optional list of ``(label, run indices)``: draws each group's mean and a mean ± std band
        (geometric for the loss) in the colour of its first run, instead of the single runs.
    diverged : K epochs (or None) at which runs diverged: an ✕ on their loss curve, with a note.
        The loss axis ends at LOSS_CAP; what lies beyond is said in the loss panel's title.
    dashes : K line styles (a grid: one per row, ``rows_note`` saying which is which, e.g. "solid:
        lr 0.003, dashed: lr 0.3"); then train is a thin faint line and validation a thick one.
    """
    # panel 1 (loss) on axes x / y, panel 2 (accuracy or R²) on x2 / y2, 0.1 (side by side) or 0.16 apart
    layout, domains, grid_ref = grid_layout(*((2, 1) if stacked else (1, 2)), hspace=0.1, vspace=0.16)
    metric = "r2" if "train_r2" in history else "acc"
    keys = ("train_loss", "val_loss", f"train_{metric}", f"val_{metric}")
    axes = {"loss": dict(xaxis="x", yaxis="y"), metric: dict(xaxis="x2", yaxis="y2")}
    idx = _decimate(len(history["train_loss"]))
    traces = []
    series_dashes = None
    if dashes is not None:
        series_dashes = list(dashes) if groups is None else [dashes[list(r)[0]] for _, r in groups]
    for s, (label, color, series) in enumerate(_curve_series(history, keys, labels, colors, groups)):
        for key in keys:
            mean, band = series[key]
            new = [] if band is None else _band_traces(idx, band, color, s)
            new.append(_curve_trace(idx, mean, label, color, s, key, series_dashes and series_dashes[s]))
            traces += [dict(t, **axes[key.split("_")[1]]) for t in new]
    for axis in axes_of(layout, "x"):
        axis.update(title=dict(text="epoch", font=dict(size=12)), rangemode="tozero")
    losses = np.concatenate([np.ravel(history["train_loss"]), np.ravel(history["val_loss"])])
    layout["yaxis"].update(log_axis(losses, cap=LOSS_CAP))
    if groups is None and diverged is not None:
        traces += [dict(t, **axes["loss"]) for t in _diverged_marks(history, labels, colors, diverged)]
    over = bool(np.any(np.nan_to_num(losses, nan=0.0) > LOSS_CAP))
    cut = f"; cut at {LOSS_CAP:g}" if over else ""
    loss_title = f"{'MSE' if metric == 'r2' else 'Loss'} (log scale{cut})"
    if metric == "r2":
        metric_axis, metric_title = _r2_axis(history)
    else:
        metric_axis, metric_title = dict(tickformat=".0%", range=[0, 1.02]), "Accuracy"  # no jumps while live
    layout["yaxis2"].update(metric_axis)
    how = "solid: train<br>dashed: validation<br>"
    if dashes is not None:
        how = f"{rows_note or 'line style: row'}<br>thin: train, thick: validation<br>"
    legend = dict(title=dict(text=how, font=_NOTE))
    layout.update(
        annotations=cell_titles((loss_title, metric_title), domains, size=13), template=TEMPLATE_SPEC,
        height=560 if stacked else 340, margin=dict(l=50, r=10, t=30, b=40), hovermode="x unified",
        legend=legend, uirevision="curves",
    )  # fmt: skip
    if stacked:  # a narrow column: the legend goes below, not beside; one "epoch" title at the bottom
        title = dict(text=how.replace("<br>", ", ", 1), font=_NOTE, side="top")
        layout.update(
            legend=dict(orientation="h", y=-0.12, x=0, title=title), margin=dict(l=50, r=10, t=30, b=10)
        )
        del layout["xaxis"]["title"]
    return build_figure(traces, layout, grid_ref)


def _r2_axis(history) -> tuple[dict, str]:
    """The R² axis and its panel's title: up to 1.02, from 0, or from R2_FLOOR once a value went
    below 0 (cut there; the title says so once one went below it). The lower end moves once at most
    while epochs come: no jumps while live."""
    r2 = np.concatenate([np.ravel(history["train_r2"]), np.ravel(history["val_r2"])]).astype(np.float64)
    r2 = r2[np.isfinite(r2)]
    low = float(r2.min()) if r2.size else 0.0
    title = f"R² (cut at {R2_FLOOR:g})" if low < R2_FLOOR else "R²"
    return dict(tickformat=".1f", range=[0.0 if low >= 0 else R2_FLOOR, 1.02]), title


def _diverged_marks(history, labels, colors, diverged) -> list[dict]:
    """An ✕ at the last finite training loss of each diverged run (clipped to LOSS_CAP)."""
    marks = []
    loss = np.asarray(history["train_loss"], dtype=np.float64)
    for k, epoch in enumerate(diverged):
        finite = np.flatnonzero(np.isfinite(loss[:, k]))
        if epoch is None or not finite.size:
            continue
        y = float(min(loss[finite[-1], k], LOSS_CAP))
        marks.append(dict(
            type="scatter", x=[int(epoch)], y=[y], mode="markers+text", text=["diverged"],
            textposition="top center", textfont=dict(size=11, color=colors[k]), showlegend=False,
            marker=dict(symbol="x-thin", size=12, line=dict(width=3, color=colors[k])),
            hovertemplate=f"{labels[k]} diverged at epoch {int(epoch)}<extra></extra>",
        ))  # fmt: skip
    return marks


def _decimate(n: int, max_points: int = MAX_POINTS) -> np.ndarray:
    """Evenly spaced epoch indices ending at the last epoch, at most ``max_points`` of them."""
    step = max(1, -(-n // max_points))
    return np.arange(n - 1, -1, -step)[::-1]


def _curve_series(history, keys, labels, colors, groups) -> list[tuple]:
    """(label, colour, {key: (line [E], band (lo, hi) or None)}) per run, or per group."""
    hist = {key: np.asarray(history[key], dtype=np.float64) for key in keys}
    if groups is None:
        runs = [{key: (h[:, k], None) for key, h in hist.items()} for k in range(len(labels))]
        return list(zip(labels, colors, runs, strict=True))
    bands = [
        {key: _mean_band(h[:, list(r)], log="loss" in key) for key, h in hist.items()} for _, r in groups
    ]
    return [(label, colors[list(runs)[0]], band) for (label, runs), band in zip(groups, bands, strict=True)]


def _mean_band(values: np.ndarray, *, log: bool) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """Mean and (mean - std, mean + std) over runs of ``values [E, n]``, ignoring NaN; in log10 if ``log``."""
    if log:
        values = np.log10(np.where(values > 0, values, np.nan))
    with warnings.catch_warnings():  # epochs where every run diverged give NaN, without a warning
        warnings.simplefilter("ignore", RuntimeWarning)
        mean, std = np.nanmean(values, axis=1), np.nanstd(values, axis=1)
    lo, hi = mean - std, mean + std
    return (10**mean, (10**lo, 10**hi)) if log else (mean, (lo, hi))


def _epochs(idx: np.ndarray) -> dict:
    """Evenly spaced epochs as x0/dx: no x array to send."""
    return dict(x0=int(idx[0]) + 1 if len(idx) else 1, dx=int(idx[1] - idx[0]) if len(idx) > 1 else 1)


def _curve_trace(
    idx: np.ndarray, values: np.ndarray, label: str, color: str, group: int, key: str, dash: str | None = None
) -> dict:  # fmt: skip
    """One curve; with a row's ``dash`` (a grid) train is thin and faint, validation thick."""
    val = key.startswith("val")
    line = dict(color=color, width=2, dash="dash" if val else "solid")
    extra = {}
    if dash is not None:
        line = dict(color=color, width=2.4 if val else 1.2, dash=dash)
        extra = {} if val else dict(opacity=0.45)
    return dict(
        **extra, **_epochs(idx), type="scatter", y=f32(values[idx]), mode="lines",
        name=f"{label} (val)" if val else label,
        legendgroup=str(group), showlegend=key == "train_loss", line=line,
        hovertemplate={"acc": "%{y:.1%}", "r2": "%{y:.3f}"}.get(key.split("_")[1], "%{y:.3g}"),
    )  # fmt: skip


def _band_traces(idx: np.ndarray, band, color: str, group: int) -> list[dict]:
    """A translucent band between two invisible lines (``lo`` fills up to ``hi``), x as x0/dx."""
    common = dict(_epochs(idx), type="scatter", mode="lines", line=dict(width=0), legendgroup=str(group))
    common.update(showlegend=False, hoverinfo="skip")
    lo, hi = (f32(b[idx]) for b in band)
    return [
        dict(common, y=hi),
        dict(common, y=lo, fill="tonexty", fillcolor=rgba(color, 0.15)),
    ]
