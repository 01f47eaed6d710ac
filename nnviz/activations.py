"""The activation zoo: values, derivatives, metadata and reference torch modules.

Every entry provides ``forward(z, params)`` (plain, autograd-friendly) and
``forward_backward(z, params)`` returning ``(f(z), f'(z))`` with shared work;
the latter is the hot path of the batched trainer. All kernels are float32-safe
and overflow-free for ``|z|`` up to 1e4. At kinks the derivative follows
PyTorch autograd: relu'(0) = 0, leaky/prelu'(0) = a, elu'(0) = alpha,
selu'(0) = scale * alpha (the negative branch owns ``z == 0``).

Speed note: on the CPU torch build used here comparisons/``torch.where`` on
bool masks cost ~10x a float op, so kinks use ``relu``/``sign`` arithmetic.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.nn import functional as F

__all__ = ["ACTIVATIONS", "Activation", "Param", "get_activation"]

ParamValues = Mapping[str, "float | Tensor"]

_SELU_ALPHA = 1.6732632423543772848170429916717  # same constants as torch.nn.SELU
_SELU_SCALE = 1.0507009873554804934193349852946
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


@dataclass(frozen=True)
class Param:
    """A scalar hyper-parameter of an activation (inclusive bounds ``low..high``)."""

    name: str
    label: str
    default: float
    low: float
    high: float


@dataclass(frozen=True)
class Activation:
    """One activation function with its metadata (see the module docstring)."""

    key: str
    name: str
    formula: str
    output_range: str
    zero_centred: bool
    monotonic: bool
    smooth: bool
    saturating: bool
    can_die: bool
    learnable: bool
    guidance: str
    params: tuple[Param, ...]
    forward: Callable[[Tensor, ParamValues], Tensor]
    forward_backward: Callable[[Tensor, ParamValues], tuple[Tensor, Tensor]]

    def derivative(self, z: Tensor, params: ParamValues | None = None) -> Tensor:
        """Return f'(z); equal to ``forward_backward(z, params)[1]``."""
        return self.forward_backward(z, params or {})[1]

    def resolve(self, overrides: Mapping[str, float] | None = None) -> dict[str, float]:
        """Merge ``overrides`` into the defaults, validating names and bounds.

        Raises
        ------
        ValueError
            On an unknown parameter name or a value outside ``[low, high]``.
        """
        specs = {p.name: p for p in self.params}
        values = {p.name: float(p.default) for p in self.params}
        for name, value in (overrides or {}).items():
            if name not in specs:
                known = ", ".join(specs) or "none"
                raise ValueError(f"{self.name} has no parameter {name!r} (known: {known})")
            spec, value = specs[name], float(value)
            if not spec.low <= value <= spec.high:  # also rejects NaN
                raise ValueError(f"{self.name}: {name}={value} outside [{spec.low}, {spec.high}]")
            values[name] = value
        return values

    def module(self, params: Mapping[str, float] | None = None, num_units: int = 1) -> nn.Module:
        """Reference ``torch.nn`` module (built-in where one exists).

        ``num_units`` only matters for PReLU (one learned slope per unit, along dim 1).
        """
        values = self.resolve(params)
        factory = _MODULES.get(self.key)
        return factory(values, num_units) if factory else _Wrapped(self.forward, values)


class _Wrapped(nn.Module):
    """Fallback module applying an activation's ``forward`` with fixed params."""

    def __init__(self, fn: Callable[[Tensor, ParamValues], Tensor], params: dict[str, float]):
        super().__init__()
        self.fn, self.params = fn, dict(params)

    def forward(self, x: Tensor) -> Tensor:
        return self.fn(x, self.params)


class _ScaledSiLU(nn.Module):
    """Reference Swish ``x * sigmoid(beta * x)`` for ``beta != 1``."""

    def __init__(self, beta: float):
        super().__init__()
        self.beta = beta

    def forward(self, x: Tensor) -> Tensor:
        return x * torch.sigmoid(self.beta * x)


# --- kernels: ``name(z, ...) -> f`` and ``name_fb(z, ...) -> (f, f')`` ---------


def _linear(z):
    return z


def _linear_fb(z):
    return z, torch.ones_like(z)


