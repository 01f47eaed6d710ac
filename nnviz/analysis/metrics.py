"""Classification metrics in plain numpy, matching scikit-learn's definitions.

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


def _check_pair(y_true, y_pred, pred_ndim: int = 1):
    t = _as_labels(y_true, "y_true")
    p = _as_labels(y_pred, "y_pred", pred_ndim)
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


def accuracy(y_true, y_pred) -> float:
    """Fraction of correct predictions.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)

    Returns
    -------
    float
        In [0, 1].
    """
    t, p = _check_pair(y_true, y_pred)
    return float(np.mean(t == p))


def accuracies(y_true, y_pred) -> np.ndarray:
    """Accuracy of ``K`` prediction vectors against one truth.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
    y_pred : array-like of shape (K, n_samples)

    Returns
    -------
    ndarray of shape (K,), dtype float64
    """
    t, p = _check_pair(y_true, y_pred, pred_ndim=2)
    return np.mean(p == t[None, :], axis=1)


def confusion_matrix(y_true, y_pred, n_classes: int) -> np.ndarray:
    """Confusion matrix; rows are true classes, columns predicted classes.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
    n_classes : int
        Number of classes ``C`` (>= 2); labels must lie in ``[0, C)``.

    Returns
    -------
    ndarray of shape (C, C), dtype int64
        ``cm[i, j]`` counts samples of true class ``i`` predicted as ``j``.
    """
    t, p = _check_pair(y_true, y_pred)
    c = _check_n_classes(n_classes, t, p)
    return np.bincount(t * c + p, minlength=c * c).reshape(c, c).astype(np.int64)


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
        ``out[k]`` equals ``confusion_matrix(y_true, y_pred[k], n_classes)``.
    """
    t, p = _check_pair(y_true, y_pred, pred_ndim=2)
    c = _check_n_classes(n_classes, t, p)
    k = p.shape[0]
    flat = np.arange(k)[:, None] * (c * c) + t[None, :] * c + p
    counts = np.bincount(flat.ravel(), minlength=k * c * c)
    return counts.reshape(k, c, c).astype(np.int64)


def _prf_from_confusion(cm: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-class precision, recall, F1, each shape (C,); 0.0 where undefined."""
    tp = np.diag(cm).astype(np.float64)
    predicted, actual = cm.sum(axis=0), cm.sum(axis=1)

    def safe_div(num, den):
        return np.divide(num, den, out=np.zeros_like(num), where=den > 0)

    f1_den = (predicted + actual).astype(np.float64)
    return safe_div(tp, predicted), safe_div(tp, actual), safe_div(2 * tp, f1_den)


def _averaged(cm: np.ndarray) -> tuple[float, float, float]:
    """Binary (class 1) scores for a 2x2 matrix, macro average otherwise."""
    scores = _prf_from_confusion(cm)
    if cm.shape[0] == 2:
        return tuple(float(a[1]) for a in scores)
    return tuple(float(a.mean()) for a in scores)


def precision_recall_f1(y_true, y_pred, n_classes: int) -> tuple[float, float, float]:
    """Precision, recall and F1 score.

    Binary (positive class 1) when ``n_classes == 2``, otherwise the macro
    average over all ``n_classes`` classes. Undefined ratios count as 0.0, like
    scikit-learn's ``zero_division=0``.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
    n_classes : int

    Returns
    -------
    precision, recall, f1 : float
    """
    return _averaged(confusion_matrix(y_true, y_pred, n_classes))


def classification_summary(y_true, y_pred, n_classes: int) -> dict:
    """All metrics at once.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
    n_classes : int

    Returns
    -------
    dict
        Keys ``"accuracy"``, ``"precision"``, ``"recall"``, ``"f1"`` (floats, see
        :func:`precision_recall_f1`) and ``"confusion"`` (ndarray (C, C) int64).
    """
    cm = confusion_matrix(y_true, y_pred, n_classes)
    precision, recall, f1 = _averaged(cm)
    return {
        "accuracy": float(np.trace(cm) / cm.sum()),
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "confusion": cm,
    }


def predict_labels(probs) -> np.ndarray:
    """Turn predicted probabilities into labels.

    Parameters
    ----------
    probs : array-like of shape (n_samples,) or (n_samples, C)
        1-D: P(class 1) of a binary problem, label 1 where ``p > 0.5``.
        2-D: per-class scores, label = argmax (first on ties). A single column
        ``(n_samples, 1)`` is treated as the 1-D binary case.

    Returns
    -------
    ndarray of shape (n_samples,), dtype int64

    Raises
    ------
    ValueError
        If ``probs`` is not 1-D/2-D or contains NaN or infinite values.
    """
    p = _to_numpy(probs).astype(np.float64, copy=False)
    if p.ndim == 2 and p.shape[1] == 1:
        p = p[:, 0]
    if p.ndim not in (1, 2) or (p.ndim == 2 and p.shape[1] == 0):
        raise ValueError(f"probs must have shape (N,) or (N, C), got {p.shape}")
    if not np.all(np.isfinite(p)):
        raise ValueError("probs contains NaN or infinite values")
    if p.ndim == 1:
        return (p > 0.5).astype(np.int64)
    return np.argmax(p, axis=1).astype(np.int64)


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
