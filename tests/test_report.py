"""The HTML report as a handout: settings in words, percentages, the date, the preset's explanation."""

import re
from datetime import UTC, datetime
from html import escape

import pytest

from nnviz import fmt
from nnviz.config import Config
from nnviz.experiment import Experiment
from nnviz.figures import report
from nnviz.grid import build, is_grid
from nnviz.presets import Preset, load_presets

NOW = datetime(2025, 3, 4, 14, 5, tzinfo=UTC)
TINY = Config(epochs=5, n_samples=100)  # moons, Adam, full batch, the four default activations


def _trained(cfg: Config) -> Experiment:
    exp = Experiment(cfg)
    exp.step(cfg.epochs)
    return exp


@pytest.fixture(scope="module")
def moons():
    return _trained(TINY)


@pytest.fixture(scope="module")
def moons_html(moons):
    return report.build_report(moons, now=NOW)


def _settings(html: str) -> str:
    """The report's settings block (before the results)."""
    start = html.index("<div class='settings'>")
    return html[start : html.index("<h2>Results</h2>", start)]


def _summary_rows(html: str) -> list[list[str]]:
    start = html.index("<h2>Results</h2>")
    table = html[start : html.index("</table>", start)]
    return [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in re.findall(r"<tr>(.*?)</tr>", table)][1:]


def test_settings_have_human_labels_and_values(moons_html):
    settings = _settings(moons_html)
    for row in (
        "<td>Dataset</td><td>Moons</td>",
        "<td>Noise</td><td>0.2</td>",
        "<td>Samples</td><td>100</td>",
        "<td>Validation fraction</td><td>30% (30 points)</td>",
        "<td>Standardise inputs</td><td>yes</td>",
        "<td>Activations</td><td>Sigmoid, Tanh, ReLU, Leaky ReLU</td>",
        "<td>Leaky ReLU: Leaky slope a</td><td>0.01</td>",
        "<td>Initialisation</td><td>PyTorch default</td>",
        "<td>Optimiser</td><td>Adam</td>",
        "<td>Learning rate</td><td>0.03</td>",
        "<td>Batch size</td><td>full batch (all 70 training points)</td>",
        "<td>L1 penalty</td><td>none</td>",
        "<td>Loss</td><td>cross-entropy</td>",
    ):
        assert row in settings
    for group in ("Data", "Compare", "Network", "Training"):
        assert f"<h3>{group}</h3>" in settings


def test_no_raw_keys_and_no_settings_that_do_not_apply(moons_html):
    for raw in ("batch_size", "diag_every", "data_seed", "standardize", "n_classes", "val_fraction", "lr"):
        assert not re.search(rf"\b{raw}\b", _settings(moons_html)), raw
    for raw in ("batch_size", "diag_every", "data_seed", "n_classes"):
        assert raw not in moons_html, raw
    settings = _settings(moons_html)
    assert "Momentum" not in settings  # Adam: momentum does not apply
    assert "<td>Classes</td>" not in settings  # moons always has two classes


def test_momentum_and_classes_appear_when_they_apply():
    cfg = Config(dataset="blobs", n_classes=4, optimizer="momentum", momentum=0.8, batch_size=16, l2=0.001)
    rows = {(g, label): value for g, label, value in report.settings_rows(cfg)}
    assert rows["Data", "Classes"] == "4"
    assert rows["Training", "Optimiser"] == "SGD + momentum"
    assert rows["Training", "Momentum"] == "0.8"
    assert rows["Training", "Batch size"] == "16 points per step (of 280 training points)"
    assert rows["Training", "L2 penalty"] == "0.001"
    assert [g for g, _, _ in report.settings_rows(cfg)] == sorted(
        (g for g, _, _ in report.settings_rows(cfg)), key=report.SETTING_GROUPS.index
    )
    assert not any("diag" in label.lower() for _, label, _ in report.settings_rows(cfg))
    plain = {label for _, label, _ in report.settings_rows(Config())}
    assert "Momentum" not in plain and "Classes" not in plain


def test_blobs_report_lists_its_classes_and_momentum():
    exp = _trained(Config(dataset="blobs", n_classes=4, optimizer="momentum", epochs=3, n_samples=100))
    settings = _settings(report.build_report(exp, now=NOW))
    assert "<td>Classes</td><td>4</td>" in settings
    assert "<td>Momentum</td><td>0.9</td>" in settings
    assert "<td>Optimiser</td><td>SGD + momentum</td>" in settings


