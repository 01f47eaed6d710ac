"""Tests for the activation zoo: derivatives vs autograd, reference modules, metadata, validation."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from nnviz.activations import ACTIVATIONS, Activation, Param, get_activation

KEYS = list(ACTIVATIONS)
ATOL, RTOL = 1e-5, 1e-4
INF = math.inf

# Default params for every key plus non-default (including boundary) values.
NON_DEFAULT = {
    "leaky_relu": [{"slope": 0.0}, {"slope": 0.2}, {"slope": 0.5}],
    "prelu": [{"slope": 0.0}, {"slope": 0.6}, {"slope": 1.0}],
    "elu": [{"alpha": 0.01}, {"alpha": 0.5}, {"alpha": 2.5}, {"alpha": 5.0}],
    "silu": [{"beta": 0.1}, {"beta": 2.0}, {"beta": 10.0}],
}
CASES = [(k, {}) for k in KEYS] + [(k, p) for k, ps in NON_DEFAULT.items() for p in ps]
CASE_IDS = [f"{k}-{p}" if p else k for k, p in CASES]


def grid() -> torch.Tensor:
    """Dense linspace over [-8, 8] with 0, +-1e-6 and +-1e-3 included exactly, plus random points."""
    special = torch.tensor([0.0, 1e-6, -1e-6, 1e-3, -1e-3, 8.0, -8.0])
    rand = torch.randn(2000, generator=torch.Generator().manual_seed(0)) * 4
    return torch.cat([torch.linspace(-8, 8, 4001), special, rand])


def autograd_derivative(fn, z: torch.Tensor) -> torch.Tensor:
    z = z.detach().clone().requires_grad_(True)
    (g,) = torch.autograd.grad(fn(z).sum(), z)
    return g


def close(a, b, atol=ATOL, rtol=RTOL):
    torch.testing.assert_close(a, b, atol=atol, rtol=rtol)


# --- registry ---------------------------------------------------------------


def test_registry_order_and_keys():
    assert KEYS == [
        "linear", "sigmoid", "tanh", "relu", "leaky_relu", "prelu", "elu",
        "selu", "gelu", "silu", "mish", "softplus", "softsign",
    ]  # fmt: skip
    for key, act in ACTIVATIONS.items():
        assert isinstance(act, Activation) and act.key == key
        assert get_activation(key) is act


def test_get_activation_unknown_lists_valid_keys():
    with pytest.raises(ValueError) as err:
        get_activation("swishy")
    assert "swishy" in str(err.value)
    assert all(key in str(err.value) for key in KEYS)


def test_param_specs():
    expected = {
        "leaky_relu": ("slope", 0.01, 0.0, 0.5),
        "prelu": ("slope", 0.25, 0.0, 1.0),
        "elu": ("alpha", 1.0, 0.01, 5.0),
        "silu": ("beta", 1.0, 0.1, 10.0),
    }
    for key, act in ACTIVATIONS.items():
        if key in expected:
            (p,) = act.params
            assert isinstance(p, Param) and (p.name, p.default, p.low, p.high) == expected[key]
            assert p.label
        else:
            assert act.params == ()


# --- derivatives --------------------------------------------------------------


@pytest.mark.parametrize(("key", "params"), CASES, ids=CASE_IDS)
def test_derivative_matches_autograd_of_forward(key, params):
    act = get_activation(key)
    z = grid()
    f, d = act.forward_backward(z, params)
    close(f, act.forward(z, params))
    close(d, autograd_derivative(lambda x: act.forward(x, params), z))
    close(act.derivative(z, params), d, atol=0, rtol=0)
    assert f.dtype == d.dtype == torch.float32 and f.shape == d.shape == z.shape


@pytest.mark.parametrize(("key", "params"), CASES, ids=CASE_IDS)
def test_derivative_matches_autograd_of_reference_module(key, params):
    """Independent oracle; in particular pins the value at the kink z = 0 to torch's convention."""
    act = get_activation(key)
    z = grid()
    close(act.derivative(z, params), autograd_derivative(act.module(params), z))


