"""From an Experiment to the figures: the arguments the figure functions take (the boundary grid
and data, titles, which panels are greyed and why, each run's colour), for the live page
(nnviz/ui) and the HTML report (nnviz/figures/report.py) alike.

The figure functions are called through their modules (boundary.boundary_figure, ...), so that a
test can replace one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from nnviz import fmt
from nnviz.analysis.boundary import quantize
from nnviz.figures import boundary, curves, diagnostics, raster, style

if TYPE_CHECKING:
    from nnviz.experiment import Experiment, Row

REPORT_RESOLUTION = 120  # the boundary grid of the HTML report's panels


def run_colors(exp: Experiment) -> list[str]:
    """Each run's colour: its activation's, in every view (all seeds of an activation share it)."""
    return [style.activation_color(act) for act, _ in exp.runs]


def panels(exp: Experiment) -> list[tuple[Row, int]]:
    """The boundary panels in order: (row of the grid, run index in ``row.experiment``), row by row
    (for an experiment without a grid: its runs in order)."""
    return [(row, k) for row in exp.rows for k in row.runs]


def panel_colors(exp: Experiment) -> list[str]:
    """Each boundary panel's colour (its activation's), in panel order."""
    return [style.activation_color(row.experiment.runs[k][0]) for row, k in panels(exp)]


def run_titles(exp: Experiment, short: bool = False) -> list[str]:
    """Each run's label (``short``: its name alone, for a grid's panels) and its latest validation
    accuracy (regression: validation R²), "untrained" before the first step, "in epoch 1" until the
    first epoch ends, and "diverged at epoch N" once it diverged; in run order of ``exp`` (an
    Experiment: one group)."""
    hist = exp.trainer.history()["val_r2" if exp.is_regression else "val_acc"]
    titles = []
    for k, label in enumerate(exp.run_names if short else exp.run_labels):
        diverged = exp.trainer.diverged_epoch[k]
        if diverged is not None:
            titles.append(f"{label} · diverged at epoch {diverged}")
        elif not len(hist) and exp.trainer.batch:  # inside the first epoch: the weights have moved
            titles.append(f"{label} · in epoch 1")
        elif not len(hist) or not np.isfinite(hist[-1, k]):
            titles.append(f"{label} · untrained")
        elif exp.is_regression:
            titles.append(f"{label} · val R² {fmt.r2(hist[-1, k])}")
        else:
            titles.append(f"{label} · val {hist[-1, k]:.0%}")
    return titles


def boundary_titles(exp: Experiment) -> list[str]:
    """The boundary panels' titles (run_titles), in panel order; in a grid, whose row headers name
    the rows, a title names the activation (and seed) alone."""
    per_row = {id(row.experiment): run_titles(row.experiment, bool(exp.cfg.vary)) for row in exp.rows}
    return [per_row[id(row.experiment)][k] for row, k in panels(exp)]


FLAT_MARGIN = 0.05  # a panel whose top class probability stays within this of 1/C everywhere is "flat"
FLAT_SPREAD = 0.05  # regression: a panel whose values span less than this share of the scale is "flat"


def value_range(exp: Experiment) -> tuple[float, float]:
    """Regression: the range of the value colour scale, for every panel, point and frame of ``exp``:
    its targets' (every row's, train and validation), symmetric about 0 when they lie on both sides
    of it in earnest (white is then 0), else their min to max (white their middle)."""
    y = np.concatenate([np.r_[row.experiment.split.y_train, row.experiment.split.y_val] for row in exp.rows])
    y = y[np.isfinite(y)].astype(np.float64)
    lo, hi = (float(y.min()), float(y.max())) if len(y) else (-1.0, 1.0)
    if lo < 0 < hi and min(-lo, hi) >= 0.25 * max(-lo, hi):
        lo, hi = -max(-lo, hi), max(-lo, hi)
    if hi - lo < 1e-9:  # every target the same: a scale around it
        lo, hi = lo - 1.0, hi + 1.0
    return lo, hi


def panel_states(
    exp: Experiment, probs: np.ndarray, runs=None, span: float | None = None
) -> tuple[list[bool], list[str | None]]:
    """Which panels to grey out (diverged runs: their frozen weights mean nothing) and each panel's
    note: why it is grey, or that its outputs sit near 1/C everywhere (else the panel is blank white).
    ``probs``: [k, R, R, C] on the panel grid, of ``runs`` (run indices of ``exp``, default all).
    Regression: ``probs`` are the [k, R, R] values and ``span`` the width of the value scale; a
    panel whose values span less than FLAT_SPREAD of it says it predicts about one value."""
    runs = range(exp.trainer.n_runs) if runs is None else runs
    if exp.is_regression:
        return _value_states(exp, probs, runs, span)
    top = np.nan_to_num(np.asarray(probs, dtype=np.float32), nan=0.0).max(-1).max(axis=(1, 2))
    c = probs.shape[-1]
    muted, notes = [], []
    for i, k in enumerate(runs):
        epoch = exp.trainer.diverged_epoch[k]
        muted.append(epoch is not None)
        if epoch is not None:
            notes.append(f"diverged at epoch {epoch}:<br>weights frozen, boundary meaningless")
        elif exp.epoch and top[i] < 1 / c + FLAT_MARGIN:
            share = "50%" if c == 2 else f"{1 / c:.0%} for every class"
            notes.append(
                f"outputs within {FLAT_MARGIN:.0%} of {share} everywhere:<br>the line is barely decided"
            )
        else:
            notes.append(None)
    return muted, notes


def _value_states(exp: Experiment, values, runs, span: float) -> tuple[list[bool], list[str | None]]:
    values = np.asarray(values, dtype=np.float64)
    muted, notes = [], []
    for i, k in enumerate(runs):
        epoch = exp.trainer.diverged_epoch[k]
        muted.append(epoch is not None)
        finite = values[i][np.isfinite(values[i])]
        spread = float(finite.max() - finite.min()) if finite.size else 0.0
        if epoch is not None:
            notes.append(f"diverged at epoch {epoch}:<br>weights frozen, surface meaningless")
        elif exp.epoch and spread < FLAT_SPREAD * span:
            notes.append(f"predicts about {float(np.mean(finite)):.2g} everywhere:<br>the surface is flat")
        else:
            notes.append(None)
    return muted, notes


def _row_boundary(row: Row, resolution: int):
    """A row's grid and its runs' probabilities (uint8) on it; regression: their values (float32)."""
    e = row.experiment
    if e.is_regression:
        grid, values = e.surface(resolution)
        return grid, np.asarray(values[list(row.runs)], dtype=np.float32)
    grid, probs = e.boundary(resolution)
    return grid, quantize(probs[list(row.runs)])


def experiment_boundary_figure(exp: Experiment, resolution: int, *, titles=None, predictions=None, **kw):
    """The experiment's decision boundaries (on the page and in the report), one block of panels per
    row of its grid: the grid at ``resolution``, the data, ``titles`` (panel order, default:
    boundary_titles) and rings on the points the runs get wrong (``predictions=(None, None)``: no
    rings; else the current predictions). Regression: each run's predicted surface, over
    value_range(exp), and no rings.
    ``kw``: boundary.grid_boundary_figure's keywords, and ``title_colors`` (panel order)."""
    titles = list(titles or boundary_titles(exp))
    colors = kw.pop("title_colors", None)
    values = value_range(exp) if exp.is_regression else None
    span = values[1] - values[0] if values else None
    rings = not exp.is_regression and (predictions is None or any(p is not None for p in predictions))
    show_val, discretize = kw.get("show_val", True), kw.get("discretize", False)
    blocks, i = [], 0
    for row in exp.rows:
        e, runs = row.experiment, list(row.runs)
        grid, probs = _row_boundary(row, resolution)
        X_train, y_train = e.data_xy("train")
        X_val, y_val = e.data_xy("val")
        pred = (e.predictions("train")[runs], e.predictions("val")[runs]) if rings else (None, None)
        muted, notes = panel_states(e, probs, runs, span=span)
        n_points = len(X_train) + show_val * len(X_val)
        pictures = None
        if not rings and style.points_as_pixels(exp.n_runs, n_points):
            pictures = _row_picture(exp, row, resolution, show_val, discretize)
        blocks.append(boundary.Block(
            grid.xs, grid.ys, probs, titles[i : i + len(runs)], X_train, y_train, X_val, y_val, *pred,
            muted=muted, notes=notes, title_colors=colors[i : i + len(runs)] if colors else None,
            pictures=pictures, label=row.label,
        ))  # fmt: skip
        i += len(runs)
    n_classes = None if values else exp.n_classes
    return boundary.grid_boundary_figure(blocks, n_classes=n_classes, value_range=values, **kw)


