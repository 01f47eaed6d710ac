"""Tests for nnviz.data.generators."""

import math

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from nnviz.data.generators import DATASETS, DatasetSpec, get_dataset, make_blobs, make_dataset
from nnviz.data.split import Split, split_dataset

KEYS = [k for k in DATASETS if DATASETS[k].task == "classification"]  # regression: tests/test_regression.py
FIXED_KEYS = [k for k in KEYS if DATASETS[k].n_classes is not None]


_DEFAULT = object()


def _make(key, n=200, *, seed=0, noise=_DEFAULT, **kwargs):
    if noise is _DEFAULT:
        noise = DATASETS[key].default_noise
    return make_dataset(key, n, noise=noise, random_state=seed, **kwargs)


def _n_classes(key, **kwargs):
    return DATASETS[key].n_classes or kwargs.get("n_classes", 3)


def test_registry_entries():
    expected = {"moons", "circles", "xor", "spiral", "gaussians", "checkerboard"}
    expected |= {"spiral3", "blobs"}
    assert set(KEYS) == expected
    for key, spec in DATASETS.items():
        assert isinstance(spec, DatasetSpec)
        assert spec.key == key and spec.name and spec.description
        assert 0 < spec.default_noise <= 5
    assert DATASETS["spiral3"].n_classes == 3
    assert DATASETS["blobs"].n_classes is None
    assert all(DATASETS[k].n_classes == 2 for k in FIXED_KEYS if k != "spiral3")


def test_get_dataset_unknown_lists_keys():
    assert get_dataset("moons").key == "moons"
    with pytest.raises(ValueError, match="valid keys: .*moons.*spiral3"):
        get_dataset("nope")
    with pytest.raises(ValueError):
        get_dataset(None)


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("n", [4, 7, 101, 1000])
def test_shapes_dtypes_balance_labels(key, n):
    c = _n_classes(key)
    n = max(n, 2 * c)
    X, y = _make(key, n)
    assert X.shape == (n, 2) and X.dtype == np.float32
    assert y.shape == (n,) and y.dtype == np.int64
    assert np.all(np.isfinite(X))
    counts = np.bincount(y, minlength=c)
    assert len(counts) == c  # labels are exactly 0..C-1
    assert counts.max() - counts.min() <= 1
    assert counts.sum() == n
    # the remainder goes to the first classes
    assert list(counts) == sorted(counts, reverse=True)


@pytest.mark.parametrize("key", KEYS)
def test_deterministic_per_seed(key):
    X1, y1 = _make(key, seed=3)
    X2, y2 = _make(key, seed=3)
    X3, _ = _make(key, seed=4)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.array_equal(X1, X3)


@pytest.mark.parametrize("key", KEYS)
def test_direct_generator_signature(key):
    make = DATASETS[key].make
    assert make.__kwdefaults__["random_state"] is None
    X, y = make(50, noise=0.1, random_state=1)
    assert X.shape == (50, 2) and y.shape == (50,)
    X2, _ = make(50, noise=0.1, random_state=1)
    np.testing.assert_array_equal(X, X2)


@pytest.mark.parametrize("key", KEYS)
def test_noise_zero_works(key):
    X, y = _make(key, 60, noise=0.0)
    assert X.shape == (60, 2) and np.all(np.isfinite(X))
    assert len(np.unique(y)) == _n_classes(key)


def test_spiral3_has_three_classes():
    _, y = _make("spiral3", 301)
    assert np.array_equal(np.bincount(y), [101, 100, 100])


@pytest.mark.parametrize("k", [3, 4, 5])
def test_blobs_n_classes(k):
    X, y = _make("blobs", 100, n_classes=k)
    assert np.array_equal(np.unique(y), np.arange(k))
    X2, _ = make_blobs(100, n_classes=k, noise=0.5, random_state=0)
    np.testing.assert_array_equal(X, X2)


def test_blobs_default_three_classes():
    _, y = _make("blobs", 90)
    assert np.unique(y).tolist() == [0, 1, 2]


@pytest.mark.parametrize("k", [2, 6, 0, -1, 3.0, True, None, "3"])
def test_blobs_rejects_bad_n_classes(k):
    with pytest.raises(ValueError, match="n_classes"):
        make_blobs(100, n_classes=k, noise=0.5, random_state=0)


def test_fixed_dataset_n_classes_must_match():
    assert len(np.unique(_make("moons", n_classes=2)[1])) == 2
    with pytest.raises(ValueError, match="n_classes"):
        _make("moons", n_classes=3)
    with pytest.raises(ValueError, match="n_classes"):
        _make("spiral3", n_classes=2)


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("n", [3, 0, -5, 100_001, 10.0, True, "100", None])
def test_bad_n_samples(key, n):
    with pytest.raises(ValueError, match="n_samples"):
        _make(key, n)


