"""What goes wrong inside the networks, recorded during training and put into plain words.

Recorded every ``cfg.diag_every`` epochs (and after the first and the last epoch), per run:

* dead units per hidden layer: a unit is *dead* when its output is exactly zero on every training
  point (evaluation mode), so no gradient reaches its incoming weights (ReLU's failure mode);
* saturated units per hidden layer, only for saturating activations (sigmoid, tanh, softsign): a
  unit is *saturated* when ``f'(z) < SAT_RATIO * f'(0)`` on at least ``SAT_POINTS`` of the training
  points (sigmoid: |z| > 4.4, tanh: |z| > 2.2), so it passes almost no gradient; NaN elsewhere;
* the gradient norm of every layer's weight matrix (Frobenius norm of the gradient of the training
  objective at the last step before the record).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from nnviz import lockstep

SAT_RATIO = 0.05
SAT_POINTS = 0.90

# Verdict thresholds (documented in the README's diagnostics section).
GOOD_LOSS, GOOD_ACC = 0.2, 0.85
BAD_LOSS, BAD_ACC = 1.0, 0.60
VANISHING_RATIO = 1e-2  # layer-1 / output-layer gradient norm below this (first or last record)
EXPLODING_NORM = 1e3  # any layer's gradient norm above this: exploding
DEAD_FRACTION = 0.5  # more dead units than this in a layer: dying ReLU
SATURATED_FRACTION = 0.5
OVERFIT_GAP = 0.10  # train - validation accuracy (averaged over the last epochs)
GAP_WINDOW = 10


class DiagnosticsRecorder:
    """Collects dead / saturated fractions and gradient norms of a trainer's runs over time."""

    def __init__(self, trainer):
        self.every = int(trainer.cfg.diag_every)
        self.last_epoch = int(trainer.cfg.epochs)
        self._trainer = trainer
        self.epochs: list[int] = []
        self._dead: list[torch.Tensor] = []
        self._saturated: list[torch.Tensor] = []
        self._grad_norm: list[torch.Tensor] = []

    def maybe_record(self, epoch: int) -> None:
        if epoch == 1 or epoch % self.every == 0 or epoch == self.last_epoch:
            self.record(epoch)

    def record(self, epoch: int) -> None:
        t = self._trainer
        _, caches = lockstep.forward(
            t._views, t._groups, t._x, train=False, need_deriv=True, running=t.running
        )
        self._dead.append(torch.stack([(c.a_out.abs().amax(-1) == 0).float().mean(-1) for c in caches], -1))
        self._saturated.append(torch.stack([_saturated(t._groups, c) for c in caches], -1))
        norms = [t._last_grad[:, s["W"].start : s["W"].stop].norm(dim=1) for s in t.layout.slots]
        norm = torch.stack(norms, -1)
        self._grad_norm.append(torch.where(t.alive[:, None], norm, float("nan")))
        self.epochs.append(epoch)

    def arrays(self) -> dict[str, np.ndarray]:
        """``epochs [D]``, ``dead [D, K, hidden]``, ``saturated [D, K, hidden]``, ``grad_norm [D, K, layers]``."""
        if not self.epochs:
            k, lh = self._trainer.n_runs, self._trainer.cfg.hidden_layers
            empty = np.zeros((0, k, lh), dtype=np.float32)
            return {
                "epochs": np.zeros(0, dtype=np.int64),
                "dead": empty,
                "saturated": empty,
                "grad_norm": np.zeros((0, k, lh + 1), dtype=np.float32),
            }
        return {
            "epochs": np.asarray(self.epochs, dtype=np.int64),
            "dead": torch.stack(self._dead).numpy(),
            "saturated": torch.stack(self._saturated).numpy(),
            "grad_norm": torch.stack(self._grad_norm).numpy(),
        }


