"""A comparison along a setting that changes the network or the data: one lockstep group per value.

A config that varies the depth, the width, batch norm, the batch size, standardisation, the noise
or the dataset (``cfg.vary`` not in LOCKSTEP_AXES) cannot train its rows in one lockstep
computation: their parameters differ in shape, or their points differ. :class:`GridExperiment`
holds one :class:`~nnviz.experiment.Experiment` per value (a *group*) and offers the comparison
as a whole: training in step (every group at the same epoch), the runs of all rows in row order,
the summary, the history, the diagnostics. Every group of a seed starts from that seed's initial
weights (the same weights wherever the shapes agree) and sees that seed's minibatch order.

:func:`build` is how the app, the CLI and the tests make either kind from a config.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import replace

import numpy as np

from nnviz.config import LOCKSTEP_AXES, Config
from nnviz.data.split import split_dataset, task_of
from nnviz.experiment import Experiment, Row, RunSummary


def build(cfg: Config, points: tuple[np.ndarray, np.ndarray] | None = None, data_token: str = ""):
    """The experiment a config describes: an :class:`Experiment` (no grid, or a grid of lockstep
    settings), else a :class:`GridExperiment`; on the user's ``points`` (X, y) when given."""
    if not cfg.vary or cfg.vary in LOCKSTEP_AXES:
        if points is None:
            return Experiment(cfg)
        return Experiment.from_points(cfg, *points, data_token=data_token)
    return GridExperiment(cfg, points=points, data_token=data_token)


def is_grid(exp) -> bool:
    """True for an experiment whose rows are separate groups (a GridExperiment)."""
    return isinstance(exp, GridExperiment)


