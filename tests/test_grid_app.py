"""The grid in the app, driven headless with AppTest: the URL, the Vary control, every tab."""

import pytest

from nnviz.config import MAX_RUNS, Config
from nnviz.grid import GridExperiment
from tests.test_app import boundary, charts, n_boundaries, run_app


def row_headers(at) -> list[str]:
    return [a["text"] for a in boundary(at)["layout"]["annotations"] if a.get("textangle") == -90]


def test_a_grid_url_opens_a_grid_of_boundaries_with_row_headers():
    cfg = Config(vary="lr", values=("0.01", "1"), activations=("tanh", "relu", "leaky_relu"), epochs=30)
    at = run_app(cfg.to_params())
    assert at.session_state["nnviz"].experiment.cfg == cfg
    assert at.selectbox(key="w_vary").value == "lr" and at.text_input(key="w_values_text").value == "0.01, 1"
    assert n_boundaries(at) == 6 and row_headers(at) == ["<b>lr 0.01</b>", "<b>lr 1</b>"]
    legend = charts(at)["curves"]["layout"]["legend"]["title"]["text"]
    assert "solid: lr 0.01" in legend and "dashed: lr 1" in legend
    assert not at.warning


def test_picking_a_setting_to_vary_brings_its_default_values_and_a_grid():
    at = run_app({"epochs": "20"})
    at.selectbox(key="w_vary").set_value("hidden_layers").run()
    assert not at.exception
    exp = at.session_state["nnviz"].experiment
    assert isinstance(exp, GridExperiment) and exp.cfg.values == ("1", "3", "6")
    assert row_headers(at) == ["<b>layers 1</b>", "<b>layers 3</b>", "<b>layers 6</b>"]
    assert at.query_params["vary"] == "hidden_layers"
    at.selectbox(key="w_vary").set_value("").run()
    assert n_boundaries(at) == 4 and not row_headers(at)


def test_bad_values_keep_the_grid_and_the_text_and_say_why():
    cfg = Config(vary="lr", values=("0.01", "1"), epochs=20)
    at = run_app(cfg.to_params())
    at.text_input(key="w_values_text").set_value("0.01, banana").run()
    assert not at.exception
    assert at.session_state["nnviz"].experiment.cfg.values == ("0.01", "1")  # the last grid stays
    assert at.text_input(key="w_values_text").value == "0.01, banana"  # nothing the user typed is lost
    assert any("banana" in w.value for w in at.warning)
    at.text_input(key="w_values_text").set_value("0.001, 0.01, 0.1").run()
    assert at.session_state["nnviz"].experiment.cfg.values == ("0.001", "0.01", "0.1")
    assert not any("banana" in w.value for w in at.warning)


def test_choice_settings_are_picked_from_their_choices():
    at = run_app({"epochs": "20", "vary": "optimizer"})
    assert at.multiselect(key="w_values_pick").value == ["sgd", "momentum", "adam"]
    at.multiselect(key="w_values_pick").set_value(["sgd", "adam"]).run()
    assert at.session_state["nnviz"].experiment.cfg.values == ("sgd", "adam")
    assert row_headers(at) == ["<b>optimizer SGD</b>", "<b>optimizer Adam</b>"]


def test_a_grid_over_the_run_cap_is_capped_with_a_visible_notice():
    acts = "sigmoid,tanh,relu,leaky_relu,elu,gelu,selu,silu,mish,softplus,softsign"
    at = run_app({"act": acts, "vary": "lr", "values": "0.01,0.1,1,10", "epochs": "10"})
    cfg = at.session_state["nnviz"].experiment.cfg
    assert cfg.n_runs <= MAX_RUNS and len(cfg.values) == 3
    assert any("at most 40" in w.value for w in at.warning)


@pytest.mark.parametrize(
    "query",
    [
        {"vary": "lr", "values": "0.01,1", "n_seeds": "2", "act": "relu,prelu"},
        {"vary": "width", "values": "4,16", "act": "relu,tanh"},
        {"vary": "dataset", "values": "moons,circles", "act": "relu,tanh", "n_seeds": "2"},
    ],
)
@pytest.mark.parametrize("tab", ["Network", "Diagnostics", "Neurons", "Replay", "Seeds"])
def test_every_view_renders_a_grid(query, tab):
    at = run_app({**query, "epochs": "20"})
    at.button(key="step").click().run()
    at.session_state["main_tab"] = tab
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    if isinstance(at.session_state["nnviz"].experiment, GridExperiment) and tab != "Diagnostics":
        assert at.selectbox(key=f"group_{tab}").value == 0  # a row picker: one network shape at a time


def test_the_summary_of_a_grid_has_a_column_of_the_rows_values():
    at = run_app({"vary": "batch_norm", "values": "0,1", "act": "relu,tanh", "epochs": "20"})
    at.button(key="step").click().run()
    table = at.dataframe[0].value
    assert list(table["batch norm"]) == ["off", "on", "off", "on"]
    assert list(table["run"]) == ["ReLU · batch norm off", "ReLU · batch norm on", "Tanh · batch norm off",
                                  "Tanh · batch norm on"]  # fmt: skip
