"""Headless nnviz: ``python -m nnviz compare ...`` and ``python -m nnviz run --config FILE``.

``compare --vary SETTING=V1,V2[,...]`` compares along a second setting too (the app's grid: one row
per value, e.g. ``--vary lr=0.01,0.1,1``). An entry point like app.py (it may use the figures layer
for the HTML report). Bad input gives a one-line message and exit status 2, never a traceback; so
does a comparison beyond the run cap (config.MAX_RUNS), which the CLI refuses rather than shrinks.
A regression dataset (``--dataset plane`` or ``multigauss``) prints validation R\u00b2 and RMSE per
activation instead of accuracy; its HTML report draws the predicted surfaces.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import torch

from nnviz import export
from nnviz.analysis.verdicts import LABELS
from nnviz.config import MAX_VALUES, MIN_VALUES, VARY, Config, Notice, parse_values, value_name
from nnviz.data.features import DEFAULT_FEATURES
from nnviz.data.features import labels as feature_labels
from nnviz.data.generators import DATASETS
from nnviz.experiment import Experiment
from nnviz.grid import GridExperiment, build

CHUNK = 10  # epochs between progress updates


def parse_seeds(text: str) -> tuple[int, int]:
    """``"0-4"`` -> (0, 5); ``"3"`` -> (3, 1); ``"2,3,4"`` -> (2, 3). Seeds must be consecutive."""
    try:
        if "-" in text:
            lo, hi = (int(x) for x in text.split("-", 1))
            seeds = list(range(lo, hi + 1))
        else:
            seeds = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise ValueError(f"--seeds {text!r}: use a range like 0-4 or a list like 0,1,2") from None
    if not seeds or seeds != list(range(seeds[0], seeds[0] + len(seeds))):
        raise ValueError(f"--seeds {text!r}: seeds must be consecutive, e.g. 0-4")
    return seeds[0], len(seeds)


def config_from_args(args: argparse.Namespace) -> Config:
    params: dict[str, str] = {}
    if args.dataset:
        params["dataset"] = args.dataset
    if args.activations:
        params["act"] = args.activations
    if args.epochs is not None:
        params["epochs"] = str(args.epochs)
    if args.seeds:
        first, count = parse_seeds(args.seeds)
        params["seed"], params["n_seeds"] = str(first), str(count)
    for item in args.set or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"--set {item!r}: use key=value, e.g. --set lr=0.1")
        params[key.strip()] = value.strip()
    if args.vary:
        params["vary"], values = parse_vary(args.vary)
        params["values"] = ",".join(values)
    cfg, notices = Config.from_params(params)
    if notices:
        raise ValueError(strict_message(notices))
    return cfg


def parse_vary(text: str) -> tuple[str, tuple[str, ...]]:
    """``"lr=0.1,8"`` -> ("lr", ("0.1", "8")): the setting to vary and its values (config.parse_values)."""
    key, sep, raw = text.partition("=")
    if not sep:
        raise ValueError(f"--vary {text!r}: use setting=value,value, e.g. --vary lr=0.01,0.1")
    try:
        return key.strip(), parse_values(key.strip(), raw)
    except ValueError as exc:
        raise ValueError(f"--vary {text!r}: {exc}") from None


def strict_message(notices: list[Notice]) -> str:
    """A URL's notices say what is used instead; the CLI refuses, so it names the problems only."""
    return "; ".join(n.problem for n in notices)


def train_with_progress(exp: Experiment | GridExperiment, out=sys.stderr) -> float:
    start = time.perf_counter()
    total, shown = exp.cfg.epochs, -1
    tty = out.isatty()
    while not exp.done:
        exp.step(CHUNK)
        filled = int(30 * exp.epoch / total)
        if tty or filled // 10 != shown // 10:  # in a log: only every third of the way
            end = "\r" if tty else "\n"
            out.write(f"[{'#' * filled}{'.' * (30 - filled)}] epoch {exp.epoch}/{total}{end}")
            out.flush()
            shown = filled
    if tty:
        out.write("\n")
    return time.perf_counter() - start


