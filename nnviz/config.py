"""The experiment config: one frozen dataclass, validated, round-tripping through URL parameters.

Every setting a user can change lives here, with its bounds. The UI, the URL, the CLI and the
exports all go through :func:`Config.from_params` / :meth:`Config.to_params`, so the bounds are
enforced in one place. Invalid values never raise from ``from_params``: they fall back to the
default and are reported as human-readable notices.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nnviz.data.generators import DATASETS

UPLOAD = "upload"  # the user's own CSV: the data lives in the session, not in the URL
DATASET_KEYS = ("moons", "circles", "xor", "spiral", "gaussians", "checkerboard", "spiral3", "blobs", UPLOAD)
ACTIVATION_KEYS = (
    "linear",
    "sigmoid",
    "tanh",
    "relu",
    "leaky_relu",
    "prelu",
    "elu",
    "selu",
    "gelu",
    "silu",
    "mish",
    "softplus",
    "softsign",
)
OPTIMIZERS = ("sgd", "momentum", "adam")
INITS = ("default", "xavier", "he", "uniform")
LOSSES = ("ce", "mse")
# Human names of the choices, for the sidebar, the report and the CLI.
OPTIMIZER_NAMES = {"sgd": "SGD", "momentum": "SGD + momentum", "adam": "Adam"}
INIT_NAMES = {
    "default": "PyTorch default",
    "xavier": "Xavier / Glorot",
    "he": "He / Kaiming",
    "uniform": "uniform(-0.5, 0.5) (TF Playground)",
}
LOSS_NAMES = {"ce": "cross-entropy", "mse": "mean squared error"}

# Settings whose default is the dataset's (nnviz.data.generators: DatasetSpec.defaults), else these: a URL or
# a constructor that leaves one out gets the dataset's value; to_params leaves out a value equal to it.
SHARED_DEFAULTS = {"n_samples": 400, "noise": 0.2, "n_classes": 3, "width": 8, "epochs": 1000}
DATASET_DEFAULTS = tuple(SHARED_DEFAULTS)

# Hard caps: what a URL, a file or the CLI may ask of a shared server.
MAX_RUNS = 40  # activations x seeds
MAX_EPOCHS = 5000
MAX_SAMPLES = 5000


@dataclass(frozen=True)
class Bound:
    """Validation rule of one scalar field: numeric range, or a set of choices."""

    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] | None = None


# field name -> rule; also the URL schema (keys are the field names).
BOUNDS: dict[str, Bound] = {
    "dataset": Bound(choices=DATASET_KEYS),
    "n_samples": Bound(50, MAX_SAMPLES),
    "noise": Bound(0.0, 2.0),
    "n_classes": Bound(3, 5),
    "val_fraction": Bound(0.05, 0.5),
    "data_seed": Bound(0, 2**31 - 1),
    "standardize": Bound(),
    "seed": Bound(0, 2**31 - 1),
    "n_seeds": Bound(1, 10),
    "hidden_layers": Bound(1, 6),
    "width": Bound(1, 64),
    "batch_norm": Bound(),
    "init": Bound(choices=INITS),
    "optimizer": Bound(choices=OPTIMIZERS),
    "lr": Bound(1e-6, 100.0),
    "momentum": Bound(0.0, 0.99),
    "batch_size": Bound(0, MAX_SAMPLES),
    "epochs": Bound(1, MAX_EPOCHS),
    "l1": Bound(0.0, 1.0),
    "l2": Bound(0.0, 1.0),
    "loss": Bound(choices=LOSSES),
    "diag_every": Bound(1, 1000),
}

# Activation parameters the UI exposes: "activation.param" -> (default, low, high).
ACT_PARAMS: dict[str, tuple[float, float, float]] = {
    "leaky_relu.slope": (0.01, 0.0, 0.5),
    "prelu.slope": (0.25, 0.0, 1.0),
    "elu.alpha": (1.0, 0.01, 5.0),
    "silu.beta": (1.0, 0.1, 10.0),
}


@dataclass(frozen=True)
class Config:
    """One experiment: a dataset, a set of activations x seeds, one network, one training recipe.

    ``batch_size == 0`` means full batch. Seeds are ``seed, seed + 1, ..., seed + n_seeds - 1``.
    """

    # Data (None below: the dataset's own default, see DATASET_DEFAULTS)
    dataset: str = "moons"
    n_samples: int = None  # type: ignore[assignment]
    noise: float = None  # type: ignore[assignment]
    n_classes: int = None  # type: ignore[assignment]  # only for datasets with a variable class count (blobs)
    val_fraction: float = 0.3
    data_seed: int = 0
    standardize: bool = True
    # Compare
    activations: tuple[str, ...] = ("sigmoid", "tanh", "relu", "leaky_relu")
    act_params: tuple[tuple[str, float], ...] = ()
    seed: int = 0
    n_seeds: int = 1
    # Network
    hidden_layers: int = 2
    width: int = None  # type: ignore[assignment]
    batch_norm: bool = False
    init: str = "default"
    # Training
    optimizer: str = "adam"
    lr: float = 0.03
    momentum: float = 0.9
    batch_size: int = 0
    epochs: int = None  # type: ignore[assignment]
    l1: float = 0.0
    l2: float = 0.0
    loss: str = "ce"
    diag_every: int = 10

    def __post_init__(self):
        for name, value in self.dataset_defaults().items():
            if getattr(self, name) is None:
                object.__setattr__(self, name, value)

    def dataset_defaults(self) -> dict[str, Any]:
        """The values of DATASET_DEFAULTS for this config's dataset (its registry entry's, else shared)."""
        spec = DATASETS.get(self.dataset)
        return {**SHARED_DEFAULTS, **(spec.defaults if spec is not None else {})}

    @property
    def seeds(self) -> tuple[int, ...]:
        return tuple(self.seed + i for i in range(self.n_seeds))

    @property
    def n_runs(self) -> int:
        return len(self.activations) * self.n_seeds

    def params_for(self, activation: str) -> dict[str, float]:
        """The chosen parameter values of one activation (only those set or exposed)."""
        prefix = activation + "."
        out = {k[len(prefix) :]: d for k, (d, _, _) in ACT_PARAMS.items() if k.startswith(prefix)}
        out.update({k[len(prefix) :]: v for k, v in self.act_params if k.startswith(prefix)})
        return out

    def replace(self, **changes: Any) -> Config:
        return dataclasses.replace(self, **changes)

    def validate(self) -> Config:
        """Return self if every field is within bounds, else raise ValueError naming them."""
        cfg, notices = Config.from_params(self.to_params())
        if notices:
            raise ValueError("; ".join(notices))
        return self

    # ---- URL / dict round trip -------------------------------------------------------------
    def to_params(self, full: bool = False) -> dict[str, str]:
        """Flat str -> str mapping (query parameters); only values that differ from the defaults
        unless ``full`` (exports record every value, so they survive a change of defaults)."""
        out: dict[str, str] = {}
        default = {**dataclasses.asdict(Config()), **self.dataset_defaults()}
        for name in BOUNDS:
            value = getattr(self, name)
            if full or value != default[name]:
                out[name] = _format(value)
        if full or self.activations != default["activations"]:
            out["act"] = ",".join(self.activations)
        for key, value in self.act_params:
            out["p." + key] = _format(value)
        return out

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> tuple[Config, list[str]]:
        """Parse query parameters; bad or unknown entries fall back to defaults with a notice."""
        default = cls()
        values: dict[str, Any] = {}
        notices: list[str] = []
        fallbacks: list[tuple[str, str]] = []  # (field, why): the notice names the value used
        act_params: dict[str, float] = {}
        for key, raw in params.items():
            raw = _last(raw)
            if key in BOUNDS:
                try:
                    values[key] = _parse_field(key, raw, getattr(default, key))
                except ValueError as exc:
                    fallbacks.append((key, str(exc)))
            elif key == "act":
                try:
                    values["activations"] = _parse_activations(raw)
                except ValueError as exc:
                    notices.append(f"act: {exc}; using the default activations")
            elif key.startswith("p.") and key[2:] in ACT_PARAMS:
                _, low, high = ACT_PARAMS[key[2:]]
                try:
                    act_params[key[2:]] = _parse_number(raw, low, high, float)
                except ValueError as exc:
                    notices.append(f"{key}: {exc}; using the default")
            else:
                notices.append(f"unknown parameter {_clip(key)!r} ignored")
        values["act_params"] = tuple(sorted(act_params.items()))
        cfg = cls(**values)
        notices = [f"{key}: {why}; using {_format(getattr(cfg, key))}" for key, why in fallbacks] + notices
        if cfg.n_runs > MAX_RUNS:
            n_seeds = max(1, MAX_RUNS // len(cfg.activations))
            notices.append(
                f"{cfg.n_runs} runs requested (activations x seeds); capped at {MAX_RUNS} "
                f"by using {n_seeds} seed(s)"
            )
            cfg = cfg.replace(n_seeds=n_seeds)
        return cfg, notices


def _last(raw: Any) -> str:
    """A repeated URL key arrives as a list: the last one wins, as in a browser form."""
    if isinstance(raw, (list, tuple)):
        raw = raw[-1] if raw else ""
    return str(raw)


def _clip(text: str, n: int = 40) -> str:
    return text if len(text) <= n else text[:n] + "..."


def _format(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _parse_number(raw: str, low: float, high: float, kind: type) -> float:
    text = raw.strip()
    try:
        number = float(text)
    except ValueError:
        raise ValueError(f"{_clip(text)!r} is not a number") from None
    if not math.isfinite(number):
        raise ValueError(f"{_clip(text)!r} is not a finite number")
    if kind is int:
        if number != int(number):
            raise ValueError(f"{_clip(text)!r} is not a whole number")
        number = int(number)
    if not low <= number <= high:
        raise ValueError(f"{_clip(text)} is outside [{_format(low)}, {_format(high)}]")
    return number


def _parse_field(name: str, raw: str, default: Any) -> Any:
    rule = BOUNDS[name]
    if rule.choices is not None:
        if raw not in rule.choices:
            raise ValueError(f"{_clip(raw)!r} is not one of {', '.join(rule.choices)}")
        return raw
    if isinstance(default, bool):
        if raw.lower() in ("1", "true", "yes", "on"):
            return True
        if raw.lower() in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"{_clip(raw)!r} is not a yes/no value")
    kind = int if isinstance(default, int) else float
    return _parse_number(raw, rule.low, rule.high, kind)


def _parse_activations(raw: str) -> tuple[str, ...]:
    keys = [k.strip() for k in raw.split(",") if k.strip()]
    bad = [k for k in keys if k not in ACTIVATION_KEYS]
    if bad:
        raise ValueError(f"unknown activation(s) {', '.join(_clip(b) for b in bad[:5])}")
    unique = tuple(dict.fromkeys(keys))
    if not unique:
        raise ValueError("no activation given")
    return unique
