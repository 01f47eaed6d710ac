"""Kernels of the activation zoo: ``name(z, out=None, **p) -> f(z)`` and
``name_bw(grad, z, f, out=None, **p) -> grad * f'(z)`` given ``f = name(z)``.

With ``out=None`` a forward kernel is autograd-friendly (the reference for the tests); with
``out`` given, both write into it (no autograd; ``out`` may alias ``grad``), which is how the
batched trainer calls them. Wherever torch has one, a kernel is a single fused op: the backward
ones are ``torch.ops.aten.*_backward``, the kernels autograd itself uses, so values and kinks
follow PyTorch.

Speed (torch 2.13 CPU, one thread, a [16, 1000] float32 slice): an elementwise op costs ~1-2 us
of dispatch plus its arithmetic (mul ~3 us, sigmoid ~7 us, exp ~14 us, elu ~24 us, softplus
~27 us); a Python-float operand adds ~1.5 us; comparisons/``torch.where`` on bool masks cost ~10x a
float op; a fused backward kernel (sigmoid, tanh, threshold, leaky: ~4 us, elu 5 us, silu and
softplus ~11 us) is cheaper than computing f' in the forward pass and multiplying.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import torch
from torch import Tensor
from torch.nn import functional as F

__all__ = ["KERNELS", "PREFERS_TRANSPOSED"]

_SELU_ALPHA = 1.6732632423543772848170429916717  # same constants as torch.nn.SELU
_SELU_SCALE = 1.0507009873554804934193349852946


_A = torch.ops.aten


def _into(value: Tensor, out: Tensor | None) -> Tensor:
    """For composite kernels: the value, or a copy of it in ``out``."""
    return value if out is None else out.copy_(value)


def _direct(bind_out: Callable[..., Callable | None]):
    """Attach ``bind_out(*tensors, out=..., **params)`` to a kernel: its ``out`` path as one bound
    torch call (None where the kernel is composite for these parameters). The trainer calls the
    kernels through these bindings: a kernel's own Python frames cost ~1 us per call."""

    def attach(kernel):
        kernel.bind_out = bind_out
        return kernel

    return attach


def _fused_backward(op, args: Callable[..., tuple]):
    """A backward kernel that is the single ATen op ``op(*args(grad, z, f, **params))``."""

    def kernel(grad, z, f, out=None, **params):
        a = args(grad, z, f, **params)
        return op.default(*a) if out is None else op.grad_input(*a, grad_input=out)

    kernel.bind_out = lambda grad, z, f, out, **params: functools.partial(
        op.grad_input, *args(grad, z, f, **params), grad_input=out
    )
    return kernel


def _linear(z, out=None):
    return _into(z, out)


def _linear_bw(grad, z, f, out=None):
    return _into(grad, out)


@_direct(lambda z, out: functools.partial(torch.sigmoid, z, out=out))
def _sigmoid(z, out=None):
    return torch.sigmoid(z, out=out)


_sigmoid_bw = _fused_backward(_A.sigmoid_backward, lambda g, z, f: (g, f))

# Constant operands as 0-dim tensors: a Python float operand costs an extra dtype conversion
# (~1.5 us per op; mul_ on a [16, 1000] slice: 3.4 us with these against 6.9 us with floats).
_ONE, _TWO = torch.tensor(1.0), torch.tensor(2.0)


# tanh via 2*sigmoid(2z) - 1: on a [16, 1000] float32 slice (1 thread, torch 2.13 CPU) torch.tanh
# takes ~42 us, these four ops ~13 us; max abs difference 1.8e-7 over [-30, 30]. With out=None
# the in-place ops act on fresh results autograd does not need, so it stays differentiable.
def _tanh(z, out=None):
    s = torch.sigmoid(torch.add(z, z, out=out), out=out)
    return torch.mul(s, _TWO, out=out).sub_(_ONE)


_tanh_bw = _fused_backward(_A.tanh_backward, lambda g, z, f: (g, f))


# threshold is relu whose autograd also gives relu'(0) = 0; f > 0 exactly where z > 0
@_direct(lambda z, out: functools.partial(torch.threshold, z, 0.0, 0.0, out=out))
def _relu(z, out=None):
    return torch.threshold(z, 0.0, 0.0, out=out)


_relu_bw = _fused_backward(_A.threshold_backward, lambda g, z, f: (g, f, 0.0))


def _leaky_out(z, out, slope):
    return None if isinstance(slope, Tensor) else functools.partial(_A.leaky_relu.out, z, slope, out=out)


@_direct(_leaky_out)
def _leaky(z, slope, out=None):
    """Leaky ReLU / PReLU; ``slope`` is a float or (PReLU in the trainer) a tensor broadcastable to z."""
    if not isinstance(slope, Tensor):
        return F.leaky_relu(z, slope) if out is None else _A.leaky_relu.out(z, slope, out=out)
    p = torch.relu(z)
    return _into(p + slope * (z - p), out)  # z - p == min(z, 0); autograd gives f'(0) = slope


def _leaky_bw_out(grad, z, f, out, slope):
    if isinstance(slope, Tensor):
        return None
    return functools.partial(_A.leaky_relu_backward.grad_input, grad, z, slope, False, grad_input=out)


@_direct(_leaky_bw_out)
def _leaky_bw(grad, z, f, slope, out=None):
    if not isinstance(slope, Tensor):
        op = _A.leaky_relu_backward
        return (
            op(grad, z, slope, False) if out is None else op.grad_input(grad, z, slope, False, grad_input=out)
        )
    d = torch.sign(torch.relu(z)).mul_(1.0 - slope).add_(slope)  # 1 for z > 0 else slope
    return torch.mul(grad, d, out=out)


