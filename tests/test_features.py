"""The network's input features (TF Playground's x1, x2, x1², x2², x1x2, sin x1, sin x2): the config
and its URL key, the transform against numpy, the trainer against per-model PyTorch on the same
features, everything that evaluates a network going through the transform, the exports, the page,
the CLI, and the preset's claim."""

import io
import json

import numpy as np
import pytest
import torch

from nnviz import cli, export
from nnviz.analysis import inside
from nnviz.analysis.network import networks
from nnviz.config import Config
from nnviz.data.features import DEFAULT_FEATURES, FEATURES, InputMap
from nnviz.engine.params import Layout
from nnviz.engine.trainer import LockstepTrainer
from nnviz.experiment import Experiment
from nnviz.presets import load_presets
from tests.test_app import charts, run_app
from tests.test_training import assert_matches_reference, make_split

ALL = tuple(FEATURES)
SQUARES = ("x1sq", "x2sq")


def numpy_features(points: np.ndarray) -> np.ndarray:
    """Every feature of points ``[N, 2]`` as TF Playground defines them (src/playground.ts, INPUTS)."""
    a, b = points[:, 0].astype(np.float64), points[:, 1].astype(np.float64)
    return np.stack([a, b, a * a, b * b, a * b, np.sin(a), np.sin(b)], axis=1)


# ---- the config and its URL key -------------------------------------------------------------------


def test_features_round_trip_through_the_url_and_are_left_out_at_their_default():
    cfg = Config(dataset="circles", features=SQUARES)
    assert cfg.to_params() == {"dataset": "circles", "features": "x1sq,x2sq"}
    assert Config.from_params(cfg.to_params()) == (cfg, [])
    assert "features" not in Config().to_params()
    assert Config().to_params(full=True)["features"] == "x1,x2"
    every = Config(features=ALL)
    assert Config.from_params(every.to_params()) == (every, [])
    assert export.config_from_json(export.config_json(cfg)) == cfg
    assert json.loads(export.config_json(cfg))["params"]["features"] == "x1sq,x2sq"
    # written in any order, they are used in TF Playground's (the registry's)
    assert Config.from_params({"features": " x2sq, x1sq "})[0].features == SQUARES


@pytest.mark.parametrize("raw", ["x1,nope", "", ",,", "x1,x1", "x1sq;x2sq", "<script>alert(1)</script>"])
def test_junk_features_fall_back_to_x1_x2_with_a_notice(raw):
    cfg, notices = Config.from_params({"features": raw, "width": "12"})
    assert cfg.features == DEFAULT_FEATURES and cfg.width == 12
    assert [(n.field, n.used) for n in notices] == [("features", "x1,x2")]
    assert "features" in str(notices[0]) and "using x1,x2" in str(notices[0])


@pytest.mark.parametrize("features", [(), ("x1", "nope"), ("x1", "x1"), ("x2", "x1"), ["x1", "x2"]])
def test_a_config_refuses_features_that_are_unknown_missing_repeated_or_out_of_order(features):
    with pytest.raises(ValueError, match="features"):
        Config(features=features)


def test_the_cli_compares_on_other_features(capsys):
    argv = ["compare", "--set", "features=x1sq,x2sq", "--epochs", "3", "--activations", "linear,relu"]
    assert cli.main(argv) == 0
    printed = capsys.readouterr().out
    assert "with inputs x₁², x₂²" in printed and "Linear" in printed
    assert cli.main(["compare", "--set", "features=x3", "--epochs", "3"]) == 2
    assert "features" in capsys.readouterr().err


# ---- the transform ----------------------------------------------------------------------------------