def test_kink_conventions_at_zero():
    zero = torch.zeros(1)
    assert get_activation("relu").derivative(zero).item() == 0.0
    assert get_activation("leaky_relu").derivative(zero, {"slope": 0.1}).item() == pytest.approx(0.1)
    assert get_activation("prelu").derivative(zero, {"slope": 0.3}).item() == pytest.approx(0.3)
    assert get_activation("elu").derivative(zero, {"alpha": 2.0}).item() == pytest.approx(2.0)
    assert get_activation("selu").derivative(zero).item() == pytest.approx(
        1.0507009873554805 * 1.6732632423543772
    )


@settings(max_examples=300, deadline=None)
@given(
    key=st.sampled_from(KEYS),
    values=st.lists(st.floats(-60, 60, width=32), min_size=1, max_size=16),
    u=st.floats(0, 1),
)
def test_derivative_matches_autograd_hypothesis(key, values, u):
    act = get_activation(key)
    params = {p.name: p.low + u * (p.high - p.low) for p in act.params}
    z = torch.tensor(values, dtype=torch.float32)
    f, d = act.forward_backward(z, params)
    close(f, act.forward(z, params))
    close(d, autograd_derivative(lambda x: act.forward(x, params), z))


@pytest.mark.parametrize("key", KEYS)
def test_forward_backward_value_is_differentiable(key):
    """forward_backward's f must also be usable under autograd (no harmful in-place ops)."""
    act = get_activation(key)
    z = grid().requires_grad_(True)
    f, d = act.forward_backward(z, {})
    (g,) = torch.autograd.grad(f.sum(), z)
    close(g, d.detach())


@pytest.mark.parametrize(("key", "params"), CASES, ids=CASE_IDS)
def test_backward_is_grad_times_autograd_derivative(key, params):
    """backward(grad, z, f) == grad * f'(z), with f' from autograd of forward (independent oracle)."""
    act = get_activation(key)
    z = torch.cat([grid(), EXTREMES])
    grad = torch.randn(z.shape, generator=torch.Generator().manual_seed(5))
    f = act.forward(z, params)
    expected = grad * autograd_derivative(lambda x: act.forward(x, params), z)
    close(act.backward(grad, z, f, params), expected)


@pytest.mark.parametrize(("key", "params"), CASES, ids=CASE_IDS)
def test_out_variants_and_bind_match_plain_calls(key, params):
    """The trainer's hot path: bound kernels writing into slices of shared buffers (``out`` may
    alias ``grad``, and gelu's out path takes transposed views) give the plain results."""
    act = get_activation(key)
    gen = torch.Generator().manual_seed(6)
    z = torch.randn(3, 5, 40, generator=gen) * 4
    grad = torch.randn(3, 5, 40, generator=gen)
    f_ref = act.forward(z, params)
    dz_ref = act.backward(grad, z, f_ref, params)
    forward, backward = act.bind(params)
    buf = torch.full((4, 6, 40), float("nan"))  # written through views of a larger buffer
    f = forward(z, out=buf[1:, :5])
    assert f.data_ptr() == buf[1:, :5].data_ptr()
    close(f, f_ref, atol=1e-6, rtol=1e-5)
    g = grad.clone()
    dz = backward(g, z, f, out=g)  # in place, as the trainer does
    close(dz, dz_ref, atol=1e-6, rtol=1e-5)
    close(g, dz_ref, atol=1e-6, rtol=1e-5)
    assert torch.isnan(buf[0]).all() and torch.isnan(buf[:, 5]).all()  # nothing written outside
    # zero-argument calls bound to the buffers, as the trainer binds them (backward on the
    # first 30 points only, in place); then transposed views, as it binds gelu's on small slices
    for view in (lambda t: t, lambda t: t.mT):
        buf.fill_(float("nan"))
        da, a = grad[..., :30].clone(), buf[1:, :5]
        run_forward, run_backward = act.calls(
            params, *(view(t) for t in (z, a, da, z[..., :30], a[..., :30]))
        )
        run_forward()
        close(a, f_ref, atol=1e-6, rtol=1e-5)
        run_backward()
        close(da, dz_ref[..., :30], atol=1e-6, rtol=1e-5)


