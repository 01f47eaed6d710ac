"""The activation zoo's overlay (nnviz.figures.zoo) and the gradient-norm-by-depth chart
(nnviz.figures.diagnostics): traces, colours, marked maxima, the log axis's ticks, diverged runs."""

import ast
import math
import re
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import pytest
import torch

from nnviz.activations import ACTIVATIONS
from nnviz.figures import diagnostics, style, zoo

COLORS = list(style.ACTIVATION_COLORS.values())  # distinct colours for runs under test


def curves(keys, z):
    out = []
    for key in keys:
        f, df = ACTIVATIONS[key].forward_backward(torch.as_tensor(z, dtype=torch.float32))
        out.append((ACTIVATIONS[key].name, style.activation_color(key), f.numpy(), df.numpy()))
    return out


def valid(fig: go.Figure) -> go.Figure:
    go.Figure(fig.to_dict())  # raises on any invalid property
    return fig


def max_labels(fig) -> dict[str, tuple[float, float, float]]:
    """(x, y, value in the text) of each ``max f′ = ...`` annotation, by its colour."""
    found = {}
    for a in fig.layout.annotations:
        m = re.fullmatch(r"max f′ = (\S+)", a.text)
        if m:
            found[a.font.color] = (a.x, a.y, float(m.group(1)))
    return found


# ---- the zoo's overlay -------------------------------------------------------------------------

Z = np.linspace(-5, 5, 401)


def test_overlay_has_f_solid_and_df_dashed_per_activation_in_its_colour():
    keys = ["sigmoid", "tanh", "relu"]
    fig = valid(zoo.activations_figure(Z, curves(keys, Z), title="Sigmoid vs Tanh vs ReLU"))
    assert len(fig.data) == 2 * len(keys)
    for i, key in enumerate(keys):
        f, df = fig.data[2 * i], fig.data[2 * i + 1]
        color, name = style.activation_color(key), ACTIVATIONS[key].name
        assert f.line.color == df.line.color == color
        assert f.name == name and df.name == f"{name} f′"
        assert f.line.dash in (None, "solid") and df.line.dash == "dash"
        assert f.legendgroup == df.legendgroup
    assert len({t.line.color for t in fig.data}) == len(keys)
    assert fig.layout.showlegend is not False


def test_overlay_marks_each_derivative_maximum():
    fig = valid(zoo.activations_figure(Z, curves(["sigmoid", "tanh"], Z), title="t"))
    labels = max_labels(fig)
    x, y, value = labels[style.activation_color("sigmoid")]
    assert value == pytest.approx(0.25) and y == pytest.approx(0.25) and x == pytest.approx(0.0)
    x, y, value = labels[style.activation_color("tanh")]
    assert value == pytest.approx(1.0) and y == pytest.approx(1.0) and x == pytest.approx(0.0)
    # and in the derivatives' hover
    assert "max 0.25" in fig.data[1].hovertemplate and "max 1" in fig.data[3].hovertemplate
    assert "max" not in fig.data[0].hovertemplate  # f has no such maximum


def test_overlapping_max_labels_are_stacked():
    """tanh' and softsign' both peak at 1 at z = 0: their labels must not sit on each other."""
    fig = zoo.activations_figure(Z, curves(["tanh", "softsign"], Z), title="t")
    a, b = fig.layout.annotations
    assert (a.x, a.y) == pytest.approx((b.x, b.y))
    assert abs(a.ax - b.ax) >= 90 or abs(a.ay - b.ay) >= 18  # their boxes (~90 x 18 px) apart


def test_max_labels_stay_off_the_curves_and_inside_the_plot():
    """Placed where they cover the fewest curve points: sigmoid's label above its peak is clear of
    tanh' (which passes right above it), and tanh's, at the very top of the range, goes below it."""
    z = np.linspace(-5, 5, 401)
    fig = zoo.activations_figure(z, curves(["sigmoid", "tanh"], z), title="t", derivatives_only=True)
    for a in fig.layout.annotations:
        assert a.ay > 0 or a.y < 0.8  # not above a point at the top of the plot


