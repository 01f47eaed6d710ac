"""An experiment: the data of a config, its lockstep trainer, and the results as plain data.

This is the one object the app, the CLI, the exports and the tests drive: build it from a
:class:`~nnviz.config.Config`, call :meth:`Experiment.step`, read :meth:`summary`,
:meth:`boundary`, :meth:`confusion`, ``trainer.history()`` and ``trainer.diagnostics.arrays()``.

Regression (``task == "regression"``, docs/regression.md): :meth:`surface` in place of
:meth:`boundary`, :meth:`predictions` are values, the summary rows carry R\u00b2, RMSE and MAE (NaN
accuracy, precision, recall and F1), there are no confusion matrices, and the replay snapshots
are the predicted surfaces.
"""

from __future__ import annotations

import math
import time
import uuid
from dataclasses import dataclass

import numpy as np

from nnviz.activations import get_activation
from nnviz.analysis import metrics
from nnviz.analysis.boundary import Grid, grid_probabilities, make_grid, quantize
from nnviz.analysis.metrics import last_finite
from nnviz.analysis.verdicts import Verdict, verdicts
from nnviz.config import UPLOAD, Config
from nnviz.data.generators import REGRESSION, get_dataset, make_dataset
from nnviz.data.split import Split, split_dataset, task_of
from nnviz.engine.trainer import LockstepTrainer

REACH_ACC = 0.9  # "epochs to reach 90% validation accuracy"
MAX_SNAPSHOTS = 50  # replay frames kept per run (plus epoch 0): bounded memory
SNAPSHOT_RESOLUTION = 50  # K x 50 x 50 x C bytes per frame (regression: K x 50 x 50 x 2, float16)
F16_MAX = float(np.finfo(np.float16).max)  # a regression frame's values are clipped to float16's range
# A grid point may cost this many multiply-adds over all runs (the runs x the network's weights)
# before grids get coarser: a heavy config (39 runs of 6 x 64 units, ~810k per point) would take
# ~1 s per 80 x 80 live frame and ~9 s at 160 x 160 on one core. Beyond it every resolution is
# scaled by sqrt(GRID_MACS_PER_POINT / cost), so a grid costs what an 80 x 80 live frame of this
# cost does (~0.1 s), whatever the config (down to MIN_GRID_RESOLUTION).
GRID_MACS_PER_POINT = 110_000
MIN_GRID_RESOLUTION = 20


def make_split(cfg: Config) -> Split:
    """The train/validation split a config describes (deterministic for ``cfg.data_seed``)."""
    if cfg.dataset == UPLOAD:
        raise ValueError("this experiment uses an uploaded CSV; upload it again to rerun it")
    spec = get_dataset(cfg.dataset)
    n_classes = cfg.n_classes if spec.n_classes is None and spec.task != REGRESSION else None
    X, y = make_dataset(
        cfg.dataset, cfg.n_samples, noise=cfg.noise, random_state=cfg.data_seed, n_classes=n_classes
    )
    return split_dataset(
        X, y, val_fraction=cfg.val_fraction, random_state=cfg.data_seed, standardize=cfg.standardize,
        task=spec.task,
    )  # fmt: skip


@dataclass(frozen=True)
class Row:
    """One row of a comparison's grid: its header (``label``, "" without a grid), the experiment
    that trains it and its runs there (indices into that experiment's runs, in column order:
    activation-major, then seed)."""

    index: int
    label: str
    experiment: Experiment
    runs: tuple[int, ...]