def test_summary_shows_percent_and_integers(moons, moons_html):
    rows = _summary_rows(moons_html)
    summary = moons.summary()
    assert [r[0] for r in rows] == moons.run_labels
    for cells, r in zip(rows, summary, strict=True):
        assert cells[3] == f"{100 * r.train_acc:.1f}%" and cells[4] == f"{100 * r.val_acc:.1f}%"
        assert all(re.fullmatch(r"\d{1,3}\.\d%", c) for c in cells[3:8]), cells
        reach = "–" if r.epochs_to_90 is None else str(r.epochs_to_90)
        assert cells[8] == (reach if r.held_90 or r.epochs_to_90 is None else f"{reach}, then fell back")
        assert cells[1] == f"{r.train_loss:.3g}"
    assert "None" not in "".join(c for row in rows for c in row)


def test_number_formats():
    assert fmt.pct(0.986) == "98.6%" and fmt.pct(1.0) == "100.0%" and fmt.pct(0.5, 0) == "50%"
    assert fmt.pct(float("nan")) == "–" and fmt.pct(None) == "–"
    assert fmt.loss(0.052345) == "0.0523" and fmt.loss(4.112837407902746e34) == "4.1e+34"
    assert fmt.loss(23066568539766784.0) == "2.3e+16" and fmt.loss(0.0077) == "0.0077"
    assert fmt.loss(4.6e-05) == "4.6e-05" and fmt.loss(0.0) == "0"
    assert fmt.loss(float("inf")) == "∞" and fmt.loss(float("nan")) == "–"
    assert report._loss_cell(4.1e34, diverged=True) == "4.1e+34 (diverged)"
    assert report._loss_cell(float("nan"), diverged=True) == "diverged"
    assert fmt.epochs_to(None, False) == "–" and fmt.epochs_to(12, True) == "12"
    assert fmt.epochs_to(2, False) == "2, then fell back"
    assert (
        fmt.duration(8.4) == "8 s" and fmt.duration(130) == "2 min 10 s" and fmt.duration(3900) == "1 h 5 min"
    )
    assert fmt.duration(None) == "–"


def test_a_diverged_run_is_marked():
    cfg = Config(epochs=10, n_samples=100, activations=("linear", "tanh"), optimizer="momentum", lr=10.0)
    exp = _trained(cfg)
    assert exp.trainer.diverged_epoch[0] is not None
    rows = _summary_rows(report.build_report(exp, now=NOW))
    assert rows[0][1].endswith("(diverged)") and rows[0][2].endswith("(diverged)")
    assert "diverged" not in rows[1][1]


def test_title_date_and_description(moons_html):
    assert "<h1>nnviz report: activation functions on Moons</h1>" in moons_html
    assert "2025-03-04 14:05 UTC" in moons_html
    assert "datetime='2025-03-04T14:05+00:00'" in moons_html
    assert (
        "4 networks, one per activation, were trained in lockstep on Moons (100 points, 30% held out for "
        "validation) from the same initial weights, each step on all training points, for 5 of 5 epochs."
    ) in moons_html


def test_description_of_seeds_and_minibatches():
    exp = _trained(Config(epochs=2, n_samples=100, activations=("relu", "tanh"), n_seeds=2, batch_size=16))
    text = report.describe(exp)
    assert text.startswith("4 networks (2 activations × 2 seeds, seeds 0–1) were trained in lockstep")
    assert "the same minibatches of 16 points" in text


def test_preset_title_and_explanation_near_the_top(moons):
    preset = next(iter(load_presets().values()))
    html = report.build_report(moons, preset=preset, now=NOW)
    top = html[: html.index("<h2>The experiment</h2>")]
    assert f"<h2>Guided experiment: {escape(preset.title)}</h2>" in top
    assert f"<p>{escape(preset.explanation)}</p>" in top
    assert "Guided experiment" not in report.build_report(moons, now=NOW)


def test_preset_contrast_settings_are_named_in_words(moons):
    params = {"epochs": "2", "n_samples": "100", "standardize": "0"}
    preset = Preset("t", "Unscaled", "Look at the loss.", params, {"standardize": "1"})
    html = report.build_report(_trained(preset.contrast_config), preset=preset, now=NOW)
    assert "contrast settings (Standardise inputs: yes instead of no)" in html
    assert "contrast settings" not in report.build_report(moons, preset=preset, now=NOW)