def test_the_features_are_tf_playgrounds_standardised_on_the_training_points():
    rng = np.random.default_rng(0)
    train = rng.normal(size=(200, 2)).astype(np.float32) * [1.5, 0.7]
    other = rng.uniform(-3, 3, size=(50, 2)).astype(np.float32)
    inputs = InputMap.fit(ALL, train)
    raw = numpy_features(train)
    mean, std = raw.mean(0), raw.std(0)
    np.testing.assert_allclose(inputs.mean, mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(inputs.std, std, rtol=1e-5)
    got = inputs.apply(other)
    assert got.dtype == np.float32 and got.shape == (50, 7)
    np.testing.assert_allclose(got, (numpy_features(other) - mean) / std, rtol=1e-4, atol=1e-5)
    # unscaled when the inputs are not standardised; torch in, torch out
    plain = InputMap.fit(("x1x2", "sinx2"), train, standardize=False)
    np.testing.assert_allclose(plain.apply(torch.from_numpy(other)).numpy(), numpy_features(other)[:, [4, 6]],
                               rtol=1e-5, atol=1e-6)  # fmt: skip
    # the default features are the identity: the very points, untouched
    assert InputMap.fit(DEFAULT_FEATURES, train).apply(other) is other
    # a constant feature keeps std 1 (as the split's standardisation does)
    assert InputMap.fit(("x1sq",), np.zeros((5, 2), np.float32)).std.tolist() == [1.0]


# ---- the trainer ------------------------------------------------------------------------------------


def test_full_batch_on_features_matches_per_model_pytorch():
    cfg = Config(
        activations=("linear", "relu", "tanh", "prelu"), features=("x1", "x1sq", "x2sq", "x1x2", "sinx2"),
        lr=0.05, epochs=25, width=6,
    )  # fmt: skip
    assert_matches_reference(cfg, make_split("circles"))


def test_minibatches_two_seeds_unscaled_on_features_match_per_model_pytorch():
    cfg = Config(
        activations=("relu", "sigmoid"), features=("x2", "x1x2", "sinx1"), optimizer="sgd", lr=0.1,
        batch_size=16, epochs=6, n_seeds=2, seed=2, standardize=False,
    )  # fmt: skip
    assert_matches_reference(cfg, make_split("xor"))


def test_predict_proba_hidden_outputs_and_the_views_go_through_the_features():
    """A crafted network: one linear unit h = f1 + f2 (the standardised x1² and x2²), logit = h."""
    split = make_split("circles")
    cfg = Config(activations=("linear",), features=SQUARES, hidden_layers=1, width=1, epochs=1)
    trainer = LockstepTrainer(cfg, split)
    assert trainer.dims == [2, 1, 1]
    layer, out = Layout(trainer.dims, prelu=False, batch_norm=False).views(trainer.params)
    for view, value in ((layer["W"], 1.0), (layer["b"], 0.0), (out["W"], 1.0), (out["b"], 0.0)):
        view.fill_(value)
    raw = numpy_features(split.X_train)[:, 2:4]
    mean, std = raw.mean(0), raw.std(0)
    x = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, -2.0], [-1.5, 1.0]], np.float32)
    h = ((numpy_features(x)[:, 2:4] - mean) / std).sum(1)
    p1 = 1 / (1 + np.exp(-h))
    np.testing.assert_allclose(trainer.predict_proba(x)[0, :, 1], p1, rtol=1e-5)
    np.testing.assert_allclose(trainer.hidden_outputs(x)[0][0, 0], h, rtol=1e-5, atol=1e-6)
    # x1, x2 themselves would give sigmoid(x1 + x2): 0.5 at the origin, not sigmoid(h(0))
    assert abs(trainer.predict_proba(x[:1])[0, 0, 1] - 0.5) > 0.1
    expected = (numpy_features(x)[:, 2:4] - mean) / std
    np.testing.assert_allclose(trainer.input_features(x), expected, rtol=1e-5, atol=1e-6)


def test_the_network_and_neurons_views_start_with_the_features():
    exp = Experiment(
        Config(dataset="circles", activations=("relu",), features=("x1", "x2sq", "sinx1"), epochs=2)
    )
    exp.step(2)
    grid = exp.make_grid(12)
    scaled = (grid.points - exp.split.mean) / exp.split.scale
    expected = exp.trainer.input_features(scaled).T.reshape(3, 12, 12)
    maps = inside.input_maps(exp.trainer, grid, exp.split.mean, exp.split.scale)
    np.testing.assert_array_equal(maps, expected)
    assert not np.allclose(maps[1], scaled[:, 1].reshape(12, 12))  # x2², not x2
    net = networks(exp.trainer, [0], grid, exp.split.mean, exp.split.scale)[0]
    assert net.dims[0] == 3 and net.input_names == ("x1", "x2sq", "sinx1")
    np.testing.assert_allclose(net.maps[0], expected)
    assert exp.trainer.inputs.labels == ["x₁", "x₂²", "sin x₁"]


# ---- exports ----------------------------------------------------------------------------------------


