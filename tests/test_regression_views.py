"""The regression views: R² curves, the summary and seed summary, predicted against target in the
Diagnostics tab and the HTML report (docs/regression.md)."""

import re

import numpy as np
import plotly.graph_objects as go
import pytest
from sklearn.metrics import r2_score

from nnviz.analysis.summary import COLUMNS, REGRESSION_COLUMNS
from nnviz.config import Config
from nnviz.data.upload import parse_csv
from nnviz.figures import report
from nnviz.figures.curves import R2_FLOOR, curves_figure
from nnviz.figures.diagnostics import fit_figure
from nnviz.figures.style import MAX_MARKERS
from nnviz.grid import build
from nnviz.ui.compare import _dataset_csv
from tests.test_app import charts, run_app
from tests.test_figures import canonical, run_colors

QUERY = {"dataset": "multigauss", "act": "relu,tanh", "epochs": "20"}


def regression_history(e, k, low=-0.5, seed=0):
    """A regression history [E, K]: the MSE falling, R² rising from ``low`` towards 0.95."""
    rng = np.random.default_rng(seed)
    loss = np.exp(-np.linspace(0, 4, e))[:, None] * rng.uniform(0.5, 1.5, (1, k))
    r2 = 0.95 - (0.95 - low) * np.exp(-np.linspace(0, 4, e))[:, None] * rng.uniform(0.8, 1.0, (1, k))
    return {"train_loss": loss, "val_loss": 1.2 * loss, "train_r2": r2, "val_r2": r2 - 0.02}


def panel_titles(fig) -> list[str]:
    return [a.text for a in fig.layout.annotations]


def metric_traces(fig) -> list:
    return [t for t in fig.data if t.yaxis == "y2"]


# ---- the curves --------------------------------------------------------------------------------


def test_curves_of_a_regression_history_draw_r2_and_no_accuracy():
    hist = regression_history(50, 3)
    fig = curves_figure(hist, labels=list("abc"), colors=run_colors(3))
    assert canonical(go.Figure(fig.to_dict())) == canonical(fig)  # valid as plotly validates it
    assert panel_titles(fig) == ["MSE (log scale)", "R²"]
    assert not any("ccuracy" in t for t in panel_titles(fig))
    r2 = metric_traces(fig)
    assert len(fig.data) == 12 and len(r2) == 6  # train and validation per run
    for k in range(3):
        train, val = (t for t in r2 if t.legendgroup == str(k))
        assert (train.line.dash, val.line.dash) == ("solid", "dash")
        np.testing.assert_allclose(train.y, hist["train_r2"][:, k], rtol=1e-6)
        np.testing.assert_allclose(val.y, hist["val_r2"][:, k], rtol=1e-6)
    assert {t.hovertemplate for t in r2} == {"%{y:.3f}"}
    assert fig.layout.yaxis2.tickformat != ".0%" and fig.layout.yaxis2.range[1] == 1.02
    assert fig.layout.yaxis.type == "log"


@pytest.mark.parametrize(
    "low, start, title",
    [(0.2, 0.0, "R²"), (-0.5, R2_FLOOR, "R²"), (-40.0, R2_FLOOR, f"R² (cut at {R2_FLOOR:g})")],
)
def test_the_r2_axis_starts_at_0_or_at_the_floor_and_says_when_values_are_cut(low, start, title):
    hist = regression_history(30, 2, low=low)
    fig = curves_figure(hist, labels=list("ab"), colors=run_colors(2))
    assert tuple(fig.layout.yaxis2.range) == (start, 1.02)
    assert panel_titles(fig)[1] == title
    assert min(min(t.y) for t in metric_traces(fig)) == pytest.approx(hist["val_r2"].min(), rel=1e-6)


def test_the_r2_axis_stays_put_while_epochs_come():
    hist = regression_history(60, 2, low=-3.0)
    starts = []
    for e in range(0, 61, 3):  # the live chart, redrawn as the epochs come
        part = {key: v[:e] for key, v in hist.items()}
        fig = curves_figure(part, labels=list("ab"), colors=run_colors(2))
        starts.append(fig.layout.yaxis2.range[0])
    assert starts[0] == 0.0 and set(starts) <= {0.0, R2_FLOOR}
    assert starts == sorted(starts, reverse=True)  # it moves once at most, down


