"""Classification and regression metrics of the K runs of an experiment at once, with scikit-learn's definitions.

Batched on purpose: ``Experiment.summary()`` and ``Experiment.confusion()`` score every run on
every UI refresh, and a loop of ``sklearn.metrics`` calls costs ~1 ms per run (its input checks),
against ~0.05 ms here for all 8 runs (K = 8, N = 120 or 1200 points: the loop would make the
summary ~5x and the confusion matrices ~10x slower). The tests check every value against
scikit-learn.

Inputs may be numpy arrays, lists or (CPU) torch tensors; they are converted
with ``np.asarray`` (after ``.detach()`` when the object has it). Labels are
integers ``0 .. n_classes - 1``.
"""

from __future__ import annotations

import numbers

import numpy as np


def _to_numpy(a) -> np.ndarray:
    if hasattr(a, "detach"):  # torch tensor, without importing torch
        a = a.detach().cpu()
    return np.asarray(a)


def _as_labels(a, name: str, ndim: int = 1) -> np.ndarray:
    """Convert ``a`` to an int64 label array of ``ndim`` dimensions."""
    arr = _to_numpy(a)
    if arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {arr.shape}")
    if arr.size == 0 or arr.shape[-1] == 0:
        raise ValueError(f"{name} is empty")
    if np.issubdtype(arr.dtype, np.integer) or arr.dtype == np.bool_:
        return arr.astype(np.int64)
    if np.issubdtype(arr.dtype, np.floating) and np.all(np.mod(arr, 1) == 0):
        return arr.astype(np.int64)
    raise ValueError(f"{name} must hold integer labels, got dtype {arr.dtype}")


def _check_pair(y_true, y_pred):
    """``y_true [N]`` and ``y_pred [K, N]`` as int64 labels."""
    t = _as_labels(y_true, "y_true")
    p = _as_labels(y_pred, "y_pred", ndim=2)
    if p.shape[-1] != t.shape[0]:
        raise ValueError(f"y_true and y_pred have different lengths: {t.shape[0]} vs {p.shape[-1]}")
    return t, p


def _check_n_classes(n_classes, *labels: np.ndarray) -> int:
    is_int = isinstance(n_classes, numbers.Integral) and not isinstance(n_classes, bool)
    if not (is_int and n_classes >= 2):
        raise ValueError(f"n_classes must be an int >= 2, got {n_classes!r}")
    for arr in labels:
        if arr.min() < 0 or arr.max() >= n_classes:
            raise ValueError(f"labels must lie in [0, {n_classes}), got {arr.min()}..{arr.max()}")
    return int(n_classes)


def confusion_matrices(y_true, y_pred, n_classes: int) -> np.ndarray:
    """Confusion matrices of ``K`` prediction vectors against one truth.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
    y_pred : array-like of shape (K, n_samples)
    n_classes : int
        Number of classes ``C`` (>= 2).

    Returns
    -------
    ndarray of shape (K, C, C), dtype int64
        ``out[k, i, j]`` counts the samples of true class ``i`` that ``y_pred[k]`` puts in class ``j``
        (``sklearn.metrics.confusion_matrix(y_true, y_pred[k], labels=range(C))``).
    """
    t, p = _check_pair(y_true, y_pred)
    c = _check_n_classes(n_classes, t, p)
    k = p.shape[0]
    flat = np.arange(k)[:, None] * (c * c) + t[None, :] * c + p
    counts = np.bincount(flat.ravel(), minlength=k * c * c)
    return counts.reshape(k, c, c).astype(np.int64)


