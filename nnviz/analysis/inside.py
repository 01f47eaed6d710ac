"""Looking inside one run: input-feature and hidden-unit maps over the input plane, the transformed
space of a layer, PReLU's learned slopes, and where the seeds of one activation disagree (on the
predicted class, or for regression by how far apart their predicted values are).

Plain arrays out (numpy), for :mod:`nnviz.figures`. Points are in data coordinates; ``mean``/``scale``
are the split's standardisation, applied before the network sees them.
"""

from __future__ import annotations

import numpy as np

from nnviz.analysis.boundary import Grid


def unit_maps(trainer, run: int, grid: Grid, mean=0.0, scale=1.0) -> list[np.ndarray]:
    """Output of every hidden unit of one run over the grid: one ``[width, R, R]`` array per layer."""
    r = len(grid.xs)
    layers = trainer.hidden_outputs((grid.points - mean) / scale)
    return [h[run].reshape(h.shape[1], r, r) for h in layers]


def input_maps(trainer, grid: Grid, mean=0.0, scale=1.0) -> np.ndarray:
    """The network's inputs over the grid, as its first layer sees them: ``[F, R, R]``, one map per
    input feature (``trainer.inputs``; x1 and x2 by default)."""
    r = len(grid.xs)
    features = trainer.input_features((grid.points - mean) / scale)  # [G, F]
    return features.T.reshape(features.shape[1], r, r)


def prelu_slopes(trainer, run: int) -> list[np.ndarray] | None:
    """The learned negative slopes ``[width]`` per hidden layer of a PReLU run, else None."""
    return trainer.prelu_slopes(run)


def grid_lines(grid: Grid, n_lines: int = 15, n_points: int = 60) -> np.ndarray:
    """Horizontal and vertical lines across the grid's box: ``[2 * n_lines, n_points, 2]``."""
    xs = np.linspace(grid.xs[0], grid.xs[-1], n_points)
    ys = np.linspace(grid.ys[0], grid.ys[-1], n_points)
    lines = [np.column_stack([xs, np.full(n_points, y)]) for y in np.linspace(ys[0], ys[-1], n_lines)]
    lines += [np.column_stack([np.full(n_points, x), ys]) for x in np.linspace(xs[0], xs[-1], n_lines)]
    return np.asarray(lines, dtype=np.float32)


def transformed_space(
    trainer, run: int, layer: int, X: np.ndarray, lines: np.ndarray, *, units: tuple[int, int] | None = None
) -> dict:
    """Data and grid lines mapped through hidden ``layer`` of one run, projected to 2D.

    ``X [N, 2]`` and ``lines [L, P, 2]`` are in the network's (standardised) input space. With
    ``units=(i, j)`` the axes are those two units' outputs; otherwise the first two principal
    components of the data's hidden representation. Returns ``points [N, 2]``, ``lines [L, P, 2]``,
    ``explained`` (variance share of the two axes, for PCA) and ``axis_titles``.
    """
    n_lines, n_points = lines.shape[:2]
    both = np.concatenate([X, lines.reshape(-1, 2)]).astype(np.float32)
    h = trainer.hidden_outputs(both)[layer][run].T  # [N + L*P, width]
    h = np.nan_to_num(h.astype(np.float64), nan=0.0, posinf=1e6, neginf=-1e6)
    hx = h[: len(X)]
    if units is not None:
        i, j = units
        proj, explained, titles = h[:, [i, j]], None, (f"unit {i + 1}", f"unit {j + 1}")
    else:
        center = hx.mean(0)
        _, s, vt = np.linalg.svd(hx - center, full_matrices=False)
        if vt.shape[0] < 2:  # a one-unit layer: the second axis is flat
            vt, s = np.vstack([vt, np.zeros_like(vt)]), np.append(s, 0.0)
        proj = (h - center) @ vt[:2].T
        total = float((s**2).sum())
        explained = (s[:2] ** 2 / total).tolist() if total > 0 else [0.0, 0.0]
        titles = ("PC 1", "PC 2")
    return {
        "points": proj[: len(X)],
        "lines": proj[len(X) :].reshape(n_lines, n_points, 2),
        "explained": explained,
        "axis_titles": titles,
    }


