"""Toy 2-D datasets (classification, and two regression ones after TF Playground), and a registry of them.

Generators follow scikit-learn's style, ``make_x(n_samples=200, *, noise=..., random_state=None)``;
an int ``random_state`` makes them deterministic, ``None`` draws fresh OS entropy.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from sklearn import datasets as _skd

MIN_SAMPLES, MAX_SAMPLES = 4, 100_000
MAX_NOISE = 5.0
BLOB_CLASSES = (3, 4, 5)
CLASSIFICATION, REGRESSION = "classification", "regression"
TASKS = (CLASSIFICATION, REGRESSION)
# TF Playground draws its regression points in [-6, 6]^2; nnviz's datasets live in about [-1, 1]^2, so
# its coordinates (and its bumps' centres and radius) are divided by this.
PLAYGROUND_RADIUS = 6.0
# The signed bumps of TF Playground's regressGaussian: (x, y, sign), in its coordinates.
PLAYGROUND_BUMPS = ((-4, 2.5, 1), (0, 2.5, -1), (4, 2.5, 1), (-4, -2.5, -1), (0, -2.5, 1), (4, -2.5, -1))
BUMP_SIGMA = 1.0 / PLAYGROUND_RADIUS  # TF's bumps reach 0 at distance 2 (its units): 2 sigma here

_COMMON_DOC = """
    Parameters
    ----------
    n_samples : int
        Total number of points, in [4, 100_000] and at least 2 per class.{extra}
    noise : float
        Noise level in [0, 5], in this dataset's units (see above).
    random_state : int or None, default=None
        Seed for every random draw; an int gives identical output each call.

    Returns
    -------
    X : ndarray of shape (n_samples, 2), dtype float32
    y : ndarray of shape (n_samples,), dtype int64
        Class labels ``0 .. n_classes - 1``; class sizes differ by at most 1.

    Raises
    ------
    ValueError
        If a parameter is out of range or of the wrong type.
