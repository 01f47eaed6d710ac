"""Exports of an experiment as plain files: tidy histories, summary, config, weights, dataset.

CSV text is built with the csv module (the core needs no pandas); in a grid every row names the
varied setting (``varied``, its URL key) and the run's value of it (``value``, URL text), both
empty without a grid. Weights are a ``torch.save`` file: ``{"config": params, "varied": key,
"dims": [...], "init", "batch_norm", "standardize", "inputs", "runs": [{"activation", "seed",
"params", "row", "value", "dims", "init", "batch_norm", "standardize", "inputs", "state_dict"}]}``:
each run carries its own network shape and input scaling (a grid's rows may differ in them); the
top-level ``dims``, ``init``, ``batch_norm``, ``standardize`` and ``inputs`` are there when every
run shares them (always without a grid). ``inputs`` documents the network's input features:
``{"names", "mean", "std"}`` (nnviz.data.features.InputMap). Each ``state_dict`` loads into
:func:`load_run_model` (a plain ``nn.Sequential``); :func:`model_inputs` makes its input from points.

Everything here takes either kind of experiment (nnviz.grid.build): an Experiment or a GridExperiment.
"""

from __future__ import annotations

import csv
import io
import json
import math
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from nnviz.analysis.summary import columns_for
from nnviz.config import Config
from nnviz.data.features import DEFAULT_FEATURES, InputMap
from nnviz.engine.model import reference_model

if TYPE_CHECKING:
    from nnviz.experiment import Experiment
    from nnviz.grid import GridExperiment

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


def run_values(exp: Experiment | GridExperiment) -> list[str]:
    """Per run: its value of the varied setting (URL text), "" without a grid."""
    values = exp.cfg.values
    return [values[r] if values else "" for r in exp.run_rows]


def histories_csv(exp: Experiment | GridExperiment) -> str:
    """Tidy per-epoch history: run, activation, seed, varied, value, epoch, split, loss, accuracy
    (for regression ``r2`` in place of ``accuracy``, and the loss is the MSE)."""
    hist = exp.history()
    score = "r2" if "train_r2" in hist else "acc"
    n_epochs = len(hist["val_loss"])
    varied, values = exp.cfg.vary, run_values(exp)
    rows = []
    for k, (act, seed) in enumerate(exp.runs):
        for e in range(n_epochs):
            for split in SPLITS:
                loss, acc = hist[f"{split}_loss"][e, k], hist[f"{split}_{score}"][e, k]
                rows.append(
                    [k, act, seed, varied, values[k], e + 1, split, _num(float(loss)), _num(float(acc))]
                )
    last = "r2" if score == "r2" else "accuracy"
    return _csv(rows, ["run", "activation", "seed", "varied", "value", "epoch", "split", "loss", last])


def summary_csv(exp: Experiment | GridExperiment) -> str:
    """One row per run: its identity (with the varied setting and its value in a grid), the summary
    table's columns (nnviz.analysis.summary, of the experiment's task: ``r2``, ``rmse``, ``mae`` for
    regression) as plain numbers, when it diverged and its verdicts."""
    columns = columns_for(exp.task)
    header = [
        "run", "activation", "seed", "varied", "value", "epochs", *(c.key for c in columns),
        "diverged_epoch", "verdicts",
    ]  # fmt: skip
    rows = []
    for r in exp.summary():
        values = [_cell(getattr(r, c.key)) for c in columns]
        ident = [r.run, r.activation, r.seed, r.varied, r.value, r.epochs]
        rows.append([*ident, *values, _cell(r.diverged_epoch), _verdicts(r)])
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


# per run; top level when all runs agree
SHARED_KEYS = ("dims", "init", "batch_norm", "standardize", "inputs")


def weights_bytes(exp: Experiment | GridExperiment) -> bytes:
    """Every run's trained weights, with what :func:`load_run_model` needs to rebuild it."""
    values = run_values(exp)
    rows = exp.cfg.rows
    runs = []
    for k, (act, seed) in enumerate(exp.runs):
        part, j = exp.locate(k)
        row = rows[exp.run_rows[k]]
        runs.append(
            {
                "activation": act,
                "seed": seed,
                "params": exp.cfg.params_for(act),
                "row": exp.run_rows[k],
                "value": values[k],
                "dims": list(part.trainer.dims),
                "init": row.init,
                "batch_norm": row.batch_norm,
                "standardize": {"mean": part.split.mean.tolist(), "scale": part.split.scale.tolist()},
                "inputs": part.trainer.inputs.to_dict(),
                "state_dict": part.trainer.state_dict(j),
            }
        )
    payload: dict = {"config": exp.cfg.to_params(), "varied": exp.cfg.vary}
    for key in SHARED_KEYS:
        if all(run[key] == runs[0][key] for run in runs):
            payload[key] = runs[0][key]
    payload["runs"] = runs
    buf = io.BytesIO()
    torch.save(payload, buf)
    return buf.getvalue()


def load_run_model(payload: dict, run: int) -> nn.Sequential:
    """A plain ``nn.Sequential`` with the trained weights of one run of a weights export.

    Its inputs are the run's input features (``payload["runs"][run]["inputs"]``) of the points
    standardised with the run's ``"standardize"``: :func:`model_inputs` makes them from data
    coordinates. The output is logits.
    """
    entry = payload["runs"][run]

    def get(key: str):  # the run's own, else the export's (files written before runs had their own)
        return entry[key] if key in entry else payload[key]

    model = reference_model(
        get("dims"), entry["activation"], entry["params"], scheme=get("init"), seed=entry["seed"],
        batch_norm=get("batch_norm"),
    )  # fmt: skip
    model.load_state_dict(entry["state_dict"])
    return model.eval()


def model_inputs(payload: dict, run: int, X: np.ndarray) -> torch.Tensor:
    """The input ``[N, F]`` of one run's model (:func:`load_run_model`) at points ``X [N, 2]`` in data
    coordinates: standardised with the run's ``standardize``, then its input features (``inputs``)."""
    entry = payload["runs"][run]
    scaling = entry.get("standardize", payload.get("standardize"))
    mean, scale = (np.asarray(scaling[k], dtype=np.float32) for k in ("mean", "scale"))
    points = ((np.asarray(X, dtype=np.float32) - mean) / scale).astype(np.float32)
    default = {"names": list(DEFAULT_FEATURES), "mean": [0.0, 0.0], "std": [1.0, 1.0]}  # older files
    inputs = InputMap.from_dict(entry.get("inputs", payload.get("inputs", default)))
    return torch.from_numpy(np.ascontiguousarray(inputs.apply(points)))


def dataset_csv(X: np.ndarray, y: np.ndarray) -> str:
    """Points as CSV with the columns x1, x2, label (the upload format); real-valued targets (regression)
    are written as numbers, which the upload reads back as regression."""
    if np.issubdtype(np.asarray(y).dtype, np.floating):
        rows = [
            [f"{a:.6g}", f"{b:.6g}", f"{c:.6g}"]
            for (a, b), c in zip(np.asarray(X), np.asarray(y), strict=False)
        ]
        return _csv(rows, ["x1", "x2", "target"])
    rows = [[f"{a:.6g}", f"{b:.6g}", int(c)] for (a, b), c in zip(np.asarray(X), np.asarray(y), strict=False)]
    return _csv(rows, ["x1", "x2", "label"])