def experiment_shading(
    exp: Experiment, resolution: int, *, discretize: bool = False, show_val: bool = True
) -> list[str]:
    """The PNG data URIs of the boundary panels' shading (regression: their values), as
    experiment_boundary_figure draws them without rings (with the data drawn in when it draws them
    so: style.points_as_pixels); panel order."""
    out = []
    values = value_range(exp) if exp.is_regression else None
    for row in exp.rows:
        e = row.experiment
        if style.points_as_pixels(exp.n_runs, len(e.split.X_train) + show_val * len(e.split.X_val)):
            out += _row_picture(exp, row, resolution, show_val, discretize)
            continue
        grid, probs = _row_boundary(row, resolution)
        muted = [e.trainer.diverged_epoch[k] is not None for k in row.runs]
        if values:
            images = boundary.value_images(probs, grid.xs, grid.ys, values, muted)
        else:
            images = boundary.shading_images(probs, grid.xs, grid.ys, e.n_classes, discretize, muted)
        out += [image["source"] for image in images]
    return out


def experiment_picture(exp: Experiment, resolution: int, *, show_val: bool = True, discretize: bool = False):
    """The boundary panels as plain pictures (PNG data URIs: shading and data, no rings), as
    experiment_boundary_figure draws them, for a page's first paint; panel order."""
    return [s for row in exp.rows for s in _row_picture(exp, row, resolution, show_val, discretize)]


