"""Exports of an experiment as plain files: tidy histories, summary, config, weights, dataset.

CSV text is built with the csv module (the core needs no pandas). Weights are a ``torch.save``
file: ``{"config": params, "dims": [...], "runs": [{"activation", "seed", "params", "state_dict"}]}``;
each ``state_dict`` loads into :func:`load_run_model` (a plain ``nn.Sequential``).
"""

from __future__ import annotations

import csv
import io
import json
import math

import numpy as np
import torch
from torch import nn

from nnviz.analysis.summary import COLUMNS
from nnviz.config import Config
from nnviz.engine.model import reference_model
from nnviz.experiment import Experiment

SPLITS = ("train", "val")
CONFIG_FORMAT = "nnviz-config/1"


def _csv(rows: list[list], header: list[str]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


def _num(x: float | None) -> str:
    if x is None:
        return ""
    return "nan" if isinstance(x, float) and math.isnan(x) else f"{x:.6g}"


def histories_csv(exp: Experiment) -> str:
    """Tidy per-epoch history: run, activation, seed, epoch, split, loss, accuracy."""
    hist = exp.trainer.history()
    rows = []
    for k, (act, seed) in enumerate(exp.trainer.runs):
        for e in range(exp.epoch):
            for split in SPLITS:
                loss, acc = hist[f"{split}_loss"][e, k], hist[f"{split}_acc"][e, k]
                rows.append([k, act, seed, e + 1, split, _num(float(loss)), _num(float(acc))])
    return _csv(rows, ["run", "activation", "seed", "epoch", "split", "loss", "accuracy"])


def summary_csv(exp: Experiment) -> str:
    """One row per run: its identity, the summary table's columns (nnviz.analysis.summary) as plain
    numbers, when it diverged and its verdicts."""
    header = ["run", "activation", "seed", "epochs", *(c.key for c in COLUMNS), "diverged_epoch", "verdicts"]
    rows = []
    for r in exp.summary():
        values = [_cell(getattr(r, c.key)) for c in COLUMNS]
        rows.append([r.run, r.activation, r.seed, r.epochs, *values, _cell(r.diverged_epoch), _verdicts(r)])
    return _csv(rows, header)


def _cell(value) -> str:
    """A number for a CSV: '' when missing (None), else as _num writes it."""
    if value is None:
        return ""
    return str(value) if isinstance(value, int) else _num(float(value))


def _verdicts(row) -> str:
    return "; ".join(v.text for v in row.verdicts)


def config_json(cfg: Config) -> str:
    """The config as JSON (every field, so the file documents itself); see :func:`config_from_json`."""
    params = cfg.to_params(full=True)
    return json.dumps({"format": CONFIG_FORMAT, "params": params}, indent=2, sort_keys=True)


def config_from_json(text: str) -> Config:
    """Parse an exported config; raises ValueError listing every problem (strict, unlike the URL)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("params"), dict):
        raise ValueError('expected an object with a "params" object (an nnviz config export)')
    cfg, notices = Config.from_params({str(k): str(v) for k, v in data["params"].items()})
    if notices:
        raise ValueError("; ".join(n.problem for n in notices))
    return cfg


def weights_bytes(exp: Experiment) -> bytes:
    runs = [
        {
            "activation": act,
            "seed": seed,
            "params": exp.cfg.params_for(act),
            "state_dict": exp.trainer.state_dict(k),
        }
        for k, (act, seed) in enumerate(exp.trainer.runs)
    ]
    payload = {
        "config": exp.cfg.to_params(),
        "dims": exp.trainer.dims,
        "init": exp.cfg.init,
        "batch_norm": exp.cfg.batch_norm,
        "standardize": {"mean": exp.split.mean.tolist(), "scale": exp.split.scale.tolist()},
        "runs": runs,
    }
    buf = io.BytesIO()
    torch.save(payload, buf)
    return buf.getvalue()


def load_run_model(payload: dict, run: int) -> nn.Sequential:
    """A plain ``nn.Sequential`` with the trained weights of one run of a weights export.

    Inputs must be standardised with ``payload["standardize"]`` first; the output is logits.
    """
    entry = payload["runs"][run]
    model = reference_model(
        payload["dims"], entry["activation"], entry["params"], scheme=payload["init"], seed=entry["seed"],
        batch_norm=payload["batch_norm"],
    )  # fmt: skip
    model.load_state_dict(entry["state_dict"])
    return model.eval()


def dataset_csv(X: np.ndarray, y: np.ndarray) -> str:
    """Points as CSV with the columns x1, x2, label (the upload format)."""
    rows = [[f"{a:.6g}", f"{b:.6g}", int(c)] for (a, b), c in zip(np.asarray(X), np.asarray(y), strict=False)]
    return _csv(rows, ["x1", "x2", "label"])
