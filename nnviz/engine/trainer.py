"""The lockstep trainer: every (activation, seed) run of an experiment trained as one batched computation.

Controlled comparison: all runs of one seed start from the same initial weights
(:func:`nnviz.engine.model.init_weights`) and see the same minibatches in the same order
(:func:`nnviz.engine.model.epoch_order`), so the differences between runs are the activation's alone.

History convention (as Keras): the train loss/accuracy of an epoch are averaged over that epoch's
minibatches as they were seen (training mode); validation loss/accuracy are evaluated after the
epoch in evaluation mode. Reported losses are the data loss; the L1/L2 penalties
(``l1 * sum|W| + l2/2 * sum W^2`` over weight matrices) are added to the optimised objective only.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from nnviz.activations import get_activation
from nnviz.config import Config
from nnviz.data.split import Split
from nnviz.engine import lockstep, losses
from nnviz.engine.model import epoch_order, init_weights, layer_dims
from nnviz.engine.optim import ADAM_BETAS, ADAM_EPS, FlatOptimizer
from nnviz.engine.recorder import DiagnosticsRecorder

__all__ = ["ADAM_BETAS", "ADAM_EPS", "HISTORY_KEYS", "LockstepTrainer"]

HISTORY_KEYS = ("train_loss", "train_acc", "val_loss", "val_acc")
# derived from the state by _build_runtime, so not pickled
_RUNTIME = ("_views", "_groups", "_wmask", "_grad", "_grad_views", "_prelu_mask", "_onehot",
            "_onehot_val", "_workspaces", "_x_all", "_split_targets")  # fmt: skip


class LockstepTrainer:
    """Trains ``len(cfg.activations) * cfg.n_seeds`` MLPs in lockstep; ``step(n)`` advances all.

    Runs are ordered activation-major: run ``k`` is ``(cfg.activations[k // S], cfg.seeds[k % S])``.
    The trainer is a plain object: it pickles, and a restored copy resumes exactly.
    """

    def __init__(self, cfg: Config, split: Split):
        self.cfg = cfg
        self.n_classes = int(split.n_classes)
        self.dims = layer_dims(2, cfg.hidden_layers, cfg.width, self.n_classes)
        self.runs = [(a, s) for a in cfg.activations for s in cfg.seeds]
        k = len(self.runs)
        self.layout = lockstep.Layout(self.dims, prelu="prelu" in cfg.activations, batch_norm=cfg.batch_norm)
        self._x = torch.from_numpy(np.ascontiguousarray(split.X_train.T, dtype=np.float32))
        self._y = torch.from_numpy(split.y_train.astype(np.int64))
        self._xv = torch.from_numpy(np.ascontiguousarray(split.X_val.T, dtype=np.float32))
        self._yv = torch.from_numpy(split.y_val.astype(np.int64))
        self.params = torch.zeros(k, self.layout.size)
        seed_weights = [init_weights(self.dims, cfg.init, seed) for seed in cfg.seeds]
        slope = cfg.params_for("prelu").get("slope", 0.0)
        self.layout.initialise(self.params, seed_weights, [slope * (a == "prelu") for a, _ in self.runs])
        self.running = [
            (torch.zeros(k, cfg.width, 1), torch.ones(k, cfg.width, 1)) if cfg.batch_norm else None
            for _ in range(cfg.hidden_layers)
        ]
        self._opt = FlatOptimizer(cfg.optimizer, self.params, cfg.lr, cfg.momentum)
        self._last_good = (self.params.clone(), [r and (r[0].clone(), r[1].clone()) for r in self.running])
        self.alive = torch.ones(k, dtype=torch.bool)
        self.diverged_epoch: list[int | None] = [None] * k
        self.epoch = 0
        self._hist = torch.full((cfg.epochs, len(HISTORY_KEYS), k), float("nan"))
        self.diagnostics = DiagnosticsRecorder(self)
        self._last_grad = torch.zeros_like(self.params)
        self._build_runtime()

    # ---- set-up ------------------------------------------------------------------------------
    def _build_runtime(self) -> None:
        """Objects derived from the state (views, activation groups); rebuilt after unpickling."""
        cfg, n_seeds = self.cfg, self.cfg.n_seeds
        self._views = self.layout.views(self.params)
        self._groups = [
            lockstep.Group(get_activation(a), cfg.params_for(a), slice(i * n_seeds, (i + 1) * n_seeds))
            for i, a in enumerate(cfg.activations)
        ]
        self._wmask = self.layout.weight_mask()
        self._grad = torch.zeros_like(self.params)  # written by every backward pass
        self._grad_views = self.layout.views(self._grad)
        self._prelu_mask = torch.tensor([[[float(a == "prelu")]] for a, _ in self.runs])
        self._onehot = self._targets(self._y)
        self._onehot_val = self._targets(self._yv)
        self._seed_of_run = torch.arange(len(self.runs)) % n_seeds
        self._workspaces: dict[tuple[int, int], lockstep.Workspace] = {}  # by (points, backward points)
        # full batch without batch norm: training and evaluation mode agree, see _run_pipelined
        self._pipelined = not self.cfg.batch_norm and not 0 < self.cfg.batch_size < self._x.shape[1]
        self._x_all = torch.cat([self._x, self._xv], dim=1)
        fused = self.n_classes == 2 and self.cfg.loss == "ce"
        self._split_targets = losses.SplitTargets.of(self._y, self._yv) if fused else None
        self._all_alive = bool(self.alive.all())
        # a history row (loss, correct, val loss, val correct) / this = (loss, acc, val loss, val acc)
        self._row_scale = torch.tensor([[1.0], [self._x.shape[1]], [1.0], [self._xv.shape[1]]])

    def _targets(self, y: torch.Tensor) -> torch.Tensor:
        if self.n_classes == 2:
            return y.float()
        return F.one_hot(y, self.n_classes).T.float()

    def __getstate__(self):
        return {key: value for key, value in self.__dict__.items() if key not in _RUNTIME}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._build_runtime()

    # ---- training ----------------------------------------------------------------------------
    @property
    def n_runs(self) -> int:
        return len(self.runs)

    @property
    def done(self) -> bool:
        return self.epoch >= self.cfg.epochs

    def step(self, n_epochs: int = 1) -> int:
        """Train every live run for up to ``n_epochs`` more epochs (within the budget); returns how many."""
        n = max(0, min(int(n_epochs), self.cfg.epochs - self.epoch))
        # inference_mode, not no_grad: no version counters or view tracking per op, ~70 us of
        # ~1000 per epoch on W. Tensors made here (the workspaces) are only ever used in here.
        with torch.inference_mode():
            if n and self._pipelined:
                self._run_pipelined(n)
            for _ in range(0 if self._pipelined else n):
                self._run_epoch()
        return n

    def _run_epoch(self) -> None:
        n, bs = self._x.shape[1], self.cfg.batch_size
        if bs <= 0 or bs >= n:
            loss, correct = self._train_step(self._x, self._y, self._onehot)
        else:  # per-batch results are summed once per epoch: 2 ops per batch fewer
            batches = [self._train_step(xb, yb, tb) for xb, yb, tb in self._minibatches(bs)]
            sizes = torch.tensor([min(bs, n - start) / n for start in range(0, n, bs)])
            loss = torch.stack([b[0] for b in batches], dim=1) @ sizes
            correct = torch.stack([b[1] for b in batches]).sum(0)
        val_loss, val_correct = self._evaluate(self._xv, self._yv, self._onehot_val)
        self._finish_epoch(_metrics(loss, correct), _metrics(val_loss, val_correct))

    def _run_pipelined(self, n_epochs: int) -> None:
        """Full-batch epochs where every forward pass also covers the validation points.

        Without batch norm the training forward pass is the evaluation forward pass, and the
        parameters it sees are those the previous epoch's validation evaluates; so the validation
        metrics of epoch e come with the forward pass of epoch e + 1 (the last epoch's are
        evaluated on their own). On W: 990 us per epoch against 1090 with a separate validation
        pass, and 920 with both losses from one fused pass (losses.split_binary_ce)."""
        n = self._x.shape[1]
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
        val_loss, val_correct = self._evaluate(self._xv, self._yv, self._onehot_val)
        self._finish_epoch(pending, _metrics(val_loss, val_correct))

    def _split_losses(self, logits, n: int):
        """Training metrics ``[2, K]`` (loss, correct), validation metrics and d(loss)/d(logits)
        from logits of the training points followed by the validation points."""
        if self._split_targets is not None:
            loss, correct, dlogits = losses.split_binary_ce(logits, self._split_targets)
            metrics = torch.stack([loss, correct], dim=1)
            return metrics[0], metrics[1], dlogits
        loss, correct, dlogits = losses.loss_and_grad(
            logits[..., :n], self._y, self._onehot, self.cfg.loss, True
        )
        val = losses.loss_and_grad(logits[..., n:], self._yv, self._onehot_val, self.cfg.loss, False)
        return _metrics(loss, correct), _metrics(*val[:2]), dlogits

    def _finish_epoch(self, train: torch.Tensor, val: torch.Tensor) -> None:
        """Record an epoch's metrics (``[2, K]`` each: loss, correct count) as one [4, K] history row
        (one write instead of four masked ones), freeze the runs that diverged in it and run the
        diagnostics."""
        row = torch.cat([train, val], out=self._hist[self.epoch]).div_(self._row_scale)
        self._check_divergence(row)
        if not self._all_alive:
            row.masked_fill_(~self.alive, float("nan"))
        self.epoch += 1
        self.diagnostics.maybe_record(self.epoch)

    def _minibatches(self, bs: int):
        """``(x, y, target)`` of every minibatch of this epoch, in each seed's order for that seed's
        runs. The epoch's data is permuted once; the batches are slices of it."""
        n = self._x.shape[1]
        orders = np.stack([epoch_order(s, self.epoch, n) for s in self.cfg.seeds])
        if len(orders) == 1:  # one order shared by all runs
            idx = torch.from_numpy(orders[0])
            x, y, target = self._x[:, idx], self._y[idx], self._onehot[..., idx]
        else:  # per run: x [K, 2, N], y [K, N], target [K, N] or [K, C, N]
            idx = torch.from_numpy(orders)[self._seed_of_run]
            x, y, target = self._x[:, idx].transpose(0, 1), self._y[idx], self._onehot[..., idx]
            target = target.transpose(0, 1) if self.n_classes > 2 else target
        for start in range(0, n, bs):
            yield x[..., start : start + bs], y[..., start : start + bs], target[..., start : start + bs]

    def _workspace(self, n: int, n_grad: int | None = None) -> lockstep.Workspace:
        key = (n, n if n_grad is None else n_grad)
        if key not in self._workspaces:
            self._workspaces[key] = lockstep.Workspace(self._views, self._groups, *key)
        return self._workspaces[key]

    def _train_step(self, x, y, target):
        ws = self._workspace(x.shape[-1])
        logits, caches = lockstep.forward(
            self._views, self._groups, x, train=True, need_deriv=False, running=self.running, ws=ws
        )
        loss, correct, dlogits = losses.loss_and_grad(logits, y, target, self.cfg.loss, True)
        self._backward_and_update(caches, dlogits, ws)
        return loss, correct

    def _backward_and_update(self, caches, dlogits, ws) -> None:
        grad = self._grad
        lockstep.backward(self._views, caches, dlogits, ws, self._prelu_mask, self._grad_views)
        if self.cfg.l2:
            grad.add_(self.params * self._wmask, alpha=self.cfg.l2)
        if self.cfg.l1:
            grad.add_(self.params.sign() * self._wmask, alpha=self.cfg.l1)
        if not self._all_alive:
            grad = torch.where(self.alive[:, None], grad, 0.0)
        self._last_grad = grad
        self._opt.step(grad)

    def _evaluate(self, x, y, target):
        ws = self._workspace(x.shape[-1])
        logits, _ = lockstep.forward(
            self._views, self._groups, x, train=False, need_deriv=False, running=self.running, ws=ws
        )
        loss, correct, _ = losses.loss_and_grad(logits, y, target, self.cfg.loss, False)
        return loss, correct

    def _check_divergence(self, row: torch.Tensor) -> None:
        """Freeze runs whose loss went NaN/inf in this history ``row``: restore their last finite
        parameters, zero their optimiser state and stop updating them. Other runs are untouched."""
        if not math.isfinite(float(row.sum())):  # one op while everything is finite
            self._freeze(self.alive & torch.isfinite(row[0] + row[2]).logical_not_())
        good_params, good_running = self._last_good
        good_params.copy_(self.params)
        for cur, good in zip(self.running, good_running, strict=True):
            if cur is not None:
                good[0].copy_(cur[0])
                good[1].copy_(cur[1])

    def _freeze(self, bad: torch.Tensor) -> None:
        good_params, good_running = self._last_good
        self.params[bad] = good_params[bad]
        self._opt.reset(bad)
        for cur, good in zip(self.running, good_running, strict=True):
            if cur is not None:
                cur[0][bad], cur[1][bad] = good[0][bad], good[1][bad]
        for i in torch.nonzero(bad).flatten().tolist():
            self.diverged_epoch[i] = self.epoch + 1
        self.alive &= ~bad
        self._all_alive = bool(self.alive.all())

    # ---- results -----------------------------------------------------------------------------
    def history(self) -> dict[str, np.ndarray]:
        """Per-epoch metrics so far: each ``[epochs_done, K]``; NaN after a run diverged."""
        return {key: self._hist[: self.epoch, j].numpy().copy() for j, key in enumerate(HISTORY_KEYS)}

    def forward_eval(self, x: np.ndarray, need_deriv: bool = False):
        """Evaluation-mode forward of all runs on points ``x [G, 2]`` (raw data coordinates
        already scaled like the training data). Returns (logits [K, out, G], hidden caches)."""
        xt = torch.from_numpy(np.ascontiguousarray(np.asarray(x, dtype=np.float32).T))
        with torch.no_grad():
            return lockstep.forward(
                self._views, self._groups, xt, train=False, need_deriv=need_deriv, running=self.running
            )

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities ``[K, G, C]`` of every run at points ``x [G, 2]`` (scaled space)."""
        logits, _ = self.forward_eval(x)
        if self.n_classes == 2:
            p1 = torch.sigmoid(logits[:, 0])
            probs = torch.stack([1.0 - p1, p1], dim=-1)
        else:
            probs = torch.softmax(logits, dim=1).transpose(1, 2)
        return probs.numpy()

    def hidden_outputs(self, x: np.ndarray) -> list[np.ndarray]:
        """Output of every hidden unit: one ``[K, width, G]`` array per hidden layer."""
        _, caches = self.forward_eval(x)
        return [c.a_out.numpy() for c in caches]

    def state_dict(self, run: int) -> dict[str, torch.Tensor]:
        """Weights of one run, keyed like :func:`nnviz.engine.model.reference_model`'s ``nn.Sequential``."""
        prelu = self.runs[run][0] == "prelu"
        return self.layout.state_dict(self.params[run], self.running, run, prelu, self._opt.steps)


def _metrics(loss: torch.Tensor, correct: torch.Tensor) -> torch.Tensor:
    return torch.stack([loss, correct.to(loss.dtype)])
