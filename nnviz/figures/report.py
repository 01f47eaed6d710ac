"""A self-contained HTML report of an experiment, to hand out: what was run, with which settings
(in words), the results, and the figures (nnviz/figures/adapters.py, report_figures), in one file.

A comparison along a second setting (a grid, nnviz.grid: an Experiment of a lockstep grid or a
GridExperiment) is described as such: the sentence on who was trained names the varied setting and
its values, the settings list every value a row uses, and the results table has a column for it.
A regression experiment's report has its own columns (nnviz.analysis.summary.columns_for), its
metrics explained (MSE, RMSE, MAE, R²) and the fit of the predictions in place of confusion matrices.

Every user-supplied string is HTML-escaped; plotly.js is embedded once, so the file opens offline.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from nnviz import fmt
from nnviz.activations import ACTIVATIONS
from nnviz.analysis.summary import columns_for
from nnviz.config import (
    INIT_NAMES,
    LOSS_NAMES,
    OPTIMIZER_NAMES,
    UPLOAD,
    VARY,
    VARY_TITLES,
    Config,
    value_name,
)
from nnviz.data.features import labels as feature_labels
from nnviz.data.generators import DATASETS, REGRESSION
from nnviz.data.split import Split
from nnviz.experiment import REACH_ACC, Experiment
from nnviz.figures.adapters import report_figures
from nnviz.grid import is_grid

if TYPE_CHECKING:
    from nnviz.grid import GridExperiment
    from nnviz.presets import Preset

# The varied setting in a sentence ("3 values of lr"), where the row header's name reads badly.
VARY_PROSE = {
    "optimizer": "optimiser",
    "init": "initialisation",
    "batch_size": "batch size",
    "hidden_layers": "hidden layers",
    "standardize": "input standardisation",
}
# Grids whose rows start from different initial weights (another shape or scheme).
OWN_WEIGHTS = ("init", "hidden_layers", "width")

SETTING_GROUPS = ("Data", "Compare", "Network", "Training")

CSS = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1200px; padding: 0 1rem;
       color: #222; line-height: 1.45; }
h1 { margin-bottom: 0.2rem; }
.date { color: #666; margin-top: 0; }
.preset { background: #f3f7fc; border-left: 4px solid #4a7fc1; padding: 0.6rem 1rem; margin: 1rem 0; }
.preset h2 { margin: 0.2rem 0 0.4rem; font-size: 1.15rem; }
.preset p { margin: 0.3rem 0; }
.note { color: #555; font-size: 0.85rem; }
table { border-collapse: collapse; font-size: 0.85rem; margin: 0.5rem 0 1rem; }
th, td { border-bottom: 1px solid #ddd; padding: 0.3rem 0.6rem; text-align: right; vertical-align: top; }
th:first-child, td:first-child, th:last-child, td.text { text-align: left; }
td.bad { color: #b3261e; }
.settings { display: grid; grid-template-columns: repeat(auto-fit, minmax(260px, 1fr)); gap: 0 1.5rem; }
.settings h3 { margin: 0.6rem 0 0; font-size: 1rem; }
.settings table { width: 100%; }
.settings td { text-align: left; }
.settings td:first-child { color: #555; width: 45%; }
code { background: #f4f4f4; padding: 0.1rem 0.3rem; }
@media print {
  body { margin: 0; max-width: none; }
  .settings, table, .preset { break-inside: avoid; }
  .modebar { display: none !important; }
}
"""


@dataclass(frozen=True)
class _Cell:
    """A table cell: text (escaped when drawn) and an optional CSS class."""

    text: str
    cls: str = ""


