"""Batched forward and hand-written backward of K small MLPs at once (the arithmetic of the trainer).

Layout (see DESIGN.md section 4): activations are ``[K, features, N]``, weights ``[K, out, in]``,
and all parameters of all runs live in one flat buffer ``[K, P]`` (each run's parameters contiguous),
so the optimiser, the divergence freeze and the penalties are single elementwise ops. Runs are
grouped by activation (contiguous slices of K); each group applies its own activation.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from nnviz.activations import Activation
from nnviz.model import BN_EPS, BN_MOMENTUM


@dataclass(frozen=True)
class Group:
    """A contiguous slice of runs that share one activation (and its parameter values)."""

    act: Activation
    params: dict
    runs: slice


@dataclass(frozen=True)
class Slot:
    """Where one parameter tensor lives in a run's flat parameter vector."""

    start: int
    shape: tuple[int, ...]

    @property
    def stop(self) -> int:
        n = 1
        for s in self.shape:
            n *= s
        return self.start + n


class Layout:
    """Offsets of every parameter: per layer W [out, in], b [out, 1]; per hidden layer optionally
    PReLU slope [out, 1], BatchNorm gamma [out, 1] and beta [out, 1]. Order = gradient order.

    With batch norm the hidden layers have no bias: BN subtracts it again, its exact gradient is
    zero, and Adam would turn the float noise in that zero into random steps."""

    def __init__(self, dims: list[int], *, prelu: bool, batch_norm: bool):
        self.dims = dims
        self.n_hidden = len(dims) - 2
        self.slots: list[dict[str, Slot]] = []
        offset = 0
        for i, (n_in, n_out) in enumerate(zip(dims[:-1], dims[1:])):
            hidden = i < self.n_hidden
            names = ["W"] if hidden and batch_norm else ["W", "b"]
            if hidden:
                names += (["slope"] if prelu else []) + (["gamma", "beta"] if batch_norm else [])
            layer = {}
            for name in names:
                shape = (n_out, n_in) if name == "W" else (n_out, 1)
                layer[name] = Slot(offset, shape)
                offset = layer[name].stop
            self.slots.append(layer)
        self.size = offset

    def views(self, flat: torch.Tensor) -> list[dict[str, torch.Tensor]]:
        """Views ``[K, *shape]`` into a flat ``[K, P]`` buffer (writes go through)."""
        k = flat.shape[0]
        return [
            {name: flat[:, s.start : s.stop].view(k, *s.shape) for name, s in layer.items()}
            for layer in self.slots
        ]

    def weight_mask(self) -> torch.Tensor:
        """``[1, P]``: 1 on weight matrices (the entries L1/L2 penalise), 0 elsewhere."""
        mask = torch.zeros(1, self.size)
        for layer in self.slots:
            mask[:, layer["W"].start : layer["W"].stop] = 1.0
        return mask


@dataclass
class LayerCache:
    a_in: torch.Tensor  # [2, N] (shared input) or [K, in, N]
    z: torch.Tensor  # pre-activation after batch norm, [K, out, N]
    deriv: torch.Tensor | None  # f'(z)
    a_out: torch.Tensor
    bn: tuple[torch.Tensor, torch.Tensor] | None = None  # (xhat, invstd) in training mode


def linear(w: torch.Tensor, b: torch.Tensor | None, a: torch.Tensor) -> torch.Tensor:
    """``W a + b`` for all runs; ``a`` is ``[in, N]`` (shared input) or ``[K, in, N]``."""
    if a.dim() == 2:
        a = a.expand(w.shape[0], -1, -1)
    return torch.bmm(w, a) if b is None else torch.baddbmm(b, w, a)


def activate(groups: list[Group], z: torch.Tensor, slope, need_deriv: bool):
    """Apply each group's activation to its slice of runs; returns (f(z), f'(z) or None)."""
    outs, derivs = [], []
    for g in groups:
        params = dict(g.params)
        if g.act.learnable:
            params["slope"] = slope[g.runs]
        zs = z[g.runs]
        if need_deriv:
            a, d = g.act.forward_backward(zs, params)
            derivs.append(d)
        else:
            a = g.act.forward(zs, params)
        outs.append(a)
    if len(groups) == 1:
        return outs[0], (derivs[0] if need_deriv else None)
    return torch.cat(outs), (torch.cat(derivs) if need_deriv else None)


