"""The summary table's columns, in one place: the app's table, the HTML report and the summary CSV
all list these, in this order (the CLI prints its own per-activation aggregate of the same rows).
A regression experiment's table has REGRESSION_COLUMNS instead (``columns_for(task)``).

Each column names its :class:`~nnviz.experiment.RunSummary` attribute (also the CSV's column), its
header for people, how a cell reads for people (through :mod:`nnviz.fmt`) and what it means.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from nnviz import fmt


@dataclass(frozen=True)
class Column:
    key: str  # the RunSummary attribute and the summary CSV's column
    header: str  # for people: the app's table, the report
    cell: Callable  # RunSummary -> the text people read
    help: str = ""


COLUMNS: tuple[Column, ...] = (
    Column("train_loss", "train loss", lambda r: fmt.loss(r.train_loss), "Loss on the training points."),
    Column("val_loss", "val loss", lambda r: fmt.loss(r.val_loss), "Loss on the held-out validation points."),
    Column("train_acc", "train acc", lambda r: fmt.pct(r.train_acc), "Accuracy on the training points."),
    Column("val_acc", "val acc", lambda r: fmt.pct(r.val_acc), "Accuracy on the validation points."),
    Column("precision", "precision", lambda r: fmt.pct(r.precision), "Validation precision (macro for 3+ classes)."),
    Column("recall", "recall", lambda r: fmt.pct(r.recall), "Validation recall (macro for 3+ classes)."),
    Column("f1", "F1", lambda r: fmt.pct(r.f1), "Validation F1 (macro for 3+ classes)."),
    Column(
        "epochs_to_90", "epochs to 90%", lambda r: fmt.epochs_to(r.epochs_to_90, r.held_90),
        "The first epoch at which validation accuracy reached 90%; 'then fell back' when it is below 90% now.",
    ),
    Column(
        "dead_pct", "dead units", lambda r: fmt.pct(r.dead_pct / 100, 0),
        "Hidden units whose output is 0 on every training point (no gradient reaches them). A dash for "
        "saturating activations (sigmoid, tanh, softsign): their zero outputs are saturation.",
    ),
)  # fmt: skip


REGRESSION_COLUMNS: tuple[Column, ...] = (
    Column("train_loss", "train MSE", lambda r: fmt.loss(r.train_loss), "Mean squared error on the training points."),
    Column("val_loss", "val MSE", lambda r: fmt.loss(r.val_loss), "Mean squared error on the validation points."),
    Column("train_r2", "train R²", lambda r: fmt.loss(r.train_r2), "R² on the training points (over the epoch's minibatches as seen)."),
    Column("r2", "val R²", lambda r: fmt.loss(r.r2), "R² on the validation points: 1 is perfect, 0 is always predicting the mean."),
    Column("rmse", "val RMSE", lambda r: fmt.loss(r.rmse), "Root mean squared error on the validation points."),
    Column("mae", "val MAE", lambda r: fmt.loss(r.mae), "Mean absolute error on the validation points."),
    COLUMNS[-1],  # dead units
)  # fmt: skip


def columns_for(task: str) -> tuple[Column, ...]:
    """The summary's columns for an experiment's task ("classification" or "regression")."""
    return REGRESSION_COLUMNS if task == "regression" else COLUMNS


def run_label(label: str, row) -> str:
    """The run's name in a table: its label, marked when it diverged."""
    return label if row.diverged_epoch is None else f"{label} ✕ diverged"


def cells(label: str, row) -> list[str]:
    """One table row for people: the run's name, then every column's cell (of the row's task)."""
    return [run_label(label, row)] + [column.cell(row) for column in columns_for(row.task)]