def test_n_samples_at_least_two_per_class():
    with pytest.raises(ValueError, match="n_samples"):
        _make("blobs", 9, n_classes=5)
    assert _make("blobs", 10, n_classes=5)[0].shape == (10, 2)
    assert _make("moons", 100_000)[0].shape == (100_000, 2)


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("noise", [-0.1, 5.01, math.nan, math.inf, "0.1", None])
def test_bad_noise(key, noise):
    with pytest.raises(ValueError, match="noise"):
        _make(key, noise=noise)


@pytest.mark.parametrize("seed", [None, -1, 2**32, 1.5, "0", True])
def test_make_dataset_needs_int_seed(seed):
    with pytest.raises(ValueError, match="random_state"):
        make_dataset("moons", 100, noise=0.1, random_state=seed)


def test_unknown_key_in_make_dataset():
    with pytest.raises(ValueError, match="valid keys"):
        make_dataset("mnist", 100, noise=0.1, random_state=0)


def _linear_score(key, noise):
    X, y = _make(key, 1000, noise=noise)
    return LogisticRegression().fit(X, y).score(X, y)


def test_gaussians_linearly_separable():
    assert _linear_score("gaussians", 0.3) > 0.95


@pytest.mark.parametrize("key", ["xor", "circles"])
def test_xor_and_circles_not_linearly_separable(key):
    assert _linear_score(key, 0.05) < 0.7


# --------------------------------------------------------------------- split


def _split(X, y, **kwargs):
    opts = {"val_fraction": 0.25, "random_state": 0, "standardize": True} | kwargs
    return split_dataset(X, y, **opts)


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("frac", [0.05, 0.2, 0.5])
def test_split_sizes_and_stratification(key, frac):
    X, y = _make(key, 403)
    s = _split(X, y, val_fraction=frac)
    assert isinstance(s, Split)
    n_val = math.ceil(frac * 403)
    assert s.X_val.shape == (n_val, 2) and s.y_val.shape == (n_val,)
    assert s.X_train.shape == (403 - n_val, 2) and s.y_train.shape == (403 - n_val,)
    assert s.X_train.dtype == s.X_val.dtype == np.float32
    assert s.y_train.dtype == s.y_val.dtype == np.int64
    assert s.n_classes == _n_classes(key)
    total = np.bincount(y, minlength=s.n_classes)
    val = np.bincount(s.y_val, minlength=s.n_classes)
    np.testing.assert_array_less(np.abs(val - total * n_val / 403), 1.0 + 1e-9)
    np.testing.assert_array_equal(val + np.bincount(s.y_train), total)


def _rows(A):
    return {tuple(r) for r in A.tolist()}


def test_split_no_overlap_and_covers_all():
    X, y = _make("moons", 300)
    s = _split(X, y, standardize=False)
    assert len(_rows(X)) == 300  # points are distinct
    assert _rows(s.X_train).isdisjoint(_rows(s.X_val))
    assert _rows(s.X_train) | _rows(s.X_val) == _rows(X)
    np.testing.assert_array_equal(s.mean, [0, 0])
    np.testing.assert_array_equal(s.scale, [1, 1])
    assert s.mean.shape == s.scale.shape == (2,)


def test_split_deterministic():
    X, y = _make("spiral", 200)
    a, b, c = _split(X, y), _split(X, y), _split(X, y, random_state=1)
    np.testing.assert_array_equal(a.X_val, b.X_val)
    np.testing.assert_array_equal(a.y_train, b.y_train)
    assert not np.array_equal(a.X_val, c.X_val)


