"""The train/validation split of a dataset: seeded, standardised on the training part only.

Classification splits are stratified. Regression splits (``task="regression"``: real-valued targets)
are a seeded permutation: the first ``n_val`` points of ``default_rng(random_state).permutation(n)``
validate. A regression split has ``n_classes == 1``: the number of network outputs (one linear unit).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import train_test_split

from nnviz.data.generators import CLASSIFICATION, REGRESSION, TASKS, check_random_state


@dataclass(frozen=True)
class Split:
    """Train/validation split; ``X_*`` already standardised with mean/scale."""

    X_train: np.ndarray  # (n_train, n_features) float32
    y_train: np.ndarray  # (n_train,) int64 labels; float32 targets for regression
    X_val: np.ndarray  # (n_val, n_features) float32
    y_val: np.ndarray  # (n_val,) int64 labels; float32 targets for regression
    mean: np.ndarray  # (n_features,) float32; zeros when not standardised
    scale: np.ndarray  # (n_features,) float32; ones when not standardised
    n_classes: int  # classes; 1 for regression (one output)
    task: str = CLASSIFICATION  # or REGRESSION

    @property
    def is_regression(self) -> bool:
        return self.task == REGRESSION


def task_of(y) -> str:
    """The task of targets ``y``: regression for floating-point values, classification for integers
    (what upload parsing and the generators return)."""
    return REGRESSION if np.issubdtype(np.asarray(y).dtype, np.floating) else CLASSIFICATION


def _check_targets(X, y) -> tuple[np.ndarray, np.ndarray]:
    X, y = np.asarray(X, dtype=np.float64), np.asarray(y)
    if X.ndim != 2 or y.ndim != 1 or len(X) != len(y):
        raise ValueError(f"need X (n, d) and y (n,), got {X.shape} and {y.shape}")
    if not np.all(np.isfinite(X)):
        raise ValueError("X contains NaN or infinite values")
    if len(y) < 4 or not (np.issubdtype(y.dtype, np.number) and np.all(np.isfinite(y))):
        raise ValueError("regression targets y must be at least 4 finite numbers")
    return X, y.astype(np.float32)


def _check_xy(X, y) -> tuple[np.ndarray, np.ndarray, int]:
    X, y = np.asarray(X, dtype=np.float64), np.asarray(y)
    if X.ndim != 2 or y.ndim != 1 or len(X) != len(y):
        raise ValueError(f"need X (n, d) and y (n,), got {X.shape} and {y.shape}")
    if not np.all(np.isfinite(X)):
        raise ValueError("X contains NaN or infinite values")
    if len(y) == 0 or not np.issubdtype(y.dtype, np.integer) or y.min() < 0:
        raise ValueError("y must be a non-empty array of non-negative int labels")
    counts = np.bincount(y)
    if counts.min() < 2:
        raise ValueError(f"every class 0..{len(counts) - 1} needs >= 2 samples")
    return X, y.astype(np.int64), len(counts)


def split_dataset(
    X, y, *, val_fraction: float, random_state: int, standardize: bool, task: str = CLASSIFICATION
):
    """Seeded train/validation split (stratified for classification) with optional standardisation.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
        Integer labels ``0 .. n_classes - 1``, each with at least 2 samples; for regression, finite
        real-valued targets (returned as float32).
    val_fraction : float
        Fraction of samples for validation, in [0.05, 0.5].
    random_state : int
        Seed of the shuffle.
    standardize : bool
        If True, fit mean/std on the train part only and apply to both parts
        (a zero std is replaced by 1).
    task : {"classification", "regression"}, default="classification"
        Regression: no stratification, a seeded permutation instead; ``n_classes`` is 1.

    Returns
    -------
    Split
    """
    if task not in TASKS:
        raise ValueError(f"task must be one of {', '.join(TASKS)}, got {task!r}")
    X, y, n_classes = _check_xy(X, y) if task == CLASSIFICATION else (*_check_targets(X, y), 1)
    if not (isinstance(val_fraction, numbers.Real) and 0.05 <= val_fraction <= 0.5):
        raise ValueError(f"val_fraction must be in [0.05, 0.5], got {val_fraction!r}")
    if check_random_state(random_state) is None:
        raise ValueError("split_dataset needs an explicit int random_state")
    if task == REGRESSION:
        n_val = math.ceil(val_fraction * len(y))
        order = np.random.default_rng(random_state).permutation(len(y))
        X_tr, X_va, y_tr, y_va = X[order[n_val:]], X[order[:n_val]], y[order[n_val:]], y[order[:n_val]]
    else:
        # at least one validation point per class, so a small dataset with many classes still splits
        # (with >= 2 points per class, as checked above, the training part keeps one per class too)
        n_val = max(n_classes, math.ceil(val_fraction * len(y)))
        X_tr, X_va, y_tr, y_va = train_test_split(
            X, y, test_size=n_val, random_state=random_state, stratify=y
        )
    mean = X_tr.mean(axis=0) if standardize else np.zeros(X.shape[1])
    std = X_tr.std(axis=0) if standardize else np.ones(X.shape[1])
    mean, scale = mean.astype(np.float32), np.where(std > 0, std, 1.0).astype(np.float32)
    X_tr, X_va = (((A - mean) / scale).astype(np.float32) for A in (X_tr, X_va))
    return Split(X_tr, y_tr, X_va, y_va, mean=mean, scale=scale, n_classes=n_classes, task=task)
