"""Tests for nnviz.analysis.metrics, checked against scikit-learn."""

import math

import numpy as np
import pytest
import sklearn.metrics as skm
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from nnviz.analysis.metrics import confusion_matrices, epochs_to_reach, precision_recall_f1s


@st.composite
def label_pairs(draw, min_classes=2, max_classes=5):
    """(y_true, y_pred, C); y_pred sometimes restricted to a subset of classes."""
    c = draw(st.integers(min_classes, max_classes))
    n = draw(st.integers(1, 60))
    y_true = draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n))
    pred_classes = draw(st.lists(st.integers(0, c - 1), min_size=1, max_size=c, unique=True))
    y_pred = draw(st.lists(st.sampled_from(pred_classes), min_size=n, max_size=n))
    return np.array(y_true), np.array(y_pred), c


def _sk_prf(t, p, c):
    average = "binary" if c == 2 else "macro"
    prf = skm.precision_recall_fscore_support(t, p, labels=list(range(c)), average=average, zero_division=0)
    return prf[:3]


def prf(t, p, c):
    """(precision, recall, f1) of one prediction vector, through the batched function."""
    return tuple(precision_recall_f1s(t, np.asarray(p)[None], c)[0].tolist())


@settings(max_examples=300, deadline=None)
@given(label_pairs())
def test_matches_sklearn(case):
    t, p, c = case
    cm = confusion_matrices(t, p[None], c)
    assert cm.dtype == np.int64 and cm.shape == (1, c, c)
    np.testing.assert_array_equal(cm[0], skm.confusion_matrix(t, p, labels=range(c)))
    np.testing.assert_allclose(prf(t, p, c), _sk_prf(t, p, c))


@settings(max_examples=100, deadline=None)
@given(label_pairs(min_classes=2, max_classes=2))
def test_binary_matches_sklearn(case):
    t, p, _ = case
    expected = skm.precision_recall_fscore_support(t, p, average="binary", pos_label=1, zero_division=0)[:3]
    np.testing.assert_allclose(prf(t, p, 2), expected)


@settings(max_examples=100, deadline=None)
@given(label_pairs(), st.integers(1, 4), st.data())
def test_batched_matches_sklearn_per_run(case, k, data):
    t, _, c = case
    preds = np.array(
        [data.draw(st.lists(st.integers(0, c - 1), min_size=len(t), max_size=len(t))) for _ in range(k)]
    )
    batch = confusion_matrices(t, preds, c)
    assert batch.shape == (k, c, c) and batch.dtype == np.int64
    scores = precision_recall_f1s(t, preds, c)
    assert scores.shape == (k, 3) and scores.dtype == np.float64
    for i in range(k):
        np.testing.assert_array_equal(batch[i], skm.confusion_matrix(t, preds[i], labels=range(c)))
        np.testing.assert_allclose(scores[i], _sk_prf(t, preds[i], c))


def test_all_one_class():
    t = np.zeros(10, dtype=int)
    np.testing.assert_array_equal(confusion_matrices(t, t[None], 2), [[[10, 0], [0, 0]]])
    assert prf(t, t, 2) == (0.0, 0.0, 0.0)  # no positives at all
    assert prf(t + 1, t + 1, 2) == (1.0, 1.0, 1.0)
    # predicts class 2 everywhere, no class-2 truth: macro over 3 classes
    assert prf(t, t + 2, 3) == (0.0, 0.0, 0.0)
    p, r, f = prf(t, t, 3)
    assert (p, r, f) == pytest.approx((1 / 3, 1 / 3, 1 / 3))


def test_accepts_torch_tensors_and_lists():
    t, p = torch.tensor([0, 1, 2, 1]), torch.tensor([[0, 2, 2, 1]])
    assert confusion_matrices(t.tolist(), p.tolist(), 3)[0, 1, 2] == 1
    np.testing.assert_array_equal(confusion_matrices(t, p, 3), confusion_matrices(t.numpy(), p.numpy(), 3))
    np.testing.assert_array_equal(
        precision_recall_f1s(t, p, 3), precision_recall_f1s(t.tolist(), p.tolist(), 3)
    )
    # integral floats are fine
    assert confusion_matrices(np.array([0.0, 1.0]), [[0, 1]], 2)[0].trace() == 2


@pytest.mark.parametrize("fn", [confusion_matrices, precision_recall_f1s])
def test_empty_and_mismatched_inputs(fn):
    with pytest.raises(ValueError, match="empty"):
        fn([], [[]], 2)
    with pytest.raises(ValueError, match="empty"):
        fn([0, 1], np.zeros((0, 2), dtype=int), 2)
    with pytest.raises(ValueError, match="lengths"):
        fn([0, 1, 1], [[0, 1]], 2)
    with pytest.raises(ValueError, match="1-D"):
        fn([[0, 1]], [[0, 1]], 2)
    with pytest.raises(ValueError, match="2-D"):
        fn([0, 1], [0, 1], 2)
    with pytest.raises(ValueError, match="integer"):
        fn([0.5, 1.0], [[0, 1]], 2)


def test_bad_labels_and_n_classes():
    with pytest.raises(ValueError, match="labels must lie"):
        confusion_matrices([0, 3], [[0, 1]], 3)
    with pytest.raises(ValueError, match="labels must lie"):
        precision_recall_f1s([0, 1], [[-1, 1]], 2)
    for bad in (1, 0, 2.0, True, None):
        with pytest.raises(ValueError, match="n_classes"):
            confusion_matrices([0, 1], [[0, 1]], bad)


def test_epochs_to_reach():
    curve = np.array([0.5, 0.7, 0.9, 0.85, 0.95])
    assert epochs_to_reach(curve, 0.9) == 3
    assert epochs_to_reach(curve, 0.5) == 1
    assert epochs_to_reach(curve, 0.95) == 5
    assert epochs_to_reach(curve, 0.96) is None
    assert epochs_to_reach([], 0.5) is None
    assert epochs_to_reach(torch.tensor([0.1, 0.6]), 0.6) == 2
    assert isinstance(epochs_to_reach(curve, 0.9), int)


def test_epochs_to_reach_nan_safe():
    assert epochs_to_reach([math.nan, 0.8, math.nan, 0.99], 0.9) == 4
    assert epochs_to_reach([math.nan, math.nan], 0.0) is None
    with pytest.raises(ValueError, match="threshold"):
        epochs_to_reach([0.5], math.nan)
    with pytest.raises(ValueError, match="1-D"):
        epochs_to_reach([[0.5]], 0.5)
