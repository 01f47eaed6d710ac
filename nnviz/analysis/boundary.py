"""Decision-boundary grids: a regular grid over the data plus a margin, evaluated for all runs at once.

Compute is separated from drawing (as scikit-learn's DecisionBoundaryDisplay): build the grid,
predict once for every run, hand plain arrays to :mod:`nnviz.figures`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MARGIN = 0.15  # fraction of the data's span added on each side
MAX_RESOLUTION = 400


@dataclass(frozen=True)
class Grid:
    """A ``resolution x resolution`` grid; ``xs``/``ys`` are its axes in data coordinates."""

    xs: np.ndarray  # [R]
    ys: np.ndarray  # [R]

    @property
    def points(self) -> np.ndarray:
        """All grid points ``[R*R, 2]``, row-major over ys (row i = ys[i])."""
        gx, gy = np.meshgrid(self.xs, self.ys)
        return np.column_stack([gx.ravel(), gy.ravel()]).astype(np.float32)


def make_grid(X: np.ndarray, resolution: int = 100, margin: float = MARGIN) -> Grid:
    """Grid over the bounding box of ``X [N, 2]`` widened by ``margin`` of its span on each side."""
    if not 2 <= resolution <= MAX_RESOLUTION:
        raise ValueError(f"resolution must be in [2, {MAX_RESOLUTION}], got {resolution}")
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != 2 or not len(X):
        raise ValueError(f"X must have shape (n, 2) with n >= 1, got {X.shape}")
    lo, hi = X.min(0), X.max(0)
    span = np.maximum(hi - lo, 1e-3)
    lo, hi = lo - margin * span, hi + margin * span
    return Grid(np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution))


def grid_probabilities(trainer, grid: Grid, mean=0.0, scale=1.0) -> np.ndarray:
    """Class probabilities of every run on the grid: ``[K, R, R, C]`` (rows over ys).

    The grid is in data coordinates; ``mean``/``scale`` (the split's standardisation) map it into
    the space the networks were trained in.
    """
    r = len(grid.xs)
    probs = trainer.predict_proba((grid.points - mean) / scale)  # (in cache-sized chunks)
    return probs.reshape(probs.shape[0], r, r, probs.shape[-1])


def quantize(probs: np.ndarray) -> np.ndarray:
    """Probabilities in [0, 1] as uint8 (0..255): 4x smaller to send, invisible to the eye."""
    return np.clip(np.rint(np.nan_to_num(probs, nan=0.5) * 255.0), 0, 255).astype(np.uint8)
