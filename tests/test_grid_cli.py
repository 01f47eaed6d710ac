"""Exports and the headless CLI of a grid: a lockstep grid (an Experiment varying lr) and a
GridExperiment (one lockstep group per value of a setting that changes the network or the data)."""

import csv
import io
import json

import numpy as np
import pytest
import torch

from nnviz import cli, export
from nnviz.config import Config
from nnviz.grid import build, is_grid

EPOCHS = 3
BASE = Config(activations=("relu", "tanh"), n_seeds=2, epochs=EPOCHS, n_samples=100, width=6)
GRIDS = {
    "lr": BASE.replace(vary="lr", values=("0.01", "1")),  # lockstep: one trainer
    "hidden_layers": BASE.replace(vary="hidden_layers", values=("1", "2")),  # a GridExperiment
    "standardize": BASE.replace(vary="standardize", values=("0", "1")),  # rows scale the inputs apart
}
# runs are activation-major, then row, then seed: relu (row 0: seeds 0, 1; row 1: 0, 1), then tanh
ACTS = ["relu"] * 4 + ["tanh"] * 4
SEEDS = [0, 1] * 4
ROWS = [0, 0, 1, 1] * 2


def _trained(cfg: Config):
    exp = build(cfg)
    exp.step(cfg.epochs)
    return exp


@pytest.fixture(scope="module", params=list(GRIDS))
def grid(request):
    return _trained(GRIDS[request.param])


def _rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def _cells(line: str) -> tuple[str, str]:
    """The activation and the value of a line of the CLI's summary table (18 characters, then the value)."""
    return line[:18].strip(), line[19:].split()[0]


def test_the_grids_are_of_both_kinds(grid):
    assert is_grid(grid) == (grid.cfg.vary != "lr")


def test_summary_csv_names_the_varied_setting_and_each_runs_value(grid):
    cfg = grid.cfg
    rows = _rows(export.summary_csv(grid))
    assert len(rows) == cfg.n_runs == 8
    assert list(rows[0])[:6] == ["run", "activation", "seed", "varied", "value", "epochs"]
    assert [r["varied"] for r in rows] == [cfg.vary] * 8
    assert [r["value"] for r in rows] == [cfg.values[r] for r in ROWS]
    assert [r["activation"] for r in rows] == ACTS and [int(r["seed"]) for r in rows] == SEEDS
    for k, row in enumerate(rows):  # each row's numbers are that run's, wherever it trained
        part, j = grid.locate(k)
        assert float(row["val_loss"]) == pytest.approx(part.history()["val_loss"][-1, j], rel=1e-5)


def test_histories_csv_names_the_varied_setting_and_each_runs_value(grid):
    cfg = grid.cfg
    rows = _rows(export.histories_csv(grid))
    assert list(rows[0])[:5] == ["run", "activation", "seed", "varied", "value"]
    assert len(rows) == cfg.n_runs * EPOCHS * 2
    for k in range(cfg.n_runs):
        mine = [r for r in rows if r["run"] == str(k)]
        assert {(r["activation"], r["seed"], r["varied"], r["value"]) for r in mine} == {
            (ACTS[k], str(SEEDS[k]), cfg.vary, cfg.values[ROWS[k]])
        }
        part, j = grid.locate(k)
        last = [r for r in mine if r["epoch"] == str(EPOCHS) and r["split"] == "train"][0]
        assert float(last["loss"]) == pytest.approx(part.history()["train_loss"][-1, j], rel=1e-5)


def test_weights_of_a_grid_reproduce_each_runs_predictions(grid):
    payload = torch.load(io.BytesIO(export.weights_bytes(grid)), weights_only=False)
    assert payload["varied"] == grid.cfg.vary and len(payload["runs"]) == grid.n_runs
    shapes = {tuple(run["dims"]) for run in payload["runs"]}
    assert ("dims" in payload) == (len(shapes) == 1)  # top level only when every run shares it
    for k, entry in enumerate(payload["runs"]):
        part, j = grid.locate(k)
        assert (entry["row"], entry["value"]) == (ROWS[k], grid.cfg.values[ROWS[k]])
        assert entry["dims"] == part.trainer.dims
        X, _ = part.data_xy("val")  # raw points: scaled as the run's own record says
        scaling = entry["standardize"]
        x = ((X - np.array(scaling["mean"])) / np.array(scaling["scale"])).astype(np.float32)
        np.testing.assert_allclose(x, part.split.X_val, atol=1e-5)
        model = export.load_run_model(payload, k)
        with torch.no_grad():
            p1 = torch.sigmoid(model(torch.from_numpy(x))[:, 0]).numpy()
        np.testing.assert_allclose(p1, part.trainer.predict_proba(part.split.X_val)[j, :, 1], atol=1e-5)
    if grid.cfg.vary == "hidden_layers":
        assert shapes == {(2, 6, 1), (2, 6, 6, 1)}
    if grid.cfg.vary == "standardize":
        assert "standardize" not in payload
        assert payload["runs"][0]["standardize"]["mean"] == [0.0, 0.0]
        assert payload["runs"][2]["standardize"]["mean"] != [0.0, 0.0]