def _table(header: list[str], rows: list[list[object]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(_td(c) for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _td(cell: object) -> str:
    if isinstance(cell, _Cell):
        cls = f" class='{html.escape(cell.cls)}'" if cell.cls else ""
        return f"<td{cls}>{html.escape(cell.text)}</td>"
    return f"<td>{html.escape(str(cell))}</td>"


def _loss_cell(x, diverged: bool) -> str:
    text = fmt.loss(x)
    if diverged:
        return "diverged" if text == fmt.DASH else f"{text} (diverged)"
    return text


def _yes_no(flag: bool) -> str:
    return "yes" if flag else "no"


def _dataset_name(cfg: Config) -> str:
    if cfg.dataset == UPLOAD:
        return "your CSV (uploaded)"
    spec = DATASETS.get(cfg.dataset)
    return spec.name if spec else cfg.dataset


def _is_regression(cfg: Config, split: Split | None) -> bool:
    """Whether ``cfg`` is a regression: its split's task, else its dataset's (uploads without their
    split count as classification)."""
    if split is not None:
        return split.is_regression
    spec = DATASETS.get(cfg.dataset)
    return spec is not None and spec.task == REGRESSION


def _split_sizes(cfg: Config, split: Split | None) -> tuple[int, int] | None:
    """(training points, validation points): the split's, else those ``cfg`` generates (as
    nnviz.data.split.split_dataset divides them: at least one point per class for classification);
    None for uploaded data without its split."""
    if split is not None:
        return len(split.y_train), len(split.y_val)
    spec = DATASETS.get(cfg.dataset)
    if spec is None:
        return None
    n_val = math.ceil(cfg.val_fraction * cfg.n_samples)
    if spec.task != REGRESSION:
        n_val = max(spec.n_classes or cfg.n_classes, n_val)
    return cfg.n_samples - n_val, n_val


def _batch_text(cfg: Config, n_train: int | None) -> str:
    full = cfg.batch_size <= 0 or (n_train is not None and cfg.batch_size >= n_train)
    if full:
        return (
            f"full batch (all {n_train} training points)" if n_train else "full batch (all training points)"
        )
    of = f" (of {n_train} training points)" if n_train else ""
    return f"{cfg.batch_size} points per step{of}"


def settings_rows(cfg: Config, split: Split | list[Split] | None = None) -> list[tuple[str, str, str]]:
    """The settings of ``cfg`` in words, as (group, label, value) rows, groups in SETTING_GROUPS
    order, labels as in the sidebar. Settings that do not apply are left out (the class count of a
    dataset with a fixed one or of a regression, momentum under another optimiser, internal ones;
    a regression's loss is always the mean squared error). ``split``: the experiment's data, for
    the point counts and the task of uploaded data (generated data's follow from cfg).

    A grid (``cfg.vary``) lists every value its rows use ("0.003 / 0.03 / 0.3"), and a "Varied
    setting" row under Compare names the setting and its values; ``split`` may then be a list of
    the rows' splits (one per row of ``cfg.rows``)."""
    splits = split if isinstance(split, list) else [split] * len(cfg.rows)
    if not cfg.vary:
        return _plain_settings_rows(cfg, splits[0])
    merged: dict[tuple[str, str], list[str]] = {}
    for row, row_split in zip(cfg.rows, splits, strict=True):
        for group, label, value in _plain_settings_rows(row, row_split):
            seen = merged.setdefault((group, label), [])
            if value not in seen:
                seen.append(value)
    names = ", ".join(value_name(cfg.vary, v) for v in cfg.values)
    merged[("Compare", "Varied setting")] = [f"{VARY_TITLES.get(cfg.vary, cfg.vary)}: {names}"]
    rows = [(g, label, " / ".join(values)) for (g, label), values in merged.items()]
    return sorted(rows, key=lambda r: SETTING_GROUPS.index(r[0]))  # stable: each group in its order


def _plain_settings_rows(cfg: Config, split: Split | None) -> list[tuple[str, str, str]]:
    sizes = _split_sizes(cfg, split)
    n_train = sizes[0] if sizes else None
    spec = DATASETS.get(cfg.dataset)
    regression = _is_regression(cfg, split)
    rows: list[tuple[str, str, str]] = [("Data", "Dataset", _dataset_name(cfg))]
    if spec is not None and spec.n_classes is None and not regression:
        rows.append(("Data", "Classes", str(cfg.n_classes)))
    if cfg.dataset != UPLOAD:
        rows.append(("Data", "Samples", str(cfg.n_samples)))
        rows.append(("Data", "Noise", fmt.setting(cfg.noise)))
    elif sizes:
        rows.append(("Data", "Samples", str(sum(sizes))))
    val = f"{fmt.setting(100 * cfg.val_fraction)}%" + (f" ({sizes[1]} points)" if sizes else "")
    rows += [
        ("Data", "Validation fraction", val),
        ("Data", "Data seed", str(cfg.data_seed)),
        ("Data", "Standardise inputs", _yes_no(cfg.standardize)),
        ("Compare", "Activations", ", ".join(_activation_name(a) for a in cfg.activations)),
    ]
    for act in cfg.activations:
        values = cfg.params_for(act)
        for param in ACTIVATIONS[act].params if act in ACTIVATIONS else ():
            value = values.get(param.name, param.default)
            rows.append(("Compare", f"{_activation_name(act)}: {param.label}", fmt.setting(value)))
    if cfg.n_seeds == 1:
        rows.append(("Compare", "Seed", str(cfg.seed)))
    else:
        seeds = f"{cfg.seeds[0]}–{cfg.seeds[-1]} ({cfg.n_seeds} per activation)"
        rows.append(("Compare", "Seeds", seeds))
    rows += [
        ("Network", "Input features", ", ".join(feature_labels(cfg.features))),
        ("Network", "Hidden layers", str(cfg.hidden_layers)),
        ("Network", "Units per layer", str(cfg.width)),
        ("Network", "Batch norm", _yes_no(cfg.batch_norm)),
        ("Network", "Initialisation", INIT_NAMES.get(cfg.init, cfg.init)),
        ("Training", "Optimiser", OPTIMIZER_NAMES.get(cfg.optimizer, cfg.optimizer)),
    ]
    if cfg.optimizer == "momentum":
        rows.append(("Training", "Momentum", fmt.setting(cfg.momentum)))
    rows += [
        ("Training", "Learning rate", fmt.setting(cfg.lr)),
        ("Training", "Batch size", _batch_text(cfg, n_train)),
        ("Training", "Epochs", str(cfg.epochs)),
        ("Training", "L1 penalty", fmt.setting(cfg.l1) if cfg.l1 else "none"),
        ("Training", "L2 penalty", fmt.setting(cfg.l2) if cfg.l2 else "none"),
        ("Training", "Loss", _loss_name(cfg, regression)),
    ]
    return rows


def _loss_name(cfg: Config, regression: bool) -> str:
    """The loss in words: a regression ignores ``cfg.loss`` and minimises the mean squared error."""
    return LOSS_NAMES["mse"] if regression else LOSS_NAMES.get(cfg.loss, cfg.loss)


def _activation_name(key: str) -> str:
    return ACTIVATIONS[key].name if key in ACTIVATIONS else key


def settings_html(cfg: Config, split: Split | list[Split] | None = None) -> str:
    """settings_rows as one small two-column table per group."""
    rows = settings_rows(cfg, split)
    blocks = []
    for group in SETTING_GROUPS:
        mine = [[label, value] for g, label, value in rows if g == group]
        if mine:
            body = "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(v)}</td></tr>" for k, v in mine)
            blocks.append(f"<div><h3>{html.escape(group)}</h3><table><tbody>{body}</tbody></table></div>")
    return f"<div class='settings'>{''.join(blocks)}</div>"


def _join(items: list[str], last: str = "and") -> str:
    """ "a", "a and b", "a, b and c" (``last`` the final conjunction)."""
    items = list(dict.fromkeys(items))  # each once, in order
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} {last} {items[-1]}"


def _row_splits(exp: Experiment | GridExperiment) -> list[Split]:
    """The data of each row of the grid (the one split of an Experiment, for each of its rows)."""
    return [row.experiment.split for row in exp.rows]


def describe(exp: Experiment | GridExperiment) -> str:
    """One paragraph (plain text) saying what the experiment is; in a grid, along which setting."""
    cfg = exp.cfg
    rows, splits = cfg.rows, _row_splits(exp)
    n_act, n_seeds, n_values = len(cfg.activations), cfg.n_seeds, len(cfg.values)
    n_runs = cfg.n_runs
    names = ", ".join(_activation_name(a) for a in cfg.activations)
    seeds = f"seeds {cfg.seeds[0]}–{cfg.seeds[-1]}"
    varied = VARY_PROSE.get(cfg.vary, VARY[cfg.vary][0]) if cfg.vary else ""
    if cfg.vary:
        values = ", ".join(value_name(cfg.vary, v) for v in cfg.values)
        factors = [names if n_act == 1 else f"{n_act} activations"]
        factors += [f"{n_seeds} seeds"] if n_seeds > 1 else []
        what = " × ".join([*factors, f"{n_values} values of {varied}: {values}"])
        what += f"; {seeds}" if n_seeds > 1 else ""
        how = f"in {n_values} lockstep groups, one per value," if is_grid(exp) else "in lockstep"
        who = f"{n_runs} networks ({what}) were trained {how}"
    elif n_runs == 1:
        who = f"1 network ({names}) was trained"
    elif n_act == 1:
        who = f"{n_runs} networks ({names}, {seeds}) were trained in lockstep"
    elif n_seeds == 1:
        who = f"{n_runs} networks, one per activation, were trained in lockstep"
    else:
        who = f"{n_runs} networks ({n_act} activations × {n_seeds} seeds, {seeds}) were trained in lockstep"
    datasets = [_dataset_name(r) for r in rows]
    points = [str(len(s.y_train) + len(s.y_val)) for s in splits]
    each = " each" if len(set(datasets)) > 1 and len(set(points)) == 1 else ""
    data = (
        f"on {_join(datasets)} ({_join(points, 'or')} points{each}, "
        f"{fmt.setting(100 * cfg.val_fraction)}% held out for validation)"
    )
    batch_sizes = list(
        dict.fromkeys(_row_batch(r, len(s.y_train)) for r, s in zip(rows, splits, strict=True))
    )
    if len(batch_sizes) > 1:
        texts = [f"minibatches of {b} points" if b else "all training points" for b in batch_sizes]
        batches, joiner = f"each step on {_join(texts, 'or')}", ", "
    elif not batch_sizes[0]:
        batches, joiner = "each step on all training points", ", "
    else:
        one = "" if cfg.vary == "dataset" else "the same "
        batches, joiner = f"{one}minibatches of {batch_sizes[0]} points", " and "
    # the networks of one seed that start alike: across activations, and across the rows of a
    # grid unless its rows differ in shape or initialisation
    own = cfg.vary in OWN_WEIGHTS
    if n_act == 1 and (own or not cfg.vary):
        same = f", {batches}" if joiner == ", " else f", on minibatches of {batch_sizes[0]} points"
    else:
        start = "; the networks of one seed start" if n_seeds > 1 else ""
        scope = f" within each value of {varied}" if own else ""
        same = f"{start} from the same initial weights{scope}{joiner}{batches}"
    depths = [str(r.hidden_layers) for r in rows]
    plural = "s" if depths != ["1"] * len(depths) else ""
    layers = (
        f"{_join(depths, 'or')} hidden layer{plural} of {_join([str(r.width) for r in rows], 'or')} units"
    )
    each_net = "Each network" if n_runs > 1 else "The network"
    optimizer = _join([OPTIMIZER_NAMES.get(r.optimizer, r.optimizer) for r in rows], "or")
    loss = _loss_name(cfg, exp.is_regression)
    text = (
        f"{who} {data}{same}, for {exp.epoch} of {cfg.epochs} epochs. {each_net} is a multilayer perceptron "
        f"with {layers}, trained with {optimizer} on the {loss} loss"
    )
    of_seed = " of one seed" if n_seeds > 1 else ""
    if cfg.vary:
        if n_act > 1:
            text += (
                f"; the activation function and the {varied} are the only differences between the networks"
            )
        else:
            text += f"; the {varied} is the only difference between the networks"
        text += f"{of_seed}" + (
            " (each dataset with its own size and noise)." if cfg.vary == "dataset" else "."
        )
    elif n_act > 1:
        text += f"; the activation function is the only difference between the networks{of_seed}."
    else:
        text += "."
    return text


def _row_batch(cfg: Config, n_train: int) -> int:
    """A row's points per step, 0 for full batch."""
    return 0 if cfg.batch_size <= 0 or cfg.batch_size >= n_train else cfg.batch_size


def _fmt_date(now: datetime) -> str:
    zone = now.tzname() or ""
    return f"{now:%Y-%m-%d %H:%M} {zone}".strip()


def summary_html(exp: Experiment | GridExperiment) -> str:
    """The summary table, with the app's columns for the experiment's task (nnviz.analysis.summary):
    per run, the numbers for people (a diverged run's losses marked), then its verdicts. In a grid
    the run's value of the varied setting has a column of its own, after the network's name."""
    vary, columns = exp.cfg.vary, columns_for(exp.task)
    rows = []
    for r in exp.summary():
        diverged = r.diverged_epoch is not None
        cells: list[object] = [exp.run_labels[r.run]]
        if vary:
            cells = [exp.run_names[r.run], _Cell(value_name(vary, r.value), "text")]
        for column in columns:
            if column.key in ("train_loss", "val_loss"):
                cells.append(_Cell(_loss_cell(getattr(r, column.key), diverged), "bad" if diverged else ""))
            else:
                cells.append(column.cell(r))
        cells.append(_Cell("; ".join(v.text for v in r.verdicts) or "–", "text"))
        rows.append(cells)
    grid = [VARY[vary][0]] if vary else []
    return _table(["network", *grid, *(c.header for c in columns), "verdicts"], rows)


_DEAD_AND_DIVERGED = (
    "“dead units”: the share of hidden units whose output is exactly zero on every training point (– for "
    "activations whose units cannot die). A diverged run's loss became infinite or NaN: training stopped "
    "it, and its last finite loss is shown."
)


def _summary_note(exp: Experiment | GridExperiment) -> str:
    """What the summary's columns mean, for the experiment's task."""
    if exp.is_regression:
        return (
            "The loss is the mean squared error (MSE) between prediction and target, on the training and "
            "the validation points, after the last epoch. RMSE (its square root, in the target's units), "
            "MAE (the mean absolute error) and R² are measured on the validation points; R² is 1 minus "
            "the MSE over the targets' variance: 1 is a perfect fit, 0 no better than always predicting "
            "the mean, below 0 worse than that. The training R² is measured over the epoch's minibatches "
            f"as they were seen. {_DEAD_AND_DIVERGED}"
        )
    average = (
        "for class 1 (the second class)"
        if exp.n_classes == 2
        else f"averaged over the {exp.n_classes} classes"
    )
    return (
        "Accuracy, precision, recall and F1 are measured after the last epoch; precision, recall and F1 "
        f"on the validation points, {average}. “epochs to {REACH_ACC:.0%}”: the first epoch at which the "
        f"validation accuracy reached {REACH_ACC:.0%} (– if it never did). {_DEAD_AND_DIVERGED}"
    )


def build_report(
    exp: Experiment | GridExperiment, *, preset: Preset | None = None, now: datetime | None = None
) -> str:
    """The report as one HTML page. ``preset``: the guided experiment on screen, whose title and
    explanation head the report; ``now``: the report's date (default: the current time, UTC)."""
    now = now or datetime.now(UTC)
    name = _join([_dataset_name(row) for row in exp.cfg.rows])
    title = f"nnviz report: activation functions on {name}"
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title>",
        f"<style>{CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f"<p class='date'>Created <time datetime='{html.escape(now.isoformat(timespec='minutes'))}'>"
        f"{html.escape(_fmt_date(now))}</time> with nnviz.</p>",
    ]
    if preset is not None:
        parts.append(
            "<section class='preset'>"
            f"<h2>Guided experiment: {html.escape(preset.title)}</h2>"
            f"<p>{html.escape(preset.explanation)}</p>{_contrast_note(exp, preset)}</section>"
        )
    parts += [
        "<h2>The experiment</h2>",
        f"<p>{html.escape(describe(exp))}</p>",
        settings_html(exp.cfg, _row_splits(exp)),
        "<h2>Results</h2>",
        summary_html(exp),
        f"<p class='note'>{html.escape(_summary_note(exp))}</p>",
    ]
    for i, (heading, fig) in enumerate(report_figures(exp)):
        parts.append(f"<h2>{html.escape(heading)}</h2>")
        parts.append(fig.to_html(full_html=False, include_plotlyjs=(i == 0), config={"displaylogo": False}))
    parts.append("</body></html>")
    return "\n".join(parts)


def _contrast_note(exp: Experiment | GridExperiment, preset: Preset) -> str:
    """Says so when the report shows the preset's contrast settings rather than its own."""
    try:
        contrast = preset.contrast_config
    except ValueError:
        return ""
    if contrast is None or exp.cfg != contrast:
        return ""
    own = dict(((g, label), value) for g, label, value in settings_rows(preset.config))
    changed = "; ".join(
        f"{label}: {value} instead of {own[g, label]}"
        for g, label, value in settings_rows(contrast)
        if own.get((g, label), value) != value
    )
    text = f"This report shows the experiment's contrast settings ({changed})."
    return f"<p class='note'>{html.escape(text)}</p>"