def _row_picture(exp, row: Row, resolution: int, show_val: bool, discretize: bool) -> list[str]:
    def compute():
        e = row.experiment
        grid, probs = _row_boundary(row, resolution)
        X_train, y_train = e.data_xy("train")
        X_val, y_val = e.data_xy("val")
        return raster.picture_panels(
            grid.xs, grid.ys, probs, X_train=X_train, y_train=y_train, X_val=X_val, y_val=y_val,
            n_classes=e.n_classes, show_val=show_val, discretize=discretize,
            muted=[e.trainer.diverged_epoch[k] is not None for k in row.runs],
            value_range=value_range(exp) if exp.is_regression else None,
        )  # fmt: skip

    return row.experiment.cached(("picture", resolution, show_val, discretize, row.runs), compute)


def grid_columns(exp: Experiment, most: int = 4) -> int:
    """Panels to a line: a grid's columns (its activations x seeds) up to ``most`` wide, else
    ``most`` (no wider than the runs)."""
    if exp.cfg.vary:
        return max(1, min(len(exp.rows[0].runs), 6))
    return max(1, min(most, exp.n_runs))


DASHES = ("solid", "dash", "dot", "dashdot")  # a grid's rows in the curves (one line style each)


def run_dashes(exp: Experiment) -> list[str] | None:
    """Each run's line style in the curves: its grid row's (None without a grid)."""
    if not exp.cfg.vary:
        return None
    return [DASHES[r % len(DASHES)] for r in exp.run_rows]


def rows_note(exp: Experiment) -> str | None:
    """What each line style of a grid's curves stands for: "solid: lr 0.003<br>dashed: lr 0.3"."""
    if not exp.cfg.vary:
        return None
    names = {"solid": "solid", "dash": "dashed", "dot": "dotted", "dashdot": "dash-dot"}
    return "<br>".join(f"{names[DASHES[r % len(DASHES)]]}: {row.label}" for r, row in enumerate(exp.rows))


def fit_figures(exp: Experiment) -> list[tuple[str, object]]:
    """Regression: (row header, the fit of its runs' validation predictions, diagnostics.fit_figure)
    per row of the grid; one, headed "", without a grid. Rows may differ in their data, hence a
    figure each; a panel is named by its run's name (a row's header names the row)."""
    figures = []
    for row in exp.rows:
        e, runs = row.experiment, list(row.runs)
        fig = diagnostics.fit_figure(
            e.split.y_val, e.predictions("val")[runs], titles=[e.run_names[k] for k in runs],
            colors=[style.activation_color(e.runs[k][0]) for k in runs], ncols=grid_columns(exp),
        )  # fmt: skip
        figures.append((row.label, fig))
    return figures


def report_figures(exp: Experiment) -> list[tuple[str, object]]:
    """(heading, figure) pairs: boundaries, curves, confusion matrices, diagnostics; for regression
    the predicted surfaces, the MSE and R² curves and the fit of the predictions (fit_figures)."""
    colors = run_colors(exp)
    figure = experiment_boundary_figure(
        exp, REPORT_RESOLUTION, ncols=grid_columns(exp), title_colors=panel_colors(exp)
    )
    curves_fig = curves.curves_figure(
        exp.history(), labels=exp.run_labels, colors=colors, diverged=exp.diverged_epoch,
        dashes=run_dashes(exp), rows_note=rows_note(exp),
    )  # fmt: skip
    if exp.is_regression:
        heading = "Predicted vs target (validation)"
        fits = [(f"{heading}: {label}" if label else heading, fig) for label, fig in fit_figures(exp)]
        results = [("Predicted surfaces", figure), ("Loss and R²", curves_fig), *fits]
    else:
        confusion = diagnostics.confusion_figure(exp.confusion("val"), titles=exp.run_labels)
        results = [
            ("Decision boundaries", figure),
            ("Loss and accuracy", curves_fig),
            ("Confusion matrices (validation)", confusion),
        ]
    diag = diagnostics.diagnostics_figure(exp.diagnostics(), labels=exp.run_labels, colors=colors)
    return [*results, ("Diagnostics", diag)]
