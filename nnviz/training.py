"""The lockstep trainer: every (activation, seed) run of an experiment trained as one batched computation.

Controlled comparison: all runs of one seed start from the same initial weights
(:func:`nnviz.model.init_weights`) and see the same minibatches in the same order
(:func:`nnviz.model.epoch_order`), so the differences between runs are the activation's alone.

History convention (as Keras): the train loss/accuracy of an epoch are averaged over that epoch's
minibatches as they were seen (training mode); validation loss/accuracy are evaluated after the
epoch in evaluation mode. Reported losses are the data loss; the L1/L2 penalties
(``l1 * sum|W| + l2/2 * sum W^2`` over weight matrices) are added to the optimised objective only.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from nnviz import lockstep
from nnviz.activations import get_activation
from nnviz.config import Config
from nnviz.datasets import Split
from nnviz.diagnostics import DiagnosticsRecorder
from nnviz.model import epoch_order, init_weights, layer_dims

ADAM_BETAS = (0.9, 0.999)
ADAM_EPS = 1e-8
HISTORY_KEYS = ("train_loss", "train_acc", "val_loss", "val_acc")


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
        self._init_params()
        self.running = [
            (torch.zeros(k, cfg.width, 1), torch.ones(k, cfg.width, 1)) if cfg.batch_norm else None
            for _ in range(cfg.hidden_layers)
        ]
        self._opt = [torch.zeros_like(self.params) for _ in range(2 if cfg.optimizer == "adam" else 1)]
        self._opt_steps = 0
        self._last_good = (self.params.clone(), [r and (r[0].clone(), r[1].clone()) for r in self.running])
        self.alive = torch.ones(k, dtype=torch.bool)
        self.diverged_epoch: list[int | None] = [None] * k
        self.epoch = 0
        self._hist = {key: torch.full((cfg.epochs, k), float("nan")) for key in HISTORY_KEYS}
        self.diagnostics = DiagnosticsRecorder(self)
        self._last_grad = torch.zeros_like(self.params)
        self._build_runtime()

    # ---- set-up ------------------------------------------------------------------------------
    def _init_params(self) -> None:
        views = self.layout.views(self.params)
        n_seeds = self.cfg.n_seeds
        for j, seed in enumerate(self.cfg.seeds):
            weights = init_weights(self.dims, self.cfg.init, seed)
            for layer, (w, b) in zip(views, weights):
                layer["W"][j::n_seeds] = w
                if "b" in layer:
                    layer["b"][j::n_seeds] = b[:, None]
        for layer in views[:-1]:
            if "gamma" in layer:
                layer["gamma"].fill_(1.0)
            if "slope" in layer:
                layer["slope"].fill_(0.0)
                for i, (act, _) in enumerate(self.runs):
                    if act == "prelu":
                        layer["slope"][i] = self.cfg.params_for("prelu")["slope"]

    def _build_runtime(self) -> None:
        """Objects derived from the state (views, activation groups); rebuilt after unpickling."""
        cfg, n_seeds = self.cfg, self.cfg.n_seeds
        self._views = self.layout.views(self.params)
        self._groups = [
            lockstep.Group(get_activation(a), cfg.params_for(a), slice(i * n_seeds, (i + 1) * n_seeds))
            for i, a in enumerate(cfg.activations)
        ]
        self._wmask = self.layout.weight_mask()
        self._prelu_mask = torch.tensor([[[float(a == "prelu")]] for a, _ in self.runs])
        self._onehot = self._targets(self._y)
        self._onehot_val = self._targets(self._yv)
        self._seed_of_run = torch.arange(len(self.runs)) % n_seeds

    def _targets(self, y: torch.Tensor) -> torch.Tensor:
        if self.n_classes == 2:
            return y.float()
        return F.one_hot(y, self.n_classes).T.float()

    def __getstate__(self):
        state = dict(self.__dict__)
        for key in ("_views", "_groups", "_wmask", "_prelu_mask", "_onehot", "_onehot_val"):
            state.pop(key, None)
        return state

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
        with torch.no_grad():
            for _ in range(n):
                self._run_epoch()
        return n

    def _run_epoch(self) -> None:
        n, bs = self._x.shape[1], self.cfg.batch_size
        k = self.n_runs
        loss_sum, correct = torch.zeros(k), torch.zeros(k)
        if bs <= 0 or bs >= n:
            loss, corr = self._train_step(self._x, self._y, self._onehot)
            loss_sum, correct = loss * n, corr
        else:
            for xb, yb, tb in self._minibatches(bs):
                loss, corr = self._train_step(xb, yb, tb)
                loss_sum += loss * yb.shape[-1]
                correct += corr
        val_loss, val_correct = self._evaluate(self._xv, self._yv, self._onehot_val)
        row = {
            "train_loss": loss_sum / n,
            "train_acc": correct / n,
            "val_loss": val_loss,
            "val_acc": val_correct / self._yv.shape[0],
        }
        self._check_divergence(row)
        for key, value in row.items():
            self._hist[key][self.epoch] = torch.where(self.alive, value, float("nan"))
        self.epoch += 1
        self.diagnostics.maybe_record(self.epoch)

    def _minibatches(self, bs: int):
        n = self._x.shape[1]
        orders = np.stack([epoch_order(s, self.epoch, n) for s in self.cfg.seeds])
        if len(orders) == 1:
            idx = torch.from_numpy(orders[0])
            for start in range(0, n, bs):
                sel = idx[start : start + bs]
                yield self._x[:, sel], self._y[sel], self._onehot[..., sel]
            return
        run_idx = torch.from_numpy(orders)[self._seed_of_run]  # [K, N]
        for start in range(0, n, bs):
            sel = run_idx[:, start : start + bs]
            yb = self._y[sel]
            tb = self._onehot[..., sel].transpose(0, 1) if self.n_classes > 2 else self._onehot[sel]
            yield self._x[:, sel].transpose(0, 1), yb, tb

    def _train_step(self, x, y, target):
        logits, caches = lockstep.forward(
            self._views, self._groups, x, train=True, need_deriv=True, running=self.running
        )
        loss, correct, dlogits = lockstep.loss_and_grad(logits, y, target, self.cfg.loss, True)
        grad = torch.cat(lockstep.backward(self._views, caches, dlogits, self._prelu_mask), dim=1)
        if self.cfg.l2:
            grad.add_(self.params * self._wmask, alpha=self.cfg.l2)
        if self.cfg.l1:
            grad.add_(self.params.sign() * self._wmask, alpha=self.cfg.l1)
        if not self.alive.all():
            grad = torch.where(self.alive[:, None], grad, 0.0)
        self._last_grad = grad
        self._update(grad)
        return loss, correct

    def _update(self, grad: torch.Tensor) -> None:
        """One optimiser step on the flat buffer; elementwise, so it is exactly K optimisers."""
        cfg, p = self.cfg, self.params
        self._opt_steps += 1
        if cfg.optimizer == "sgd":
            p.add_(grad, alpha=-cfg.lr)
        elif cfg.optimizer == "momentum":
            buf = self._opt[0]
            buf.mul_(cfg.momentum).add_(grad)
            p.add_(buf, alpha=-cfg.lr)
        else:
            m, v = self._opt
            b1, b2 = ADAM_BETAS
            m.lerp_(grad, 1.0 - b1)
            v.mul_(b2).addcmul_(grad, grad, value=1.0 - b2)
            bc1 = 1.0 - b1**self._opt_steps
            bc2_sqrt = (1.0 - b2**self._opt_steps) ** 0.5
            p.addcdiv_(m, (v.sqrt() / bc2_sqrt).add_(ADAM_EPS), value=-cfg.lr / bc1)

    def _evaluate(self, x, y, target):
        logits, _ = lockstep.forward(
            self._views, self._groups, x, train=False, need_deriv=False, running=self.running
        )
        loss, correct, _ = lockstep.loss_and_grad(logits, y, target, self.cfg.loss, False)
        return loss, correct

    def _check_divergence(self, row: dict) -> None:
        """Freeze runs whose loss went NaN/inf: restore their last finite parameters, zero their
        optimiser state and stop updating them. Other runs are untouched."""
        finite = torch.isfinite(row["train_loss"]) & torch.isfinite(row["val_loss"])
        bad = self.alive & ~finite
        good_params, good_running = self._last_good
        if bool(bad.any()):
            self.params[bad] = good_params[bad]
            for buf in self._opt:
                buf[bad] = 0.0
            for cur, good in zip(self.running, good_running):
                if cur is not None:
                    cur[0][bad], cur[1][bad] = good[0][bad], good[1][bad]
            for i in torch.nonzero(bad).flatten().tolist():
                self.diverged_epoch[i] = self.epoch + 1
            self.alive &= ~bad
        good_params.copy_(self.params)
        for cur, good in zip(self.running, good_running):
            if cur is not None:
                good[0].copy_(cur[0])
                good[1].copy_(cur[1])

    # ---- results -----------------------------------------------------------------------------
    def history(self) -> dict[str, np.ndarray]:
        """Per-epoch metrics so far: each ``[epochs_done, K]``; NaN after a run diverged."""
        return {key: h[: self.epoch].numpy().copy() for key, h in self._hist.items()}

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
        """Weights of one run, keyed like :func:`nnviz.model.reference_model`'s ``nn.Sequential``."""
        out: dict[str, torch.Tensor] = {}
        index = 0
        for i, layer in enumerate(self._views):
            out[f"{index}.weight"] = layer["W"][run].clone()
            if "b" in layer:
                out[f"{index}.bias"] = layer["b"][run, :, 0].clone()
            index += 1
            if i == len(self._views) - 1:
                break
            if "gamma" in layer:
                out[f"{index}.weight"] = layer["gamma"][run, :, 0].clone()
                out[f"{index}.bias"] = layer["beta"][run, :, 0].clone()
                out[f"{index}.running_mean"] = self.running[i][0][run, :, 0].clone()
                out[f"{index}.running_var"] = self.running[i][1][run, :, 0].clone()
                out[f"{index}.num_batches_tracked"] = torch.tensor(self._opt_steps)
                index += 1
            if self.runs[run][0] == "prelu":
                out[f"{index}.weight"] = layer["slope"][run, :, 0].clone()
            index += 1
        return out
