"""What goes wrong inside the networks, recorded during training and put into plain words.

Recorded every ``cfg.diag_every`` epochs (and after the first and the last epoch), per run:

* dead units per hidden layer: a unit is *dead* when its output is exactly zero on every training
  point (evaluation mode), so no gradient reaches its incoming weights (ReLU's failure mode); NaN
  for saturating activations (sigmoid, tanh, softsign), whose zero outputs count as saturation;
* saturated units per hidden layer, only for saturating activations (sigmoid, tanh, softsign): a
  unit is *saturated* when ``f'(z) < SAT_RATIO * f'(0)`` on at least ``SAT_POINTS`` of the training
  points (sigmoid: |z| > 4.4, tanh: |z| > 2.2), so it passes almost no gradient; NaN elsewhere;
* the gradient norm of every layer's weight matrix (Frobenius norm of the gradient of the training
  objective at the last step before the record).
"""

from __future__ import annotations

import numpy as np
import torch

from nnviz.engine import lockstep

SAT_RATIO = 0.05
SAT_POINTS = 0.90


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
        self._dead.append(torch.stack([_dead(t._groups, c) for c in caches], -1))
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


def _dead(groups, cache) -> torch.Tensor:
    """Fraction of dead units per run ``[K]`` in one layer; NaN for saturating activations, whose
    outputs that reach exactly 0 in float32 (sigmoid far below 0) are saturation, not death."""
    dead = (cache.a_out.abs().amax(-1) == 0).float().mean(-1)
    for g in groups:
        if g.act.saturating:
            dead[g.runs] = float("nan")
    return dead


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