def test_a_diverged_run_leaves_the_r2_axis_as_it_is():
    hist = regression_history(30, 2, low=0.1)
    for key in hist:
        hist[key][10:, 1] = np.nan
    fig = curves_figure(hist, labels=list("ab"), colors=run_colors(2), diverged=[None, 10])
    assert tuple(fig.layout.yaxis2.range) == (0.0, 1.02)


def test_regression_seed_groups_draw_the_mean_and_band_of_r2():
    hist = regression_history(40, 4)
    groups = [("ReLU", [0, 1]), ("Tanh", [2, 3])]
    fig = curves_figure(hist, labels=list("abcd"), colors=run_colors(4), groups=groups)
    lines = [t for t in metric_traces(fig) if t.line.width != 0]
    edges = [t for t in metric_traces(fig) if t.line.width == 0]
    assert len(lines) == 4 and len(edges) == 8
    r2 = hist["train_r2"][:, :2]
    np.testing.assert_allclose(lines[0].y, r2.mean(1), rtol=1e-5)  # arithmetic, not geometric
    np.testing.assert_allclose(edges[0].y, r2.mean(1) + r2.std(1), rtol=1e-5)
    np.testing.assert_allclose(edges[1].y, r2.mean(1) - r2.std(1), rtol=1e-5)
    assert canonical(go.Figure(fig.to_dict())) == canonical(fig)


@pytest.fixture(scope="module")
def trained():
    exp = build(Config(dataset="multigauss", activations=("relu", "tanh"), epochs=30))
    exp.step(30)
    return exp


def test_the_curves_of_a_trained_regression(trained):
    hist = trained.history()
    fig = curves_figure(hist, labels=trained.run_labels, colors=run_colors(2), stacked=True)
    assert len(fig.data) == 8 and panel_titles(fig)[1].startswith("R²")
    np.testing.assert_allclose(metric_traces(fig)[1].y, hist["val_r2"][:, 0], rtol=1e-6)


# ---- predicted against target ------------------------------------------------------------------


def test_fit_figure_draws_each_runs_predictions_against_the_targets():
    rng = np.random.default_rng(1)
    y = rng.normal(size=60).astype(np.float32)
    preds = np.stack([y + 0.1 * rng.normal(size=60), 0.5 * y, np.full(60, 0.2)]).astype(np.float32)
    fig = fit_figure(y, preds, titles=["ReLU", "Tanh", "GELU"], colors=run_colors(3))
    assert canonical(go.Figure(fig.to_dict())) == canonical(fig)
    points = [t for t in fig.data if t.mode == "markers"]
    diagonals = [t for t in fig.data if t.mode == "lines"]
    assert len(points) == len(diagonals) == 3
    for k, t in enumerate(points):
        np.testing.assert_array_equal(t.x, y)
        np.testing.assert_array_equal(t.y, preds[k])
        assert t.marker.color == run_colors(3)[k]
    axes = [a for name, a in fig.layout.to_plotly_json().items() if re.fullmatch(r"[xy]axis\d*", name)]
    assert len(axes) == 6
    ranges = {tuple(a["range"]) for a in axes}
    assert len(ranges) == 1  # one range, on x and y of every panel
    ((lo, hi),) = ranges
    assert lo < min(y.min(), preds.min()) and hi > max(y.max(), preds.max())
    for t in diagonals:
        assert list(t.x) == list(t.y) == [lo, hi]
    titles = [re.sub(r"<[^>]+>|■", "", a.text).strip() for a in fig.layout.annotations]
    expected = [r2_score(y, p) for p in preds]
    assert [t.split(" · R² ")[0] for t in titles] == ["ReLU", "Tanh", "GELU"]
    np.testing.assert_allclose([float(t.split(" · R² ")[1]) for t in titles], expected, rtol=2e-3, atol=1e-3)