def precision_recall_f1s(y_true, y_pred, n_classes: int) -> np.ndarray:
    """Precision, recall and F1 score of ``K`` prediction vectors against one truth.

    Binary (positive class 1) when ``n_classes == 2``, otherwise the macro
    average over all ``n_classes`` classes. Undefined ratios count as 0.0, like
    scikit-learn's ``precision_recall_fscore_support(..., zero_division=0)``.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
    y_pred : array-like of shape (K, n_samples)
    n_classes : int

    Returns
    -------
    ndarray of shape (K, 3), dtype float64
        ``out[k]`` is (precision, recall, f1) of ``y_pred[k]``.
    """
    cm = confusion_matrices(y_true, y_pred, n_classes)
    tp = np.diagonal(cm, axis1=1, axis2=2).astype(np.float64)  # [K, C]
    predicted, actual = cm.sum(axis=1), cm.sum(axis=2)

    def safe_div(num, den):
        return np.divide(num, den, out=np.zeros_like(num), where=den > 0)

    f1_den = (predicted + actual).astype(np.float64)
    scores = np.stack([safe_div(tp, predicted), safe_div(tp, actual), safe_div(2 * tp, f1_den)])  # [3, K, C]
    return (scores[..., 1] if cm.shape[1] == 2 else scores.mean(axis=-1)).T


def epochs_to_reach(curve, threshold: float) -> int | None:
    """Number of epochs until ``curve`` first reaches ``threshold``.

    Parameters
    ----------
    curve : array-like of shape (n_epochs,)
        Metric after each epoch (``curve[0]`` is after epoch 1); NaN entries
        never count as reaching the threshold.
    threshold : float

    Returns
    -------
    int or None
        1-based epoch count of the first ``curve >= threshold``, None if never.
    """
    c = _to_numpy(curve).astype(np.float64, copy=False)
    if c.ndim != 1:
        raise ValueError(f"curve must be 1-D, got shape {c.shape}")
    if not isinstance(threshold, numbers.Real) or not np.isfinite(threshold):
        raise ValueError(f"threshold must be finite, got {threshold!r}")
    hits = np.flatnonzero(c >= threshold)  # NaN >= x is False
    return int(hits[0]) + 1 if hits.size else None


def last_finite(values) -> float:
    """The last finite value of a curve (a diverged run's last good one), NaN if there is none."""
    v = np.asarray(values, dtype=np.float64)
    finite = v[np.isfinite(v)]
    return float(finite[-1]) if finite.size else float("nan")


# ---- regression -------------------------------------------------------------------------------------
def _check_targets(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    """``y_true [N]`` and ``y_pred [K, N]`` as float64 (``y_pred [N]`` is one run)."""
    t = _to_numpy(y_true).astype(np.float64)
    p = _to_numpy(y_pred).astype(np.float64)
    p = p[None] if p.ndim == 1 else p
    if t.ndim != 1 or p.ndim != 2 or p.shape[-1] != t.shape[0] or not len(t):
        raise ValueError(f"need y_true (N,) and y_pred (K, N) with N >= 1, got {t.shape} and {p.shape}")
    return t, p


def mse(y_true, y_pred) -> np.ndarray:
    """Mean squared error ``[K]`` of ``K`` prediction vectors (``sklearn.metrics.mean_squared_error``)."""
    t, p = _check_targets(y_true, y_pred)
    return np.mean((p - t) ** 2, axis=-1)


def rmse(y_true, y_pred) -> np.ndarray:
    """Root mean squared error ``[K]`` (``sklearn.metrics.root_mean_squared_error``)."""
    return np.sqrt(mse(y_true, y_pred))


def mae(y_true, y_pred) -> np.ndarray:
    """Mean absolute error ``[K]`` (``sklearn.metrics.mean_absolute_error``)."""
    t, p = _check_targets(y_true, y_pred)
    return np.mean(np.abs(p - t), axis=-1)


def r2(y_true, y_pred) -> np.ndarray:
    """Coefficient of determination ``[K]``: 1 - SSE / SST (``sklearn.metrics.r2_score``); as there,
    constant targets give 1.0 for a perfect prediction and 0.0 otherwise."""
    t, p = _check_targets(y_true, y_pred)
    sse = np.sum((p - t) ** 2, axis=-1)
    sst = float(np.sum((t - t.mean()) ** 2))
    if sst == 0.0:
        return np.where(sse == 0.0, 1.0, 0.0)
    return 1.0 - sse / sst