def forward(views, groups, x, *, train: bool, need_deriv: bool, running=None):
    """Forward pass of all runs. Returns (logits [K, out, N], caches of the hidden layers).

    ``running`` holds the BatchNorm running (mean, var) per hidden layer; in training mode they are
    updated in place, as ``nn.BatchNorm1d`` does.
    """
    caches = []
    a = x
    for i, layer in enumerate(views[:-1]):
        z = linear(layer["W"], layer.get("b"), a)
        bn = None
        if "gamma" in layer:
            z, bn = _batch_norm(z, layer, running[i], train)
        out, deriv = activate(groups, z, layer.get("slope"), need_deriv)
        caches.append(LayerCache(a, z, deriv, out, bn))
        a = out
    return linear(views[-1]["W"], views[-1]["b"], a), caches


def _batch_norm(z, layer, running, train: bool):
    mean_run, var_run = running
    if not train:
        return layer["gamma"] * (z - mean_run) * torch.rsqrt(var_run + BN_EPS) + layer["beta"], None
    n = z.shape[-1]
    var, mean = torch.var_mean(z, dim=-1, keepdim=True, correction=0)
    invstd = torch.rsqrt(var + BN_EPS)
    xhat = (z - mean) * invstd
    mean_run.lerp_(mean, BN_MOMENTUM)
    var_run.lerp_(var * (n / max(n - 1, 1)), BN_MOMENTUM)
    return layer["gamma"] * xhat + layer["beta"], (xhat, invstd)


def loss_and_grad(logits, y, onehot, loss: str, need_grad: bool):
    """Per-run mean loss ``[K]``, correct count ``[K]`` and d(loss)/d(logits) (or None).

    Two classes: one logit, sigmoid + BCE (or MSE on the probability). C classes: softmax +
    cross-entropy (or MSE between the probabilities and the one-hot target).
    """
    n = logits.shape[-1]
    if logits.shape[1] == 1:
        z = logits[:, 0]
        yf = onehot  # float targets [N] or [K, N]
        correct = ((z > 0) == (yf > 0.5)).sum(-1)
        p = torch.sigmoid(z)
        if loss == "ce":
            per_run = F.binary_cross_entropy_with_logits(z, yf.expand_as(z), reduction="none").mean(-1)
            grad = (p - yf) / n if need_grad else None
        else:
            diff = p - yf
            per_run = (diff * diff).mean(-1)
            grad = 2.0 * diff * p * (1.0 - p) / n if need_grad else None
        return per_run, correct, (grad.unsqueeze(1) if need_grad else None)
    correct = (logits.argmax(1) == y).sum(-1)
    logp = torch.log_softmax(logits, dim=1)
    p = logp.exp()
    if loss == "ce":
        per_run = -(logp * onehot).sum(1).mean(-1)
        grad = (p - onehot) / n if need_grad else None
    else:
        diff = p - onehot
        per_run = (diff * diff).mean((1, 2))
        if need_grad:
            g = 2.0 * diff / (n * logits.shape[1])
            grad = p * (g - (g * p).sum(1, keepdim=True))
        else:
            grad = None
    return per_run, correct, grad


def backward(views, caches, dlogits, prelu_mask) -> list[torch.Tensor]:
    """Hand-written backward pass; returns gradients ``[K, *shape]`` in layout order."""
    k = dlogits.shape[0]
    out_layer = views[-1]
    last = caches[-1].a_out if caches else None
    grads = [_outer(dlogits, last), dlogits.sum(-1, keepdim=True)]
    da = torch.bmm(out_layer["W"].transpose(1, 2), dlogits)
    for i in range(len(caches) - 1, -1, -1):
        c, layer = caches[i], views[i]
        dz = da * c.deriv
        extra = []
        if "slope" in layer:
            extra.append((da * c.z.clamp(max=0.0)).sum(-1, keepdim=True) * prelu_mask)
        if c.bn is not None:
            xhat, invstd = c.bn
            extra += [(dz * xhat).sum(-1, keepdim=True), dz.sum(-1, keepdim=True)]
            dxhat = dz * layer["gamma"]
            n = dz.shape[-1]
            dz = (invstd / n) * (
                n * dxhat - dxhat.sum(-1, keepdim=True) - xhat * (dxhat * xhat).sum(-1, keepdim=True)
            )
        bias = [] if c.bn is not None else [dz.sum(-1, keepdim=True)]
        grads = [_outer(dz, c.a_in)] + bias + extra + grads
        if i > 0:
            da = torch.bmm(layer["W"].transpose(1, 2), dz)
    return [g.reshape(k, -1) for g in grads]


def _outer(dz: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """dW = dz @ a^T for every run; ``a`` may be the shared input ``[in, N]``."""
    if a.dim() == 2:
        return torch.matmul(dz, a.T)
    return torch.bmm(dz, a.transpose(1, 2))