def _saturated(groups, cache) -> torch.Tensor:
    """Fraction of saturated units per run ``[K]`` in one layer (NaN for non-saturating runs)."""
    parts = []
    for g in groups:
        d = cache.deriv[g.runs]
        if g.act.saturating:
            d0 = g.act.derivative(torch.zeros(1), g.params).abs()
            low = (d.abs() < SAT_RATIO * d0).float().mean(-1) >= SAT_POINTS
            parts.append(low.float().mean(-1))
        else:
            parts.append(torch.full(d.shape[:1], float("nan")))
    return torch.cat(parts)


@dataclass(frozen=True)
class Verdict:
    level: str  # "good", "warn" or "bad"
    code: str  # stable identifier, e.g. "dying_relu"
    text: str


def verdicts(history: dict, diag: dict, run: int, diverged_epoch: int | None) -> list[Verdict]:
    """Plain-language findings for one run from its history and diagnostics arrays."""
    out: list[Verdict] = []
    if diverged_epoch is not None:
        out.append(
            Verdict(
                "bad",
                "diverged",
                f"diverged at epoch {diverged_epoch} (loss became NaN/inf): lower the learning rate",
            )
        )
    loss, acc = _last_finite(history["train_loss"][:, run]), _last_finite(history["val_acc"][:, run])
    if loss is not None and acc is not None:
        if loss < GOOD_LOSS and acc > GOOD_ACC:
            out.append(Verdict("good", "good", f"fits well (loss {loss:.2f}, validation {acc:.0%})"))
        elif loss > BAD_LOSS or acc < BAD_ACC:
            out.append(Verdict("bad", "poor_fit", f"poor fit (loss {loss:.2f}, validation {acc:.0%})"))
    out += _gradient_verdicts(diag, run)
    out += _unit_verdicts(diag, run)
    gap = _train_val_gap(history, run)
    if gap is not None and gap > OVERFIT_GAP:
        out.append(Verdict("warn", "overfitting", f"overfitting: train accuracy {gap:.0%} above validation"))
    return out


def _last_finite(values: np.ndarray) -> float | None:
    finite = values[np.isfinite(values)]
    return float(finite[-1]) if finite.size else None


def _gradient_verdicts(diag: dict, run: int) -> list[Verdict]:
    norms = diag["grad_norm"][:, run, :] if len(diag["epochs"]) else np.zeros((0, 1))
    norms = norms[np.all(np.isfinite(norms), axis=1)]
    if not len(norms):
        return []
    out = []
    peak = float(norms.max())
    if peak > EXPLODING_NORM:
        out.append(Verdict("bad", "exploding", f"exploding gradients (norm up to {peak:.3g})"))
    # at the start of training (when it decides whether learning can begin) or now
    for when, row in (("at the start", norms[0]), ("now", norms[-1])):
        if norms.shape[1] > 2 and row[-1] > 0 and row[0] / row[-1] < VANISHING_RATIO:
            text = f"vanishing gradients: layer 1 gets {row[0] / row[-1]:.1e} x the output layer's ({when})"
            out.append(Verdict("warn", "vanishing", text))
            break
    return out


def _unit_verdicts(diag: dict, run: int) -> list[Verdict]:
    if not len(diag["epochs"]):
        return []
    out = []
    dead = diag["dead"][-1, run]
    if np.nanmax(dead) > DEAD_FRACTION:
        layer = int(np.nanargmax(dead))
        out.append(
            Verdict(
                "bad", "dying_relu", f"dying ReLU: {dead[layer]:.0%} of layer {layer + 1}'s units are dead"
            )
        )
    sat = diag["saturated"][-1, run]
    if np.isfinite(sat).any() and np.nanmax(sat) > SATURATED_FRACTION:
        layer = int(np.nanargmax(sat))
        out.append(
            Verdict(
                "warn",
                "saturated",
                f"saturation: {sat[layer]:.0%} of layer {layer + 1}'s units are saturated",
            )
        )
    return out


def _train_val_gap(history: dict, run: int) -> float | None:
    train = history["train_acc"][-GAP_WINDOW:, run]
    val = history["val_acc"][-GAP_WINDOW:, run]
    ok = np.isfinite(train) & np.isfinite(val)
    if not ok.any():
        return None
    return float(np.mean(train[ok] - val[ok]))