"""


def _documented(extra: str = ""):
    """Append the shared Parameters/Returns/Raises sections to a docstring."""

    def decorate(func: Callable) -> Callable:
        func.__doc__ = (func.__doc__ or "").rstrip() + "\n" + _COMMON_DOC.format(extra=extra)
        return func

    return decorate


def _is_int(x) -> bool:
    return isinstance(x, numbers.Integral) and not isinstance(x, bool)


def check_random_state(random_state) -> int | None:
    if random_state is None:
        return None
    if not (_is_int(random_state) and 0 <= random_state < 2**32):
        raise ValueError(f"random_state must be None or an int in [0, 2**32), got {random_state!r}")
    return int(random_state)


def _check_noise(noise) -> float:
    real = isinstance(noise, numbers.Real) and not isinstance(noise, bool)
    if not (real and math.isfinite(noise) and 0.0 <= noise <= MAX_NOISE):
        raise ValueError(f"noise must be a finite number in [0, {MAX_NOISE}], got {noise!r}")
    return float(noise)


def _prepare(n_samples, noise, random_state, n_classes: int):
    """Validate the common parameters; return (class sizes (n_classes,), noise, seed)."""
    noise, seed = _check_noise(noise), check_random_state(random_state)
    low = max(MIN_SAMPLES, 2 * n_classes)
    if not (_is_int(n_samples) and low <= n_samples <= MAX_SAMPLES):
        raise ValueError(
            f"n_samples must be an int in [{low}, {MAX_SAMPLES}] for {n_classes} classes, got {n_samples!r}"
        )
    base, extra = divmod(int(n_samples), n_classes)
    sizes = np.array([base + (c < extra) for c in range(n_classes)], dtype=np.int64)
    return sizes, noise, seed


def _assemble(parts, rng: np.random.Generator, noise: float):
    """Stack per-class point arrays (label = index), jitter, shuffle, cast."""
    X = np.concatenate(parts, axis=0)
    X = X + noise * rng.standard_normal(X.shape)
    y = np.repeat(np.arange(len(parts)), [len(p) for p in parts])
    order = rng.permutation(len(y))
    return _cast(X[order], y[order])


def _cast(X, y):
    return np.ascontiguousarray(X, dtype=np.float32), np.asarray(y, dtype=np.int64)


def _blobs(sizes: np.ndarray, centers: np.ndarray, noise: float, seed):
    """scikit-learn gaussian blobs, ``sizes[k]`` points around ``centers[k]``."""
    X, y = _skd.make_blobs(list(sizes), centers=centers, cluster_std=noise, random_state=seed)
    return _cast(X, y)


@_documented()
def make_moons(n_samples=200, *, noise=0.1, random_state=None):
    """Two interleaving half circles of radius 1 (sklearn ``make_moons``); ``noise`` = jitter std."""
    sizes, noise, seed = _prepare(n_samples, noise, random_state, 2)
    X, y = _skd.make_moons(tuple(sizes), noise=noise, random_state=seed)
    return _cast(X, y)


@_documented()
def make_circles(n_samples=200, *, noise=0.05, random_state=None):
    """Ring of radius 1 (class 0) around one of radius 0.5 (class 1); ``noise`` = jitter std.

    Built with scikit-learn's ``make_circles(factor=0.5)``.
    """
    sizes, noise, seed = _prepare(n_samples, noise, random_state, 2)
    X, y = _skd.make_circles(tuple(sizes), noise=noise, factor=0.5, random_state=seed)
    return _cast(X, y)


@_documented()
def make_xor(n_samples=200, *, noise=0.05, random_state=None):
    """Four quadrants, label 1 where ``x1 * x2 > 0`` (XOR of the signs).

    Points are uniform in [-1, 1]^2, pushed 0.05 away from both axes; the label is taken before
    ``noise`` (std of gaussian jitter) is added.
    """
    sizes, noise, seed = _prepare(n_samples, noise, random_state, 2)
    rng = np.random.default_rng(seed)
    pad = 0.05
    parts = []
    for label, n in enumerate(sizes):
        mag = pad + (1.0 - pad) * rng.uniform(size=(n, 2))
        sign = rng.choice([-1.0, 1.0], size=n)
        second = sign if label == 1 else -sign
        parts.append(mag * np.stack([sign, second], axis=1))
    return _assemble(parts, rng, noise)


@_documented()
def make_spiral(n_samples=200, *, noise=0.05, random_state=None):
    """Two interleaved spiral arms (as in TensorFlow Playground); ``noise`` = jitter std.

    Radii run from 0 to 1 over 1.75 turns, the arms half a turn apart.
    """
    sizes, noise, seed = _prepare(n_samples, noise, random_state, 2)
    rng = np.random.default_rng(seed)
    parts = []
    for label, n in enumerate(sizes):
        r = np.linspace(0.0, 1.0, n)
        t = 1.75 * 2.0 * np.pi * r + np.pi * label
        parts.append(np.stack([r * np.sin(t), r * np.cos(t)], axis=1))
    return _assemble(parts, rng, noise)


@_documented()
def make_gaussians(n_samples=200, *, noise=0.6, random_state=None):
    """Gaussian blobs at (-1.5, -1.5) and (1.5, 1.5) (sklearn ``make_blobs``); ``noise`` = blob std."""
    sizes, noise, seed = _prepare(n_samples, noise, random_state, 2)
    return _blobs(sizes, np.array([[-1.5, -1.5], [1.5, 1.5]]), noise, seed)


@_documented()
def make_checkerboard(n_samples=200, *, noise=0.02, random_state=None):
    """A 4x4 checkerboard on [-1, 1]^2 with alternating labels; ``noise`` = jitter std.

    Each class draws uniformly from its own 8 cells (side 0.5).
    """
    sizes, noise, seed = _prepare(n_samples, noise, random_state, 2)
    rng = np.random.default_rng(seed)
    cells = np.array([(i, j) for i in range(4) for j in range(4)], dtype=float)
    cell_label = cells.sum(axis=1).astype(np.int64) % 2
    parts = []
    for label, n in enumerate(sizes):
        own = cells[cell_label == label]
        corner = own[rng.integers(0, len(own), size=n)]
        parts.append((corner + rng.uniform(size=(n, 2))) * 0.5 - 1.0)
    return _assemble(parts, rng, noise)


@_documented()
def make_spiral3(n_samples=300, *, noise=0.2, random_state=None):
    """Three spiral arms, the classic cs231n construction; ``noise`` is in radians.

    For class ``k`` with ``n`` points, ``r = linspace(0, 1, n)`` and
    ``theta = linspace(4k, 4(k + 1), n) + noise * randn(n)``.
    """
    sizes, noise, seed = _prepare(n_samples, noise, random_state, 3)
    rng = np.random.default_rng(seed)
    parts = []
    for label, n in enumerate(sizes):
        r = np.linspace(0.0, 1.0, n)
        t = np.linspace(4.0 * label, 4.0 * (label + 1), n) + noise * rng.standard_normal(n)
        parts.append(np.stack([r * np.sin(t), r * np.cos(t)], axis=1))
    return _assemble(parts, rng, 0.0)


@_documented("\n    n_classes : {3, 4, 5}, default=3\n        Number of blobs (classes).")
def make_blobs(n_samples=300, *, n_classes=3, noise=0.5, random_state=None):
    """``n_classes`` gaussian blobs centred on a circle of radius 2; ``noise`` = blob std."""
    if not (_is_int(n_classes) and n_classes in BLOB_CLASSES):
        raise ValueError(f"n_classes must be one of {BLOB_CLASSES}, got {n_classes!r}")
    sizes, noise, seed = _prepare(n_samples, noise, random_state, int(n_classes))
    angle = np.pi / 2 + 2 * np.pi * np.arange(n_classes) / n_classes
    centers = 2.0 * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    return _blobs(sizes, centers, noise, seed)


_REGRESSION_DOC = """
    Parameters
    ----------
    n_samples : int
        Total number of points, in [4, 100_000].
    noise : float
        In [0, 5]: the target is taken at the point moved by up to ``noise`` (uniform) along each axis,
        as TF Playground does (its noise slider runs 0-0.5).
    random_state : int or None, default=None
        Seed for every random draw; an int gives identical output each call.

    Returns
    -------
    X : ndarray of shape (n_samples, 2), dtype float32
        Uniform in [-1, 1]^2.
    y : ndarray of shape (n_samples,), dtype float32
        Real-valued targets, in about [-1, 1].

    Raises
    ------
    ValueError
        If a parameter is out of range or of the wrong type.
