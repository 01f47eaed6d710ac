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

SAT_RATIO = 0.05
SAT_POINTS = 0.90


class DiagnosticsRecorder:
    """Collects dead / saturated fractions and gradient norms of a trainer's runs over time.

    Plain data (part of the trainer's pickled state): it holds the records, not the trainer, and
    reads a trainer only through its public interface (``forward_eval``, ``train_inputs``,
    ``activation_groups``, ``grad_norms``, ``alive``, ``epoch``) when :meth:`record` is called.
    """

    def __init__(self, every: int, last_epoch: int, n_runs: int, n_hidden: int):
        self.every, self.last_epoch = int(every), int(last_epoch)
        self.n_runs, self.n_hidden = int(n_runs), int(n_hidden)
        self.epochs: list[int] = []
        self._dead: list[np.ndarray] = []  # [K, hidden] per record
        self._saturated: list[np.ndarray] = []
        self._grad_norm: list[np.ndarray] = []  # [K, layers]

    @classmethod
    def for_config(cls, cfg) -> DiagnosticsRecorder:
        return cls(cfg.diag_every, cfg.epochs, cfg.n_runs, cfg.hidden_layers)

    def maybe_record(self, trainer) -> None:
        """Record ``trainer`` if its epoch is one to record (the first, every ``every``-th, the last)."""
        epoch = trainer.epoch
        if epoch == 1 or epoch % self.every == 0 or epoch == self.last_epoch:
            self.record(trainer)

    def record(self, trainer) -> None:
        """Append one record of ``trainer`` (evaluation mode on its training points, at its epoch).

        The points are evaluated in chunks of ``trainer.eval_chunk`` (cache-sized: 4000 points of
        39 runs x 6 x 64 units take ~1.4 s in one pass, ~0.4 s in chunks), whose per-unit results
        are combined: the largest |output| and the count of low-derivative points."""
        x = trainer.train_inputs
        groups = trainer.activation_groups
        peak, low = None, None  # per hidden layer: [K, width] max |a|, [K, width] low-f' point counts
        for start in range(0, len(x), trainer.eval_chunk):
            _, caches = trainer.forward_eval(x[start : start + trainer.eval_chunk], need_deriv=True)
            p = [c.a_out.abs().amax(-1) for c in caches]
            q = [_low_derivative(groups, c) for c in caches]
            peak = p if peak is None else [torch.maximum(a, b) for a, b in zip(peak, p, strict=True)]
            low = q if low is None else [a + b for a, b in zip(low, q, strict=True)]
        self._dead.append(torch.stack([_dead(groups, m) for m in peak], -1).numpy())
        self._saturated.append(torch.stack([_saturated(groups, n, len(x)) for n in low], -1).numpy())
        alive = trainer.alive.numpy()[:, None]
        self._grad_norm.append(np.where(alive, trainer.grad_norms(), np.float32(np.nan)))
        self.epochs.append(int(trainer.epoch))

    def arrays(self) -> dict[str, np.ndarray]:
        """``epochs [D]``, ``dead [D, K, hidden]``, ``saturated [D, K, hidden]``, ``grad_norm [D, K, layers]``."""
        if not self.epochs:
            k, lh = self.n_runs, self.n_hidden
            empty = np.zeros((0, k, lh), dtype=np.float32)
            return {
                "epochs": np.zeros(0, dtype=np.int64),
                "dead": empty,
                "saturated": empty,
                "grad_norm": np.zeros((0, k, lh + 1), dtype=np.float32),
            }
        return {
            "epochs": np.asarray(self.epochs, dtype=np.int64),
            "dead": np.stack(self._dead),
            "saturated": np.stack(self._saturated),
            "grad_norm": np.stack(self._grad_norm),
        }


def _dead(groups, peak: torch.Tensor) -> torch.Tensor:
    """Fraction of dead units per run ``[K]`` in one layer, from each unit's largest |output| over
    the points ``peak [K, width]``; NaN for saturating activations, whose outputs that reach exactly
    0 in float32 (sigmoid far below 0) are saturation, not death."""
    dead = (peak == 0).float().mean(-1)
    for g in groups:
        if g.act.saturating:
            dead[g.runs] = float("nan")
    return dead


def _low_derivative(groups, cache) -> torch.Tensor:
    """Per run and unit ``[K, width]``: on how many of the points ``f'(z) < SAT_RATIO * f'(0)``
    (counted for saturating activations only; 0 elsewhere)."""
    d = cache.deriv
    counts = torch.zeros(d.shape[:2])
    for g in groups:
        if g.act.saturating:
            d0 = g.act.derivative(torch.zeros(1), g.params).abs()
            counts[g.runs] = (d[g.runs].abs() < SAT_RATIO * d0).sum(-1).float()
    return counts


def _saturated(groups, low: torch.Tensor, n_points: int) -> torch.Tensor:
    """Fraction of saturated units per run ``[K]`` in one layer, from the low-derivative counts
    ``low [K, width]`` over ``n_points`` points (NaN for non-saturating runs)."""
    out = ((low / n_points) >= SAT_POINTS).float().mean(-1)
    for g in groups:
        if not g.act.saturating:
            out[g.runs] = float("nan")
    return out