def test_a_plateau_maximum_sits_inside_the_plateau():
    """ReLU' is 1 on all of z > 0: its max is marked there (not at the kink, not at the edge)."""
    fig = zoo.activations_figure(Z, curves(["relu"], Z), title="ReLU")
    ((x, y, value),) = max_labels(fig).values()
    assert value == 1.0 and y == 1.0 and 1.0 < x < 4.0


def test_derivatives_only_draws_one_dashed_trace_each_and_fits_them():
    fig = valid(zoo.activations_figure(Z, curves(["sigmoid", "relu"], Z), title="t", derivatives_only=True))
    assert [t.name for t in fig.data] == ["Sigmoid f′", "ReLU f′"]
    assert all(t.line.dash == "dash" for t in fig.data)
    lo, hi = fig.layout.yaxis.range
    assert lo < 0 and 1 < hi < 1.5  # ReLU's f (up to 5) no longer squashes sigmoid' (0.25)
    both = zoo.activations_figure(Z, curves(["sigmoid", "relu"], Z), title="t")
    assert both.layout.yaxis.range[1] > 4


def test_single_activation_keeps_zero_lines_and_the_title():
    fig = valid(zoo.activations_figure(Z, curves(["tanh"], Z), title="Tanh"))
    assert len(fig.data) == 2 and fig.layout.title.text == "Tanh"
    assert fig.layout.xaxis.zeroline and fig.layout.yaxis.zeroline
    assert fig.layout.xaxis.range == (-5.0, 5.0)


def test_every_registered_activation_overlays():
    fig = valid(zoo.activations_figure(Z, curves(list(ACTIVATIONS), Z), title="all"))
    assert len(fig.data) == 2 * len(ACTIVATIONS)
    assert len(max_labels(fig)) == len(ACTIVATIONS)


# ---- gradient norm by depth --------------------------------------------------------------------


def depth_data(k=3, n_layers=7, seed=0):
    """Norms growing towards the output by a decade per layer, plus noise."""
    rng = np.random.default_rng(seed)
    base = 10.0 ** (np.arange(n_layers) - n_layers + 1)
    return base * 10 ** rng.normal(scale=0.2, size=(k, n_layers)), base * 10 ** rng.normal(size=(k, n_layers))


def ticks(axis) -> int:
    """Labelled ticks plotly draws on a log axis with an integer dtick (in decades) over its range."""
    lo, hi = axis.range
    step = int(axis.dtick)
    return math.floor(hi / step) - math.ceil(lo / step) + 1


def test_gradient_chart_lines_run_over_the_layers_in_the_activation_colours():
    first, last = depth_data()
    keys = ["sigmoid", "tanh", "relu"]
    colors = [style.activation_color(k) for k in keys]
    fig = valid(
        diagnostics.gradient_depth_figure(
            first, last, labels=["Sigmoid", "Tanh", "ReLU"], colors=colors, epochs=(1, 300)
        )
    )
    solid = [t for t in fig.data if t.showlegend is not False and t.legendgroup != "start"]
    assert [t.name for t in solid] == ["Sigmoid", "Tanh", "ReLU"]
    assert [t.line.color for t in solid] == colors
    for t, row in zip(solid, last, strict=True):
        assert list(t.x) == list(range(1, 8))
        np.testing.assert_allclose(t.y, row, rtol=1e-6)
        assert "%{y" in t.hovertemplate
    faint = [t for t in fig.data if t.legendgroup == "start" and t.x[0] is not None]
    assert len(faint) == 3
    for t, row, color in zip(faint, first, colors, strict=True):
        np.testing.assert_allclose(t.y, row, rtol=1e-6)
        assert t.line.color == style.rgba(color, diagnostics.START_ALPHA)
    legend_start = [t for t in fig.data if t.legendgroup == "start" and t.showlegend is not False]
    assert len(legend_start) == 1 and "start" in legend_start[0].name and "1" in legend_start[0].name
    x = fig.layout.xaxis
    assert list(x.tickvals) == list(range(1, 8)) and x.ticktext[-1] == "output"
    assert list(x.ticktext[:-1]) == [str(j) for j in range(1, 7)]
    assert fig.layout.yaxis.type == "log"