"""


def _regression_points(n_samples, noise, random_state, target: Callable[[np.ndarray], np.ndarray]):
    """TF Playground's regression sampling, scaled to [-1, 1]^2: uniform points, the target taken at
    the point plus uniform jitter of up to ``noise`` per axis (the point itself is not moved)."""
    _, noise, seed = _prepare(n_samples, noise, random_state, 1)
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1.0, 1.0, size=(int(n_samples), 2))
    jitter = noise * rng.uniform(-1.0, 1.0, size=X.shape)
    return np.ascontiguousarray(X, dtype=np.float32), np.asarray(target(X + jitter), dtype=np.float32)


def plane_target(X: np.ndarray) -> np.ndarray:
    """TF Playground's regressPlane, scaled: (x1 + x2) over [-6, 6]^2 mapped by [-10, 10] -> [-1, 1],
    i.e. ``0.6 (x1 + x2)`` on [-1, 1]^2."""
    return (X[:, 0] + X[:, 1]) * PLAYGROUND_RADIUS / 10.0


def bumps_target(X: np.ndarray) -> np.ndarray:
    """Six signed Gaussian bumps at TF Playground's regressGaussian centres (scaled); each point takes
    the bump largest in absolute value, as TF does. TF's bumps fall off linearly (cones of radius 2);
    these are Gaussians of std BUMP_SIGMA (1/3 of theirs scaled to radius 2 sigma), smooth as the name says."""
    best = np.zeros(len(X))
    for cx, cy, sign in PLAYGROUND_BUMPS:
        d2 = (X[:, 0] - cx / PLAYGROUND_RADIUS) ** 2 + (X[:, 1] - cy / PLAYGROUND_RADIUS) ** 2
        value = sign * np.exp(-d2 / (2.0 * BUMP_SIGMA**2))
        best = np.where(np.abs(value) > np.abs(best), value, best)
    return best


def make_plane(n_samples=200, *, noise=0.1, random_state=None):
    """Regression: a linear target over the plane, ``y = 0.6 (x1 + x2)`` (TF Playground's regressPlane)."""
    return _regression_points(n_samples, noise, random_state, plane_target)


def make_multigauss(n_samples=200, *, noise=0.02, random_state=None):
    """Regression: six signed Gaussian bumps on a 3 x 2 lattice (TF Playground's regressGaussian)."""
    return _regression_points(n_samples, noise, random_state, bumps_target)


for _func in (make_plane, make_multigauss):
    _func.__doc__ = _func.__doc__.rstrip() + "\n" + _REGRESSION_DOC


@dataclass(frozen=True)
class DatasetSpec:
    """Registry entry for one dataset generator.

    ``default_noise`` is the generator's own (its signature's); ``defaults`` are the app's settings
    for it where they differ from the shared ones (nnviz.config): chosen so that the four default
    activations show a difference worth discussing, which ``look_for`` names (tests/test_datasets.py
    checks each on seeds 0-2)."""

    key: str
    name: str
    n_classes: int | None  # None = variable (blobs), else fixed
    description: str  # one line for the UI
    default_noise: float  # the generator's default, in the dataset's own units
    make: Callable[..., tuple[np.ndarray, np.ndarray]]
    defaults: dict = field(default_factory=dict)  # config field -> value when this dataset is picked
    look_for: str = ""  # what the default comparison shows, in one or two sentences
    task: str = CLASSIFICATION  # or REGRESSION: real-valued targets (n_classes is then None)


def _spec(key, name, n_classes, description, make, defaults, look_for, task=CLASSIFICATION) -> DatasetSpec:
    noise = make.__kwdefaults__["noise"]  # single source of truth: the signature
    return DatasetSpec(key, name, n_classes, description, noise, make, defaults, look_for, task)


# key, name, n_classes (None = variable), one-line description, generator, app defaults, what to look for.
# The defaults were measured over seeds 0-2 (docs/verdicts.md gives the tables).
_ROWS = (
    ("moons", "Moons", 2, "Two interleaving half circles.", make_moons, {},
     "All four pass 90% validation accuracy within about 35 epochs, sigmoid last; then the validation loss "
     "climbs again while the training loss falls: overfitting."),
    ("circles", "Circles", 2, "A ring around a smaller ring.", make_circles, {"noise": 0.15, "epochs": 300},
     "All four end near 95%, but sigmoid needs more than twice as many epochs as the others to reach 90%."),
    ("xor", "XOR", 2, "Four quadrants, opposite ones alike.", make_xor, {"noise": 0.1, "epochs": 300},
     "Tanh and ReLU reach 90% in about 30 epochs; sigmoid takes about twice as long, or stalls."),
    ("spiral", "Spiral", 2, "Two interleaved spiral arms.", make_spiral,
     {"noise": 0.05, "width": 32, "epochs": 500},
     "ReLU and Leaky ReLU reach 90% first, tanh about twice as late, sigmoid several times later."),
    ("gaussians", "Gaussians", 2, "Two overlapping gaussian clouds.", make_gaussians,
     {"noise": 1.2, "epochs": 200},
     "A straight line separates them as well as any curve: all four end within a few points of each other, "
     "the activation hardly matters."),
    ("checkerboard", "Checkerboard", 2, "A 4x4 checkerboard.", make_checkerboard,
     {"noise": 0.02, "n_samples": 1000, "width": 32, "epochs": 500},
     "ReLU or Leaky ReLU reaches 90% first and sigmoid last, long after the others."),
    ("spiral3", "Spiral (3 arms)", 3, "Three spiral arms.", make_spiral3,
     {"noise": 0.3, "width": 16, "epochs": 300},
     "ReLU and Leaky ReLU reach 90% first, sigmoid more than twice as late as either."),
    ("blobs", "Blobs", None, "3 to 5 gaussian blobs.", make_blobs, {"noise": 0.6, "n_classes": 5, "epochs": 200},
     "Five classes: tanh reaches 90% at least twice as soon as sigmoid; all end near 97%."),
    ("plane", "Plane (regression)", None, "A linear target over the plane.", make_plane, {"noise": 0.1, "epochs": 200},
     "Regression of a plane: every activation fits it (validation R\u00b2 above 0.95), linear included.",
     REGRESSION),
    ("multigauss", "Gaussian bumps (regression)", None, "Six signed Gaussian bumps.", make_multigauss,
     {"noise": 0.02, "n_samples": 1000, "width": 16, "epochs": 1000},
     "Regression of six bumps: ReLU and tanh both fit them (R\u00b2 above 0.9), ReLU with a rougher, "
     "piecewise-linear surface than tanh's smooth one.",
     REGRESSION),
)  # fmt: skip
DATASETS: dict[str, DatasetSpec] = {row[0]: _spec(*row) for row in _ROWS}


def get_dataset(key: str) -> DatasetSpec:
    """Return the registry entry for ``key``; ValueError lists the valid keys."""
    if not isinstance(key, str) or key not in DATASETS:
        raise ValueError(f"unknown dataset {key!r}; valid keys: {', '.join(DATASETS)}")
    return DATASETS[key]


def make_dataset(
    key: str,
    n_samples: int,
    *,
    noise: float,
    random_state: int,
    n_classes: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Generate dataset ``key`` with an explicit int seed; parameters as for the ``make_*`` functions.

    ``n_classes`` applies to variable-class datasets (blobs, default 3); otherwise it must be
    None or equal to the fixed class count.

    Returns
    -------
    X : ndarray of shape (n_samples, 2), dtype float32
    y : ndarray of shape (n_samples,), dtype int64 (float32 targets for a regression dataset)
    """
    spec = get_dataset(key)
    if check_random_state(random_state) is None:
        raise ValueError("make_dataset needs an explicit int random_state")
    kwargs = {}
    if spec.task == REGRESSION:
        if n_classes is not None:
            raise ValueError(f"dataset {key!r} is a regression dataset; it takes no n_classes")
    elif spec.n_classes is None:
        kwargs["n_classes"] = BLOB_CLASSES[0] if n_classes is None else n_classes
    elif n_classes is not None and n_classes != spec.n_classes:
        raise ValueError(f"dataset {key!r} has {spec.n_classes} classes, got n_classes={n_classes!r}")
    return spec.make(n_samples, noise=noise, random_state=random_state, **kwargs)