@_direct(lambda z, out, alpha: functools.partial(_A.elu.out, z, alpha, out=out))
def _elu(z, alpha, out=None):
    return F.elu(z, alpha) if out is None else _A.elu.out(z, alpha, out=out)


# is_result: where f <= 0 (z <= 0) elu_backward uses f + alpha * scale = scale * alpha * e^z
_elu_bw = _fused_backward(_A.elu_backward, lambda g, z, f, alpha: (g, alpha, 1.0, 1.0, True, f))


@_direct(lambda z, out: functools.partial(_A.elu.out, z, _SELU_ALPHA, _SELU_SCALE, out=out))
def _selu(z, out=None):
    return F.selu(z) if out is None else _A.elu.out(z, _SELU_ALPHA, _SELU_SCALE, out=out)


_selu_bw = _fused_backward(_A.elu_backward, lambda g, z, f: (g, _SELU_ALPHA, _SELU_SCALE, 1.0, True, f))


# ATen hands contiguous float gelu/gelu_backward to oneDNN, which costs ~6 us / ~14 us of fixed
# overhead per call; on transposed views (same memory, not "contiguous") ATen's own vectorised
# kernel runs instead: 2.9 vs 7.2 us (forward) and 5.2 vs 15.5 us (backward) on a [16, 32] slice.
# All kernels are elementwise, so a caller may pass transposed views of every tensor; for these
# activations the trainer does on small slices (it binds its buffers' views once).
PREFERS_TRANSPOSED = frozenset({"gelu"})


def _gelu_oneDNN_bug(z, out) -> bool:
    """torch 2.13: oneDNN's gelu (contiguous input) ignores the strides of a non-contiguous out."""
    return z.is_contiguous() and not out.is_contiguous()


@_direct(lambda z, out: None if _gelu_oneDNN_bug(z, out) else functools.partial(_A.gelu.out, z, out=out))
def _gelu(z, out=None):
    if out is None:
        return F.gelu(z)
    if _gelu_oneDNN_bug(z, out):
        return out.copy_(F.gelu(z))
    return _A.gelu.out(z, out=out)


_gelu_bw = _fused_backward(_A.gelu_backward, lambda g, z, f: (g, z))


@_direct(lambda z, out, beta: functools.partial(_A.silu.out, z, out=out) if beta == 1.0 else None)
def _silu(z, beta, out=None):
    if beta == 1.0:
        return F.silu(z) if out is None else _A.silu.out(z, out=out)
    return _into(z * torch.sigmoid(beta * z), out)


def _silu_bw_out(grad, z, f, out, beta):
    return functools.partial(_A.silu_backward.grad_input, grad, z, grad_input=out) if beta == 1.0 else None


@_direct(_silu_bw_out)
def _silu_bw(grad, z, f, beta, out=None):
    # f(z) = silu(beta z) / beta, so f'(z) = silu'(beta z)
    u = z if beta == 1.0 else beta * z
    return _A.silu_backward(grad, u) if out is None else _A.silu_backward.grad_input(grad, u, grad_input=out)


def _mish_parts(z):
    """Return ``(e, n, q)`` with tanh(softplus z) = n / q, e = e^z, n = e(e + 2), q = n + 2.

    Exact rewrite of tanh(ln(1 + e^z)) without cancellation for z << 0; z is capped at 20, where
    n / q already rounds to 1. ~5x faster than torch's mish (65 us) and mish_backward (73 us).
    """
    e = torch.exp(z.clamp(max=20.0))
    n = e * (e + 2.0)
    return e, n, n + 2.0


def _mish(z, out=None):
    _, n, q = _mish_parts(z)
    return torch.mul(z, n / q, out=out)


def _mish_bw(grad, z, f, out=None):
    e, n, q = _mish_parts(z)
    # f' = t + z * sigmoid(z) * sech^2(softplus z) = t + 4 z e (1 + e) / q^2, t = n / q
    d = n / q + 4.0 * z * e * (e + 1.0) / (q * q)
    return torch.mul(grad, d, out=out)


@_direct(lambda z, out: functools.partial(_A.softplus.out, z, 1.0, 20.0, out=out))
def _softplus(z, out=None):
    return F.softplus(z) if out is None else _A.softplus.out(z, 1.0, 20.0, out=out)


_softplus_bw = _fused_backward(_A.softplus_backward, lambda g, z, f: (g, z, 1.0, 20.0))  # sigmoid(z)


def _softsign(z, out=None):
    return torch.div(z, z.abs() + 1.0, out=out)


def _softsign_bw(grad, z, f, out=None):
    r = z.abs().add_(1.0)
    return torch.div(grad, r.mul_(r), out=out)  # 1 / (1 + |z|)^2


KERNELS = {
    "linear": (_linear, _linear_bw),
    "sigmoid": (_sigmoid, _sigmoid_bw),
    "tanh": (_tanh, _tanh_bw),
    "relu": (_relu, _relu_bw),
    "leaky_relu": (_leaky, _leaky_bw),
    "prelu": (_leaky, _leaky_bw),
    "elu": (_elu, _elu_bw),
    "selu": (_selu, _selu_bw),
    "gelu": (_gelu, _gelu_bw),
    "silu": (_silu, _silu_bw),
    "mish": (_mish, _mish_bw),
    "softplus": (_softplus, _softplus_bw),
    "softsign": (_softsign, _softsign_bw),
}