def test_standardisation_uses_train_statistics_only():
    X, y = _make("gaussians", 400)
    X = X * np.float32([3.0, 0.5]) + np.float32([10.0, -4.0])
    raw = _split(X, y, standardize=False)
    s = _split(X, y)
    np.testing.assert_allclose(s.X_train.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(s.X_train.std(axis=0), 1.0, atol=1e-5)
    np.testing.assert_allclose(s.mean, raw.X_train.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(s.scale, raw.X_train.std(axis=0), rtol=1e-5)
    # validation is transformed with the train statistics, not its own
    np.testing.assert_allclose(s.X_val, (raw.X_val - s.mean) / s.scale, atol=1e-5)
    assert not np.allclose(s.mean, raw.X_val.mean(axis=0), atol=1e-4)
    np.testing.assert_array_equal(s.y_val, raw.y_val)


def test_standardisation_guards_zero_std():
    X = np.zeros((40, 2), dtype=np.float32)
    X[:, 0] = np.arange(40)
    y = np.arange(40) % 2
    s = _split(X, y)
    assert s.scale[1] == 1.0
    assert np.all(np.isfinite(s.X_train)) and np.all(s.X_train[:, 1] == 0)


@pytest.mark.parametrize("frac", [0.04, 0.51, 0.0, 1.0, math.nan, "0.2", None])
def test_split_bad_val_fraction(frac):
    X, y = _make("moons", 100)
    with pytest.raises(ValueError, match="val_fraction"):
        _split(X, y, val_fraction=frac)


def test_split_bad_inputs():
    X, y = _make("moons", 100)
    with pytest.raises(ValueError):
        _split(X[:, 0], y)
    with pytest.raises(ValueError):
        _split(X, y[:-1])
    with pytest.raises(ValueError):
        _split(X, y.astype(float))
    with pytest.raises(ValueError):
        _split(X, y, random_state=None)
    with pytest.raises(ValueError, match="2 samples"):
        _split(X[:3], np.array([0, 1, 1]))
    small = _split(X[:10], np.arange(10) % 5, val_fraction=0.2)  # one validation point per class
    assert sorted(small.y_val.tolist()) == [0, 1, 2, 3, 4] and sorted(small.y_train.tolist()) == [
        0,
        1,
        2,
        3,
        4,
    ]
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        _split(bad, y)


# ---- each dataset's default settings and what its description says to look for ----------------


def _default_comparison(key):
    """The comparison a dataset opens with (its defaults, the default activations), seeds 0-2:
    per seed, {activation: summary row}."""
    import torch

    from nnviz.config import Config
    from nnviz.experiment import Experiment

    torch.set_num_threads(1)
    cfg, notices = Config.from_params({"dataset": key, "n_seeds": "3"})
    assert not notices
    exp = Experiment(cfg)
    exp.step(cfg.epochs)
    rows = exp.summary()
    return [{r.activation: r for r in rows if r.seed == s} for s in cfg.seeds]


def _e90(row):
    return row.epochs_to_90 if row.epochs_to_90 is not None else math.inf


def test_every_dataset_says_what_to_look_for_and_opens_with_its_own_settings():
    from nnviz.config import Config

    for key, spec in DATASETS.items():
        assert spec.look_for, key
        cfg = Config(dataset=key)
        for name, value in spec.defaults.items():
            assert getattr(cfg, name) == value
        assert cfg.to_params() == ({"dataset": key} if key != "moons" else {})  # defaults stay out of the URL
        assert Config.from_params({"dataset": key})[0] == cfg


LOOK_FOR = {  # the claim of each dataset's look_for, as a check on one seed's rows
    "moons": lambda r: (
        max(_e90(x) for x in r.values()) <= 40
        and _e90(r["sigmoid"]) == max(_e90(x) for x in r.values())
        and any(x.verdicts[0].code == "overfit" for x in r.values())
    ),
    "circles": lambda r: (
        all(x.val_acc >= 0.92 for x in r.values())
        and _e90(r["sigmoid"]) > 2 * max(_e90(r[a]) for a in ("tanh", "relu", "leaky_relu"))
    ),
    "xor": lambda r: (
        max(_e90(r["tanh"]), _e90(r["relu"])) <= 40
        and _e90(r["sigmoid"]) > 1.5 * max(_e90(r["tanh"]), _e90(r["relu"]))
    ),
    "spiral": lambda r: (
        max(_e90(r["relu"]), _e90(r["leaky_relu"])) < _e90(r["tanh"]) < _e90(r["sigmoid"])
        and _e90(r["tanh"]) > 1.5 * max(_e90(r["relu"]), _e90(r["leaky_relu"]))
        and _e90(r["sigmoid"]) > 2.5 * _e90(r["tanh"])
    ),
    "gaussians": lambda r: max(x.val_acc for x in r.values()) - min(x.val_acc for x in r.values()) <= 0.03,
    "checkerboard": lambda r: (
        min(_e90(r["relu"]), _e90(r["leaky_relu"])) < _e90(r["tanh"])
        and _e90(r["sigmoid"]) == max(_e90(x) for x in r.values())
        and _e90(r["sigmoid"]) > 2 * _e90(r["tanh"])
    ),
    "spiral3": lambda r: _e90(r["sigmoid"]) > 2 * max(_e90(r["relu"]), _e90(r["leaky_relu"])),
    "blobs": lambda r: (
        _e90(r["sigmoid"]) >= 2 * _e90(r["tanh"]) and all(x.val_acc > 0.94 for x in r.values())
    ),
}


@pytest.mark.parametrize("key", KEYS)
def test_what_to_look_for_is_true_on_seeds_0_to_2(key):
    for seed, rows in enumerate(_default_comparison(key)):
        assert LOOK_FOR[key](rows), (key, seed, {a: (r.val_acc, r.epochs_to_90) for a, r in rows.items()})
        assert max(r.val_acc for r in rows.values()) >= 0.9  # learnable: the best activation gets there