def seed_agreement(probs: np.ndarray, n_seeds: int) -> np.ndarray:
    """Per activation, the fraction of seeds predicting each class at each grid cell.

    ``probs [K, R, R, C]`` with runs ordered activation-major (``K = A * n_seeds``); returns
    ``[A, R, R, C]``. Where all seeds agree one class has 1.0; 1 - max over classes is disagreement.
    """
    k, r1, r2, c = probs.shape
    labels = np.nan_to_num(probs.astype(np.float32), nan=0.0).argmax(-1)  # [K, R, R]
    onehot = np.eye(c, dtype=np.float32)[labels]  # [K, R, R, C]
    return onehot.reshape(k // n_seeds, n_seeds, r1, r2, c).mean(1)


def disagreement(agreement: np.ndarray) -> np.ndarray:
    """Share of the plane ``[A]`` where not all seeds predict the same class."""
    return (agreement.max(-1) < 1.0).mean(axis=(1, 2))


def disputed_points(labels: np.ndarray, n_seeds: int) -> np.ndarray:
    """Per activation, the points at which its seeds do not all predict the same class.

    Parameters
    ----------
    labels : [K, N] int
        Every run's predicted class at N points, runs ordered activation-major (``K = A * n_seeds``:
        run k is activation ``k // n_seeds``, seed ``k % n_seeds``), e.g. ``Experiment.predictions``.
    n_seeds : int
        Seeds per activation (>= 1).

    Returns
    -------
    [A, N] bool
        True where at least one seed of the activation predicts another class than its first seed.
    """
    labels = np.asarray(labels)
    if labels.ndim != 2 or n_seeds < 1 or labels.shape[0] % n_seeds:
        raise ValueError(f"labels must have shape (A * {n_seeds}, N), got {labels.shape}")
    grouped = labels.reshape(labels.shape[0] // n_seeds, n_seeds, labels.shape[1])
    return (grouped != grouped[:, :1]).any(axis=1)


def point_disagreement(labels: np.ndarray, n_seeds: int) -> np.ndarray:
    """Share of the points ``[A]`` at which the seeds of an activation do not all predict the same class.

    Measured where the data are (unlike :func:`disagreement`, which counts the whole grid, empty
    corners included).

    Parameters
    ----------
    labels : [K, N] int
        Predicted classes, runs activation-major as in :func:`disputed_points`.
    n_seeds : int
        Seeds per activation.

    Returns
    -------
    [A] float
        In [0, 1]; 0 for every activation when there are no points (N = 0).
    """
    disputed = disputed_points(labels, n_seeds)
    if disputed.shape[1] == 0:
        return np.zeros(disputed.shape[0])
    return disputed.mean(axis=1)


def _by_activation(values: np.ndarray, n_seeds: int, ndim: int, what: str) -> np.ndarray:
    """``values`` ``[K, ...]`` of ``ndim`` axes (runs activation-major) as ``[A, n_seeds, ...]``
    float64, or a ValueError."""
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != ndim or n_seeds < 1 or values.shape[0] % n_seeds:
        raise ValueError(f"{what} must have {ndim} axes, the first A * {n_seeds}; got {values.shape}")
    return values.reshape(values.shape[0] // n_seeds, n_seeds, *values.shape[1:])


def seed_spread(values: np.ndarray, n_seeds: int) -> np.ndarray:
    """Regression: per activation, the standard deviation over its seeds of the predicted value at
    each grid cell (0 where every seed predicts the same).

    Parameters
    ----------
    values : [K, R, R] float
        Every run's predicted value on the grid (``Experiment.surface``), runs activation-major
        (``K = A * n_seeds``).
    n_seeds : int
        Seeds per activation (>= 1).

    Returns
    -------
    [A, R, R] float64
        The population standard deviation (``ddof=0``: the seeds shown are all there are); NaN where
        a seed's value is not finite.
    """
    return _by_activation(values, n_seeds, 3, "values").std(axis=1)


def point_spread(preds: np.ndarray, n_seeds: int) -> np.ndarray:
    """Regression: per activation, the mean over the points of the standard deviation over its seeds
    of the predicted value (:func:`seed_spread` where the data are, not in empty corners).

    Parameters
    ----------
    preds : [K, N] float
        Every run's predicted values at N points (``Experiment.predictions``), runs activation-major.
    n_seeds : int
        Seeds per activation.

    Returns
    -------
    [A] float64
        In the targets' units; 0 for every activation when there are no points (N = 0), NaN when a
        seed's value at some point is not finite.
    """
    spread = _by_activation(preds, n_seeds, 2, "preds").std(axis=1)  # [A, N]
    if spread.shape[1] == 0:
        return np.zeros(spread.shape[0])
    return spread.mean(axis=1)