def test_missing_params_fall_back_to_defaults():
    z = grid()
    for act in ACTIVATIONS.values():
        defaults = act.resolve(None)
        close(act.forward(z, {}), act.forward(z, defaults), atol=0, rtol=0)
        close(act.derivative(z), act.derivative(z, defaults), atol=0, rtol=0)


# --- batched shapes, PReLU per-unit slopes, reference modules --------------------


@pytest.mark.parametrize("key", KEYS)
def test_batched_no_grad(key):
    act = get_activation(key)
    z = torch.randn(8, 16, 100, generator=torch.Generator().manual_seed(1)) * 3
    with torch.no_grad():
        f, d = act.forward_backward(z, {})
        a = act.forward(z, {})
    assert f.shape == d.shape == a.shape == z.shape
    assert not d.requires_grad
    close(f, a)


def test_prelu_per_unit_slope_tensor():
    act = get_activation("prelu")
    gen = torch.Generator().manual_seed(2)
    z = torch.randn(3, 5, 200, generator=gen) * 4
    z[:, :, :3] = torch.tensor([0.0, 1e-6, -1e-6])
    slope = torch.rand(3, 5, 1, generator=gen)
    f, d = act.forward_backward(z, {"slope": slope})
    expected = torch.where(z > 0, z, slope * z)
    close(f, expected)
    close(d, torch.where(z > 0, torch.ones_like(z), slope.expand_as(z)))
    close(d, autograd_derivative(lambda x: act.forward(x, {"slope": slope}), z))
    # forward is differentiable with respect to the slope as well (df/da = min(z, 0))
    s = slope.clone().requires_grad_(True)
    (ga,) = torch.autograd.grad(act.forward(z, {"slope": s}).sum(), s)
    close(ga, z.clamp(max=0).sum(dim=-1, keepdim=True))


def test_prelu_module_with_many_units_matches_forward():
    act = get_activation("prelu")
    m = act.module({"slope": 0.1}, num_units=5)
    assert isinstance(m, torch.nn.PReLU) and m.weight.shape == (5,)
    assert torch.all(m.weight == 0.1)
    with torch.no_grad():
        m.weight.copy_(torch.tensor([0.0, 0.1, 0.3, 0.7, 1.0]))
    z = torch.randn(4, 5, 50, generator=torch.Generator().manual_seed(3)) * 3
    with torch.no_grad():
        close(act.forward(z, {"slope": m.weight.view(1, -1, 1)}), m(z))


@pytest.mark.parametrize(("key", "params"), CASES, ids=CASE_IDS)
def test_forward_matches_reference_module(key, params):
    act = get_activation(key)
    m = act.module(params)
    z = torch.cat([grid(), torch.tensor([-88.0, 88.0, -1e4, 1e4])])
    zb = torch.randn(2, 3, 40, generator=torch.Generator().manual_seed(4)) * 5
    with torch.no_grad():
        close(act.forward(z, params), m(z), atol=1e-6, rtol=1e-5)
        close(act.forward(zb, params), m(zb), atol=1e-6, rtol=1e-5)


def test_reference_module_types():
    nn = torch.nn
    expected = {
        "linear": nn.Identity, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU,
        "leaky_relu": nn.LeakyReLU, "prelu": nn.PReLU, "elu": nn.ELU, "selu": nn.SELU,
        "gelu": nn.GELU, "silu": nn.SiLU, "mish": nn.Mish, "softplus": nn.Softplus, "softsign": nn.Softsign,
    }  # fmt: skip
    for key, cls in expected.items():
        assert type(get_activation(key).module()) is cls, key
    assert get_activation("leaky_relu").module({"slope": 0.2}).negative_slope == 0.2
    assert get_activation("elu").module({"alpha": 2.0}).alpha == 2.0
    assert get_activation("gelu").module().approximate == "none"
    assert not isinstance(get_activation("silu").module({"beta": 2.0}), nn.SiLU)


