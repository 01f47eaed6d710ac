"""The lockstep trainer: every (activation, seed) run of an experiment trained as one batched computation.

Controlled comparison: all runs of one seed start from the same initial weights
(:func:`nnviz.engine.model.init_weights`) and see the same minibatches in the same order
(:func:`nnviz.engine.model.epoch_order`), so the differences between runs are the activation's alone.

History convention (as Keras): the train loss/accuracy of an epoch are averaged over that epoch's
minibatches as they were seen (training mode); validation loss/accuracy are evaluated after the
epoch in evaluation mode. Regression (a split with ``task == "regression"``): one linear output, the
loss is MSE (``cfg.loss`` is not read) and the accuracy slots hold R\u00b2 instead (HISTORY_KEYS_REGRESSION):
train R\u00b2 is 1 - (squared errors over the epoch's minibatches as seen) / (the training targets' total
sum of squares), validation R\u00b2 that of the validation points after the epoch. Reported losses are the data loss; the L1/L2 penalties
(``l1 * sum|W| + l2/2 * sum W^2`` over weight matrices) are added to the optimised objective only.

State and runtime: everything a trainer *is* lives in one :class:`TrainerState` (what it pickles);
every other attribute is derived from that state by ``LockstepTrainer._build_runtime`` (parameter
views, activation groups, workspaces, masks, one-hot targets, the optimiser object) and rebuilt
after unpickling. A new piece of state is a new field of :class:`TrainerState`; anything else is
runtime, and must be built there from the state alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from nnviz.activations import get_activation
from nnviz.config import LOCKSTEP_AXES, Config
from nnviz.data.features import InputMap
from nnviz.data.generators import CLASSIFICATION, REGRESSION
from nnviz.data.split import Split
from nnviz.engine import lockstep, losses
from nnviz.engine.model import epoch_order, init_weights, layer_dims
from nnviz.engine.optim import ADAM_BETAS, ADAM_EPS, OptimizerState, RowOptimizer
from nnviz.engine.recorder import DiagnosticsRecorder

__all__ = [
    "ADAM_BETAS",
    "ADAM_EPS",
    "HISTORY_KEYS",
    "HISTORY_KEYS_REGRESSION",
    "LockstepTrainer",
    "TrainerState",
]

HISTORY_KEYS = ("train_loss", "train_acc", "val_loss", "val_acc")
HISTORY_KEYS_REGRESSION = ("train_loss", "train_r2", "val_loss", "val_r2")  # the same slots, R^2 for accuracy
EVAL_CHUNK_ELEMENTS = 1 << 20  # hidden activations per layer per chunk of points predict_proba evaluates


@dataclass(eq=False, slots=True)
class TrainerState:
    """Everything a :class:`LockstepTrainer` is between two ``step`` calls, and all that it pickles.

    Tensors here are owned by the state (no views of runtime buffers); the runtime reads and
    updates them in place. ``K`` runs, ``P`` parameters per run (see :mod:`nnviz.engine.params`).
    """

    cfg: Config
    n_classes: int
    x: torch.Tensor  # [2, N] float32: the training points (scaled space), coordinates first
    y: torch.Tensor  # [N] int64 (float32 targets for regression)
    x_val: torch.Tensor  # [2, N_val] float32
    y_val: torch.Tensor  # [N_val] int64 (float32 targets for regression)
    inputs: InputMap  # points -> the network's inputs (cfg.features, standardised on the training points)
    params: torch.Tensor  # [K, P] float32: every parameter of every run
    running: list  # per hidden layer: BatchNorm running (mean, var), each [K, width, 1], or None
    optimizer: OptimizerState
    grad: torch.Tensor  # [K, P]: the gradient of the last step (penalties included, 0 for frozen runs)
    hist: torch.Tensor  # [epochs, len(HISTORY_KEYS), K]: history rows, NaN where not (validly) reached
    epoch: int  # epochs done
    alive: torch.Tensor  # [K] bool: False once a run diverged (it is frozen from then on)
    diverged_epoch: list[int | None]  # [K]: the epoch a run diverged in
    diagnostics: DiagnosticsRecorder
    # the parameters (and BatchNorm running statistics) at the end of the last epoch whose losses
    # were finite: what a run that diverges in the epoch under way is restored to
    last_good: tuple = ()
    # an epoch under way (minibatch training stops after any optimiser step, see ``advance``):
    batch: int = 0  # minibatches of epoch ``epoch`` done
    partial: list = field(default_factory=list)  # their (loss [K], correct [K]), in order
    task: str = CLASSIFICATION  # the split's: REGRESSION has one linear output and MSE

    @classmethod
    def initial(cls, cfg: Config, split: Split) -> TrainerState:
        """The state before the first epoch: initial weights (per seed and row), zero optimiser state."""
        n_classes = int(split.n_classes)
        dims, layout = _layout(cfg, n_classes)
        k = cfg.n_runs
        params = torch.zeros(k, layout.size)
        # run k takes weights[k % (rows x seeds)]: every row of a seed starts from that seed's
        # weights, drawn with the row's initialisation scheme (the same weights unless init varies)
        weights = [init_weights(dims, row.init, seed) for row in cfg.rows for seed in cfg.seeds]
        slope = cfg.params_for("prelu").get("slope", 0.0)
        layout.initialise(params, weights, [slope * (a == "prelu") for a in cfg.activations for _ in weights])
        label = np.float32 if split.task == REGRESSION else np.int64
        return cls(
            cfg=cfg,
            n_classes=n_classes,
            x=torch.from_numpy(np.ascontiguousarray(split.X_train.T, dtype=np.float32)),
            y=torch.from_numpy(split.y_train.astype(label)),
            x_val=torch.from_numpy(np.ascontiguousarray(split.X_val.T, dtype=np.float32)),
            y_val=torch.from_numpy(split.y_val.astype(label)),
            inputs=InputMap.fit(cfg.features, split.X_train, standardize=cfg.standardize),
            params=params,
            running=[
                (torch.zeros(k, cfg.width, 1), torch.ones(k, cfg.width, 1)) if cfg.batch_norm else None
                for _ in range(cfg.hidden_layers)
            ],
            optimizer=OptimizerState.zeros_for([row.optimizer for row in cfg.rows], params),
            grad=torch.zeros_like(params),
            hist=torch.full((cfg.epochs, len(HISTORY_KEYS), k), float("nan")),
            epoch=0,
            alive=torch.ones(k, dtype=torch.bool),
            diverged_epoch=[None] * k,
            diagnostics=DiagnosticsRecorder.for_config(cfg),
            task=split.task,
        ).with_last_good()

    def with_last_good(self) -> TrainerState:
        """Note the current parameters as the last finite ones (at an epoch's end)."""
        if not self.last_good:
            self.last_good = (self.params.clone(), [r and (r[0].clone(), r[1].clone()) for r in self.running])
        else:
            good_params, good_running = self.last_good
            good_params.copy_(self.params)
            for cur, good in zip(self.running, good_running, strict=True):
                if cur is not None:
                    good[0].copy_(cur[0])
                    good[1].copy_(cur[1])
        return self


def _check_lockstep(cfg: Config) -> None:
    if cfg.vary and cfg.vary not in LOCKSTEP_AXES:
        raise ValueError(
            f"{cfg.vary} changes the network or the data: one trainer per value (nnviz.experiment)"
        )


def _layout(cfg: Config, n_classes: int) -> tuple[list[int], lockstep.Layout]:
    dims = layer_dims(len(cfg.features), cfg.hidden_layers, cfg.width, n_classes)
    return dims, lockstep.Layout(dims, prelu="prelu" in cfg.activations, batch_norm=cfg.batch_norm)


class LockstepTrainer:
    """Trains ``len(cfg.activations) * cfg.n_seeds`` MLPs in lockstep; ``step(n)`` advances all.

    Runs are ordered activation-major: run ``k`` is ``(cfg.activations[k // S], cfg.seeds[k % S])``.
    A config that varies an optimiser setting, L1/L2 or the initialisation (``cfg.vary`` in
    LOCKSTEP_AXES) trains all its rows here at once, ordered (activation, row, seed): run ``k`` is
    row ``(k // S) % V`` of ``V`` (``run_rows``), with that row's learning rate, momentum, optimiser,
    penalties and initial weights; S and V below are seeds and rows.

    The public interface (what the rest of nnviz uses; everything else is the engine's own):

    * training: ``step(n_epochs)``, ``advance(max_steps, until_epoch)`` (optimiser steps: it may
      stop inside an epoch), ``epoch``, ``batch``, ``steps_per_epoch``, ``done``; ``history()`` (per-epoch metrics) and
      ``diagnostics`` (a :class:`~nnviz.engine.recorder.DiagnosticsRecorder`: ``arrays()``);
    * outputs, evaluation mode, at 2D points in the scaled input space: ``predict_proba(x)``,
      ``hidden_outputs(x)``, ``forward_eval(x, need_deriv)`` (logits and per-layer caches), and
      the network's inputs there, ``input_features(x)`` (``inputs``: the features and their scaling);
    * one run's parameters: ``state_dict(run)``, ``prelu_slopes(run)``, and the gradient of its last
      step: ``gradients(run)`` (keyed like ``state_dict``);
    * what the diagnostics read: ``train_inputs``, ``activation_groups``, ``grad_norms()``,
      ``eval_chunk`` (points per chunk when evaluating many);
    * read-only descriptions: ``cfg``, ``runs``, ``n_runs``, ``dims``, ``n_classes``, ``alive``,
      ``diverged_epoch`` and ``params`` (the flat ``[K, P]`` parameter buffer; do not write it).

    Pickling saves exactly the :class:`TrainerState` (``__getstate__``); unpickling rebuilds the
    runtime from it, and the restored copy resumes bit for bit.
    """

    def __init__(self, cfg: Config, split: Split):
        _check_lockstep(cfg)
        self._state = TrainerState.initial(cfg, split)
        self._build_runtime()

    def __getstate__(self) -> TrainerState:
        return self._state

    def __setstate__(self, state: TrainerState) -> None:
        self._state = state
        self._build_runtime()

    # ---- set-up ------------------------------------------------------------------------------
    def _build_runtime(self) -> None:
        """Every attribute but ``_state``, derived from the state alone (after __init__ and unpickling)."""
        s = self._state
        cfg, n_seeds, rows = s.cfg, s.cfg.n_seeds, s.cfg.rows
        per_act = n_seeds * len(rows)  # runs per activation
        self.dims, self._layout = _layout(cfg, s.n_classes)
        self.runs = [(a, seed) for a in cfg.activations for _ in rows for seed in cfg.seeds]
        self.run_rows = [r for _ in cfg.activations for r in range(len(rows)) for _ in cfg.seeds]
        self._views = self._layout.views(s.params)
        # the network's inputs [F, N]: the training points themselves for the default features
        self._x, self._x_val = (self._features_of(t) for t in (s.x, s.x_val))
        self._groups = tuple(
            lockstep.Group(get_activation(a), cfg.params_for(a), slice(i * per_act, (i + 1) * per_act))
            for i, a in enumerate(cfg.activations)
        )
        self._opt = RowOptimizer([(r.optimizer, r.lr, r.momentum) for r in rows], self.run_rows, s.params,
                                 s.grad, s.optimizer)  # fmt: skip
        self._penalties = _penalties(rows, self.run_rows)
        self._wmask = self._layout.weight_mask()
        self._grad_views = self._layout.views(s.grad)  # written by every backward pass
        self._prelu_mask = torch.tensor([[[float(a == "prelu")]] for a, _ in self.runs])
        self._onehot = self._targets(s.y)
        self._onehot_val = self._targets(s.y_val)
        self._seed_of_run = torch.arange(len(self.runs)) % n_seeds
        self._workspaces: dict[tuple[int, int], lockstep.Workspace] = {}  # by (points, backward points)
        # full batch without batch norm: training and evaluation mode agree, see _run_pipelined
        self._pipelined = not cfg.batch_norm and not 0 < cfg.batch_size < s.x.shape[1]
        self._x_all = torch.cat([self._x, self._x_val], dim=1)
        self._loss = losses.REGRESSION_LOSS if s.task == REGRESSION else cfg.loss
        fused = s.task != REGRESSION and s.n_classes == 2 and cfg.loss == "ce"
        self._split_targets = losses.SplitTargets.of(s.y, s.y_val) if fused else None
        self._all_alive = bool(s.alive.all())
        self._epoch_data: tuple | None = None  # (epoch, x, y, target): the epoch's permuted data
        # a history row (loss, correct, val loss, val correct) / this = (loss, acc, val loss, val acc)
        self._row_scale = torch.tensor([[1.0], [s.x.shape[1]], [1.0], [s.x_val.shape[1]]])
        self._row_offset = None
        if s.task == REGRESSION:  # (loss, SSE, val loss, val SSE) -> (loss, R^2, val loss, val R^2)
            sst = [max(float(((t - t.mean()) ** 2).sum()), 1e-12) for t in (s.y, s.y_val)]
            self._row_scale = torch.tensor([[1.0], [-sst[0]], [1.0], [-sst[1]]])
            self._row_offset = torch.tensor([[0.0], [1.0], [0.0], [1.0]])

    def _features_of(self, points: torch.Tensor) -> torch.Tensor:
        """The network's inputs ``[F, N]`` at points ``[2, N]`` (the points themselves for x1, x2)."""
        inputs = self._state.inputs
        return points if inputs.identity else inputs.apply(points.T).T.contiguous()

    def _targets(self, y: torch.Tensor) -> torch.Tensor:
        if self._state.task == REGRESSION:
            return y
        if self._state.n_classes == 2:
            return y.float()
        return F.one_hot(y, self._state.n_classes).T.float()

    # ---- the state, read only ----------------------------------------------------------------
    @property
    def cfg(self) -> Config:
        return self._state.cfg

    @property
    def n_classes(self) -> int:
        """Classes; 1 for regression (one output)."""
        return self._state.n_classes

    @property
    def task(self) -> str:
        """ "classification" or "regression" (the split's)."""
        return self._state.task

    @property
    def is_regression(self) -> bool:
        return self._state.task == REGRESSION

    @property
    def history_keys(self) -> tuple[str, ...]:
        """The keys of ``history()``: HISTORY_KEYS, or HISTORY_KEYS_REGRESSION for regression."""
        return HISTORY_KEYS_REGRESSION if self.is_regression else HISTORY_KEYS

    @property
    def params(self) -> torch.Tensor:
        """``[K, P]``: every parameter of every run (layout: :mod:`nnviz.engine.params`)."""
        return self._state.params

    @property
    def epoch(self) -> int:
        return self._state.epoch

    @property
    def alive(self) -> torch.Tensor:
        """``[K]`` bool: False for the runs frozen after they diverged."""
        return self._state.alive

    @property
    def diverged_epoch(self) -> list[int | None]:
        """Per run, the epoch it diverged in, or None."""
        return self._state.diverged_epoch

    @property
    def diagnostics(self) -> DiagnosticsRecorder:
        return self._state.diagnostics

    # ---- training ----------------------------------------------------------------------------
    @property
    def n_runs(self) -> int:
        return len(self.runs)

    @property
    def done(self) -> bool:
        return self._state.epoch >= self._state.cfg.epochs

    @property
    def steps_per_epoch(self) -> int:
        """Optimiser steps (minibatches) per epoch: 1 for full-batch training."""
        n, bs = self._state.x.shape[1], self._state.cfg.batch_size
        return 1 if bs <= 0 or bs >= n else -(-n // bs)

    @property
    def batch(self) -> int:
        """Minibatches done of the epoch under way (0 between epochs)."""
        return self._state.batch

    def step(self, n_epochs: int = 1) -> int:
        """Train every live run until ``n_epochs`` more epochs have ended (within the budget; the rest
        of an epoch under way counts as one); returns how many ended."""
        s = self._state
        n = max(0, min(int(n_epochs), s.cfg.epochs - s.epoch))
        if n:
            self.advance(n * self.steps_per_epoch, until_epoch=s.epoch + n)
        return n

    def advance(self, max_steps: int, until_epoch: int | None = None) -> int:
        """Up to ``max_steps`` optimiser steps of every live run, stopping early once ``until_epoch``
        epochs (default: the budget) have ended; returns the steps taken.

        Minibatch training may stop after any step, inside an epoch, and resume there: the history
        stays per epoch (an epoch's training metrics are recorded when its last minibatch is done),
        and training in slices gives bit for bit the numbers of training in one go."""
        s = self._state
        end = s.cfg.epochs if until_epoch is None else min(int(until_epoch), s.cfg.epochs)
        budget, done = max(0, int(max_steps)), 0
        # inference_mode, not no_grad: no version counters or view tracking per op, ~70 us of
        # ~1000 per epoch on W. Tensors made here (the workspaces) are only ever used in here.
        with torch.inference_mode():
            if self._pipelined:
                done = max(0, min(budget, end - s.epoch))
                if done:
                    self._run_pipelined(done)
                return done
            spe = self.steps_per_epoch
            while done < budget and s.epoch < end:
                take = min(budget - done, spe - s.batch)
                self._run_batches(take)
                done += take
        return done

    def _run_batches(self, take: int) -> None:
        """The next ``take`` minibatches of the epoch under way; ends the epoch after its last."""
        s = self._state
        n, spe = s.x.shape[1], self.steps_per_epoch
        if spe == 1:
            s.partial.append(self._train_step(self._x, s.y, self._onehot))
        else:
            bs = s.cfg.batch_size
            x, y, target = self._epoch_batches()
            for i in range(s.batch, s.batch + take):
                cut = slice(i * bs, (i + 1) * bs)
                s.partial.append(self._train_step(x[..., cut], y[..., cut], target[..., cut]))
        s.batch += take
        if s.batch < spe:
            return
        if spe == 1:
            loss, correct = s.partial[0]
        else:  # per-batch results are summed once per epoch: 2 ops per batch fewer
            bs = s.cfg.batch_size
            sizes = torch.tensor([min(bs, n - start) / n for start in range(0, n, bs)])
            loss = torch.stack([b[0] for b in s.partial], dim=1) @ sizes
            correct = torch.stack([b[1] for b in s.partial]).sum(0)
        s.batch, s.partial, self._epoch_data = 0, [], None
        val_loss, val_correct = self._evaluate(self._x_val, s.y_val, self._onehot_val)
        self._finish_epoch(_metrics(loss, correct), _metrics(val_loss, val_correct))

    def _run_pipelined(self, n_epochs: int) -> None:
        """Full-batch epochs where every forward pass also covers the validation points.

        Without batch norm the training forward pass is the evaluation forward pass, and the
        parameters it sees are those the previous epoch's validation evaluates; so the validation
        metrics of epoch e come with the forward pass of epoch e + 1 (the last epoch's are
        evaluated by one more such pass). On W: 990 us per epoch against 1090 with a separate
        validation pass, and 920 with both losses from one fused pass (losses.split_binary_ce)."""
        s = self._state
        n = s.x.shape[1]
        ws = self._workspace(self._x_all.shape[1], n)
        pending = None  # (loss, correct) of the epoch whose validation metrics are not known yet
        for _ in range(n_epochs):
            logits, caches = lockstep.forward(
                self._views, self._groups, self._x_all, train=True, need_deriv=False, ws=ws
            )
            train, val, dlogits = self._split_losses(logits, n)
            if pending is not None:
                self._finish_epoch(pending, val)
            pending = train
            self._backward_and_update(caches, dlogits, ws)
        # The last epoch's validation metrics from the same forward pass over all points as the
        # next epoch's (its training part is recomputed then, identically): so a run trained in
        # several calls gets the numbers of one call, bit for bit.
        logits, _ = lockstep.forward(
            self._views, self._groups, self._x_all, train=True, need_deriv=False, ws=ws
        )
        self._finish_epoch(pending, self._split_losses(logits, n)[1])

    def _split_losses(self, logits, n: int):
        """Training metrics ``[2, K]`` (loss, correct), validation metrics and d(loss)/d(logits)
        from logits of the training points followed by the validation points."""
        if self._split_targets is not None:
            loss, correct, dlogits = losses.split_binary_ce(logits, self._split_targets)
            metrics = torch.stack([loss, correct], dim=1)
            return metrics[0], metrics[1], dlogits
        s = self._state
        loss, correct, dlogits = losses.loss_and_grad(logits[..., :n], s.y, self._onehot, self._loss, True)
        val = losses.loss_and_grad(logits[..., n:], s.y_val, self._onehot_val, self._loss, False)
        return _metrics(loss, correct), _metrics(*val[:2]), dlogits

    def _finish_epoch(self, train: torch.Tensor, val: torch.Tensor) -> None:
        """Record an epoch's metrics (``[2, K]`` each: loss, correct count) as one [4, K] history row
        (one write instead of four masked ones), freeze the runs that diverged in it and run the
        diagnostics."""
        s = self._state
        row = torch.cat([train, val], out=s.hist[s.epoch]).div_(self._row_scale)
        if self._row_offset is not None:
            row.add_(self._row_offset)
        self._check_divergence(row)
        if not self._all_alive:
            row.masked_fill_(~s.alive, float("nan"))
        s.epoch += 1
        s.diagnostics.maybe_record(self)

    def _epoch_batches(self):
        """``(x, y, target)`` of this epoch, permuted in each seed's order for that seed's runs (once
        per epoch; the minibatches are consecutive slices of it)."""
        s = self._state
        if self._epoch_data is not None and self._epoch_data[0] == s.epoch:
            return self._epoch_data[1:]
        n = s.x.shape[1]
        orders = np.stack([epoch_order(seed, s.epoch, n) for seed in s.cfg.seeds])
        if len(orders) == 1:  # one order shared by all runs
            idx = torch.from_numpy(orders[0])
            x, y, target = self._x[:, idx], s.y[idx], self._onehot[..., idx]
        else:  # per run: x [K, F, N], y [K, N], target [K, N] or [K, C, N]
            idx = torch.from_numpy(orders)[self._seed_of_run]
            x, y, target = self._x[:, idx].transpose(0, 1), s.y[idx], self._onehot[..., idx]
            target = target.transpose(0, 1) if s.n_classes > 2 else target
        self._epoch_data = (s.epoch, x, y, target)
        return x, y, target

    def _workspace(self, n: int, n_grad: int | None = None) -> lockstep.Workspace:
        key = (n, n if n_grad is None else n_grad)
        if key not in self._workspaces:
            self._workspaces[key] = lockstep.Workspace(self._views, self._groups, *key)
        return self._workspaces[key]

    def _train_step(self, x, y, target):
        s = self._state
        ws = self._workspace(x.shape[-1])
        logits, caches = lockstep.forward(
            self._views, self._groups, x, train=True, need_deriv=False, running=s.running, ws=ws
        )
        loss, correct, dlogits = losses.loss_and_grad(logits, y, target, self._loss, True)
        self._backward_and_update(caches, dlogits, ws)
        return loss, correct

    def _backward_and_update(self, caches, dlogits, ws) -> None:
        s = self._state
        grad = s.grad
        lockstep.backward(self._views, caches, dlogits, ws, self._prelu_mask, self._grad_views)
        l1, l2 = self._penalties  # each a float (all rows alike) or a [K, 1] column per run
        if isinstance(l2, torch.Tensor):
            grad.addcmul_(s.params * self._wmask, l2)
        elif l2:
            grad.add_(s.params * self._wmask, alpha=l2)
        if isinstance(l1, torch.Tensor):
            grad.addcmul_(s.params.sign() * self._wmask, l1)
        elif l1:
            grad.add_(s.params.sign() * self._wmask, alpha=l1)
        if not self._all_alive:  # frozen runs take no step (every backward pass rewrites grad)
            grad.masked_fill_(~s.alive[:, None], 0.0)
        self._opt.step(grad)

    def _evaluate(self, x, y, target):
        s = self._state
        ws = self._workspace(x.shape[-1])
        logits, _ = lockstep.forward(
            self._views, self._groups, x, train=False, need_deriv=False, running=s.running, ws=ws
        )
        loss, correct, _ = losses.loss_and_grad(logits, y, target, self._loss, False)
        return loss, correct

    def _check_divergence(self, row: torch.Tensor) -> None:
        """Freeze runs whose loss went NaN/inf in this history ``row``: restore their last finite
        parameters, zero their optimiser state and stop updating them. Other runs are untouched."""
        s = self._state
        if not math.isfinite(float(row.sum())):  # one op while everything is finite
            self._freeze(s.alive & torch.isfinite(row[0] + row[2]).logical_not_())
        s.with_last_good()

    def _freeze(self, bad: torch.Tensor) -> None:
        s = self._state
        good_params, good_running = s.last_good
        s.params[bad] = good_params[bad]
        self._opt.reset(bad)
        for cur, good in zip(s.running, good_running, strict=True):
            if cur is not None:
                cur[0][bad], cur[1][bad] = good[0][bad], good[1][bad]
        for i in torch.nonzero(bad).flatten().tolist():
            s.diverged_epoch[i] = s.epoch + 1
        s.alive &= ~bad
        self._all_alive = bool(s.alive.all())

    # ---- results -----------------------------------------------------------------------------
    def history(self) -> dict[str, np.ndarray]:
        """Per-epoch metrics so far: each ``[epochs_done, K]``; NaN after a run diverged. Keyed by
        ``history_keys`` (R\u00b2 in place of accuracy for regression)."""
        s = self._state
        return {key: s.hist[: s.epoch, j].numpy().copy() for j, key in enumerate(self.history_keys)}

    def forward_eval(self, x: np.ndarray, need_deriv: bool = False):
        """Evaluation-mode forward of all runs on points ``x [G, 2]`` (raw data coordinates
        already scaled like the training data), through the input features (``input_features``).
        Returns (logits [K, out, G], hidden caches: one :class:`~nnviz.engine.lockstep.LayerCache`
        per hidden layer, ``deriv`` = f'(z) if asked; the first layer's ``a_in`` is ``[F, G]``)."""
        xt = torch.from_numpy(np.ascontiguousarray(self.input_features(x).T))
        with torch.no_grad():
            return lockstep.forward(
                self._views, self._groups, xt, train=False, need_deriv=need_deriv, running=self._state.running
            )

    def input_features(self, x: np.ndarray) -> np.ndarray:
        """The network's inputs ``[G, F]`` float32 at points ``x [G, 2]`` (scaled space): the features
        of ``cfg.features``, each standardised as on the training points (``inputs``)."""
        return self._state.inputs.apply(np.asarray(x, dtype=np.float32))

    @property
    def inputs(self) -> InputMap:
        """The input features (names, and the mean and std that scale them; read only)."""
        return self._state.inputs

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities ``[K, G, C]`` of every run at points ``x [G, 2]`` (scaled space).

        Evaluated in chunks of points whose hidden activations (``[K, width, chunk]`` per layer)
        stay in the CPU's caches: 39 runs of 64 units on 160 x 160 grid points take ~3x longer
        in one pass than in chunks of 256 points. Regression has no classes: use ``predict``."""
        if self.is_regression:
            raise ValueError("predict_proba is for classification; a regression trainer has predict(x)")
        chunk = self.eval_chunk
        if len(x) > chunk:
            return np.concatenate([self.predict_proba(x[i : i + chunk]) for i in range(0, len(x), chunk)], 1)
        logits, _ = self.forward_eval(x)
        if self._state.n_classes == 2:
            p1 = torch.sigmoid(logits[:, 0])
            probs = torch.stack([1.0 - p1, p1], dim=-1)
        else:
            probs = torch.softmax(logits, dim=1).transpose(1, 2)
        return probs.numpy()

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Regression: every run's predicted value ``[K, G]`` float32 at points ``x [G, 2]`` (scaled
        space), evaluated in cache-sized chunks as ``predict_proba``."""
        if not self.is_regression:
            raise ValueError("predict is for regression; a classification trainer has predict_proba(x)")
        chunk = self.eval_chunk
        if len(x) > chunk:
            return np.concatenate([self.predict(x[i : i + chunk]) for i in range(0, len(x), chunk)], 1)
        out, _ = self.forward_eval(x)
        return out[:, 0].numpy().copy()

    @property
    def eval_chunk(self) -> int:
        """Points per chunk for evaluating many points: their hidden activations (``[K, width,
        chunk]`` per layer, ~4 MB) stay in the CPU's caches."""
        return max(256, EVAL_CHUNK_ELEMENTS // (self.n_runs * max(self.dims[1:-1], default=1)))

    def hidden_outputs(self, x: np.ndarray) -> list[np.ndarray]:
        """Output of every hidden unit: one ``[K, width, G]`` array per hidden layer."""
        _, caches = self.forward_eval(x)
        return [c.a_out.numpy() for c in caches]

    def state_dict(self, run: int) -> dict[str, torch.Tensor]:
        """Weights of one run, keyed like :func:`nnviz.engine.model.reference_model`'s ``nn.Sequential``."""
        s = self._state
        prelu = self.runs[run][0] == "prelu"
        return self._layout.state_dict(s.params[run], s.running, run, prelu, s.optimizer.steps)

    def gradients(self, run: int) -> dict[str, torch.Tensor]:
        """The gradient of the last optimiser step of one run (of the optimised objective, penalties
        included; zeros before the first step and for a frozen run), keyed like ``state_dict(run)``
        without BatchNorm's running statistics (they have no gradient). Copies: read only."""
        s = self._state
        prelu = self.runs[run][0] == "prelu"
        grads = self._layout.state_dict(s.grad[run], s.running, run, prelu, s.optimizer.steps)
        stats = ("running_mean", "running_var", "num_batches_tracked")
        return {key: value for key, value in grads.items() if not key.endswith(stats)}

    def prelu_slopes(self, run: int) -> list[np.ndarray] | None:
        """The learned negative slopes ``[width]`` per hidden layer of a PReLU run (copies), else None."""
        if self.runs[run][0] != "prelu":
            return None
        return [layer["slope"][run, :, 0].numpy().copy() for layer in self._views[:-1]]

    @property
    def train_inputs(self) -> np.ndarray:
        """The training points ``[N, 2]`` in the scaled input space (a copy)."""
        return self._state.x.numpy().T.copy()

    @property
    def activation_groups(self) -> tuple[lockstep.Group, ...]:
        """The runs grouped by activation: ``(act, params, runs)`` per activation of the config, with
        ``act`` the :class:`~nnviz.activations.Activation`, ``params`` its parameter values and
        ``runs`` the slice of run indices that use it (contiguous, activation-major)."""
        return self._groups

    def grad_norms(self) -> np.ndarray:
        """``[K, layers]`` float32: the Frobenius norm of every layer's weight-matrix gradient at the
        last step (of the optimised objective, penalties included); 0 for frozen runs and before
        the first step."""
        grad = self._state.grad
        norms = [grad[:, slot["W"].start : slot["W"].stop].norm(dim=1) for slot in self._layout.slots]
        return torch.stack(norms, -1).numpy()


def _penalties(rows, run_rows: list[int]) -> tuple:
    """(l1, l2): each a float when every row has the same, else a ``[K, 1]`` column of each run's."""
    out = []
    for name in ("l1", "l2"):
        values = [getattr(row, name) for row in rows]
        if len(set(values)) == 1:
            out.append(values[0])
        else:
            out.append(torch.tensor([[values[r]] for r in run_rows], dtype=torch.float32))
    return tuple(out)


def _metrics(loss: torch.Tensor, correct: torch.Tensor) -> torch.Tensor:
    return torch.stack([loss, correct.to(loss.dtype)])
