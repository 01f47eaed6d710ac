"""Network shape, seeded initial weights and the plain per-model PyTorch reference.

The lockstep trainer and the reference model take their initial weights from
:func:`init_weights`, so for one seed every run starts from the same tensors. The reference model
(`nn.Sequential`) is the test oracle for the trainer and the baseline of the benchmark.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from nnviz.activations import get_activation

BN_EPS = 1e-5
BN_MOMENTUM = 0.1


def layer_dims(n_inputs: int, hidden_layers: int, width: int, n_classes: int) -> list[int]:
    """Sizes of every layer, input first: e.g. ``[2, 16, 16, 1]`` (one logit for two classes)."""
    n_out = 1 if n_classes == 2 else n_classes
    return [n_inputs] + [width] * hidden_layers + [n_out]


def init_weights(dims: list[int], scheme: str, seed: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Initial ``(W [out, in], b [out])`` per layer, drawn from one generator seeded with ``seed``.

    Schemes: ``default`` (PyTorch's ``nn.Linear``: U(+-1/sqrt(fan_in)) for W and b), ``xavier``
    (Glorot uniform, b = 0), ``he`` (Kaiming normal, gain sqrt(2), b = 0), ``uniform``
    (TF Playground: W ~ U(-0.5, 0.5), b = 0.1).
    """
    gen = torch.Generator().manual_seed(int(seed))
    layers = []
    for fan_in, fan_out in zip(dims[:-1], dims[1:], strict=False):
        shape = (fan_out, fan_in)
        if scheme == "default":
            bound = 1.0 / math.sqrt(fan_in)
            w = _uniform(shape, bound, gen)
            b = _uniform((fan_out,), bound, gen)
        elif scheme == "xavier":
            w = _uniform(shape, math.sqrt(6.0 / (fan_in + fan_out)), gen)
            b = torch.zeros(fan_out)
        elif scheme == "he":
            w = torch.randn(shape, generator=gen) * math.sqrt(2.0 / fan_in)
            b = torch.zeros(fan_out)
        elif scheme == "uniform":
            w = _uniform(shape, 0.5, gen)
            b = torch.full((fan_out,), 0.1)
        else:
            raise ValueError(f"unknown init scheme {scheme!r}; use default, xavier, he or uniform")
        layers.append((w, b))
    return layers


def _uniform(shape: tuple[int, ...], bound: float, gen: torch.Generator) -> torch.Tensor:
    return (torch.rand(shape, generator=gen) * 2.0 - 1.0) * bound


def epoch_order(seed: int, epoch: int, n: int) -> np.ndarray:
    """The minibatch order of one epoch: a permutation of ``n`` that depends only on (seed, epoch).

    Stateless, so a trainer can be pickled and resumed without carrying generator state.
    """
    return np.random.default_rng([int(seed), int(epoch)]).permutation(n)


def reference_model(
    dims: list[int],
    activation: str,
    params: dict[str, float],
    *,
    scheme: str,
    seed: int,
    batch_norm: bool = False,
) -> nn.Sequential:
    """An ordinary ``nn.Sequential`` MLP with the same initial weights as the lockstep runs.

    Hidden layers are ``Linear -> [BatchNorm1d] -> activation`` (no Linear bias before batch norm);
    the output layer emits logits.
    """
    act = get_activation(activation)
    layers: list[nn.Module] = []
    weights = init_weights(dims, scheme, seed)
    for i, (w, b) in enumerate(weights):
        hidden = i < len(weights) - 1
        linear = nn.Linear(w.shape[1], w.shape[0], bias=not (hidden and batch_norm))
        with torch.no_grad():
            linear.weight.copy_(w)
            if linear.bias is not None:
                linear.bias.copy_(b)
        layers.append(linear)
        if hidden:
            if batch_norm:
                layers.append(nn.BatchNorm1d(w.shape[0], eps=BN_EPS, momentum=BN_MOMENTUM))
            layers.append(act.module(params, num_units=w.shape[0]))
    return nn.Sequential(*layers)
