"""A self-contained HTML report of an experiment: its config, figures and tables in one file.

Figures layer (uses nnviz.plots). Every user-supplied string is HTML-escaped; plotly.js is
embedded once, so the file opens offline.
"""

from __future__ import annotations

import html

import numpy as np

from nnviz import plots
from nnviz.boundary import quantize
from nnviz.experiment import Experiment

REPORT_RESOLUTION = 120

CSS = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1200px; color: #222; }
table { border-collapse: collapse; font-size: 0.85rem; margin: 1rem 0; }
th, td { border-bottom: 1px solid #ddd; padding: 0.3rem 0.6rem; text-align: right; }
th:first-child, td:first-child, td.text { text-align: left; }
code { background: #f4f4f4; padding: 0.1rem 0.3rem; }
"""


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _fmt(x, spec: str = ".3f") -> str:
    return "–" if x is None or (isinstance(x, float) and not np.isfinite(x)) else format(x, spec)


def run_colors(exp: Experiment) -> list[str]:
    """Each run's colour: its activation's, in every view (all seeds of an activation share it)."""
    return [plots.activation_color(act) for act, _ in exp.trainer.runs]


def boundary_titles(exp: Experiment) -> list[str]:
    """Each run's label and its latest validation accuracy (a dash once it diverged)."""
    hist = exp.trainer.history()["val_acc"]
    last = hist[-1] if len(hist) else np.full(exp.trainer.n_runs, np.nan)
    return [
        f"{label} · val {acc:.0%}" if np.isfinite(acc) else f"{label} · –"
        for label, acc in zip(exp.run_labels, last, strict=True)
    ]


def experiment_boundary_figure(exp: Experiment, resolution: int, *, titles=None, predictions=None, **style):
    """The experiment's decision boundaries (on the page and in the report): the grid at
    ``resolution``, the data, ``titles`` (default: boundary_titles) and rings on the points that
    ``predictions`` ((train, val) predicted classes, default: the current ones; (None, None): no
    rings) get wrong.
    ``style``: the rest of plots.boundary_figure's keywords."""
    grid, probs = exp.boundary(resolution)
    X_train, y_train = exp.data_xy("train")
    X_val, y_val = exp.data_xy("val")
    pred_train, pred_val = predictions or (exp.predictions("train"), exp.predictions("val"))
    return plots.boundary_figure(
        grid.xs, grid.ys, quantize(probs), titles=titles or boundary_titles(exp), X_train=X_train,
        y_train=y_train, X_val=X_val, y_val=y_val, pred_train=pred_train, pred_val=pred_val,
        n_classes=exp.split.n_classes, **style,
    )  # fmt: skip


def experiment_shading(exp: Experiment, resolution: int, *, discretize: bool = False) -> list[str]:
    """The PNG data URIs of the boundary panels' shading, as experiment_boundary_figure draws them."""
    grid, probs = exp.boundary(resolution)
    images = plots.shading_images(quantize(probs), grid.xs, grid.ys, exp.split.n_classes, discretize)
    return [image["source"] for image in images]


def experiment_picture(exp: Experiment, resolution: int, *, show_val: bool = True, discretize: bool = False):
    """The boundary panels as plain pictures (PNG data URIs: shading and data, no rings), as
    experiment_boundary_figure draws them, for a page's first paint."""
    grid, probs = exp.boundary(resolution)
    X_train, y_train = exp.data_xy("train")
    X_val, y_val = exp.data_xy("val")
    return plots.picture_panels(
        grid.xs, grid.ys, quantize(probs), X_train=X_train, y_train=y_train, X_val=X_val, y_val=y_val,
        n_classes=exp.split.n_classes, show_val=show_val, discretize=discretize,
    )  # fmt: skip


def report_figures(exp: Experiment) -> list[tuple[str, object]]:
    """(heading, figure) pairs: boundaries, curves, confusion matrices, diagnostics."""
    colors = run_colors(exp)
    boundary = experiment_boundary_figure(
        exp, REPORT_RESOLUTION, ncols=min(4, exp.trainer.n_runs), title_colors=colors
    )
    return [
        ("Decision boundaries", boundary),
        (
            "Loss and accuracy",
            plots.curves_figure(exp.trainer.history(), labels=exp.run_labels, colors=colors),
        ),
        (
            "Confusion matrices (validation)",
            plots.confusion_figure(exp.confusion("val"), titles=exp.run_labels),
        ),
        (
            "Diagnostics",
            plots.diagnostics_figure(exp.trainer.diagnostics.arrays(), labels=exp.run_labels, colors=colors),
        ),
    ]


def build_report(exp: Experiment) -> str:
    rows = exp.summary()
    summary = _table(
        [
            "run",
            "train loss",
            "val loss",
            "train acc",
            "val acc",
            "precision",
            "recall",
            "F1",
            "to 90%",
            "dead %",
            "verdicts",
        ],
        [
            [
                exp.run_labels[r.run],
                _fmt(r.train_loss),
                _fmt(r.val_loss),
                _fmt(r.train_acc),
                _fmt(r.val_acc),
                _fmt(r.precision),
                _fmt(r.recall),
                _fmt(r.f1),
                r.epochs_to_90 or "–",
                _fmt(r.dead_pct, ".0f"),
                "; ".join(v.text for v in r.verdicts) or "–",
            ]  # fmt: skip
            for r in rows
        ],
    )
    settings = _table(["setting", "value"], [[k, v] for k, v in sorted(exp.cfg.to_params(full=True).items())])
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>nnviz report</title>",
        f"<style>{CSS}</style></head><body>",
        "<h1>nnviz report</h1>",
        f"<p>{len(rows)} runs on <code>{html.escape(exp.cfg.dataset)}</code>, {exp.epoch} epochs.</p>",
        "<h2>Summary</h2>",
        summary,
    ]
    for i, (heading, fig) in enumerate(report_figures(exp)):
        parts.append(f"<h2>{html.escape(heading)}</h2>")
        parts.append(fig.to_html(full_html=False, include_plotlyjs=(i == 0), config={"displaylogo": False}))
    parts += ["<h2>Settings</h2>", settings, "</body></html>"]
    return "\n".join(parts)
