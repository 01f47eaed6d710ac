"""The grid: a second compared setting (config, training, equivalence with runs trained alone, figures)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nnviz.config import LOCKSTEP_AXES, MAX_RUNS, VARY, Config, parse_values
from nnviz.engine.trainer import LockstepTrainer
from nnviz.experiment import Experiment
from nnviz.figures import adapters
from nnviz.grid import GridExperiment, build

ACTS = ("sigmoid", "relu", "prelu")


# ---- config and URL ---------------------------------------------------------------------------
def test_url_round_trip_of_vary_and_values():
    cfg, notices = Config.from_params({"vary": "lr", "values": "0.01,1"})
    assert notices == [] and cfg.vary == "lr" and cfg.values == ("0.01", "1")
    assert cfg.to_params() == {"vary": "lr", "values": "0.01,1"}
    assert Config.from_params(cfg.to_params()) == (cfg, [])
    assert [row.lr for row in cfg.rows] == [0.01, 1.0] and cfg.n_runs == 8
    assert cfg.row_label(1) == "lr 1" and all(not row.vary for row in cfg.rows)


@pytest.mark.parametrize("vary", list(VARY))
def test_every_setting_has_valid_default_values_and_round_trips(vary):
    cfg, notices = Config.from_params({"vary": vary})
    assert notices == [] and cfg.values == VARY[vary][1]
    assert len(cfg.rows) == len(cfg.values) and Config.from_params(cfg.to_params())[0] == cfg
    labels = [cfg.row_label(r) for r in range(len(cfg.rows))]
    assert len(set(labels)) == len(labels)  # every row header says which row it is


def test_bool_and_choice_values_parse_like_the_other_keys():
    assert parse_values("batch_norm", "false,true") == ("0", "1")
    assert Config(vary="batch_norm", values=("0", "1")).row_label(1) == "batch norm on"
    assert Config(vary="optimizer", values=("sgd", "adam")).row_label(1) == "optimizer Adam"
    assert Config(vary="batch_size", values=("0", "32")).row_label(0) == "batch full"


@pytest.mark.parametrize(
    "params, field",
    [
        ({"vary": "lr", "values": "0.01,abc"}, "values"),
        ({"vary": "lr", "values": "0.01"}, "values"),  # one value is not a grid
        ({"vary": "lr", "values": "1,2,3,4,5"}, "values"),
        ({"vary": "lr", "values": "-1,2"}, "values"),
        ({"vary": "width", "values": "4,1000"}, "values"),
        ({"vary": "bogus"}, "vary"),
        ({"vary": "seed", "values": "1,2"}, "vary"),
        ({"vary": "dataset", "values": "moons,spiral3"}, "vary"),  # 2 and 3 classes
        ({"vary": "dataset", "values": "moons,upload"}, "values"),
        ({"values": "1,2"}, "values"),
    ],
)
def test_bad_grid_parameters_fall_back_with_a_notice(params, field):
    cfg, notices = Config.from_params(params)
    assert [n.field for n in notices] == [field]
    Config(**{k: getattr(cfg, k) for k in ("vary", "values")})  # what is used is valid


def test_a_config_with_bad_values_does_not_construct():
    with pytest.raises(ValueError, match="values"):
        Config(vary="lr", values=("0.1", "x"))
    with pytest.raises(ValueError, match="vary"):
        Config(vary="nope", values=("1", "2"))
    with pytest.raises(ValueError, match="values"):
        Config(values=("1", "2"))


def test_the_run_cap_counts_rows_and_drops_seeds_then_rows():
    acts = ",".join(
        ("sigmoid", "tanh", "relu", "leaky_relu", "elu", "gelu", "selu", "silu", "mish", "softplus")
    )
    cfg, notices = Config.from_params({"act": acts, "n_seeds": "3", "vary": "lr", "values": "0.01,0.1,1"})
    assert cfg.n_runs <= MAX_RUNS and cfg.n_seeds == 1 and cfg.values == ("0.01", "0.1", "1")
    assert [n.field for n in notices] == ["n_seeds"]
    acts13 = acts + ",softsign,linear,prelu"
    cfg, notices = Config.from_params({"act": acts13, "vary": "lr", "values": "0.01,0.1,1,10"})
    assert cfg.n_runs <= MAX_RUNS and len(cfg.values) == 3 and "values" in [n.field for n in notices]


def test_dataset_rows_take_each_datasets_own_data_settings():
    cfg = Config(vary="dataset", values=("moons", "circles", "gaussians"), width=12)
    rows = cfg.rows
    assert [r.noise for r in rows] == [0.2, 0.15, 1.2] and all(r.width == 12 for r in rows)
    assert cfg.row_label(1) == "dataset Circles"


# ---- training: one lockstep computation, equal to the runs trained alone ---------------------------
def _alone(row: Config, act: str, seed: int) -> Experiment:
    """The same run in an experiment of its own (its own single-setting config)."""
    return Experiment(row.replace(activations=(act,), seed=seed, n_seeds=1))


@pytest.mark.parametrize(
    "vary, values, extra",
    [
        ("lr", ("0.003", "0.3"), {}),
        ("optimizer", ("sgd", "momentum", "adam"), {"lr": 0.1}),
        ("init", ("xavier", "he", "uniform"), {}),
        ("l2", ("0", "0.01"), {"batch_size": 64}),
    ],
)
def test_every_run_of_a_lockstep_grid_equals_the_run_trained_alone(vary, values, extra):
    cfg = Config(vary=vary, values=values, activations=ACTS, n_seeds=2, epochs=12, **extra)
    exp = build(cfg)
    assert isinstance(exp, Experiment) and exp.trainer.n_runs == len(ACTS) * len(values) * 2
    exp.step(12)
    hist = exp.history()
    for k, ((act, seed), r) in enumerate(zip(exp.runs, exp.run_rows, strict=True)):
        alone = _alone(cfg.rows[r], act, seed)
        alone.step(12)
        ref = alone.history()
        for key in ref:
            np.testing.assert_allclose(
                hist[key][:, k], ref[key][:, 0], rtol=1e-5, atol=2e-6, err_msg=f"{k} {key}"
            )
        mine, theirs = exp.trainer.state_dict(k), alone.trainer.state_dict(0)
        assert mine.keys() == theirs.keys()
        for name in mine:
            torch.testing.assert_close(mine[name], theirs[name], rtol=1e-4, atol=1e-5)


def test_a_lockstep_grid_row_of_a_seed_starts_from_the_seeds_weights():
    cfg = Config(vary="lr", values=("0.01", "1"), activations=("relu", "tanh"), n_seeds=2, epochs=3)
    t = LockstepTrainer(cfg, build(cfg).split)
    p = t.params
    for k in range(t.n_runs):  # runs (activation, row, seed): row 0 and row 1 of each seed agree
        same = [j for j in range(t.n_runs) if t.runs[j][1] == t.runs[k][1]]
        for j in same:
            torch.testing.assert_close(p[j], p[k], rtol=0, atol=0)


def test_a_shape_grid_trains_one_group_per_value_each_equal_to_the_row_alone():
    cfg = Config(vary="hidden_layers", values=("1", "3"), activations=ACTS, epochs=10, batch_size=50)
    exp = build(cfg)
    assert isinstance(exp, GridExperiment) and [p.trainer.dims for p in exp.parts] == [
        [2, 8, 1],
        [2, 8, 8, 8, 1],
    ]
    exp.step(10)
    hist = exp.history()
    assert exp.epoch == 10 and hist["val_acc"].shape == (10, len(ACTS) * 2)
    for k, ((act, seed), r) in enumerate(zip(exp.runs, exp.run_rows, strict=True)):
        assert exp.rows[r].label == f"layers {cfg.values[r]}"
        alone = _alone(cfg.rows[r], act, seed)
        alone.step(10)
        for key, ref in alone.history().items():
            np.testing.assert_allclose(hist[key][:, k], ref[:, 0], rtol=1e-5, atol=2e-6)
    summary = exp.summary()
    assert [s.run for s in summary] == list(range(exp.n_runs))
    assert [(s.activation, s.value) for s in summary] == [(a, v) for a in ACTS for v in cfg.values]
    assert {s.varied for s in summary} == {"hidden_layers"}


def test_the_first_layer_of_every_depth_starts_from_the_same_weights():
    """'The same start' for a shape grid: one seed draws every group's weights; layer 1 has the same
    shape at every depth and gets the same values."""
    cfg = Config(vary="hidden_layers", values=("1", "3"), activations=("relu",), epochs=2)
    a, b = (p.trainer.state_dict(0) for p in build(cfg).parts)
    torch.testing.assert_close(a["0.weight"], b["0.weight"])


def test_a_grid_trains_in_step_within_a_time_budget():
    cfg = Config(vary="width", values=("4", "16"), activations=("relu", "tanh"), epochs=400)
    exp = build(cfg)
    exp.train_for(0.3, max_epochs=50)
    epochs = [p.epoch for p in exp.parts]
    assert exp.epoch == min(epochs) > 0 and max(epochs) - min(epochs) <= 50
    exp.train_for(0.3, max_epochs=50)
    assert abs(exp.parts[0].epoch - exp.parts[1].epoch) <= 50 and exp.epoch > min(epochs)
    restarted = exp.restarted()
    assert restarted.epoch == 0 and restarted.cfg == cfg


def test_grid_diagnostics_pad_the_layers_a_shallower_row_lacks():
    cfg = Config(vary="hidden_layers", values=("1", "2"), activations=("relu",), epochs=2, diag_every=1)
    exp = build(cfg)
    exp.step(2)
    d = exp.diagnostics()
    assert d["dead"].shape == (2, 2, 2) and np.isnan(d["dead"][:, 0, 1]).all()
    assert not np.isnan(d["grad_norm"][:, 0, [0, 2]]).any() and np.isnan(d["grad_norm"][:, 0, 1]).all()


def test_lockstep_axes_are_the_ones_the_trainer_takes():
    for vary in VARY:
        cfg = Config(vary=vary, values=VARY[vary][1], activations=("relu",), epochs=1)
        exp = build(cfg)
        assert isinstance(exp, Experiment) == (vary in LOCKSTEP_AXES)
    with pytest.raises(ValueError, match="one trainer per value"):
        LockstepTrainer(Config(vary="width", values=("4", "8")), build(Config()).split)


# ---- figures ------------------------------------------------------------------------------------
def test_grid_figure_has_a_block_per_row_with_its_header_and_shared_axes():
    cfg = Config(vary="lr", values=("0.01", "1"), activations=("sigmoid", "relu", "tanh"), epochs=3)
    exp = build(cfg)
    exp.step(2)
    fig = adapters.experiment_boundary_figure(exp, 30, ncols=adapters.grid_columns(exp)).to_plotly_json()
    layout = fig["layout"]
    headers = [a["text"] for a in layout["annotations"] if a.get("textangle") == -90]
    assert headers == ["<b>lr 0.01</b>", "<b>lr 1</b>"]
    titles = [a["text"] for a in layout["annotations"] if "val" in a["text"]]
    assert len(titles) == 6 and "lr" not in "".join(titles)  # panel titles name the activation alone
    assert len(layout["images"]) == 6
    roots = [k for k, v in layout.items() if k.startswith("xaxis") and "matches" not in v]
    assert roots == ["xaxis"]  # the same data in every row: one zoom for the whole grid
    assert layout["meta"]["nominalWidth"] > 0


def test_dataset_rows_have_axes_of_their_own():
    cfg = Config(vary="dataset", values=("moons", "circles"), activations=("relu", "tanh"), epochs=2)
    exp = build(cfg)
    fig = adapters.experiment_boundary_figure(exp, 30, ncols=2).to_plotly_json()["layout"]
    roots = sorted(k for k, v in fig.items() if k.startswith("xaxis") and "matches" not in v)
    assert roots == ["xaxis", "xaxis3"]  # each row's first panel; zoom one row, not the other
    assert fig["xaxis"]["range"] != fig["xaxis3"]["range"]
    assert len(adapters.experiment_shading(exp, 30)) == 4 == len(adapters.boundary_titles(exp))


def test_grid_curves_tell_rows_apart_by_line_style():
    cfg = Config(vary="lr", values=("0.01", "1"), activations=("relu", "tanh"), epochs=3)
    exp = build(cfg)
    exp.step(3)
    from nnviz.figures.curves import curves_figure

    fig = curves_figure(
        exp.history(), labels=exp.run_labels, colors=adapters.run_colors(exp), dashes=adapters.run_dashes(exp),
        rows_note=adapters.rows_note(exp),
    ).to_plotly_json()  # fmt: skip
    dashes = {t["name"]: t["line"]["dash"] for t in fig["data"] if t.get("showlegend")}
    assert dashes == {
        "ReLU · lr 0.01": "solid",
        "ReLU · lr 1": "dash",
        "Tanh · lr 0.01": "solid",
        "Tanh · lr 1": "dash",
    }
    assert "dashed: lr 1" in fig["layout"]["legend"]["title"]["text"]
