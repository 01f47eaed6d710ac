"""The activation zoo: values, derivatives, metadata and reference torch modules.

Every entry provides ``forward(z, params=None, out=None)`` (autograd-friendly when ``out`` is
None) and ``backward(grad, z, f, params=None, out=None)`` returning ``grad * f'(z)`` given
``f = forward(z)``; ``forward_backward`` and ``derivative`` derive f'(z) from ``backward`` with a
ones gradient; ``bind(params)`` gives both with the parameter values resolved once, and ``calls``
binds them to given tensors as zero-argument calls (the batched trainer's hot path). The kernels live in :mod:`nnviz.engine.kernels`; they
are float32-safe and overflow-free for ``|z|`` up to 1e4, and at kinks the derivative follows
PyTorch autograd: relu'(0) = 0, leaky/prelu'(0) = a, elu'(0) = alpha, selu'(0) = scale * alpha
(the negative branch owns ``z == 0``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from nnviz.engine.kernels import KERNELS

__all__ = ["ACTIVATIONS", "Activation", "Param", "get_activation"]

ParamValues = Mapping[str, "float | Tensor"]


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
    forward: Callable[..., Tensor]  # (z, params=None, out=None) -> f(z)
    backward: Callable[..., Tensor]  # (grad, z, f, params=None, out=None) -> grad * f'(z)
    # calls(params, z, a, da, z_grad, a_grad) -> zero-argument (a = f(z), da <- da * f'(z_grad)),
    # bound once to these tensors: the batched trainer's hot path (see _bound)
    calls: Callable[..., tuple[Callable[[], Tensor], Callable[[], Tensor]]]
    # bind(params) -> (forward(z, out=None), backward(grad, z, f, out=None)) with the parameter
    # values resolved once: what hot loops call (saves ~2 us of Python per call)
    bind: Callable[..., tuple[Callable[..., Tensor], Callable[..., Tensor]]]

    def forward_backward(self, z: Tensor, params: ParamValues | None = None) -> tuple[Tensor, Tensor]:
        """Return ``(f(z), f'(z))``; f' is ``backward`` applied to a ones gradient."""
        f = self.forward(z, params)
        return f, self.backward(torch.ones_like(z), z, f, params)

    def derivative(self, z: Tensor, params: ParamValues | None = None) -> Tensor:
        """Return f'(z); equal to ``forward_backward(z, params)[1]``."""
        return self.forward_backward(z, params)[1]

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


# --- registry -------------------------------------------------------------


def _bound(kernel: Callable, tensors: tuple, out: Tensor, scalars: dict) -> Callable[[], Tensor]:
    """``kernel(*tensors, out=out, **scalars)`` as a zero-argument call: the single torch op itself
    where the kernel provides it (``bind_out``), skipping the kernel's Python frames (~1 us a call:
    ~30 us of an epoch on W), else a partial of the kernel."""
    direct = getattr(kernel, "bind_out", None)
    call = direct(*tensors, out=out, **scalars) if direct else None
    return call or functools.partial(kernel, *tensors, out=out, **scalars)


def _bind(kernels: tuple[Callable, Callable], params: tuple[Param, ...]) -> tuple[Callable, ...]:
    """Adapt kernels taking ``**scalars`` to ``forward(z, params=None, out=None)``,
    ``backward(grad, z, f, params=None, out=None)``, ``calls`` and ``bind(params)``; missing names
    use the defaults."""
    forward_kernel, backward_kernel = kernels
    defaults = tuple((p.name, p.default) for p in params)

    def scalars(values: ParamValues | None) -> dict:
        values = values or {}
        return {name: values.get(name, default) for name, default in defaults}

    @functools.wraps(forward_kernel)
    def forward(z: Tensor, params: ParamValues | None = None, out: Tensor | None = None) -> Tensor:
        return forward_kernel(z, out=out, **scalars(params))

    @functools.wraps(backward_kernel)
    def backward(grad, z, f, params: ParamValues | None = None, out: Tensor | None = None) -> Tensor:
        return backward_kernel(grad, z, f, out=out, **scalars(params))

    def calls(params: ParamValues | None, z, a, da, z_grad, a_grad) -> tuple[Callable, Callable]:
        values = scalars(params)
        return _bound(forward_kernel, (z,), a, values), _bound(
            backward_kernel, (da, z_grad, a_grad), da, values
        )

    def bind(params: ParamValues | None = None) -> tuple[Callable, Callable]:
        values = scalars(params)
        return functools.partial(forward_kernel, **values), functools.partial(backward_kernel, **values)

    return forward, backward, calls, bind


_FLAGS = ("zero_centred", "monotonic", "smooth", "saturating", "can_die", "learnable")


def _entry(key, name, formula, output_range, flags, guidance, kernels, params=()):
    """Build an Activation; ``flags`` names the boolean properties that are true."""
    assert set(flags) <= set(_FLAGS), set(flags) - set(_FLAGS)
    bools = (flag in flags for flag in _FLAGS)
    return Activation(key, name, formula, output_range, *bools, guidance, params, *_bind(kernels, params))


_CASES = r"\begin{cases}x & x>0\\ \alpha(e^{x}-1) & x\le 0\end{cases}"

# fmt: off
_ENTRIES = [
    _entry("linear", "Linear (identity)", r"f(x)=x", "(-∞, ∞)",
           {"zero_centred", "monotonic", "smooth"},
           "Output layer for regression (or logits fed to a softmax/sigmoid loss); in hidden layers it collapses the network into one linear map, so depth buys nothing.",
           KERNELS["linear"]),
    _entry("sigmoid", "Sigmoid", r"f(x)=\sigma(x)=\frac{1}{1+e^{-x}}", "(0, 1)",
           {"monotonic", "smooth", "saturating"},
           "Use at a binary-output layer to produce a probability; in hidden layers it is not zero-centred and f' <= 0.25 shrinks gradients layer after layer, so prefer tanh or the ReLU family there.",
           KERNELS["sigmoid"]),
    _entry("tanh", "Tanh", r"f(x)=\tanh(x)=\frac{e^{x}-e^{-x}}{e^{x}+e^{-x}}", "(-1, 1)",
           {"zero_centred", "monotonic", "smooth", "saturating"},
           "Zero-centred squashing unit for small hidden layers and recurrent states; use Glorot init and keep |z| small, because f' = 1 - tanh(z)^2 vanishes beyond |z| of about 3.",
           KERNELS["tanh"]),
    _entry("relu", "ReLU", r"f(x)=\max(0, x)", "[0, ∞)",
           {"monotonic", "can_die"},
           "Default for hidden layers (with He init): cheap and non-saturating for z > 0, but a unit whose pre-activation stays negative gets zero gradient and dies, so watch large learning rates and negative biases.",
           KERNELS["relu"]),
    _entry("leaky_relu", "Leaky ReLU", r"f(x)=\max(ax, x)", "(-∞, ∞)",
           {"monotonic"},
           "Drop-in ReLU replacement for hidden layers: the fixed small slope a keeps a gradient for z < 0 so units cannot die; a = 0.01 is typical, and a = 0 is plain ReLU.",
           KERNELS["leaky_relu"], (Param("slope", "Leaky slope a", 0.01, 0.0, 0.5),)),
    _entry("prelu", "PReLU", r"f(x)=\max(0,x)+a\min(0,x)", "(-∞, ∞)",
           {"monotonic", "learnable"},
           "Hidden-layer ReLU whose negative slope a is learned per unit, starting from the initial slope; it adds parameters that can overfit small data, and a learned a may leave [0, 1] (non-monotonic if a < 0).",
           KERNELS["prelu"], (Param("slope", "Initial slope a", 0.25, 0.0, 1.0),)),
    _entry("elu", "ELU", r"f(x)=" + _CASES, "(-α, ∞)",
           {"monotonic"},
           "Hidden layers: the exponential negative branch saturates at -alpha, pulling mean activations toward zero without dead units; costs an exp and is only C1 (smooth) when alpha = 1.",
           KERNELS["elu"], (Param("alpha", "α (negative saturation)", 1.0, 0.01, 5.0),)),
    _entry("selu", "SELU", r"f(x)=\lambda" + _CASES + r",\ \lambda\approx1.0507,\ \alpha\approx1.6733", "(-λα, ∞) ≈ (-1.758, ∞)",
           {"zero_centred", "monotonic"},
           "Self-normalising hidden layers in plain MLPs: only keeps activations near mean 0 and variance 1 with LeCun-normal init, standardised inputs and AlphaDropout instead of dropout.",
           KERNELS["selu"]),
    _entry("gelu", "GELU", r"f(x)=x\,\Phi(x)=\frac{x}{2}\left(1+\operatorname{erf}\left(\frac{x}{\sqrt{2}}\right)\right)", "[≈-0.170, ∞)",
           {"smooth"},
           "Transformer and MLP hidden layers: a smooth ReLU that weights z by the Gaussian CDF; non-monotonic, with a dip to about -0.17 near z = -0.75, and dearer than ReLU.",
           KERNELS["gelu"]),
    _entry("silu", "Swish (SiLU)", r"f(x)=x\,\sigma(\beta x)", "[≈-0.278/β, ∞)",
           {"smooth"},
           "Hidden layers of deep CNNs and MLPs: smooth and non-monotonic (minimum about -0.278/beta); large beta approaches ReLU, small beta approaches the linear x/2.",
           KERNELS["silu"], (Param("beta", "β (sharpness)", 1.0, 0.1, 10.0),)),
    _entry("mish", "Mish", r"f(x)=x\tanh\left(\ln(1+e^{x})\right)", "[≈-0.309, ∞)",
           {"smooth"},
           "Hidden layers, popular in vision backbones: smooth and non-monotonic like Swish (minimum about -0.309 near z = -1.19), at the price of a softplus and a tanh per unit.",
           KERNELS["mish"]),
    _entry("softplus", "Softplus", r"f(x)=\ln(1+e^{x})", "(0, ∞)",
           {"monotonic", "smooth"},
           "Best where an output must be strictly positive (a variance or rate head); as a hidden unit it is a smooth ReLU that is not zero-centred and whose gradient sigmoid(z) fades for z << 0.",
           KERNELS["softplus"]),
    _entry("softsign", "Softsign", r"f(x)=\frac{x}{1+|x|}", "(-1, 1)",
           {"zero_centred", "monotonic", "smooth", "saturating"},
           "Zero-centred tanh-like unit whose tails approach +/-1 polynomially (f' = 1/(1+|z|)^2), so it saturates more gently than tanh but still saturates for large |z|.",
           KERNELS["softsign"]),
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
