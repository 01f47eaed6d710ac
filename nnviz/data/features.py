"""The network's input features (TF Playground's inputs): x1, x2, x1², x2², x1·x2, sin x1, sin x2.

A registry maps a feature's name (its URL text) to a label for people and a function of the two
coordinates. :class:`InputMap` is what a trained network takes as its input: the chosen features
computed from 2D points (already standardised like the training data, see nnviz.data.split), each
then standardised by its mean and std over the training points, when the inputs are standardised
at all. With the default features (x1, x2) it is the identity, and skipped, so a network on the
default inputs sees exactly the points it always did.

TF Playground computes its features from the raw coordinates (about [-6, 6]) and never scales
them; here they are computed from the standardised points (about [-2.5, 2.5]) and scaled like the
inputs, so every choice of features trains at the same learning rate.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class Feature:
    """One input feature: ``label`` for people (plain text), ``html`` (the same for Plotly's
    annotations), ``fn(x1, x2)`` on ``[N]`` float32 tensors."""

    label: str
    html: str
    fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


_X1, _X2 = "x<sub>1</sub>", "x<sub>2</sub>"
FEATURES: dict[str, Feature] = {
    "x1": Feature("x₁", _X1, lambda a, b: a),
    "x2": Feature("x₂", _X2, lambda a, b: b),
    "x1sq": Feature("x₁²", _X1 + "<sup>2</sup>", lambda a, b: a * a),
    "x2sq": Feature("x₂²", _X2 + "<sup>2</sup>", lambda a, b: b * b),
    "x1x2": Feature("x₁x₂", _X1 + _X2, lambda a, b: a * b),
    "sinx1": Feature("sin x₁", "sin " + _X1, lambda a, b: torch.sin(a)),
    "sinx2": Feature("sin x₂", "sin " + _X2, lambda a, b: torch.sin(b)),
}
DEFAULT_FEATURES = ("x1", "x2")


def labels(names) -> list[str]:
    """The labels of some features, in their order."""
    return [FEATURES[n].label for n in names]


def raw_features(names, points) -> torch.Tensor:
    """The features ``[N, F]`` float32 of points ``[N, 2]`` (numpy or torch), unscaled."""
    t = torch.as_tensor(np.asarray(points, dtype=np.float32)) if not torch.is_tensor(points) else points
    t = t.to(torch.float32)
    a, b = t[:, 0], t[:, 1]
    return torch.stack([FEATURES[n].fn(a, b) for n in names], dim=1)


@dataclass(frozen=True, eq=False)
class InputMap:
    """2D points -> the network's inputs: the features ``names``, each standardised by ``mean`` and
    ``std`` (``[F]`` float32, fit on the training points by :meth:`fit`).

    ``apply`` takes points ``[N, 2]`` and returns ``[N, F]``; the identity (the default features)
    returns its input unchanged. Plain data: part of a trainer's pickled state.
    """

    names: tuple[str, ...]
    mean: np.ndarray
    std: np.ndarray

    def __post_init__(self):
        object.__setattr__(self, "names", tuple(self.names))
        for name in ("mean", "std"):
            value = np.array(getattr(self, name), dtype=np.float32).reshape(len(self.names))
            object.__setattr__(self, name, value)

    @classmethod
    def fit(cls, names, points, *, standardize: bool = True) -> InputMap:
        """The map of the features ``names``, standardised over the training ``points [N, 2]`` (a zero
        std becomes 1, as nnviz.data.split has it); unscaled when ``standardize`` is False."""
        names = tuple(names)
        unknown = [n for n in names if n not in FEATURES]
        if not names or unknown or len(set(names)) != len(names):
            raise ValueError(f"features must be distinct names of {', '.join(FEATURES)}, got {names!r}")
        if names == DEFAULT_FEATURES or not standardize:
            return cls(names, np.zeros(len(names)), np.ones(len(names)))
        raw = raw_features(names, points).double()
        mean, std = raw.mean(0), raw.std(0, correction=0)
        std = torch.where(std > 0, std, torch.ones_like(std))
        return cls(names, mean.numpy(), std.numpy())

    @property
    def identity(self) -> bool:
        """The default features (x1, x2): the points are the inputs (``apply`` returns them)."""
        return self.names == DEFAULT_FEATURES

    @property
    def labels(self) -> list[str]:
        return labels(self.names)

    def apply(self, points):
        """The network's inputs ``[N, F]`` float32 at points ``[N, 2]`` (numpy in, numpy out; torch
        in, torch out); the identity returns ``points`` themselves."""
        if self.identity:
            return points
        out = (raw_features(self.names, points) - torch.from_numpy(self.mean)) / torch.from_numpy(self.std)
        return out if torch.is_tensor(points) else out.numpy()

    def to_dict(self) -> dict:
        """What a weights export records: ``{"names": [...], "mean": [...], "std": [...]}``."""
        return {"names": list(self.names), "mean": self.mean.tolist(), "std": self.std.tolist()}

    @classmethod
    def from_dict(cls, data: dict) -> InputMap:
        return cls(data["names"], data["mean"], data["std"])