# --- metadata is consistent with the function --------------------------------------

# (lower, lower attained/closed, upper, upper closed) at default params
BOUNDS = {
    "linear": (-INF, False, INF, False),
    "sigmoid": (0.0, False, 1.0, False),
    "tanh": (-1.0, False, 1.0, False),
    "relu": (0.0, True, INF, False),
    "leaky_relu": (-INF, False, INF, False),
    "prelu": (-INF, False, INF, False),
    "elu": (-1.0, False, INF, False),
    "selu": (-1.0507009873554805 * 1.6732632423543772, False, INF, False),
    "gelu": (-0.1699712, True, INF, False),
    "silu": (-0.2784645, True, INF, False),
    "mish": (-0.3088434, True, INF, False),
    "softplus": (0.0, False, INF, False),
    "softsign": (-1.0, False, 1.0, False),
}
WIDE = torch.cat([torch.linspace(-30, 30, 60001), torch.tensor([-1e4, -88.0, 88.0, 1e4])])


@pytest.mark.parametrize("key", KEYS)
def test_output_range(key):
    act = get_activation(key)
    lo, lo_closed, hi, hi_closed = BOUNDS[key]
    text = act.output_range
    lower, upper = text.split(",", 1)
    assert text[0] == ("[" if lo_closed else "(")
    closing = next(c for c in text if c in ")]")
    assert closing == ("]" if hi_closed else ")")
    assert ("∞" in lower) == (lo == -INF) and ("∞" in upper.split(")")[0]) == (hi == INF)
    assert "inf" not in text
    with torch.no_grad():
        f = act.forward(WIDE.double(), {})
    assert torch.isfinite(f).all()
    # bounds hold ...
    assert f.min().item() >= lo - 1e-6 and f.max().item() <= hi + 1e-6
    # ... and are tight
    if lo == -INF:
        assert f.min().item() < -1.0
    else:
        assert f.min().item() == pytest.approx(lo, abs=1e-4)
    if hi == INF:
        assert f.max().item() > 1e3
    else:
        assert f.max().item() == pytest.approx(hi, abs=1e-4)


@pytest.mark.parametrize(
    ("key", "params", "lo"), [("elu", {"alpha": 2.5}, -2.5), ("silu", {"beta": 2.0}, -0.1392323)]
)
def test_output_range_scales_with_params(key, params, lo):
    f = get_activation(key).forward(WIDE.double(), params)
    assert f.min().item() == pytest.approx(lo, abs=1e-4)


@pytest.mark.parametrize("key", KEYS)
def test_monotonic_flag(key):
    act = get_activation(key)
    z = torch.linspace(-20, 20, 40001, dtype=torch.float64)
    f = act.forward(z, {})
    non_decreasing = bool((f.diff() >= 0).all())
    assert act.monotonic == non_decreasing
    assert act.monotonic == bool((act.derivative(z.float()) >= 0).all())


@pytest.mark.parametrize("key", KEYS)
def test_zero_centred_flag(key):
    """Zero-centred := f(0) = 0 and the output has ~zero mean for standard-normal input:
    |E f(Z)| <= 0.05 * sqrt(E f(Z)^2), Z ~ N(0, 1). True for odd functions and for SELU by design."""
    act = get_activation(key)
    z = torch.linspace(-12, 12, 240001, dtype=torch.float64)
    w = torch.exp(-0.5 * z * z) / math.sqrt(2 * math.pi) * (z[1] - z[0])
    f = act.forward(z, {})
    mean, rms = (f * w).sum().item(), (f * f * w).sum().sqrt().item()
    f0 = act.forward(torch.zeros(1), {}).item()
    assert act.zero_centred == (f0 == 0.0 and abs(mean) <= 0.05 * rms)
    if not act.zero_centred:
        assert f0 != 0.0 or abs(mean) > 0.15 * rms  # clearly not borderline