@pytest.mark.parametrize(
    "cfg",
    [
        Config(vary="lr", values=("0.003", "0.3")),
        Config(vary="dataset", values=("moons", "circles", "xor"), n_seeds=2),
        Config(vary="batch_norm", values=("0", "1")),
    ],
)
def test_config_json_round_trips_a_grid(cfg):
    text = export.config_json(cfg)
    params = json.loads(text)["params"]
    assert params["vary"] == cfg.vary and params["values"] == ",".join(cfg.values)
    assert export.config_from_json(text) == cfg


def test_cli_compare_vary_writes_a_grid_and_run_reproduces_it(tmp_path, capsys):
    out = tmp_path / "out"
    assert cli.main(["compare", "--vary", "lr=0.1,8", "--epochs", "3", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "8 runs x 3 epochs on moons (lr = 0.1, 8)" in printed
    table = printed[printed.index("activation") :].splitlines()
    assert table[0].split()[:2] == ["activation", "lr"]
    assert [_cells(line) for line in table[1:9]] == [
        (name, value) for name in ("Sigmoid", "Tanh", "ReLU", "Leaky ReLU") for value in ("0.1", "8")
    ]
    rows = _rows((out / "summary.csv").read_text())
    cfg = export.config_from_json((out / "config.json").read_text())
    assert (cfg.vary, cfg.values) == ("lr", ("0.1", "8")) and len(rows) == cfg.n_runs == 8
    assert [(r["varied"], r["value"]) for r in rows] == [("lr", v) for _ in range(4) for v in ("0.1", "8")]
    assert {r["value"] for r in _rows((out / "histories.csv").read_text())} == {"0.1", "8"}
    assert "4 activations × 2 values of lr: 0.1, 8" in (out / "report.html").read_text()

    again = tmp_path / "again"
    assert cli.main(["run", "--config", str(out / "config.json"), "--out", str(again)]) == 0
    assert (again / "histories.csv").read_text() == (out / "histories.csv").read_text()


@pytest.mark.parametrize(
    "vary, values",
    [
        ("dataset=moons,circles,xor", ["Moons", "Circles", "XOR"]),
        ("batch_norm=false,true", ["off", "on"]),
        ("hidden_layers=1,3", ["1", "3"]),
    ],
)
def test_cli_compare_varies_settings_that_change_the_network_or_the_data(vary, values, tmp_path, capsys):
    out = tmp_path / "out"
    argv = ["compare", "--vary", vary, "--activations", "relu,tanh", "--epochs", "2", "--out", str(out)]
    assert cli.main(argv) == 0
    table = capsys.readouterr().out.split("\n\n", 1)[1].splitlines()
    lines = table[1 : 1 + 2 * len(values)]
    assert [_cells(line) for line in lines] == [(a, v) for a in ("ReLU", "Tanh") for v in values]
    assert table[1 + 2 * len(values)].startswith("wrote ")
    rows = _rows((out / "summary.csv").read_text())
    assert len(rows) == 2 * len(values)
    assert [r["varied"] for r in rows] == [vary.split("=")[0]] * len(rows)
    payload = torch.load(out / "weights.pt", weights_only=False)
    assert len(payload["runs"]) == len(rows)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--vary", "bogus=1,2"], "'bogus' cannot be varied"),
        (["--vary", "lr=abc"], "not valid values of lr"),
        (["--vary", "lr=1"], "lr needs 2 to 4 different values, got 1"),
        (["--vary", "lr=0.1,0.1"], "got 1"),
        (["--vary", "lr"], "use setting=value"),
        (["--vary", "dataset=moons,blobs"], "same number of classes"),
        (["--vary", "lr=0.1,1,3", "--seeds", "0-4"], "at most 40"),  # the run cap: 4 x 5 x 3
    ],
)
def test_cli_bad_vary_is_one_clear_line(argv, message, capsys):
    assert cli.main(["compare", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("nnviz: error:") and message in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_parse_vary():
    assert cli.parse_vary("lr=0.1, 8") == ("lr", ("0.1", "8"))
    assert cli.parse_vary("batch_norm=false,true") == ("batch_norm", ("0", "1"))
    with pytest.raises(ValueError, match="--vary"):
        cli.parse_vary("width=0,8")