@dataclass(frozen=True)
class RunSummary:
    """One row of the summary table."""

    run: int
    activation: str
    name: str
    seed: int
    varied: str  # the varied setting's URL key ("" without a grid)
    value: str  # its value in this run's row (URL text)
    epochs: int
    train_loss: float
    val_loss: float
    train_acc: float
    val_acc: float
    precision: float
    recall: float
    f1: float
    epochs_to_90: int | None  # the first epoch at 90% validation accuracy (see ``held_90``)
    held_90: bool  # the validation accuracy is still at 90% or more now
    dead_pct: float  # NaN where it does not apply (saturating activations)
    diverged_epoch: int | None
    verdicts: tuple[Verdict, ...]
    # regression (validation R^2, RMSE and MAE, training R^2); NaN for classification, whose
    # accuracy, precision, recall and F1 are NaN for regression
    task: str = "classification"
    train_r2: float = math.nan
    r2: float = math.nan
    rmse: float = math.nan
    mae: float = math.nan


class Experiment:
    """Data + trainer for one config. Picklable (it holds arrays and a picklable trainer)."""

    def __init__(self, cfg: Config, split: Split | None = None, data_token: str = ""):
        self.cfg = cfg
        self.data_token = data_token  # identifies uploaded data (a hash), "" for generated data
        self.uid = uuid.uuid4().hex  # this object's identity (id() is reused after garbage collection)
        self.split = split if split is not None else make_split(cfg)
        self.trainer = LockstepTrainer(cfg, self.split)
        self._version = 0  # counts the training calls that changed the weights (results' cache key)
        self._cache: dict[tuple, object] = {}  # predictions and boundaries at ``_version``
        self.snapshot_grid = self.make_grid(self.grid_resolution(SNAPSHOT_RESOLUTION))
        self.snapshot_every = max(1, -(-cfg.epochs // MAX_SNAPSHOTS))
        # (epoch, uint8 probs [K, R, R, C]); regression: (epoch, float16 predicted values [K, R, R])
        self.snapshots: list[tuple[int, np.ndarray]] = []
        self._steps_timed, self._seconds_timed = 0, 0.0  # the training speed (time-left estimate, chunks)
        self._snapshot()

    @classmethod
    def from_points(cls, cfg: Config, X: np.ndarray, y: np.ndarray, data_token: str) -> Experiment:
        """An experiment on the user's own points (an upload): split as generated data is, by
        ``cfg.val_fraction`` and ``cfg.data_seed``; ``data_token`` identifies the data (a hash)."""
        split = split_dataset(
            X, y, val_fraction=cfg.val_fraction, random_state=cfg.data_seed, standardize=cfg.standardize,
            task=task_of(y),
        )  # fmt: skip
        return cls(cfg, split, data_token=data_token)

    def restarted(self) -> Experiment:
        """The same experiment back at epoch 0 (the same data, seed and initial weights)."""
        return Experiment(self.cfg, self.split, data_token=self.data_token)

    def train_for(self, seconds: float, max_epochs: int) -> int:
        """Train until ``seconds`` have passed or ``max_epochs`` more epochs have ended (the rest of an
        epoch under way counts as one); returns the epochs that ended.

        The unit is the optimiser step, not the epoch: an epoch of many minibatches (a large data set
        in batches of 1) is cut wherever the time is up, and the next call carries on from there. The
        chunks of steps between two looks at the clock are sized from the speed measured so far (a
        quarter of the budget), doubling from one step while nothing is known yet, so Python's
        overhead per chunk stays small without overshooting the budget by much."""
        start, epoch0 = time.perf_counter(), self.epoch
        until = self.epoch + max(0, int(max_epochs))
        rate = self._steps_timed / self._seconds_timed if self._seconds_timed > 0 else None
        chunk = max(1, int(rate * seconds / 4)) if rate else 1
        while self.epoch < until and not self.done:
            t0 = time.perf_counter()
            self.advance(chunk, until_epoch=until)
            now = time.perf_counter()
            if now - start >= seconds:
                break
            if rate is None and now - t0 < seconds / 8:
                chunk *= 2
        return self.epoch - epoch0

    @property
    def epoch(self) -> int:
        return self.trainer.epoch

    @property
    def done(self) -> bool:
        return self.trainer.done

    @property
    def run_names(self) -> list[str]:
        """Per run: the activation's name, plus the seed when there are several (a grid's panel title)."""
        multi = self.cfg.n_seeds > 1
        return [get_activation(a).name + (f" (seed {s})" if multi else "") for a, s in self.trainer.runs]

    @property
    def run_labels(self) -> list[str]:
        """Display label per run: its name, and in a grid its row ("ReLU · lr 0.3")."""
        if not self.cfg.vary:
            return self.run_names
        return [
            f"{name} · {self.cfg.row_label(r)}"
            for name, r in zip(self.run_names, self.trainer.run_rows, strict=True)
        ]

    @property
    def runs(self) -> list[tuple[str, int]]:
        """(activation, seed) per run."""
        return self.trainer.runs

    @property
    def run_rows(self) -> list[int]:
        """The grid row of each run (all 0 without a grid)."""
        return self.trainer.run_rows

    @property
    def rows(self) -> list[Row]:
        """The grid's rows (one, labelled "", without a grid), each with its runs in column order."""
        rows = self.trainer.run_rows
        return [
            Row(r, self.cfg.row_label(r), self, tuple(k for k, rr in enumerate(rows) if rr == r))
            for r in range(len(self.cfg.rows))
        ]

    @property
    def n_classes(self) -> int:
        return int(self.split.n_classes)

    @property
    def task(self) -> str:
        """ "classification" or "regression" (the data's)."""
        return self.split.task

    @property
    def is_regression(self) -> bool:
        return self.split.task == REGRESSION

    @property
    def n_runs(self) -> int:
        return self.trainer.n_runs

    @property
    def diverged_epoch(self) -> list[int | None]:
        return self.trainer.diverged_epoch

    def history(self) -> dict[str, np.ndarray]:
        """The trainer's per-epoch metrics ``[epochs, K]`` (as for a GridExperiment)."""
        return self.trainer.history()

    def diagnostics(self) -> dict[str, np.ndarray]:
        """The trainer's diagnostics records (``DiagnosticsRecorder.arrays``)."""
        return self.trainer.diagnostics.arrays()

    def locate(self, run: int) -> tuple[Experiment, int]:
        """The experiment that trains a run, and its index there (itself: one lockstep group)."""
        return self, run

    @property
    def epochs_per_second(self) -> float | None:
        """The training speed seen so far (epochs per second of training time), None before any."""
        if self._seconds_timed <= 0:
            return None
        return self._steps_timed / self._seconds_timed / self.trainer.steps_per_epoch

    @property
    def progress(self) -> float:
        """Epochs done, with the share of the epoch under way: 3.25 is a quarter into the fourth."""
        return self.epoch + self.trainer.batch / self.trainer.steps_per_epoch

    def step(self, n_epochs: int = 1) -> int:
        """Train until ``n_epochs`` more epochs have ended (within the budget); returns how many ended."""
        epoch0 = self.epoch
        self.advance(max(0, int(n_epochs)) * self.trainer.steps_per_epoch, until_epoch=self.epoch + n_epochs)
        return self.epoch - epoch0

    def advance(self, max_steps: int, until_epoch: int | None = None) -> int:
        """Up to ``max_steps`` optimiser steps (stopping once ``until_epoch`` epochs have ended),
        keeping a replay frame every ``snapshot_every`` epochs; returns the steps taken."""
        start, done = time.perf_counter(), 0
        end = self.cfg.epochs if until_epoch is None else min(until_epoch, self.cfg.epochs)
        while done < max_steps and self.epoch < end:
            epoch = self.epoch
            to_snapshot = min(end, (epoch // self.snapshot_every + 1) * self.snapshot_every)
            done += self.trainer.advance(max_steps - done, until_epoch=to_snapshot)
            if self.epoch != epoch and (self.epoch % self.snapshot_every == 0 or self.done):
                self._snapshot()
        self._steps_timed += done
        self._seconds_timed += time.perf_counter() - start
        if done:
            self._version += 1
            self._cache.clear()
        return done

    @property
    def macs_per_point(self) -> int:
        """Multiply-adds to evaluate every run at one point (what a boundary grid costs per point)."""
        dims = self.trainer.dims
        return self.trainer.n_runs * sum(a * b for a, b in zip(dims[:-1], dims[1:], strict=True))

    def grid_resolution(self, requested: int) -> int:
        """The resolution a boundary grid asked at ``requested`` gets: coarser for costly configs
        (see GRID_MACS_PER_POINT), so that drawing stays within a live frame's time."""
        cost = self.macs_per_point
        if cost <= GRID_MACS_PER_POINT:
            return requested
        return max(
            min(requested, MIN_GRID_RESOLUTION), int(requested * math.sqrt(GRID_MACS_PER_POINT / cost))
        )

    def cached(self, key: tuple, compute):
        """``compute()``, kept until the weights next change (reruns of a paused page reuse it; the
        figures keep their pictures here too). Do not write what it returns."""
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]

    def _snapshot(self) -> None:
        """Keep a replay frame of the current weights on ``snapshot_grid`` (replacing one of this
        epoch): the class probabilities as uint8, or for regression the predicted values as float16
        (rows over ys; finite ones clipped to its range, NaN stays NaN)."""
        grid, s = self.snapshot_grid, self.split
        if self.is_regression:
            values = self.trainer.predict((grid.points - s.mean) / s.scale)
            values = values.reshape(len(values), len(grid.ys), len(grid.xs))
            frame = np.clip(values, -F16_MAX, F16_MAX).astype(np.float16)
        else:
            frame = quantize(grid_probabilities(self.trainer, grid, s.mean, s.scale))
        if self.snapshots and self.snapshots[-1][0] == self.epoch:
            self.snapshots.pop()
        self.snapshots.append((self.epoch, frame))

    def data_xy(self, part: str = "train") -> tuple[np.ndarray, np.ndarray]:
        """Points of one part in data coordinates (undoing the standardisation) and their labels."""
        s = self.split
        X, y = (s.X_train, s.y_train) if part == "train" else (s.X_val, s.y_val)
        return X * s.scale + s.mean, y

    def make_grid(self, resolution: int = 100) -> Grid:
        X = np.concatenate([self.data_xy("train")[0], self.data_xy("val")[0]])
        return make_grid(X, resolution)

    def boundary(self, resolution: int = 100) -> tuple[Grid, np.ndarray]:
        """The grid (data coordinates) and every run's class probabilities on it ``[K, R, R, C]``,
        at ``grid_resolution(resolution)``. Do not write the arrays (they are kept for reuse)."""

        if self.is_regression:
            raise ValueError("a regression experiment has no decision boundary; use surface()")

        def compute():
            grid = self.make_grid(self.grid_resolution(resolution))
            return grid, grid_probabilities(self.trainer, grid, self.split.mean, self.split.scale)

        return self.cached(("boundary", resolution), compute)

    def surface(self, resolution: int = 100) -> tuple[Grid, np.ndarray]:
        """Regression: the grid (data coordinates) and every run's predicted value on it ``[K, R, R]``
        (rows over ys), at ``grid_resolution(resolution)``. Do not write the arrays."""
        if not self.is_regression:
            raise ValueError("surface() is for regression; a classification experiment has boundary()")

        def compute():
            grid = self.make_grid(self.grid_resolution(resolution))
            values = self.trainer.predict((grid.points - self.split.mean) / self.split.scale)
            return grid, values.reshape(len(values), len(grid.ys), len(grid.xs))

        return self.cached(("surface", resolution), compute)

    def predictions(self, part: str = "val") -> np.ndarray:
        """Predicted labels of every run ``[K, N]`` on the train or validation points (do not write);
        for regression the predicted values (float32)."""

        def compute():
            X = self.split.X_train if part == "train" else self.split.X_val
            if self.is_regression:
                return self.trainer.predict(X)
            return np.nan_to_num(self.trainer.predict_proba(X), nan=0.0).argmax(-1)

        return self.cached(("predictions", part), compute)

    def confusion(self, part: str = "val") -> np.ndarray:
        if self.is_regression:
            raise ValueError("a regression experiment has no confusion matrices")
        y = self.split.y_val if part == "val" else self.split.y_train
        return metrics.confusion_matrices(y, self.predictions(part), self.split.n_classes)

    def summary(self) -> list[RunSummary]:
        if self.is_regression:
            return self._regression_summary()
        hist = self.trainer.history()
        diag = self.trainer.diagnostics.arrays()
        preds = self.predictions("val")
        scores = metrics.precision_recall_f1s(self.split.y_val, preds, self.split.n_classes).tolist()
        rows = []
        for k in range(self.trainer.n_runs):
            p, r, f1 = scores[k]
            val_acc = last_finite(hist["val_acc"][:, k])
            rows.append(
                RunSummary(
                    **self._run_fields(k, hist, diag),
                    train_acc=last_finite(hist["train_acc"][:, k]),
                    val_acc=val_acc,
                    precision=p,
                    recall=r,
                    f1=f1,
                    epochs_to_90=metrics.epochs_to_reach(hist["val_acc"][:, k], REACH_ACC),
                    held_90=bool(val_acc >= REACH_ACC) and self.trainer.diverged_epoch[k] is None,
                    verdicts=tuple(
                        verdicts(
                            hist,
                            diag,
                            k,
                            self.trainer.diverged_epoch[k],
                            y_train=self.split.y_train,
                            n_classes=self.split.n_classes,
                            loss=self.cfg.loss,
                        )  # fmt: skip
                    ),
                )
            )
        return rows

    def _run_fields(self, k: int, hist: dict, diag: dict) -> dict:
        """The summary fields of run ``k`` that every task has: who it is, its losses, dead units."""
        act, seed = self.trainer.runs[k]
        dead = diag["dead"][-1, k] if len(diag["epochs"]) else np.zeros(1)
        return dict(
            run=k, activation=act, name=get_activation(act).name, seed=seed, varied=self.cfg.vary,
            value=(self.cfg.values or ("",))[self.trainer.run_rows[k]], epochs=self.epoch,
            train_loss=last_finite(hist["train_loss"][:, k]), val_loss=last_finite(hist["val_loss"][:, k]),
            dead_pct=float(100.0 * np.mean(dead)), diverged_epoch=self.trainer.diverged_epoch[k],
        )  # fmt: skip

    def _regression_summary(self) -> list[RunSummary]:
        """Summary rows of a regression experiment: validation R\u00b2, RMSE and MAE of the current
        weights (a diverged run's are its last finite ones), training R\u00b2 and the losses from the
        history; accuracy, precision, recall and F1 are NaN."""
        hist, diag = self.trainer.history(), self.trainer.diagnostics.arrays()
        y_val, preds = self.split.y_val, self.predictions("val")
        scores = np.stack(
            [metrics.r2(y_val, preds), metrics.rmse(y_val, preds), metrics.mae(y_val, preds)], 1
        )
        nan = math.nan
        rows = []
        for k in range(self.trainer.n_runs):
            diverged = self.trainer.diverged_epoch[k]
            rows.append(
                RunSummary(
                    **self._run_fields(k, hist, diag),
                    train_acc=nan,
                    val_acc=nan,
                    precision=nan,
                    recall=nan,
                    f1=nan,
                    epochs_to_90=None,
                    held_90=False,
                    verdicts=tuple(
                        verdicts(hist, diag, k, diverged, y_train=self.split.y_train, n_classes=1)
                    ),
                    task=REGRESSION,
                    train_r2=last_finite(hist["train_r2"][:, k]),
                    r2=float(scores[k, 0]),
                    rmse=float(scores[k, 1]),
                    mae=float(scores[k, 2]),
                )  # fmt: skip
            )
        return rows
