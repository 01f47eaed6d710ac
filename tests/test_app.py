"""The Streamlit wiring, driven headless with AppTest (fragments run once per script run here)."""

import json
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from nnviz.config import Config

APP = str(Path(__file__).resolve().parents[1] / "app.py")
TIMEOUT = 60


def run_app(query: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def charts(at: AppTest) -> dict[str, dict]:
    """The Plotly figures on the page by chart key (nnviz/ui/charts.py sends each as JSON bytes)."""
    found = {}
    for element in at.get("bidi_component"):
        if element.proto.component_name.endswith("nnviz_chart"):
            payload = json.loads(element.proto.bytes)
            found[payload["name"]] = payload["figure"]
    return found


def boundary_payload(at: AppTest) -> dict:
    """What the boundary chart component got: its figure and how it updates."""
    return next(
        p
        for p in map(json.loads, (e.proto.bytes for e in at.get("bidi_component")))
        if p["name"] == "boundary"
    )


def boundary(at: AppTest) -> dict:
    """The boundary figure's JSON spec."""
    figures = charts(at)
    assert "boundary" in figures, f"no boundary chart rendered, only {list(figures)}"
    return figures["boundary"]


def subplot_titles(at: AppTest) -> list[str]:
    """Panel titles as plain text (without the colour swatch markup)."""
    texts = [a.get("text", "") for a in boundary(at)["layout"].get("annotations", [])]
    return [re.sub(r"<[^>]+>|■", "", t).strip() for t in texts if "·" in t]


def n_boundaries(at: AppTest) -> int:
    """Shaded panels: a layout image per run."""
    return len(boundary(at)["layout"].get("images", []))


def test_defaults_render_four_boundaries_without_exception():
    at = run_app()
    assert n_boundaries(at) == 4
    titles = subplot_titles(at)
    assert [t.split(" ·")[0] for t in titles] == ["Sigmoid", "Tanh", "ReLU", "Leaky ReLU"]
    assert not at.warning  # a clean URL gives no notice
    assert at.session_state["nnviz"].experiment.epoch > 0  # training started without a click


def test_changing_activations_dataset_and_seed_changes_the_figures():
    at = run_app()
    before = boundary(at)
    at.multiselect(key="w_activations").set_value(["relu", "gelu"]).run()
    assert not at.exception
    assert n_boundaries(at) == 2
    assert [t.split(" ·")[0] for t in subplot_titles(at)] == ["ReLU", "GELU"]
    at.selectbox(key="w_dataset").set_value("circles").run()
    assert at.session_state["nnviz"].experiment.cfg.dataset == "circles"
    after_dataset = boundary(at)
    at.number_input(key="w_seed").set_value(7).run()
    assert at.session_state["nnviz"].experiment.cfg.seed == 7
    after_seed = boundary(at)
    assert before["data"] != after_dataset["data"]  # other points
    shading = [
        [im["source"] for im in spec["layout"]["images"]] for spec in (before, after_dataset, after_seed)
    ]
    assert shading[0] != shading[1] != shading[2]  # and other boundaries, for the new seed too
    assert at.query_params["seed"] == "7" and at.query_params["dataset"] == "circles"


def test_url_restores_settings():
    cfg = Config(dataset="xor", activations=("tanh", "relu", "elu"), seed=4, width=12, lr=0.1, epochs=50)
    at = run_app(cfg.to_params())
    assert at.session_state["nnviz"].experiment.cfg == cfg
    assert at.selectbox(key="w_dataset").value == "xor"
    assert at.slider(key="w_width").value == 12
    assert n_boundaries(at) == 3
    assert not at.warning


@pytest.mark.parametrize(
    "query",
    [
        {"dataset": "mars", "width": "wide"},
        {"lr": "nan", "epochs": "1e99"},
        {"act": "relu,<script>alert(1)</script>"},
        {"bogus": "1", "width": "-3"},
    ],
)
def test_junk_url_parameters_warn_and_fall_back(query):
    at = run_app(query)
    assert at.warning, "a visible warning lists the bad parameters"
    cfg = at.session_state["nnviz"].experiment.cfg
    assert cfg.dataset in ("moons",) and 1 <= cfg.width <= 64
    assert n_boundaries(at) >= 1


def test_step_and_reset_buttons():
    at = run_app({"epochs": "40"})
    at.button(key="reset").click().run()
    assert at.session_state["nnviz"].experiment.epoch == 0
    at.button(key="step").click().run()
    assert at.session_state["nnviz"].experiment.epoch == 10
    assert at.session_state["nnviz"].playing is False


def test_only_the_open_tab_is_computed():
    at = run_app()
    assert at.session_state["main_tab"] == "Compare"
    assert not any(s.key == "zoo_act" for s in at.selectbox)  # the zoo is not built while hidden
    at.session_state["main_tab"] = "Diagnostics"
    at.run()
    assert not at.exception
    assert any("Confusion" in s.value for s in at.subheader)


@pytest.mark.parametrize("tab", ["Diagnostics", "Neurons", "Replay", "Seeds"])
def test_every_view_renders_for_single_and_multi_seed(tab):
    for query in (
        {"epochs": "30"},
        {"epochs": "30", "n_seeds": "3", "act": "relu,prelu", "dataset": "spiral3"},
    ):
        at = run_app(query)
        at.session_state["main_tab"] = tab
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        assert not at.error, [e.value for e in at.error]


def test_activation_zoo_parameter_moves_the_curve():
    at = run_app()
    at.session_state["main_tab"] = "Activation zoo"
    at.run()
    at.selectbox(key="zoo_act").set_value("leaky_relu").run()
    first = charts(at)["zoo_plot"]
    at.slider(key="zoo_leaky_relu_slope").set_value(0.3).run()
    second = charts(at)["zoo_plot"]
    assert first["data"] != second["data"]
    assert any("max" in latex.value for latex in at.latex)


def test_charts_fall_back_to_st_plotly_chart_without_static_serving(monkeypatch):
    """If plotly.js cannot be served (static serving off, a read-only checkout), every chart is drawn
    with st.plotly_chart instead: slower live updates, the same figures."""
    from nnviz.ui import charts as chart_module

    real = chart_module.st.get_option
    monkeypatch.setattr(
        chart_module.st,
        "get_option",
        lambda name: False if name == "server.enableStaticServing" else real(name),
    )
    chart_module._component.cache_clear()
    try:
        at = run_app()
        assert not charts(at), "no custom chart component without static serving"
        specs = [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]
        assert len(specs) == 2 and len(specs[0]["layout"]["images"]) == 4  # boundaries and curves
    finally:
        chart_module._component.cache_clear()


def test_with_the_live_websocket_the_boundary_chart_names_its_stream(monkeypatch):
    """Served by serve.py, a playing chart carries where its live frames come from; a paused one none."""
    from nnviz.ui.live import route as live

    monkeypatch.setattr(live, "_served", True)
    at = run_app({"epochs": "5000"})
    stream = boundary_payload(at)["stream"]
    channel = at.session_state["nnviz"].live.channel
    assert stream["path"] == channel.path and stream["path"].startswith("nnviz/live/")
    # (the first run does not train: the streaming loop does, once the page has opened the websocket)
    assert stream["epoch"] == at.session_state["nnviz"].experiment.epoch == 0
    at.button(key="play").click().run()  # pause
    assert boundary_payload(at)["stream"] is None


def test_a_training_error_stops_playing_with_a_message(monkeypatch):
    from nnviz.experiment import Experiment

    def broken(self, max_steps, until_epoch=None):  # every way of training goes through advance
        raise RuntimeError("out of cheese")

    monkeypatch.setattr(Experiment, "advance", broken)
    at = run_app()
    assert any("Training stopped by an error: out of cheese" in e.value for e in at.error)
    assert at.session_state["nnviz"].playing is False
    assert n_boundaries(at) == 4  # the page is still there
    at.button(key="step").click().run()  # Step says so too, without a traceback
    assert not at.exception and any("out of cheese" in e.value for e in at.error)


@pytest.mark.parametrize("served", [False, True])
def test_the_first_page_paints_the_boundaries_as_plain_pictures(monkeypatch, served):
    """Before the chart's script and plotly.js are there, the session's first page shows each panel as
    a picture (shading and data) under its title; later runs do not send it again."""
    from nnviz.ui.live import route as live

    monkeypatch.setattr(live, "_served", served)
    at = run_app({"act": "relu,tanh,gelu"})
    pictures = [h.proto.body for h in at.get("html") if "nnviz-first-paint" in h.proto.body]
    assert len(pictures) == 1
    body = pictures[0]
    assert body.count("<img ") == 3 and body.count('src="data:image/png;base64,') == 3
    assert all(name in body for name in ("ReLU", "Tanh", "GELU")) and "<script" not in body
    at.button(key="step").click().run()
    assert not [h for h in at.get("html") if "nnviz-first-paint" in h.proto.body]


def test_a_preset_travels_in_the_url_and_brings_its_explanation():
    from nnviz.presets import load_presets

    preset = load_presets()["03-dying-relu"]
    at = run_app({"preset": preset.key})  # the key alone loads the preset's settings
    assert at.session_state["nnviz"].experiment.cfg == preset.config
    assert any(preset.title in i.value for i in at.info), [i.value for i in at.info]
    assert at.query_params["preset"] == preset.key and at.query_params["lr"] == "8.0"
    assert at.selectbox(key="preset_choice").value == preset.key
    at.slider(key="w_width").set_value(12).run()  # the user moves on: the claim no longer applies
    assert "preset" not in at.query_params
    assert not any(preset.title in i.value for i in at.info)


def test_a_bad_preset_in_the_url_warns_and_keeps_the_rest():
    at = run_app({"preset": "99-<b>nope</b>", "width": "12"})
    assert any("preset" in w.value and "not one of the guided experiments" in w.value for w in at.warning)
    assert at.session_state["nnviz"].experiment.cfg.width == 12


def test_picking_a_dataset_applies_its_defaults_unless_the_user_set_them():
    at = run_app()
    at.selectbox(key="w_dataset").set_value("xor").run()
    cfg = at.session_state["nnviz"].experiment.cfg
    assert (cfg.noise, cfg.epochs) == (0.1, 300)
    assert at.query_params.get("noise") is None and at.query_params["dataset"] == "xor"
    at.slider(key="w_noise").set_value(0.3).run()  # the user's own noise stays on the next dataset
    at.selectbox(key="w_dataset").set_value("circles").run()
    cfg = at.session_state["nnviz"].experiment.cfg
    assert cfg.noise == 0.3 and cfg.epochs == 300  # circles' epochs (xor's were still the default)
    at.selectbox(key="w_dataset").set_value("checkerboard").run()
    cfg = at.session_state["nnviz"].experiment.cfg
    assert (cfg.n_samples, cfg.width, cfg.epochs, cfg.noise) == (1000, 32, 500, 0.3)


def test_the_summary_names_every_run_with_one_verdict_line_and_people_numbers():
    at = run_app({"preset": "07-too-high-learning-rate", "epochs": "20"})
    exp = at.session_state["nnviz"].experiment
    exp.step(20)
    at.button(key="step").click().run()  # a rerun with the trained experiment (Step: nothing left)
    lines = [m.value for m in at.markdown if m.value.startswith("**") and "**:" in m.value]
    assert [line.split("**")[1] for line in lines] == [
        "Linear (identity) · lr 0.03", "Linear (identity) · lr 10 ✕ diverged", "ReLU · lr 0.03", "ReLU · lr 10",
        "Tanh · lr 0.03", "Tanh · lr 10",
    ]  # fmt: skip
    assert "diverged at epoch" in lines[1] and "diverged" not in lines[0]
    table = at.dataframe[0].value
    assert "e+" in table["train loss"][1] and "." in table["train loss"][1]  # 2.3e+16, not 23066568539766784
    assert all(cell != "None" for column in table.columns for cell in table[column].astype(str))
