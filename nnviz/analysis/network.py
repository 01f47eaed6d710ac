"""One run's whole network as plain data, for the Network view (TF Playground's picture of a net).

Per run: every unit's output over the input plane (the input features, by default x1 and x2, each
hidden layer, the output as class probabilities), every weight matrix and bias vector, and per unit
what happens on the training points: its output's mean and range, whether it is *dead* or how
often it is *saturated* (the definitions of :mod:`nnviz.engine.recorder`), and the mean |gradient|
of its incoming weights at the last optimiser step. Plain numpy out, for :mod:`nnviz.figures.network`; no Streamlit.

Points are in data coordinates; ``mean``/``scale`` are the split's standardisation, applied before
the network sees them (as :func:`nnviz.analysis.inside.unit_maps`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from nnviz.analysis.boundary import Grid
from nnviz.engine.recorder import SAT_POINTS, SAT_RATIO

# the pair the view opens with: the classic contrast, when both are there (else the first two runs)
DEFAULT_PAIR = ("relu", "sigmoid")


@dataclass(frozen=True)
class Network:
    """One run's network. Columns are the inputs, the hidden layers, then the output; "layer" ``l``
    below is the ``l``-th weight layer (``weights[l]`` goes from column ``l`` to column ``l + 1``).

    ``maps[c]`` : ``[units, R, R]`` float32 over the grid (rows over ``ys``): column 0 the network's
        inputs (the features ``input_names``, nnviz.data.features, as the network sees them), then each hidden layer's outputs, then the output column as class
        probabilities (two classes: one unit, P(class 1); else one unit per class, softmax).
    ``weights[l]`` : ``[out, in]``; ``biases[l]`` : ``[out]`` (BatchNorm's shift where the hidden
        layers have no bias of their own).
    Per weight layer ``l`` (the units of column ``l + 1``), over the ``n_points`` training points in
    evaluation mode: ``out_mean``, ``out_min``, ``out_max`` (the unit's output; logits for the output
    column), ``zero_share`` (share of the points where the output is exactly 0), ``dead`` (0 on every
    point; never for saturating activations, whose exact zeros are saturation, as the recorder has
    it; never for the output), ``saturated_share`` (share of the points with f'(z) < SAT_RATIO f'(0),
    saturating activations only, else NaN), ``saturated`` (that share >= SAT_POINTS), ``grad`` (mean
    |d objective / d w| over the unit's incoming weights at the last step; zeros before the first).
    """

    run: int
    activation: str  # the activation's key
    saturating: bool
    dims: tuple[int, ...]
    n_classes: int
    epoch: int
    stepped: bool  # an optimiser step has been taken (else ``grad`` is all zeros, not measured)
    n_points: int
    maps: list[np.ndarray]
    weights: list[np.ndarray]
    biases: list[np.ndarray]
    out_mean: list[np.ndarray]
    out_min: list[np.ndarray]
    out_max: list[np.ndarray]
    zero_share: list[np.ndarray]
    dead: list[np.ndarray]
    saturated_share: list[np.ndarray]
    saturated: list[np.ndarray]
    grad: list[np.ndarray]
    input_names: tuple[str, ...] = ()  # the input features' names (column 0); () for x1, x2, ...


def default_pair(runs: list[tuple[str, int]]) -> tuple[int, int]:
    """The two runs the view opens with: ReLU and Sigmoid of the first seed when both are there (so
    from the same initial weights), else the first two runs (the only one twice if there is one)."""
    if not runs:
        raise ValueError("no runs")
    seed = runs[0][1]
    found = [next((k for k, r in enumerate(runs) if r == (act, seed)), None) for act in DEFAULT_PAIR]
    if None not in found:
        return found[0], found[1]
    return 0, min(1, len(runs) - 1)


def same_start(runs: list[tuple[str, int]], a: int, b: int) -> bool:
    """Whether two runs started from the same initial weights: all runs of one seed do."""
    return runs[a][1] == runs[b][1]


def weight_layers(state: dict[str, torch.Tensor]) -> list[tuple[str, str | None]]:
    """The (weight key, bias key or None) of every linear layer of a run's ``state_dict``, input first.

    A hidden layer followed by BatchNorm has no bias of its own; BatchNorm's shift (its ``bias``)
    stands in for it."""
    out = []
    for key, value in state.items():
        if not key.endswith(".weight") or value.ndim != 2:
            continue  # (PReLU's slope and BatchNorm's scale are 1-D ".weight"s)
        index = int(key.split(".")[0])
        bias = f"{index}.bias"
        if bias not in state and f"{index + 1}.running_mean" in state:
            bias = f"{index + 1}.bias"
        out.append((key, bias if bias in state else None))
    return out


def networks(trainer, runs, grid: Grid, mean=0.0, scale=1.0) -> list[Network]:
    """The :class:`Network` of each of ``runs`` (run indices) of ``trainer``, maps over ``grid``.

    The grid and the training points are evaluated in chunks of ``trainer.eval_chunk`` points (the
    trainer evaluates all its runs at once; only the asked ones are kept)."""
    runs = [int(r) for r in runs]
    n_classes = trainer.n_classes
    r = len(grid.xs)
    scaled = ((grid.points - mean) / scale).astype(np.float32)
    hidden, logits = _outputs(trainer, runs, scaled)
    features = trainer.input_features(scaled)  # [G, F]
    inputs = features.T.reshape(features.shape[1], r, r)
    stats = _train_stats(trainer, runs)
    steps = trainer.epoch > 0 or trainer.batch > 0
    out = []
    for j, run in enumerate(runs):
        act, _ = trainer.runs[run]
        group = next(g for g in trainer.activation_groups if g.runs.start <= run < g.runs.stop)
        probs = _probabilities(logits[j], n_classes)
        maps = [inputs] + [h[j].reshape(-1, r, r) for h in hidden] + [probs.reshape(-1, r, r)]
        state, grads = trainer.state_dict(run), trainer.gradients(run)
        layers = weight_layers(state)
        weights = [state[w].numpy().astype(np.float32) for w, _ in layers]
        biases = [
            state[b].numpy().astype(np.float32) if b else np.zeros(len(state[w]), np.float32)
            for w, b in layers
        ]
        grad = [grads[w].abs().mean(1).numpy().astype(np.float32) for w, _ in layers]
        s = stats[j]
        saturating = bool(group.act.saturating)
        none = np.full(trainer.dims[-1], np.nan, np.float32)  # the output column: none of these apply
        zero = [np.full_like(z, np.nan) if saturating else z for z in s["zero"]] + [none]
        low = [z if saturating else np.full_like(z, np.nan) for z in s["low"]] + [none]
        dead = [(p == 0) & (not saturating) for p in s["peak"]] + [np.zeros(len(none), bool)]
        out.append(Network(
            run=run, activation=act, saturating=saturating, dims=tuple(trainer.dims), n_classes=n_classes,
            epoch=int(trainer.epoch), stepped=steps, n_points=s["n"], maps=[m.astype(np.float32) for m in maps],
            weights=weights, biases=biases, out_mean=s["mean"], out_min=s["min"], out_max=s["max"],
            zero_share=zero, dead=dead, saturated_share=low,
            saturated=[np.nan_to_num(v, nan=0.0) >= SAT_POINTS for v in low], grad=grad,
            input_names=tuple(trainer.inputs.names),
        ))  # fmt: skip
    return out


def _outputs(trainer, runs: list[int], x: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """Hidden outputs ``[len(runs), width, G]`` per layer and logits ``[len(runs), out, G]`` at ``x``."""
    index = torch.tensor(runs)
    hidden, logits = [], []
    for start in range(0, len(x), trainer.eval_chunk):
        out, caches = trainer.forward_eval(x[start : start + trainer.eval_chunk])
        hidden.append([c.a_out[index].numpy() for c in caches])
        logits.append(out[index].numpy())
    layers = [np.concatenate([h[i] for h in hidden], -1) for i in range(len(hidden[0]))]
    return layers, np.concatenate(logits, -1)


def _probabilities(logits: np.ndarray, n_classes: int) -> np.ndarray:
    """``[out, G]`` outputs of one run as what the output column shows: P(class 1) for two classes,
    the softmax over the classes for more, and for regression (one output) the predicted value."""
    if n_classes == 1:
        return logits.astype(np.float64)
    z = np.nan_to_num(logits.astype(np.float64), nan=0.0, posinf=1e6, neginf=-1e6)
    if n_classes == 2:
        return 1.0 / (1.0 + np.exp(-np.clip(z, -60, 60)))
    z = z - z.max(0, keepdims=True)
    e = np.exp(z)
    return e / e.sum(0, keepdims=True)


def _train_stats(trainer, runs: list[int]) -> list[dict]:
    """Per asked run, per weight layer: each unit's output mean / min / max, largest |output|, share
    of exact zeros and of low-derivative points over the training points (evaluation mode, chunked)."""
    x = trainer.train_inputs
    n = len(x)
    index = torch.tensor(runs)
    d0 = {}
    for g in trainer.activation_groups:
        if g.act.saturating:
            d0[g.runs.start] = float(g.act.derivative(torch.zeros(1), g.params).abs())
    group_of = [next(g for g in trainer.activation_groups if g.runs.start <= r < g.runs.stop) for r in runs]
    acc = None
    for start in range(0, max(n, 1), trainer.eval_chunk):
        chunk = x[start : start + trainer.eval_chunk]
        logits, caches = trainer.forward_eval(chunk, need_deriv=True)
        outs = [c.a_out[index].double() for c in caches] + [logits[index].double()]
        low = []
        for c in caches:
            d = c.deriv[index].abs()
            counts = torch.zeros(d.shape[:2], dtype=torch.float64)
            for j, g in enumerate(group_of):
                if g.runs.start in d0:
                    counts[j] = (d[j] < SAT_RATIO * d0[g.runs.start]).sum(-1).double()
            low.append(counts)
        part = {
            "sum": [o.sum(-1) for o in outs],
            "min": [o.amin(-1) if o.shape[-1] else torch.full(o.shape[:2], np.nan) for o in outs],
            "max": [o.amax(-1) if o.shape[-1] else torch.full(o.shape[:2], np.nan) for o in outs],
            "peak": [o.abs().amax(-1) if o.shape[-1] else torch.zeros(o.shape[:2]) for o in outs[:-1]],
            "zero": [(o == 0).sum(-1).double() for o in outs[:-1]],
            "low": low,
        }
        if acc is None:
            acc = part
            continue
        for key, combine in (("sum", torch.add), ("min", torch.minimum), ("max", torch.maximum),
                             ("peak", torch.maximum), ("zero", torch.add), ("low", torch.add)):  # fmt: skip
            acc[key] = [combine(a, b) for a, b in zip(acc[key], part[key], strict=True)]
    share = max(n, 1)
    out = []
    for j in range(len(runs)):
        out.append({
            "n": n,
            "mean": [(v[j] / share).float().numpy() for v in acc["sum"]],
            "min": [v[j].float().numpy() for v in acc["min"]],
            "max": [v[j].float().numpy() for v in acc["max"]],
            "peak": [v[j].float().numpy() for v in acc["peak"]],
            "zero": [(v[j] / share).float().numpy() for v in acc["zero"]],
            "low": [(v[j] / share).float().numpy() for v in acc["low"]],
        })  # fmt: skip
    return out