def _sigmoid(z):
    return torch.sigmoid(z)


def _sigmoid_fb(z):
    s = torch.sigmoid(z)
    return s, torch.addcmul(s, s, s, value=-1.0)  # s - s^2, one fused kernel


# tanh via 2*sigmoid(2z) - 1: timeit on a [8, 16, 1000] float32 tensor (2 CPU
# threads, torch 2.13 CPU) gave torch.tanh ~170 us vs ~60 us for the sigmoid
# form; max abs difference 1.8e-7 over [-30, 30], so the faster form is kept.
def _tanh(z):
    return torch.sigmoid(2.0 * z).mul(2.0).sub_(1.0)


def _tanh_fb(z):
    t = _tanh(z)
    return t, 1.0 - t * t


def _relu(z):
    return torch.relu(z)


def _relu_fb(z):
    f = torch.relu(z)
    return f, torch.sign(f)  # sign(0) = 0 matches relu'(0) = 0


def _leaky(z, slope):
    """Leaky ReLU / PReLU; ``slope`` is a float or a tensor broadcastable to z."""
    p = torch.relu(z)
    return p + slope * (z - p)  # z - p == min(z, 0); autograd gives f'(0) = slope


def _leaky_fb(z, slope):
    p = torch.relu(z)
    d = torch.sign(p).mul_(1.0 - slope).add_(slope)  # 1 for z > 0 else slope
    return p + slope * (z - p), d


def _elu(z, alpha):
    p = torch.relu(z)
    return p + alpha * torch.expm1(z - p)  # expm1 only sees min(z, 0): no overflow


def _elu_fb(z, alpha):
    p = torch.relu(z)
    neg = alpha * torch.expm1(z - p)  # alpha * (e^z - 1) for z <= 0, else 0
    d = (neg + alpha).add_(torch.sign(p), alpha=1.0 - alpha)  # alpha*e^z or 1
    return p + neg, d


def _selu(z):
    return _SELU_SCALE * _elu(z, _SELU_ALPHA)


def _selu_fb(z):
    f, d = _elu_fb(z, _SELU_ALPHA)
    return f.mul_(_SELU_SCALE), d.mul_(_SELU_SCALE)


def _gelu(z):
    return z * torch.special.ndtr(z)  # ndtr = Phi, accurate for z << 0 (no 1 + erf cancellation)


def _gelu_fb(z):
    cdf = torch.special.ndtr(z)
    pdf = torch.exp(-0.5 * z * z).mul_(_INV_SQRT_2PI)
    return z * cdf, torch.addcmul(cdf, z, pdf)  # Phi + z * phi


def _silu(z, beta):
    return z * torch.sigmoid(beta * z)


def _silu_fb(z, beta):
    s = torch.sigmoid(z if beta == 1.0 else beta * z)
    f = z * s
    return f, torch.addcmul(s, f, 1.0 - s, value=beta)  # s + beta * f * (1 - s)


def _mish_parts(z):
    """Return ``(e, n, q)`` with tanh(softplus z) = n / q, e = e^z, n = e(e + 2), q = n + 2.

    Exact rewrite of tanh(ln(1 + e^z)); cheaper than softplus + tanh and without cancellation
    for z << 0. z is capped at 20, where n / q already rounds to 1.
    """
    e = torch.exp(z.clamp(max=20.0))
    n = e * (e + 2.0)
    return e, n, n + 2.0


def _mish(z):
    _, n, q = _mish_parts(z)
    return z * (n / q)


def _mish_fb(z):
    e, n, q = _mish_parts(z)
    t = n / q
    # f' = t + z * sigmoid(z) * sech^2(softplus z) = t + 4 z e (1 + e) / q^2
    return z * t, t + 4.0 * z * e * (e + 1.0) / (q * q)


def _softplus(z):
    return F.softplus(z)


def _softplus_fb(z):
    return F.softplus(z), torch.sigmoid(z)


def _softsign(z):
    return z / (1.0 + z.abs())


def _softsign_fb(z):
    r = torch.reciprocal(z.abs().add_(1.0))
    return z * r, r * r


# --- registry -------------------------------------------------------------