def test_a_weights_export_documents_its_inputs_and_a_loaded_model_uses_them():
    exp = Experiment(Config(dataset="circles", activations=("relu", "tanh"), features=SQUARES, epochs=10))
    exp.step(10)
    payload = torch.load(io.BytesIO(export.weights_bytes(exp)), weights_only=False)
    inputs = exp.trainer.inputs
    assert payload["inputs"] == {
        "names": list(SQUARES),
        "mean": inputs.mean.tolist(),
        "std": inputs.std.tolist(),
    }
    assert payload["runs"][1]["inputs"] == payload["inputs"] and payload["config"]["features"] == "x1sq,x2sq"
    assert payload["dims"][0] == 2 and inputs.std.tolist() != [1.0, 1.0]
    X, _ = exp.data_xy("val")  # data coordinates
    probs = exp.trainer.predict_proba(exp.split.X_val)
    for run in range(2):
        model = export.load_run_model(payload, run)
        with torch.no_grad():
            p1 = torch.sigmoid(model(export.model_inputs(payload, run, X))[:, 0]).numpy()
        np.testing.assert_allclose(p1, probs[run, :, 1], atol=1e-5)
    default = torch.load(io.BytesIO(export.weights_bytes(Experiment(Config(epochs=1)))), weights_only=False)
    assert default["inputs"] == {"names": ["x1", "x2"], "mean": [0.0, 0.0], "std": [1.0, 1.0]}


def test_the_report_names_the_input_features():
    from nnviz.figures import report

    exp = Experiment(Config(n_samples=100, epochs=2, features=("x1", "x1x2")))
    exp.step(2)
    assert "<td>Input features</td><td>x₁, x₁x₂</td>" in report.build_report(exp)


# ---- the page ---------------------------------------------------------------------------------------


def test_the_url_picks_the_features_and_the_neurons_tab_draws_them_first():
    at = run_app({"features": "x1sq,x2sq", "epochs": "30", "act": "linear,relu"})
    assert not at.warning, [w.value for w in at.warning]
    assert at.session_state["nnviz"].experiment.cfg.features == SQUARES
    assert at.multiselect(key="w_features").value == list(SQUARES)
    at.session_state["main_tab"] = "Neurons"
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    figure = charts(at)["neurons"]
    titles = [a["text"] for a in figure["layout"]["annotations"]]
    assert titles[:2] == ["x₁²", "x₂²"] and "L1·1" in titles
    assert figure["data"][0]["hovertemplate"].startswith("input x₁²")
    at.session_state["main_tab"] = "Network"
    at.run()
    assert not at.exception and not at.error


def test_the_features_widget_changes_the_network_and_never_empties_it():
    at = run_app({"epochs": "30"})
    assert at.multiselect(key="w_features").value == ["x1", "x2"]
    at.multiselect(key="w_features").set_value(["x1x2", "x1"]).run()
    exp = at.session_state["nnviz"].experiment
    assert exp.cfg.features == ("x1", "x1x2") and exp.trainer.dims[0] == 2
    assert at.query_params["features"] == "x1,x1x2"
    at.multiselect(key="w_features").set_value([]).run()
    assert any("input feature" in w.value for w in at.warning)
    assert at.session_state["nnviz"].experiment.cfg.features == ("x1", "x1x2")


def test_junk_features_in_the_url_warn_and_train_on_x1_x2():
    at = run_app({"features": "x1,bogus"})
    assert any("features" in w.value for w in at.warning)
    assert at.session_state["nnviz"].experiment.cfg.features == DEFAULT_FEATURES


# ---- the preset's claim -------------------------------------------------------------------------------


def val_acc(cfg: Config) -> dict[str, np.ndarray]:
    """Per activation, the last validation accuracy of each of seeds 0-2 (one lockstep experiment)."""
    cfg = cfg.replace(seed=0, n_seeds=3)
    exp = Experiment(cfg)
    exp.step(cfg.epochs)
    last = exp.trainer.history()["val_acc"][-1]
    return {act: last[i * 3 : (i + 1) * 3] for i, act in enumerate(cfg.activations)}


def test_a_linear_layer_on_the_squares_separates_the_circles_and_on_x1_x2_cannot():
    preset = load_presets()["10-input-features"]
    cfg, contrast = preset.config, preset.contrast_config
    assert cfg.dataset == "circles" and cfg.activations == ("linear", "tanh") and cfg.hidden_layers == 1
    assert cfg.features == SQUARES and contrast == cfg.replace(features=DEFAULT_FEATURES)
    on_squares, on_plane = val_acc(cfg), val_acc(contrast)
    assert np.all(on_squares["linear"] > 0.9), on_squares
    assert np.all(on_plane["linear"] < 0.7), on_plane
    assert np.all(on_plane["tanh"] > 0.9), on_plane  # the circles are separable: linear is what fails