def test_user_text_is_escaped(moons):
    evil = Preset(
        key="evil",
        title="<script>alert('title')</script>",
        explanation="<img src=x onerror=alert(1)> & more",
        params={},
        contrast={},
    )
    html = report.build_report(moons, preset=evil, now=NOW)
    assert "<script>alert(" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(&#x27;title&#x27;)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt; &amp; more" in html


def test_default_date_is_now_in_utc(moons):
    before = datetime.now(UTC).replace(second=0, microsecond=0)
    html = report.build_report(moons)
    stamp = re.search(r"<time datetime='([^']+)'>", html).group(1)
    assert before <= datetime.fromisoformat(stamp) <= datetime.now(UTC)


def test_uploaded_data_is_described_without_generator_settings(moons):
    cfg = Config(dataset="upload")
    rows = {label: value for _, label, value in report.settings_rows(cfg)}
    assert rows["Dataset"] == "your CSV (uploaded)"
    assert "Noise" not in rows and "Samples" not in rows
    assert rows["Batch size"] == "full batch (all training points)"
    rows = {label: value for _, label, value in report.settings_rows(cfg, moons.split)}
    assert rows["Samples"] == "100" and rows["Validation fraction"] == "30% (30 points)"


def _results_header(html: str) -> list[str]:
    start = html.index("<h2>Results</h2>")
    return re.findall(r"<th>(.*?)</th>", html[start : html.index("</thead>", start)])


def test_report_of_a_lockstep_grid_names_the_varied_setting_and_its_values():
    exp = build(TINY.replace(epochs=2, vary="lr", values=("0.003", "0.03", "0.3")))
    exp.step(2)
    html = report.build_report(exp, now=NOW)
    assert (
        "12 networks (4 activations × 3 values of lr: 0.003, 0.03, 0.3) were trained in lockstep on Moons "
        "(100 points, 30% held out for validation) from the same initial weights"
    ) in html
    assert "the activation function and the lr are the only differences between the networks." in html
    settings = _settings(html)
    assert "<td>Varied setting</td><td>Learning rate: 0.003, 0.03, 0.3</td>" in settings
    assert "<td>Learning rate</td><td>0.003 / 0.03 / 0.3</td>" in settings
    assert _results_header(html)[:3] == ["network", "lr", "train loss"]
    rows = _summary_rows(html)
    assert [r[:2] for r in rows] == [
        [name, value] for name, value in zip(exp.run_names, ["0.003", "0.03", "0.3"] * 4, strict=True)
    ]
    assert [r[0] for r in rows][:3] == ["Sigmoid"] * 3


def test_report_of_a_grid_experiment_uses_each_rows_network_and_data():
    cfg = Config(
        epochs=2, activations=("relu", "tanh"), vary="hidden_layers", values=("1", "3"), n_samples=100
    )
    exp = build(cfg)
    assert is_grid(exp)
    exp.step(2)
    html = report.build_report(exp, now=NOW)
    text = report.describe(exp)
    assert text.startswith(
        "4 networks (2 activations × 2 values of hidden layers: 1, 3) were trained in 2 lockstep groups, "
        "one per value, on Moons (100 points"
    )
    assert "the same initial weights within each value of hidden layers" in text
    assert "with 1 or 3 hidden layers of 8 units" in text
    assert "<td>Hidden layers</td><td>1 / 3</td>" in _settings(html)
    assert "<td>Varied setting</td><td>Hidden layers: 1, 3</td>" in _settings(html)
    assert _results_header(html)[:2] == ["network", "layers"]
    assert [r[:2] for r in _summary_rows(html)] == [
        ["ReLU", "1"],
        ["ReLU", "3"],
        ["Tanh", "1"],
        ["Tanh", "3"],
    ]
    for heading in (
        "Decision boundaries",
        "Loss and accuracy",
        "Confusion matrices (validation)",
        "Diagnostics",
    ):
        assert f"<h2>{heading}</h2>" in html


def test_report_of_a_dataset_grid_describes_each_dataset():
    cfg = Config(epochs=2, activations=("relu",), vary="dataset", values=("moons", "circles"), n_seeds=2)
    exp = build(cfg)
    exp.step(2)
    html = report.build_report(exp, now=NOW)
    assert "<h1>nnviz report: activation functions on Moons and Circles</h1>" in html
    sizes = {len(row.experiment.split.y_train) + len(row.experiment.split.y_val) for row in exp.rows}
    assert (
        f"4 networks (ReLU × 2 seeds × 2 values of dataset: Moons, Circles; seeds 0–1) were trained in 2 "
        f"lockstep groups, one per value, on Moons and Circles ({sizes.pop()} points each"
    ) in html
    settings = _settings(html)
    assert "<td>Dataset</td><td>Moons / Circles</td>" in settings
    assert [r[1] for r in _summary_rows(html)] == ["Moons", "Moons", "Circles", "Circles"]