def _bind(fn: Callable, params: tuple[Param, ...]) -> Callable:
    """Adapt ``fn(z, **scalars)`` to ``fn(z, mapping)``; missing names use defaults."""
    if not params:
        return functools.wraps(fn)(lambda z, values=None: fn(z))
    defaults = tuple((p.name, p.default) for p in params)

    @functools.wraps(fn)
    def bound(z: Tensor, values: ParamValues | None = None):
        values = values or {}
        return fn(z, **{name: values.get(name, default) for name, default in defaults})

    return bound


_FLAGS = ("zero_centred", "monotonic", "smooth", "saturating", "can_die", "learnable")


def _entry(key, name, formula, output_range, flags, guidance, kernels, params=()):
    """Build an Activation; ``flags`` names the boolean properties that are true."""
    assert set(flags) <= set(_FLAGS), set(flags) - set(_FLAGS)
    f, fb = kernels
    bools = (flag in flags for flag in _FLAGS)
    return Activation(key, name, formula, output_range, *bools, guidance, params,
                      _bind(f, params), _bind(fb, params))  # fmt: skip


_CASES = r"\begin{cases}x & x>0\\ \alpha(e^{x}-1) & x\le 0\end{cases}"

# fmt: off
_ENTRIES = [
    _entry("linear", "Linear (identity)", r"f(x)=x", "(-∞, ∞)",
           {"zero_centred", "monotonic", "smooth"},
           "Output layer for regression (or logits fed to a softmax/sigmoid loss); in hidden layers it collapses the network into one linear map, so depth buys nothing.",
           (_linear, _linear_fb)),
    _entry("sigmoid", "Sigmoid", r"f(x)=\sigma(x)=\frac{1}{1+e^{-x}}", "(0, 1)",
           {"monotonic", "smooth", "saturating"},
           "Use at a binary-output layer to produce a probability; in hidden layers it is not zero-centred and f' <= 0.25 shrinks gradients layer after layer, so prefer tanh or the ReLU family there.",
           (_sigmoid, _sigmoid_fb)),
    _entry("tanh", "Tanh", r"f(x)=\tanh(x)=\frac{e^{x}-e^{-x}}{e^{x}+e^{-x}}", "(-1, 1)",
           {"zero_centred", "monotonic", "smooth", "saturating"},
           "Zero-centred squashing unit for small hidden layers and recurrent states; use Glorot init and keep |z| small, because f' = 1 - tanh(z)^2 vanishes beyond |z| of about 3.",
           (_tanh, _tanh_fb)),
    _entry("relu", "ReLU", r"f(x)=\max(0, x)", "[0, ∞)",
           {"monotonic", "can_die"},
           "Default for hidden layers (with He init): cheap and non-saturating for z > 0, but a unit whose pre-activation stays negative gets zero gradient and dies, so watch large learning rates and negative biases.",
           (_relu, _relu_fb)),
    _entry("leaky_relu", "Leaky ReLU", r"f(x)=\max(ax, x)", "(-∞, ∞)",
           {"monotonic"},
           "Drop-in ReLU replacement for hidden layers: the fixed small slope a keeps a gradient for z < 0 so units cannot die; a = 0.01 is typical, and a = 0 is plain ReLU.",
           (_leaky, _leaky_fb), (Param("slope", "Leaky slope a", 0.01, 0.0, 0.5),)),
    _entry("prelu", "PReLU", r"f(x)=\max(0,x)+a\min(0,x)", "(-∞, ∞)",
           {"monotonic", "learnable"},
           "Hidden-layer ReLU whose negative slope a is learned per unit, starting from the initial slope; it adds parameters that can overfit small data, and a learned a may leave [0, 1] (non-monotonic if a < 0).",
           (_leaky, _leaky_fb), (Param("slope", "Initial slope a", 0.25, 0.0, 1.0),)),
    _entry("elu", "ELU", r"f(x)=" + _CASES, "(-α, ∞)",
           {"monotonic"},
           "Hidden layers: the exponential negative branch saturates at -alpha, pulling mean activations toward zero without dead units; costs an exp and is only C1 (smooth) when alpha = 1.",
           (_elu, _elu_fb), (Param("alpha", "α (negative saturation)", 1.0, 0.01, 5.0),)),
    _entry("selu", "SELU", r"f(x)=\lambda" + _CASES + r",\ \lambda\approx1.0507,\ \alpha\approx1.6733", "(-λα, ∞) ≈ (-1.758, ∞)",
           {"zero_centred", "monotonic"},
           "Self-normalising hidden layers in plain MLPs: only keeps activations near mean 0 and variance 1 with LeCun-normal init, standardised inputs and AlphaDropout instead of dropout.",
           (_selu, _selu_fb)),
    _entry("gelu", "GELU", r"f(x)=x\,\Phi(x)=\frac{x}{2}\left(1+\operatorname{erf}\left(\frac{x}{\sqrt{2}}\right)\right)", "[≈-0.170, ∞)",
           {"smooth"},
           "Transformer and MLP hidden layers: a smooth ReLU that weights z by the Gaussian CDF; non-monotonic, with a dip to about -0.17 near z = -0.75, and dearer than ReLU.",
           (_gelu, _gelu_fb)),
    _entry("silu", "Swish (SiLU)", r"f(x)=x\,\sigma(\beta x)", "[≈-0.278/β, ∞)",
           {"smooth"},
           "Hidden layers of deep CNNs and MLPs: smooth and non-monotonic (minimum about -0.278/beta); large beta approaches ReLU, small beta approaches the linear x/2.",
           (_silu, _silu_fb), (Param("beta", "β (sharpness)", 1.0, 0.1, 10.0),)),
    _entry("mish", "Mish", r"f(x)=x\tanh\left(\ln(1+e^{x})\right)", "[≈-0.309, ∞)",
           {"smooth"},
           "Hidden layers, popular in vision backbones: smooth and non-monotonic like Swish (minimum about -0.309 near z = -1.19), at the price of a softplus and a tanh per unit.",
           (_mish, _mish_fb)),
    _entry("softplus", "Softplus", r"f(x)=\ln(1+e^{x})", "(0, ∞)",
           {"monotonic", "smooth"},
           "Best where an output must be strictly positive (a variance or rate head); as a hidden unit it is a smooth ReLU that is not zero-centred and whose gradient sigmoid(z) fades for z << 0.",
           (_softplus, _softplus_fb)),
    _entry("softsign", "Softsign", r"f(x)=\frac{x}{1+|x|}", "(-1, 1)",
           {"zero_centred", "monotonic", "smooth", "saturating"},
           "Zero-centred tanh-like unit whose tails approach +/-1 polynomially (f' = 1/(1+|z|)^2), so it saturates more gently than tanh but still saturates for large |z|.",
           (_softsign, _softsign_fb)),
]
# fmt: on

