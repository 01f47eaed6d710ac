"""The experiment config: one frozen dataclass, validated, round-tripping through URL parameters.

Every setting a user can change lives here, with its bounds (BOUNDS, also the widgets' ranges).
A Config validates itself when it is made (ValueError naming every field out of bounds); the key
lists come from the registries (datasets, activations and their parameters). URL parameters, the
CLI and config files go through :meth:`Config.from_params`, which never raises: a bad value falls
back to the default and is reported as a :class:`Notice` (field, value given, value used, why).
:meth:`Config.within_caps` applies what a shared server allows (the run cap) to any config.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nnviz.activations import ACTIVATIONS
from nnviz.data.features import DEFAULT_FEATURES, FEATURES
from nnviz.data.generators import DATASETS

UPLOAD = "upload"  # the user's own CSV: the data lives in the session, not in the URL
DATASET_KEYS = (*DATASETS, UPLOAD)
ACTIVATION_KEYS = tuple(ACTIVATIONS)
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
MAX_RUNS = 40  # activations x seeds (x the values of a varied setting)
MIN_VALUES, MAX_VALUES = 2, 4  # the values of a varied setting: the rows of the grid

# Settings a comparison can vary (the grid's rows): field -> (the row header's name, default values
# as URL text). The first group trains in one lockstep computation (per-run optimiser settings,
# L1/L2 and initial weights); each value of the others changes the network's shape or the data, so
# it trains as a lockstep group of its own (nnviz.experiment).
VARY: dict[str, tuple[str, tuple[str, ...]]] = {
    "lr": ("lr", ("0.003", "0.03", "0.3")),
    "optimizer": ("optimizer", ("sgd", "momentum", "adam")),
    "momentum": ("momentum", ("0", "0.5", "0.9")),
    "init": ("init", ("xavier", "he", "uniform")),
    "l2": ("L2", ("0", "0.001", "0.01")),
    "l1": ("L1", ("0", "0.001", "0.01")),
    "batch_size": ("batch", ("0", "32", "4")),
    "batch_norm": ("batch norm", ("0", "1")),
    "hidden_layers": ("layers", ("1", "3", "6")),
    "width": ("width", ("4", "8", "16")),
    "standardize": ("standardised", ("0", "1")),
    "noise": ("noise", ("0.05", "0.2", "0.4")),
    "dataset": ("dataset", ("moons", "circles", "xor")),
}
LOCKSTEP_AXES = ("lr", "optimizer", "momentum", "init", "l2", "l1")
# Each setting a grid can vary as the sidebar's controls name it (the Vary control, the report).
VARY_TITLES = {
    "lr": "Learning rate",
    "optimizer": "Optimiser",
    "momentum": "Momentum",
    "init": "Initialisation",
    "l2": "L2 penalty",
    "l1": "L1 penalty",
    "batch_size": "Batch size",
    "batch_norm": "Batch norm",
    "hidden_layers": "Hidden layers",
    "width": "Units per layer",
    "standardize": "Standardise inputs",
    "noise": "Noise",
    "dataset": "Dataset",
}
# Dataset rows take each dataset's own defaults of these (as scikit-learn's classifier comparison
# shows every dataset as it is): the network and the training stay the compared config's.
DATASET_ROW_DEFAULTS = ("n_samples", "noise", "n_classes")
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

# Activation parameters, from the zoo: "activation.param" -> (default, low, high).
ACT_PARAMS: dict[str, tuple[float, float, float]] = {
    f"{act.key}.{p.name}": (p.default, p.low, p.high) for act in ACTIVATIONS.values() for p in act.params
}


@dataclass(frozen=True)
class Notice:
    """A setting that is not used as given: its ``field`` (the URL key), the value ``given``, the
    value ``used`` instead ("" when the entry is ignored) and ``why``. ``str()`` is the sentence the
    page shows; ``problem`` is the part a strict reader (the CLI, a config file) reports."""

    field: str
    given: str
    used: str
    why: str

    @property
    def problem(self) -> str:
        return f"{self.field}: {self.why}"

    def __str__(self) -> str:
        return f"{self.problem}; using {self.used}" if self.used else f"{self.problem}; ignored"


@dataclass(frozen=True)
class Config:
    """One experiment: a dataset, a set of activations x seeds, one network, one training recipe.

    ``batch_size == 0`` means full batch. Seeds are ``seed, seed + 1, ..., seed + n_seeds - 1``.
    ``loss`` is read for classification only: on a regression dataset (``task``) the network has one
    linear output trained with MSE whatever ``loss`` says, so a URL's ``loss`` stays valid either way.
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
    features: tuple[str, ...] = DEFAULT_FEATURES  # the network's inputs (nnviz.data.features)
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
    loss: str = "ce"  # classification only: a regression dataset always trains MSE and ignores it
    diag_every: int = 10
    # The grid: a setting to vary (a VARY key, "" for none) and its values (URL text, 2-4 of them)
    vary: str = ""
    values: tuple[str, ...] = ()

    def __post_init__(self):
        for name, value in self.dataset_defaults().items():
            if getattr(self, name) is None:
                object.__setattr__(self, name, value)
        problems = [f"{name}: {why}" for name, why in self._problems()]
        if problems:
            raise ValueError("; ".join(problems))

    def _problems(self) -> list[tuple[str, str]]:
        """(field, why) for every value out of its bounds (BOUNDS, ACT_PARAMS, the activation keys)."""
        out = []
        for name, rule in BOUNDS.items():
            try:
                _check_value(rule, getattr(self, name), field_types()[name])
            except ValueError as exc:
                out.append((name, str(exc)))
        if not self.activations or any(a not in ACTIVATIONS for a in self.activations):
            out.append(("act", f"unknown or no activation in {self.activations!r}"))
        for key, value in self.act_params:
            if key not in ACT_PARAMS or not ACT_PARAMS[key][1] <= value <= ACT_PARAMS[key][2]:
                out.append((f"p.{key}", f"{value!r} is not a valid value"))
        try:
            _check_features(self.features)
        except ValueError as exc:
            out.append(("features", str(exc)))
        try:
            _check_grid(self)
        except ValueError as exc:
            out.append(("values" if self.vary in VARY else "vary", str(exc)))
        return out

    @property
    def task(self) -> str | None:
        """The generated dataset's task ("classification" or "regression"); None for an upload (its
        task is the uploaded data's, see nnviz.data.upload)."""
        spec = DATASETS.get(self.dataset)
        return spec.task if spec is not None else None

    def dataset_defaults(self) -> dict[str, Any]:
        """The values of DATASET_DEFAULTS for this config's dataset (its registry entry's, else shared)."""
        spec = DATASETS.get(self.dataset)
        return {**SHARED_DEFAULTS, **(spec.defaults if spec is not None else {})}

    @property
    def seeds(self) -> tuple[int, ...]:
        return tuple(self.seed + i for i in range(self.n_seeds))

    @property
    def n_runs(self) -> int:
        """Activations x seeds x the varied setting's values (1 when nothing is varied)."""
        return len(self.activations) * self.n_seeds * max(1, len(self.values))

    @property
    def rows(self) -> tuple[Config, ...]:
        """The grid's rows: this config with each value of the varied setting (one row, itself,
        when nothing is varied). Each row is a plain config (``vary=""``)."""
        if not self.vary:
            return (self,)
        out = []
        for text in self.values:
            changes: dict[str, Any] = {self.vary: _parse_field(self.vary, text, field_types()[self.vary])}
            if self.vary == "dataset":  # each dataset with its own data settings (DATASET_ROW_DEFAULTS)
                spec_defaults = Config(dataset=changes["dataset"]).dataset_defaults()
                changes.update({k: spec_defaults[k] for k in DATASET_ROW_DEFAULTS})
            out.append(self.replace(vary="", values=(), **changes))
        return tuple(out)

    def row_label(self, row: int) -> str:
        """The row header of one row of the grid: "lr 0.3", "batch norm on", "dataset Circles"."""
        if not self.vary:
            return ""
        return f"{VARY[self.vary][0]} {value_name(self.vary, self.values[row])}"

    def params_for(self, activation: str) -> dict[str, float]:
        """The chosen parameter values of one activation (only those set or exposed)."""
        prefix = activation + "."
        out = {k[len(prefix) :]: d for k, (d, _, _) in ACT_PARAMS.items() if k.startswith(prefix)}
        out.update({k[len(prefix) :]: v for k, v in self.act_params if k.startswith(prefix)})
        return out

    def replace(self, **changes: Any) -> Config:
        return dataclasses.replace(self, **changes)

    def validate(self) -> Config:
        """Return self: a Config validates itself when it is made (ValueError naming the fields)."""
        return self

    def within_caps(self) -> tuple[Config, list[Notice]]:
        """This config within what a shared server runs (MAX_RUNS activations x seeds x values):
        fewer seeds, then fewer values of the varied setting."""
        if self.n_runs <= MAX_RUNS:
            return self, []
        rows = max(1, len(self.values))
        n_seeds = max(1, MAX_RUNS // (len(self.activations) * rows))
        what = "activations x seeds x values" if self.vary else "activations x seeds"
        why = f"{self.n_runs} runs requested ({what}), at most {MAX_RUNS} run"
        notices = [Notice("n_seeds", str(self.n_seeds), str(n_seeds), why)] if n_seeds != self.n_seeds else []
        cfg = self.replace(n_seeds=n_seeds)
        if cfg.n_runs > MAX_RUNS:
            keep = max(MIN_VALUES, MAX_RUNS // len(self.activations))
            if keep < rows:
                cfg = cfg.replace(values=cfg.values[:keep])
                notices.append(Notice("values", ",".join(self.values), ",".join(cfg.values), why))
        if cfg.n_runs > MAX_RUNS:  # even two rows of one seed are too many: no grid
            cfg = cfg.replace(vary="", values=())
            notices.append(Notice("vary", self.vary, "none", why))
        return cfg, notices

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
        if full or self.features != DEFAULT_FEATURES:
            out["features"] = ",".join(self.features)
        if self.vary:
            out["vary"], out["values"] = self.vary, ",".join(self.values)
        return out

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> tuple[Config, list[Notice]]:
        """Parse query parameters (within the caps); bad or unknown entries fall back to defaults,
        each with a Notice. Never raises."""
        values: dict[str, Any] = {}
        fallbacks: list[tuple[str, str, str]] = []  # (field, given, why): the value used is known later
        notices: list[Notice] = []
        act_params: dict[str, float] = {}
        grid: dict[str, str] = {}
        for key, raw in params.items():
            raw = _last(raw)
            try:
                if key in BOUNDS:
                    values[key] = _parse_field(key, raw, field_types()[key])
                elif key == "act":
                    values["activations"] = _parse_activations(raw)
                elif key == "features":
                    values["features"] = parse_features(raw)
                elif key.startswith("p.") and key[2:] in ACT_PARAMS:
                    _, low, high = ACT_PARAMS[key[2:]]
                    act_params[key[2:]] = _parse_number(raw, low, high, float)
                elif key in ("vary", "values"):
                    grid[key] = raw
                else:
                    notices.append(Notice(_clip(key), _clip(raw), "", "unknown parameter"))
            except ValueError as exc:
                fallbacks.append((key, _clip(raw), str(exc)))
        values["act_params"] = tuple(sorted(act_params.items()))
        cfg = cls(**values)
        cfg, grid_notices = _with_grid(cfg, grid)
        notices += grid_notices
        used = {
            "act": "the default activations",
            "features": ",".join(cfg.features),
            **{f"p.{k}": "the default" for k in ACT_PARAMS},
        }
        notices = [
            Notice(key, given, used.get(key) or _format(getattr(cfg, key)), why)
            for key, given, why in fallbacks
        ] + notices
        cfg, capped = cfg.within_caps()
        return cfg, notices + capped


def parse_values(vary: str, raw: str) -> tuple[str, ...]:
    """The values of a varied setting from comma-separated text, each checked and written as the
    URL writes it (duplicates dropped); ValueError naming the bad ones."""
    if vary not in VARY:
        raise ValueError(f"{_clip(vary)!r} cannot be varied; use one of {', '.join(VARY)}")
    out, bad = [], []
    for text in (t.strip() for t in raw.split(",")):
        if not text:
            continue
        try:
            value = _parse_field(vary, text, field_types()[vary])
        except ValueError:
            bad.append(_clip(text, 12))
            continue
        if vary == "dataset" and value == UPLOAD:
            bad.append(value)
            continue
        formatted = _format(value)
        if isinstance(value, float) and formatted.endswith(".0"):
            formatted = formatted[:-2]  # "1", as a person writes it
        if formatted not in out:
            out.append(formatted)
    if bad:
        raise ValueError(f"{', '.join(bad[:4])}: not valid values of {vary}")
    if not MIN_VALUES <= len(out) <= MAX_VALUES:
        raise ValueError(f"{vary} needs {MIN_VALUES} to {MAX_VALUES} different values, got {len(out)}")
    return tuple(out)


def value_name(vary: str, text: str) -> str:
    """A value of a varied setting as a row header says it ("on", "Adam", "full batch", "Circles")."""
    if field_types().get(vary) is bool:
        return "on" if text == "1" else "off"
    if vary == "optimizer":
        return OPTIMIZER_NAMES.get(text, text)
    if vary == "init":
        return {"default": "PyTorch", "uniform": "uniform"}.get(
            text, INIT_NAMES.get(text, text).split(" /")[0]
        )
    if vary == "batch_size" and text == "0":
        return "full"
    if vary == "dataset":
        spec = DATASETS.get(text)
        return spec.name if spec else text
    return text


def _check_grid(cfg: Config) -> None:
    if not cfg.vary:
        if cfg.values:
            raise ValueError("values given without a setting to vary")
        return
    if cfg.vary not in VARY:
        raise ValueError(f"{_clip(cfg.vary)!r} cannot be varied; use one of {', '.join(VARY)}")
    if parse_values(cfg.vary, ",".join(cfg.values)) != tuple(cfg.values):
        raise ValueError(f"values {','.join(cfg.values)!r} are not written as the URL writes them")
    if cfg.vary == "dataset":
        if cfg.dataset == UPLOAD:
            raise ValueError("an uploaded dataset cannot be compared with generated ones")
        if len({DATASETS[v].task for v in cfg.values}) > 1:
            raise ValueError("the datasets of a grid need the same task (regression or classification)")
        counts = {DATASETS[v].n_classes or DATASETS[v].defaults.get("n_classes") for v in cfg.values}
        if len(counts) > 1:
            raise ValueError("the datasets of a grid need the same number of classes")


def _with_grid(cfg: Config, grid: dict[str, str]) -> tuple[Config, list[Notice]]:
    """``cfg`` with the URL's ``vary`` and ``values`` (default values when none are given); a bad
    entry falls back to no grid, or to the setting's default values, with a Notice."""
    vary, raw = grid.get("vary", "").strip(), grid.get("values")
    if not vary or vary == "none":
        return cfg, [Notice("values", _clip(raw), "", "no setting to vary")] if raw else []
    if vary not in VARY:
        return cfg, [
            Notice("vary", _clip(vary), "none", f"not a setting that can be varied ({', '.join(VARY)})")
        ]
    notices = []
    values = VARY[vary][1]
    if raw is not None:
        try:
            values = parse_values(vary, raw)
        except ValueError as exc:
            notices.append(Notice("values", _clip(raw), ",".join(values), str(exc)))
    try:
        return cfg.replace(vary=vary, values=values), notices
    except ValueError as exc:
        return cfg, [*notices, Notice("vary", vary, "none", str(exc).split(": ", 1)[-1])]


@functools.cache
def field_types() -> dict[str, type]:
    """Each scalar field's type, from the dataclass's annotations (strings, as annotations are here)."""
    kinds = {"int": int, "float": float, "bool": bool, "str": str}
    return {f.name: kinds[f.type] for f in dataclasses.fields(Config) if f.name in BOUNDS}


def _last(raw: Any) -> str:
    """A repeated URL key arrives as a list: the last one wins, as in a browser form."""
    if isinstance(raw, (list, tuple)):
        raw = raw[-1] if raw else ""
    return str(raw)


def _clip(text: str, n: int = 40) -> str:
    return text if len(text) <= n else text[:n] + "..."


def _format(value: Any) -> str:
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value)
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


def _check_value(rule: Bound, value: Any, kind: type) -> None:
    """ValueError unless ``value`` (already parsed) is of ``kind`` and within ``rule``."""
    if rule.choices is not None:
        if value not in rule.choices:
            raise ValueError(f"{_clip(str(value))!r} is not one of {', '.join(rule.choices)}")
    elif kind is bool:
        if not isinstance(value, bool):
            raise ValueError(f"{value!r} is not a yes/no value")
    elif (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or (kind is int and value != int(value))
    ):
        raise ValueError(f"{value!r} is not a {'whole ' if kind is int else ''}number")
    elif not (math.isfinite(value) and rule.low <= value <= rule.high):
        raise ValueError(f"{_clip(str(value))} is outside [{_format(rule.low)}, {_format(rule.high)}]")


def _parse_field(name: str, raw: str, kind: type) -> Any:
    rule = BOUNDS[name]
    if rule.choices is not None:
        if raw not in rule.choices:
            raise ValueError(f"{_clip(raw)!r} is not one of {', '.join(rule.choices)}")
        return raw
    if kind is bool:
        if raw.lower() in ("1", "true", "yes", "on"):
            return True
        if raw.lower() in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"{_clip(raw)!r} is not a yes/no value")
    return _parse_number(raw, rule.low, rule.high, kind)