def test_gradient_chart_log_axis_has_few_ticks_over_39_decades():
    last = np.array([[1e-3, 1e10, 1e36], [1e-2, 1.0, 1e5]])
    fig = valid(
        diagnostics.gradient_depth_figure(None, last, labels=["a", "b"], colors=COLORS[:2], epochs=(1, 50))
    )
    y = fig.layout.yaxis
    assert y.type == "log"
    lo, hi = y.range
    assert lo < -3 and hi > 36  # every value is inside
    assert 2 <= ticks(y) <= style.MAX_LOG_TICKS
    assert not [t for t in fig.data if t.legendgroup == "start"]  # no first record given: no faint lines


@pytest.mark.parametrize(
    "lo, hi", [(1e-3, 1e36), (1e-8, 1e2), (1e-2, 1e2), (1e-12, 1e-11), (0.3, 0.5), (1, 1)]
)
def test_log_axis_ticks_stay_bounded(lo, hi):
    axis = style.log_axis([lo, hi])
    assert axis["type"] == "log"
    r0, r1 = axis["range"]
    assert r0 < math.log10(lo) and r1 > math.log10(hi)
    if axis["dtick"] == "D2":  # labels 1, 2, 5 per decade: within 2 decades
        assert math.ceil(r1) - math.floor(r0) <= 2
    else:
        n = math.floor(r1 / axis["dtick"]) - math.ceil(r0 / axis["dtick"]) + 1
        assert 2 <= n <= style.MAX_LOG_TICKS


def test_gradient_chart_leaves_out_diverged_runs_with_a_note():
    first, last = depth_data()
    last[1] = np.nan  # tanh diverged before the last record
    labels = ["Sigmoid", "Tanh", "ReLU"]
    fig = valid(
        diagnostics.gradient_depth_figure(first, last, labels=labels, colors=COLORS[:3], epochs=(1, 300))
    )
    solid = [t.name for t in fig.data if t.legendgroup != "start"]
    assert solid == ["Sigmoid", "ReLU"]
    assert len([t for t in fig.data if t.legendgroup == "start" and t.x[0] is not None]) == 3
    for t in fig.data:
        assert t.y[0] is None or np.isfinite(np.asarray(t.y, dtype=float)).all()
    (note,) = fig.layout.annotations
    assert "diverged" in note.text and "Tanh" in note.text and "Sigmoid" not in note.text


def test_gradient_chart_every_run_diverged_still_builds():
    last = np.full((2, 4), np.nan)
    fig = valid(
        diagnostics.gradient_depth_figure(last, last, labels=["a", "b"], colors=COLORS[:2], epochs=(1, 9))
    )
    assert not fig.data
    assert "a (epoch 1)" in fig.layout.annotations[0].text


def test_gradient_chart_hover_gives_the_ratio_to_the_output_layer():
    last = np.array([[1e-6, 1e-4, 1e-3]])
    fig = diagnostics.gradient_depth_figure(None, last, labels=["s"], colors=["#000000"], epochs=(1, 2))
    (trace,) = fig.data
    np.testing.assert_allclose(np.asarray(trace.customdata)[:, 0], [1e-3, 1e-1, 1.0], rtol=1e-6)
    assert "customdata[0]" in trace.hovertemplate and "output" in trace.hovertemplate


@pytest.mark.parametrize("module", [zoo, diagnostics])
def test_new_figure_modules_import_neither_streamlit_nor_torch(module):
    tree = ast.parse(Path(module.__file__).read_text())
    names = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert not names & {"streamlit", "torch"}