ACTIVATIONS: dict[str, Activation] = {a.key: a for a in _ENTRIES}

_MODULES: dict[str, Callable[[dict[str, float], int], nn.Module]] = {
    "linear": lambda p, n: nn.Identity(),
    "sigmoid": lambda p, n: nn.Sigmoid(),
    "tanh": lambda p, n: nn.Tanh(),
    "relu": lambda p, n: nn.ReLU(),
    "leaky_relu": lambda p, n: nn.LeakyReLU(p["slope"]),
    "prelu": lambda p, n: nn.PReLU(num_parameters=n, init=p["slope"]),
    "elu": lambda p, n: nn.ELU(p["alpha"]),
    "selu": lambda p, n: nn.SELU(),
    "gelu": lambda p, n: nn.GELU(),
    "silu": lambda p, n: nn.SiLU() if p["beta"] == 1.0 else _ScaledSiLU(p["beta"]),
    "mish": lambda p, n: nn.Mish(),
    "softplus": lambda p, n: nn.Softplus(),
    "softsign": lambda p, n: nn.Softsign(),
}


def get_activation(key: str) -> Activation:
    """Return the registry entry for ``key``.

    Raises
    ------
    ValueError
        If ``key`` is unknown; the message lists the valid keys.
    """
    try:
        return ACTIVATIONS[key]
    except (KeyError, TypeError):
        raise ValueError(f"Unknown activation {key!r}; valid keys: {', '.join(ACTIVATIONS)}") from None
