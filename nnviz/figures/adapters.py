"""From an Experiment to the figures: the arguments the figure functions take (the boundary grid
and data, titles, which panels are greyed and why, each run's colour), for the live page
(nnviz/ui) and the HTML report (nnviz/figures/report.py) alike.

The figure functions are called through their modules (boundary.boundary_figure, ...), so that a
test can replace one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from nnviz.analysis.boundary import quantize
from nnviz.figures import boundary, curves, diagnostics, raster, style

if TYPE_CHECKING:
    from nnviz.experiment import Experiment

REPORT_RESOLUTION = 120  # the boundary grid of the HTML report's panels


def run_colors(exp: Experiment) -> list[str]:
    """Each run's colour: its activation's, in every view (all seeds of an activation share it)."""
    return [style.activation_color(act) for act, _ in exp.trainer.runs]


def boundary_titles(exp: Experiment) -> list[str]:
    """Each run's label and its latest validation accuracy, "untrained" before the first step, "in
    epoch 1" until the first epoch ends, and "diverged at epoch N" once it diverged."""
    hist = exp.trainer.history()["val_acc"]
    titles = []
    for k, label in enumerate(exp.run_labels):
        diverged = exp.trainer.diverged_epoch[k]
        if diverged is not None:
            titles.append(f"{label} · diverged at epoch {diverged}")
        elif not len(hist) and exp.trainer.batch:  # inside the first epoch: the weights have moved
            titles.append(f"{label} · in epoch 1")
        elif not len(hist) or not np.isfinite(hist[-1, k]):
            titles.append(f"{label} · untrained")
        else:
            titles.append(f"{label} · val {hist[-1, k]:.0%}")
    return titles


FLAT_MARGIN = 0.05  # a panel whose top class probability stays within this of 1/C everywhere is "flat"


def panel_states(exp: Experiment, probs: np.ndarray) -> tuple[list[bool], list[str | None]]:
    """Which panels to grey out (diverged runs: their frozen weights mean nothing) and each panel's
    note: why it is grey, or that its outputs sit near 1/C everywhere (else the panel is blank white).
    ``probs``: [K, R, R, C] on the panel grid."""
    top = np.nan_to_num(np.asarray(probs, dtype=np.float32), nan=0.0).max(-1).max(axis=(1, 2))
    c = probs.shape[-1]
    muted, notes = [], []
    for k, epoch in enumerate(exp.trainer.diverged_epoch):
        muted.append(epoch is not None)
        if epoch is not None:
            notes.append(f"diverged at epoch {epoch}:<br>weights frozen, boundary meaningless")
        elif exp.epoch and top[k] < 1 / c + FLAT_MARGIN:
            share = "50%" if c == 2 else f"{1 / c:.0%} for every class"
            notes.append(
                f"outputs within {FLAT_MARGIN:.0%} of {share} everywhere:<br>the line is barely decided"
            )
        else:
            notes.append(None)
    return muted, notes


def experiment_boundary_figure(exp: Experiment, resolution: int, *, titles=None, predictions=None, **kw):
    """The experiment's decision boundaries (on the page and in the report): the grid at
    ``resolution``, the data, ``titles`` (default: boundary_titles) and rings on the points that
    ``predictions`` ((train, val) predicted classes, default: the current ones; (None, None): no
    rings) get wrong.
    ``kw``: the rest of boundary.boundary_figure's keywords."""
    grid, probs = exp.boundary(resolution)
    X_train, y_train = exp.data_xy("train")
    X_val, y_val = exp.data_xy("val")
    pred_train, pred_val = predictions or (exp.predictions("train"), exp.predictions("val"))
    muted, notes = panel_states(exp, probs)
    show_val = kw.get("show_val", True)
    n_points = len(X_train) + show_val * len(X_val)
    if pred_train is None and pred_val is None and style.points_as_pixels(len(probs), n_points):
        kw["pictures"] = experiment_picture(
            exp, resolution, show_val=show_val, discretize=kw.get("discretize", False)
        )
    return boundary.boundary_figure(
        grid.xs, grid.ys, quantize(probs), titles=titles or boundary_titles(exp), X_train=X_train,
        y_train=y_train, X_val=X_val, y_val=y_val, pred_train=pred_train, pred_val=pred_val,
        n_classes=exp.split.n_classes, muted=muted, notes=notes, **kw,
    )  # fmt: skip


def experiment_shading(
    exp: Experiment, resolution: int, *, discretize: bool = False, show_val: bool = True
) -> list[str]:
    """The PNG data URIs of the boundary panels' shading, as experiment_boundary_figure draws them
    without rings (with the data drawn in when it draws them so: style.points_as_pixels)."""
    if style.points_as_pixels(exp.trainer.n_runs, len(exp.split.X_train) + show_val * len(exp.split.X_val)):
        return experiment_picture(exp, resolution, show_val=show_val, discretize=discretize)
    grid, probs = exp.boundary(resolution)
    muted = [epoch is not None for epoch in exp.trainer.diverged_epoch]
    images = boundary.shading_images(
        quantize(probs), grid.xs, grid.ys, exp.split.n_classes, discretize, muted
    )
    return [image["source"] for image in images]


def experiment_picture(exp: Experiment, resolution: int, *, show_val: bool = True, discretize: bool = False):
    """The boundary panels as plain pictures (PNG data URIs: shading and data, no rings), as
    experiment_boundary_figure draws them, for a page's first paint."""

    def compute():
        grid, probs = exp.boundary(resolution)
        X_train, y_train = exp.data_xy("train")
        X_val, y_val = exp.data_xy("val")
        return raster.picture_panels(
            grid.xs, grid.ys, quantize(probs), X_train=X_train, y_train=y_train, X_val=X_val, y_val=y_val,
            n_classes=exp.split.n_classes, show_val=show_val, discretize=discretize,
            muted=[epoch is not None for epoch in exp.trainer.diverged_epoch],
        )  # fmt: skip

    return exp.cached(("picture", resolution, show_val, discretize), compute)


def report_figures(exp: Experiment) -> list[tuple[str, object]]:
    """(heading, figure) pairs: boundaries, curves, confusion matrices, diagnostics."""
    colors = run_colors(exp)
    panels = experiment_boundary_figure(
        exp, REPORT_RESOLUTION, ncols=min(4, exp.trainer.n_runs), title_colors=colors
    )
    return [
        ("Decision boundaries", panels),
        (
            "Loss and accuracy",
            curves.curves_figure(
                exp.trainer.history(),
                labels=exp.run_labels,
                colors=colors,
                diverged=exp.trainer.diverged_epoch,
            ),
        ),
        (
            "Confusion matrices (validation)",
            diagnostics.confusion_figure(exp.confusion("val"), titles=exp.run_labels),
        ),
        (
            "Diagnostics",
            diagnostics.diagnostics_figure(
                exp.trainer.diagnostics.arrays(), labels=exp.run_labels, colors=colors
            ),
        ),
    ]
