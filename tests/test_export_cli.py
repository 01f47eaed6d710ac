"""Exports (CSV, config JSON, weights, HTML report) and the headless CLI."""

import csv
import io
import json

import numpy as np
import pytest
import torch

from nnviz import cli, export
from nnviz.config import Config
from nnviz.experiment import Experiment

CFG = Config(activations=("relu", "tanh", "prelu"), n_seeds=2, epochs=30, hidden_layers=2, width=6)


@pytest.fixture(scope="module")
def exp():
    e = Experiment(CFG)
    e.step(CFG.epochs)
    return e


def test_histories_csv_is_tidy(exp):
    rows = list(csv.DictReader(io.StringIO(export.histories_csv(exp))))
    assert list(rows[0]) == [
        "run", "activation", "seed", "varied", "value", "epoch", "split", "loss", "accuracy",
    ]  # fmt: skip
    assert len(rows) == CFG.n_runs * CFG.epochs * 2
    assert {(r["varied"], r["value"]) for r in rows} == {("", "")}  # no grid
    hist = exp.trainer.history()
    last = [r for r in rows if r["run"] == "5" and r["epoch"] == "30" and r["split"] == "val"][0]
    assert last["activation"] == "prelu" and last["seed"] == "1"
    assert float(last["loss"]) == pytest.approx(hist["val_loss"][-1, 5], rel=1e-5)


def test_summary_csv_has_a_row_per_run(exp):
    rows = list(csv.DictReader(io.StringIO(export.summary_csv(exp))))
    assert len(rows) == CFG.n_runs
    assert {"val_acc", "f1", "epochs_to_90", "verdicts"} <= set(rows[0])
    assert list(rows[0])[:6] == ["run", "activation", "seed", "varied", "value", "epochs"]
    assert {(r["varied"], r["value"]) for r in rows} == {("", "")}


def test_config_json_round_trip_and_strictness():
    text = export.config_json(CFG)
    assert json.loads(text)["params"]["act"] == "relu,tanh,prelu"
    assert export.config_from_json(text) == CFG
    with pytest.raises(ValueError, match="not valid JSON"):
        export.config_from_json("{nope")
    with pytest.raises(ValueError, match="width"):
        export.config_from_json(json.dumps({"params": {"width": "999"}}))
    with pytest.raises(ValueError, match="params"):
        export.config_from_json("[1, 2]")


def test_weights_load_into_a_plain_torch_module(exp):
    payload = torch.load(io.BytesIO(export.weights_bytes(exp)), weights_only=False)
    assert payload["dims"] == exp.trainer.dims and payload["varied"] == ""  # the shared keys, as before
    assert payload["standardize"]["mean"] == exp.split.mean.tolist()
    X = exp.split.X_val
    probs = exp.trainer.predict_proba(X)
    for run in range(CFG.n_runs):
        model = export.load_run_model(payload, run)
        with torch.no_grad():
            p1 = torch.sigmoid(model(torch.from_numpy(X))[:, 0]).numpy()
        np.testing.assert_allclose(p1, probs[run, :, 1], atol=1e-5)


def test_dataset_csv(exp):
    X, y = exp.data_xy("train")
    rows = list(csv.reader(io.StringIO(export.dataset_csv(X, y))))
    assert rows[0] == ["x1", "x2", "label"] and len(rows) == len(y) + 1


def test_cli_compare_writes_everything_and_run_reproduces_exactly(tmp_path, capsys):
    out = tmp_path / "out"
    code = cli.main(
        [
            "compare",
            "--dataset",
            "xor",
            "--activations",
            "relu,tanh",
            "--seeds",
            "2-3",
            "--epochs",
            "40",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "ReLU" in printed and "±" in printed  # mean +- std over the two seeds
    for name in ("histories.csv", "summary.csv", "config.json", "report.html", "weights.pt"):
        assert (out / name).stat().st_size > 0
    report = (out / "report.html").read_text()
    assert "Decision boundaries" in report and "plotly" in report.lower()

    again = tmp_path / "again"
    assert cli.main(["run", "--config", str(out / "config.json"), "--out", str(again)]) == 0
    assert (again / "histories.csv").read_text() == (out / "histories.csv").read_text()

    # and the numbers equal what the app's Experiment computes for the same config
    cfg = export.config_from_json((out / "config.json").read_text())
    exp = Experiment(cfg)
    exp.step(cfg.epochs)
    assert export.histories_csv(exp) == (out / "histories.csv").read_text()


@pytest.mark.parametrize(
    "argv, message",
    [
        (["compare", "--dataset", "mars"], "dataset"),
        (["compare", "--seeds", "3-1"], "seeds"),
        (["compare", "--seeds", "a-b"], "seeds"),
        (["compare", "--set", "lr"], "key=value"),
        (["compare", "--set", "lr=1e9"], "lr"),
        (["compare", "--activations", "relu,swoosh"], "swoosh"),
        (["run", "--config", "/nonexistent/config.json"], "cannot read"),
    ],
)
def test_cli_bad_input_is_one_clear_line(argv, message, capsys):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("nnviz: error:") and message in err and "Traceback" not in err


def test_parse_seeds():
    assert cli.parse_seeds("0-4") == (0, 5)
    assert cli.parse_seeds("7") == (7, 1)
    assert cli.parse_seeds("2,3,4") == (2, 3)
    with pytest.raises(ValueError):
        cli.parse_seeds("1,3")