def parse_features(raw: str) -> tuple[str, ...]:
    """The input features from comma-separated names (nnviz.data.features), in the registry's order
    (as TF Playground lists its inputs); ValueError naming the unknown ones, or when there are none
    or one is given twice."""
    order = list(FEATURES)
    given = (n.strip() for n in raw.split(",") if n.strip())
    names = tuple(sorted(given, key=lambda n: order.index(n) if n in order else len(order)))
    _check_features(names)
    return names


def _check_features(names: tuple[str, ...]) -> None:
    if not isinstance(names, tuple):
        raise ValueError(f"features must be a tuple of names, got {type(names).__name__}")
    if not names:
        raise ValueError(f"no input feature given; use some of {', '.join(FEATURES)}")
    bad = [_clip(str(n), 12) for n in names if n not in FEATURES]
    if bad:
        raise ValueError(f"unknown feature(s) {', '.join(bad[:5])}; use some of {', '.join(FEATURES)}")
    if len(set(names)) != len(names):
        raise ValueError(f"a feature is given twice in {_clip(','.join(names))}")
    if list(names) != sorted(names, key=list(FEATURES).index):
        raise ValueError(f"features must be in the order {', '.join(FEATURES)}")


def _parse_activations(raw: str) -> tuple[str, ...]:
    keys = [k.strip() for k in raw.split(",") if k.strip()]
    bad = [k for k in keys if k not in ACTIVATION_KEYS]
    if bad:
        raise ValueError(f"unknown activation(s) {', '.join(_clip(b) for b in bad[:5])}")
    unique = tuple(dict.fromkeys(keys))
    if not unique:
        raise ValueError("no activation given")
    return unique