@pytest.mark.parametrize("key", KEYS)
def test_saturating_flag(key):
    act = get_activation(key)
    lo, _, hi, _ = BOUNDS[key]
    if act.saturating:
        assert math.isfinite(lo) and math.isfinite(hi)
        # exponential tails are flat by |z| = 20; softsign's polynomial tail 1/(1+|z|)^2 needs |z| = 50
        t = 50.0 if key == "softsign" else 20.0
        assert act.derivative(torch.tensor([-t, t])).abs().max().item() < 1e-3
    else:
        assert not (math.isfinite(lo) and math.isfinite(hi))


@pytest.mark.parametrize("key", KEYS)
def test_can_die_flag(key):
    act = get_activation(key)
    z = torch.linspace(-8, -1e-6, 10001)
    dead_half_line = bool((act.derivative(z) == 0).all())
    assert act.can_die == dead_half_line


@pytest.mark.parametrize("key", KEYS)
def test_smooth_flag(key):
    """smooth := f' continuous for every allowed parameter; check jumps at the kink and along a grid."""
    act = get_activation(key)
    h = 1e-4
    z = torch.tensor([-h, h])
    z_grid = torch.linspace(-8, 8, 16001)  # spacing 1e-3; |f''| < 2 so steps < 2e-3 when smooth
    params = [{}] + NON_DEFAULT.get(key, [])
    jumps = []
    for p in params:
        d = act.derivative(z, p)
        jumps.append(abs((d[1] - d[0]).item()))
        if act.smooth:
            assert act.derivative(z_grid, p).diff().abs().max().item() < 1e-2 * max(1.0, p.get("beta", 1.0))
    assert act.smooth == (max(jumps) < 1e-2)


def test_learnable_flag_and_names():
    assert get_activation("silu").name == "Swish (SiLU)"
    assert [k for k, a in ACTIVATIONS.items() if a.learnable] == ["prelu"]


@pytest.mark.parametrize("key", KEYS)
def test_text_fields(key):
    act = get_activation(key)
    assert act.name and act.formula.startswith("f(x)=")
    assert act.guidance and "\n" not in act.guidance and len(act.guidance) < 250


# --- validation -------------------------------------------------------------------


def test_resolve():
    leaky = get_activation("leaky_relu")
    assert leaky.resolve(None) == {"slope": 0.01}
    assert leaky.resolve({}) == {"slope": 0.01}
    assert leaky.resolve({"slope": 0.5}) == {"slope": 0.5}  # bounds are inclusive
    assert leaky.resolve({"slope": 0}) == {"slope": 0.0}
    assert get_activation("relu").resolve(None) == {}
    for bad in (-0.01, 0.51, math.nan, math.inf):
        with pytest.raises(ValueError):
            leaky.resolve({"slope": bad})
    with pytest.raises(ValueError, match="alpha"):
        leaky.resolve({"alpha": 1.0})
    with pytest.raises(ValueError):
        get_activation("relu").resolve({"slope": 0.1})
    with pytest.raises(ValueError):
        get_activation("silu").resolve({"beta": 0.0})
    with pytest.raises(ValueError):
        get_activation("elu").module({"alpha": 6.0})


# --- numerical safety ---------------------------------------------------------------

EXTREMES = torch.tensor([1e4, -1e4, 88.0, -88.0, 89.0, -89.0, 20.0, -20.0, 0.0])


@pytest.mark.parametrize(("key", "params"), CASES, ids=CASE_IDS)
def test_no_nan_or_inf_at_extremes(key, params):
    act = get_activation(key)
    f, d = act.forward_backward(EXTREMES, params)
    assert torch.isfinite(f).all() and torch.isfinite(d).all()
    assert torch.isfinite(act.forward(EXTREMES, params)).all()
    # autograd through forward must not produce NaN from an unselected overflowing branch
    assert torch.isfinite(autograd_derivative(lambda x: act.forward(x, params), EXTREMES)).all()
    close(d, autograd_derivative(lambda x: act.forward(x, params), EXTREMES))