class GridExperiment:
    """One Experiment per value of the varied setting, trained in step. Picklable.

    Runs are numbered as a lockstep grid's are (LockstepTrainer): activation-major, then row,
    then seed, so that the summary and the curves list a grid the same way whatever it varies.
    """

    def __init__(
        self, cfg: Config, parts: list[Experiment] | None = None, *, points=None, data_token: str = ""
    ):
        self.cfg = cfg
        self.data_token = data_token
        self.uid = uuid.uuid4().hex
        if parts is None:
            parts = [_part(row, points, data_token) for row in cfg.rows]
        self.parts = parts
        n_act, n_seeds = len(cfg.activations), cfg.n_seeds
        # run k of the comparison: (group, run there), k = (activation * rows + row) * seeds + seed
        self._where = [
            (r, a * n_seeds + s) for a in range(n_act) for r in range(len(parts)) for s in range(n_seeds)
        ]
        self._cache: dict[tuple, object] = {}

    def restarted(self) -> GridExperiment:
        return GridExperiment(self.cfg, [p.restarted() for p in self.parts], data_token=self.data_token)

    # ---- training, in step ---------------------------------------------------------------------
    @property
    def epoch(self) -> int:
        return min(p.epoch for p in self.parts)

    @property
    def done(self) -> bool:
        return all(p.done for p in self.parts)

    @property
    def progress(self) -> float:
        return min(p.progress for p in self.parts)

    @property
    def epochs_per_second(self) -> float | None:
        """Epochs per second of the whole comparison (each epoch trains every group once)."""
        rates = [p.epochs_per_second for p in self.parts]
        if any(r is None for r in rates):
            return None
        return 1.0 / sum(1.0 / r for r in rates) if all(rates) else 0.0

    def train_for(self, seconds: float, max_epochs: int) -> int:
        """Train every group for a share of ``seconds`` (the one furthest behind first), at most
        until ``max_epochs`` more epochs of the comparison have ended; returns the epochs that ended."""
        start, epoch0 = time.perf_counter(), self.epoch
        until = epoch0 + max(0, int(max_epochs))
        for i, part in enumerate(sorted(self.parts, key=lambda p: p.progress)):
            left = seconds - (time.perf_counter() - start)
            if left <= 0 and part.progress > self.progress:
                break
            part.train_for(max(left, 0.0) / (len(self.parts) - i), until - part.epoch)
        self._changed()
        return self.epoch - epoch0

    def step(self, n_epochs: int = 1) -> int:
        epoch0 = self.epoch
        until = epoch0 + max(0, int(n_epochs))
        for part in self.parts:
            part.step(until - part.epoch)
        self._changed()
        return self.epoch - epoch0

    def _changed(self) -> None:
        self._cache.clear()  # (the keys name the groups' weights; this bounds what is kept)

    def cached(self, key: tuple, compute):
        """``compute()``, kept until the groups' weights change (as Experiment.cached; a group can
        also be trained on its own, from a per-network tab)."""
        key = (key, tuple(p._version for p in self.parts))
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]

    # ---- the runs, row-major ------------------------------------------------------------------
    @property
    def rows(self) -> list[Row]:
        return [
            Row(r, self.cfg.row_label(r), part, tuple(range(part.trainer.n_runs)))
            for r, part in enumerate(self.parts)
        ]

    def locate(self, run: int) -> tuple[Experiment, int]:
        """The group that trains a run of the comparison, and the run's index there."""
        r, j = self._where[run]
        return self.parts[r], j

    def _gather(self, per_part: list, axis: int = 0) -> np.ndarray:
        """Arrays with one entry per run of each group along ``axis``, as one in run order."""
        return np.stack([np.take(per_part[r], j, axis=axis) for r, j in self._where], axis=axis)

    @property
    def n_runs(self) -> int:
        return len(self._where)

    @property
    def n_classes(self) -> int:
        return self.parts[0].n_classes

    @property
    def task(self) -> str:
        """ "classification" or "regression" (every row's data has the same task: config._check_grid)."""
        return self.parts[0].task

    @property
    def is_regression(self) -> bool:
        return self.parts[0].is_regression

    @property
    def runs(self) -> list[tuple[str, int]]:
        return [self.parts[r].trainer.runs[j] for r, j in self._where]

    @property
    def run_rows(self) -> list[int]:
        return [r for r, _ in self._where]

    @property
    def run_names(self) -> list[str]:
        return [self.parts[r].run_names[j] for r, j in self._where]

    @property
    def run_labels(self) -> list[str]:
        return [
            f"{name} · {self.cfg.row_label(r)}" for name, r in zip(self.run_names, self.run_rows, strict=True)
        ]

    @property
    def diverged_epoch(self) -> list[int | None]:
        return [self.parts[r].trainer.diverged_epoch[j] for r, j in self._where]

    def history(self) -> dict[str, np.ndarray]:
        """Per-epoch metrics ``[epoch, K]`` of every run, up to the epoch all groups reached."""
        n = self.epoch
        parts = [p.trainer.history() for p in self.parts]
        return {key: self._gather([h[key][:n] for h in parts], axis=1) for key in parts[0]}

    def diagnostics(self) -> dict[str, np.ndarray]:
        """As ``trainer.diagnostics.arrays()`` for every run: the records all groups have made, with
        NaN for the layers a shallower group does not have."""
        parts = [p.trainer.diagnostics.arrays() for p in self.parts]
        n = min(len(a["epochs"]) for a in parts)
        out = {"epochs": parts[0]["epochs"][:n]}
        for key in ("dead", "saturated", "grad_norm"):
            depth = max(a[key].shape[2] for a in parts)
            blocks = []
            for a in parts:
                block = np.full((n, a[key].shape[1], depth), np.nan, dtype=np.float32)
                # a layer's position from the input; the output layer (grad_norm's last) stays last
                if key == "grad_norm":
                    block[:, :, : a[key].shape[2] - 1] = a[key][:n, :, :-1]
                    block[:, :, -1] = a[key][:n, :, -1]
                else:
                    block[:, :, : a[key].shape[2]] = a[key][:n]
                blocks.append(block)
            out[key] = self._gather(blocks, axis=1)
        return out

    def summary(self) -> list[RunSummary]:
        parts = [p.summary() for p in self.parts]
        return [
            replace(parts[r][j], run=k, varied=self.cfg.vary, value=self.cfg.values[r])
            for k, (r, j) in enumerate(self._where)
        ]

    def confusion(self, part: str = "val") -> np.ndarray:
        return self._gather([p.confusion(part) for p in self.parts])


def _part(row: Config, points, data_token: str) -> Experiment:
    if points is None:
        return Experiment(row)
    split = split_dataset(
        *points, val_fraction=row.val_fraction, random_state=row.data_seed, standardize=row.standardize,
        task=task_of(points[1]),
    )  # fmt: skip
    return Experiment(row, split, data_token=data_token)