def test_fit_figure_keeps_a_wild_run_from_squashing_the_others_and_thins_many_points():
    y = np.linspace(-1, 1, 3000)
    preds = np.stack([y, 1e6 * y, np.full_like(y, np.nan)])
    fig = fit_figure(y, preds, titles=list("abc"), colors=run_colors(3))
    lo, hi = fig.layout.xaxis.range
    assert (lo, hi) == pytest.approx((-2.2, 2.2))  # the targets' span, half a span beyond, 5% padding
    points = [t for t in fig.data if t.mode == "markers"]
    assert sum(len(t.x) for t in points) <= MAX_MARKERS
    assert "R² –" in fig.layout.annotations[2].text  # no prediction: no R²


# ---- the app -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def app():
    at = run_app({**QUERY, "n_seeds": "2"})
    at.button(key="step").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_the_app_shows_regression_curves_summary_and_seed_summary(app):
    assert not app.error, [e.value for e in app.error]
    assert app.session_state["nnviz"].experiment.is_regression
    summary, seeds = (d.value for d in app.dataframe)
    assert list(summary.columns) == ["run", *(c.header for c in REGRESSION_COLUMNS)]
    assert not ({c.header for c in COLUMNS} - {"dead units"}) & set(summary.columns)
    assert list(seeds.columns) == ["activation", "val R²", "val RMSE", "val MSE"]
    assert all(" ± " in cell for column in seeds.columns[1:] for cell in seeds[column])
    curves = charts(app)["curves"]
    assert [a["text"] for a in curves["layout"]["annotations"]][1].startswith("R²")
    toggle = app.toggle(key="discretize")
    assert toggle.proto.disabled and "regression" in toggle.help


def test_the_diagnostics_tab_shows_predicted_against_target(app):
    app.session_state["main_tab"] = "Diagnostics"
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    assert not app.error, [e.value for e in app.error]
    assert "Predicted vs target (validation)" in [s.value for s in app.subheader]
    assert not any("Confusion" in s.value for s in app.subheader)
    figures = charts(app)
    assert "confusion" not in figures and {"fit_0", "gradient_depth", "diagnostics"} <= set(figures)
    fit = figures["fit_0"]
    assert sum(t["mode"] == "markers" for t in fit["data"]) == 4  # 2 activations x 2 seeds
    app.session_state["main_tab"] = "Compare"
    app.run()


def test_the_dataset_csv_of_a_regression_uploads_as_regression(trained):
    data = parse_csv(_dataset_csv(trained).encode())
    assert data.task == "regression"
    y = np.concatenate([trained.split.y_train, trained.split.y_val])
    np.testing.assert_allclose(data.y, y, rtol=1e-5, atol=1e-6)


# ---- the report --------------------------------------------------------------------------------


def test_the_report_of_a_regression_speaks_of_r2_not_accuracy(trained):
    page = report.build_report(trained)
    text = re.sub(r"<script.*?</script>", "", page, flags=re.S)  # plotly.js's own words aside
    text = re.sub(r'id="[^"]*"', "", text)  # and the figures' random element ids ("...2b7f1b8d")
    headings = re.findall(r"<h2>(.*?)</h2>", text)
    assert "Loss and R²" in headings and "Predicted vs target (validation)" in headings
    assert not any("onfusion" in h or "ccuracy" in h for h in headings)
    for word in ("accuracy", "confusion", "F1", "90%", "cross-entropy", "<td>Classes</td>"):
        assert word.lower() not in text.lower(), word
    results = text[text.index("<h2>Results</h2>") :]
    header = re.findall(r"<th>(.*?)</th>", results[: results.index("</thead>")])
    assert header == ["network", *(c.header for c in REGRESSION_COLUMNS), "verdicts"]
    note = re.search(r"<p class='note'>(.*?)</p>", results).group(1)
    assert all(word in note for word in ("MSE", "RMSE", "MAE", "R²"))
    assert "<td>Loss</td><td>mean squared error</td>" in text
    assert "on the mean squared error loss" in text
