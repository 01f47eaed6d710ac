"""Batched forward and hand-written backward of K small MLPs at once (the arithmetic of the trainer).

Layout (see DESIGN.md section 4): activations are ``[K, features, N]``, weights ``[K, out, in]``,
and all parameters of all runs live in one flat buffer ``[K, P]`` (see :mod:`nnviz.engine.params`). Runs
are grouped by activation (contiguous slices of K); each group applies its own activation, writing
into its slice of a shared buffer (no ``torch.cat``), and in the backward pass each group's fused
kernel turns its slice of dL/da into dL/dz in place.

Every tensor the passes touch lives in a :class:`Workspace`, built once per input size with all
the views and kernel calls bound; the passes themselves are short loops of torch calls. On W
(1 thread) an epoch is ~1/3 Python and dispatch overhead, which is what this buys down.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from nnviz.activations import Activation
from nnviz.engine.kernels import PREFERS_TRANSPOSED
from nnviz.engine.model import BN_EPS, BN_MOMENTUM
from nnviz.engine.params import Layout, Slot

__all__ = ["Group", "LayerCache", "Layout", "Slot", "Workspace", "backward", "forward"]

# Below this many elements per group slice, gelu runs on transposed views (ATen's kernel) rather
# than through oneDNN, whose fixed cost dominates small slices: a [16, 32] slice took 2.9 us
# against 7.2 us (backward 5.2 against 15.5). At [16, 1000] they are even, and oneDNN's time does
# not grow with |z| as ATen's does (16 -> 30 us once |z| reaches ~10, which layer 2 does on W).
_SMALL_SLICE = 8192


@dataclass(frozen=True)
class Group:
    """A contiguous slice of runs that share one activation (and its parameter values)."""

    act: Activation
    params: dict
    runs: slice


@dataclass
class LayerCache:
    a_in: torch.Tensor  # the layer's input: [in, N] (shared input) or [K, in, N]
    z: torch.Tensor  # pre-activation after batch norm, [K, out, N]
    deriv: torch.Tensor | None  # f'(z)
    a_out: torch.Tensor  # [K, out, N]
    bn: tuple[torch.Tensor, torch.Tensor] | None = None  # (xhat, invstd) in training mode


@dataclass(frozen=True)
class Part:
    """One group's share of one hidden layer: its kernels bound to its slices of the buffers
    (zero-argument calls: ~0.5 us less Python per call than passing views and parameters)."""

    run_forward: Callable[[], torch.Tensor]  # a = f(z), all n points
    run_backward: Callable[[], torch.Tensor]  # da <- da * f'(z) in place, first n_grad points
    backward: Callable[..., torch.Tensor]  # the bound backward kernel (for f'(z) on demand)
    runs: slice
    z: torch.Tensor  # [runs, width, n]
    a: torch.Tensor


class Workspace:
    """The buffers of one forward + backward pass for ``n`` points, with every view the passes use.

    Only the first ``n_grad`` points (default all) take part in the backward pass: the trainer
    appends the validation points to the training points in full-batch training. The trainer keeps
    one workspace per input size; on W fresh buffers every step cost ~200 page faults per epoch,
    and re-slicing them per group ~130 views (~1 us each).
    """

    def __init__(self, views, groups: list[Group], n: int, n_grad: int | None = None):
        k, n_grad = views[0]["W"].shape[0], n if n_grad is None else n_grad
        self.n_grad = n_grad
        self.logits = torch.empty(k, views[-1]["W"].shape[1], n)
        self.w_t = [layer["W"].transpose(1, 2) for layer in views]  # views: follow the updates
        self.z, self.a, self.a_grad, self.da, self.parts = [], [], [], [], []
        for layer in views[:-1]:
            width = layer["W"].shape[1]
            z, a, da = torch.empty(k, width, n), torch.empty(k, width, n), torch.empty(k, width, n_grad)
            self.z.append(z)
            self.a.append(a)
            self.a_grad.append(a[..., :n_grad])
            self.da.append(da)
            self.parts.append([_part(g, layer.get("slope"), z, a, da) for g in groups])


def _part(g: Group, slope, z, a, da) -> Part:
    params = dict(g.params)
    if g.act.learnable:
        params["slope"] = slope[g.runs]  # a view of the parameters: follows every update
    z, a, da = z[g.runs], a[g.runs], da[g.runs]
    views = (z, a, da, z[..., : da.shape[-1]], a[..., : da.shape[-1]])
    if g.act.key in PREFERS_TRANSPOSED and z.numel() <= _SMALL_SLICE:  # elementwise: any layout works
        views = tuple(t.mT for t in views)
    run_forward, run_backward = g.act.calls(params, *views)
    return Part(run_forward, run_backward, g.act.bind(params)[1], g.runs, z, a)


def _linear(layer: dict, a: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """``W a + b`` for all runs; ``a`` is ``[in, N]`` (shared input) or ``[K, in, N]``."""
    w = layer["W"]
    if a.dim() == 2:
        a = a.expand(w.shape[0], -1, -1)
    return torch.baddbmm(layer["b"], w, a, out=out) if "b" in layer else torch.bmm(w, a, out=out)


def forward(views, groups, x, *, train: bool, need_deriv: bool, running=None, ws: Workspace | None = None):
    """Forward pass of all runs. Returns (logits [K, out, N], caches of the hidden layers).

    ``running`` holds the BatchNorm running (mean, var) per hidden layer; in training mode they are
    updated in place, as ``nn.BatchNorm1d`` does. Results live in ``ws`` (fresh buffers if None).
    """
    ws = ws or Workspace(views, groups, x.shape[-1], n_grad=0)
    caches = []
    a = x
    for i, layer in enumerate(views[:-1]):
        z = _linear(layer, a, ws.z[i])
        bn = _batch_norm(z, layer, running[i], train) if "gamma" in layer else None
        for part in ws.parts[i]:
            part.run_forward()
        deriv = _derivative(ws.parts[i], z) if need_deriv else None
        caches.append(LayerCache(a, z, deriv, ws.a[i], bn))
        a = ws.a[i]
    return _linear(views[-1], a, ws.logits), caches


def _derivative(parts: list[Part], z: torch.Tensor) -> torch.Tensor:
    """f'(z) of every run: each group's backward kernel applied to a ones gradient."""
    deriv = torch.ones_like(z)
    for part in parts:
        d = deriv[part.runs]
        part.backward(d, part.z, part.a, out=d)
    return deriv


def _batch_norm(z, layer, running, train: bool):
    """Normalise ``z`` in place; returns (xhat, invstd) for the backward pass in training mode."""
    mean_run, var_run = running
    if not train:
        scale = layer["gamma"] * torch.rsqrt(var_run + BN_EPS)
        torch.addcmul(layer["beta"], scale, z - mean_run, out=z)
        return None
    n = z.shape[-1]
    var, mean = torch.var_mean(z, dim=-1, keepdim=True, correction=0)
    invstd = torch.rsqrt(var + BN_EPS)
    xhat = (z - mean) * invstd
    mean_run.lerp_(mean, BN_MOMENTUM)
    var_run.lerp_(var * (n / max(n - 1, 1)), BN_MOMENTUM)
    torch.addcmul(layer["beta"], layer["gamma"], xhat, out=z)
    return xhat, invstd


def backward(views, caches, dlogits, ws: Workspace, prelu_mask, grads) -> None:
    """Hand-written backward pass over the first ``ws.n_grad`` points (``dlogits`` [K, out,
    n_grad]); writes the gradients into ``grads``, views like ``views`` into a flat [K, P] buffer.
    Overwrites ``ws.da`` (each layer's dL/da becomes dL/dz in place)."""
    _weight_grads(dlogits, ws.a_grad[-1], grads[-1])
    da = _back_linear(ws.w_t[-1], dlogits, ws.da[-1])
    for i in range(len(caches) - 1, -1, -1):
        c, layer, g = caches[i], views[i], grads[i]
        if "slope" in layer:
            slope_grad = (da * c.z[..., : ws.n_grad].clamp(max=0.0)).sum(-1, keepdim=True)
            torch.mul(slope_grad, prelu_mask, out=g["slope"])
        for part in ws.parts[i]:
            part.run_backward()
        dz = da if c.bn is None else _batch_norm_backward(da, c.bn, layer["gamma"], g)
        _weight_grads(dz, ws.a_grad[i - 1] if i > 0 else c.a_in[..., : ws.n_grad], g)
        if i > 0:
            da = torch.bmm(ws.w_t[i], dz, out=ws.da[i - 1])


def _weight_grads(dz: torch.Tensor, a: torch.Tensor, g: dict) -> None:
    """Write one layer's ``W`` and ``b`` gradients (``dz a^T`` and the sum of ``dz``) into ``g``.

    ``a`` is ``[in, n]`` (shared input) or ``[K, in, n]``. Products go to fresh tensors and are
    copied: ``bmm`` into the strided gradient view took 75 us against 65 us for [8, 16, 16]."""
    if a.dim() == 2:  # one [in, n] @ [n, K*out] product: 19 us against 29 us for matmul(dz, a.T)
        k, out, n = dz.shape
        g["W"].copy_(torch.mm(a, dz.reshape(k * out, n).T).T.view(k, out, -1))
    else:
        g["W"].copy_(torch.bmm(dz, a.transpose(1, 2)))
    if "b" in g:
        torch.sum(dz, -1, keepdim=True, out=g["b"])


def _batch_norm_backward(dz, bn, gamma, g: dict) -> torch.Tensor:
    """dL/d(pre-norm z) from dL/d(post-norm z); writes the gamma and beta gradients into ``g``."""
    xhat, invstd = bn
    torch.sum(dz * xhat, -1, keepdim=True, out=g["gamma"])
    torch.sum(dz, -1, keepdim=True, out=g["beta"])
    dxhat = dz * gamma
    n = dz.shape[-1]
    return (invstd / n) * (
        n * dxhat - dxhat.sum(-1, keepdim=True) - xhat * (dxhat * xhat).sum(-1, keepdim=True)
    )


def _back_linear(w_t: torch.Tensor, dout: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """dL/da = W^T dL/dout. With one output row it is an outer product: a broadcast multiply took
    16 us against 39 us for bmm on [8, 16, 1000]."""
    if w_t.shape[2] == 1:
        return torch.mul(w_t, dout, out=out)
    return torch.bmm(w_t, dout, out=out)