def summary_table(exp: Experiment | GridExperiment) -> str:
    """Per activation (and in a grid per value of the varied setting, in a column of its own):
    validation accuracy and loss (mean +- std over seeds), epochs to 90%, verdicts; for regression
    validation R\u00b2, RMSE and MSE instead of accuracy, loss and epochs to 90%."""
    rows = exp.summary()
    regression = exp.task == "regression"
    cfg = exp.cfg
    values = cfg.values or ("",)  # RunSummary.value: "" without a grid
    names = [value_name(cfg.vary, v) for v in values] if cfg.vary else [""]
    header = VARY[cfg.vary][0] if cfg.vary else ""
    width = max(len(header), *(len(n) for n in names)) + 1 if cfg.vary else 0
    titles = ("val R²", "val RMSE", "val MSE") if regression else ("val acc", "val loss", "to 90%")
    lines = [f"{'activation':<18} {header:<{width}}{titles[0]:>14} {titles[1]:>15} {titles[2]:>7}  verdicts"]
    for act in cfg.activations:
        for value, name in zip(values, names, strict=True):
            mine = [r for r in rows if r.activation == act and r.value == value]
            loss = np.array([r.val_loss for r in mine])
            if regression:
                cols = (_pm(np.array([r.r2 for r in mine]), ""), _pm(np.array([r.rmse for r in mine]), ""),
                        _pm(loss, "") if len(mine) == 1 else f"{np.mean(loss):.3g}")  # fmt: skip
            else:
                acc = np.array([r.val_acc for r in mine]) * 100
                reach = [r.epochs_to_90 for r in mine if r.epochs_to_90 is not None]
                cols = (_pm(acc, "%"), _pm(loss, ""), str(int(np.median(reach))) if reach else "-")
            counts = Counter(v.code for r in mine for v in r.verdicts)
            verdicts = [
                f"{LABELS[c]}" + (f" ({n}/{len(mine)})" if len(mine) > 1 else "") for c, n in counts.items()
            ]
            lines.append(
                f"{mine[0].name:<18} {name:<{width}}{cols[0]:>14} {cols[1]:>15} "
                f"{cols[2]:>7}  {', '.join(verdicts) or '-'}"
            )
    return "\n".join(lines)


def headline(exp: Experiment | GridExperiment, seconds: float) -> str:
    """What was trained, e.g. "8 runs x 3 epochs on moons (lr = 0.1, 8) in 1.2s"; the
    varied setting as the summary's rows name it, and the input features unless x1, x2."""
    cfg = exp.cfg
    on = "" if cfg.vary == "dataset" else f" on {cfg.dataset}"
    names = ", ".join(value_name(cfg.vary, v) for v in cfg.values)
    grid = f" ({VARY[cfg.vary][0]} = {names})" if cfg.vary else ""
    inputs = (
        "" if cfg.features == DEFAULT_FEATURES else f" with inputs {', '.join(feature_labels(cfg.features))}"
    )
    return f"{cfg.n_runs} runs x {cfg.epochs} epochs{on}{inputs}{grid} in {seconds:.1f}s"


def _pm(values: np.ndarray, unit: str) -> str:
    if len(values) == 1:
        return f"{values[0]:.3g}{unit}" if unit != "%" else f"{values[0]:.1f}%"
    fmt = ".1f" if unit == "%" else ".3f"
    return f"{np.mean(values):{fmt}}±{np.std(values):{fmt}}{unit}"


def write_outputs(exp: Experiment | GridExperiment, out_dir: Path) -> list[Path]:
    """Write the exports into ``out_dir``; returns the paths written."""
    from nnviz.figures.report import build_report  # figures layer, only needed here

    out_dir.mkdir(parents=True, exist_ok=True)
    files = {
        "histories.csv": export.histories_csv(exp),
        "summary.csv": export.summary_csv(exp),
        "config.json": export.config_json(exp.cfg),
        "report.html": build_report(exp),
    }
    written = []
    for name, text in files.items():
        (out_dir / name).write_text(text, encoding="utf-8")
        written.append(out_dir / name)
    (out_dir / "weights.pt").write_bytes(export.weights_bytes(exp))
    return written + [out_dir / "weights.pt"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nnviz", description="Compare activation functions headless (also: python -m nnviz)."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    compare = sub.add_parser("compare", help="train a comparison and write CSVs, weights and an HTML report")
    compare.add_argument("--dataset", help=", ".join(DATASETS) + " (plane and multigauss are regression)")
    compare.add_argument("--activations", help="comma-separated, e.g. relu,tanh,sigmoid")
    compare.add_argument("--seeds", help="consecutive seeds, e.g. 0-4")
    compare.add_argument("--epochs", type=int)
    compare.add_argument(
        "--set", action="append", metavar="KEY=VALUE", help="any other setting (URL key), repeatable"
    )
    compare.add_argument(
        "--vary",
        metavar="SETTING=V1,V2",
        help=f"compare along a second setting too, {MIN_VALUES}-{MAX_VALUES} values, e.g. lr=0.01,0.1,1 "
        f"({', '.join(VARY)})",
    )
    compare.add_argument("--out", type=Path, help="output directory")
    run = sub.add_parser("run", help="rerun an exported config.json exactly")
    run.add_argument("--config", type=Path, required=True)
    run.add_argument("--out", type=Path)
    return parser


def main(argv: list[str] | None = None) -> int:
    torch.set_num_threads(1)  # as the app: the networks are tiny, and the numbers do not depend on cores
    args = build_parser().parse_args(argv)
    try:
        cfg = export.config_from_json(_read(args.config)) if args.command == "run" else config_from_args(args)
        exp = build(cfg)
    except ValueError as exc:
        print(f"nnviz: error: {exc}", file=sys.stderr)
        return 2
    seconds = train_with_progress(exp)
    print(headline(exp, seconds) + "\n")
    print(summary_table(exp))
    if args.out:
        for path in write_outputs(exp, args.out):
            print(f"wrote {path}")
    return 0


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read {path}: {exc}") from None
