"""Regression: the datasets, upload detection, metrics against sklearn, the lockstep trainer against
per-model PyTorch, divergence, verdicts, the CLI, the preset's claim and the app's guard."""

import csv
import io
import math

import numpy as np
import pytest
from sklearn import metrics as skm

from nnviz import cli
from nnviz.analysis import metrics
from nnviz.analysis.verdicts import R2_BAD_UNDERFIT, R2_FIT, R2_GOOD, R2_MEAN, R2_OVERFIT_GAP, verdicts
from nnviz.config import Config
from nnviz.data.generators import DATASETS, bumps_target, make_dataset
from nnviz.data.split import split_dataset
from nnviz.data.upload import parse_csv
from nnviz.engine.reference import train_reference
from nnviz.engine.trainer import HISTORY_KEYS_REGRESSION, LockstepTrainer
from nnviz.experiment import Experiment
from nnviz.presets import load_presets

REGRESSION = ("plane", "multigauss")


def reg_split(dataset="multigauss", n=120, seed=0):
    X, y = make_dataset(dataset, n, noise=DATASETS[dataset].default_noise, random_state=seed)
    return split_dataset(X, y, val_fraction=0.25, random_state=seed, standardize=True, task="regression")


# ---- datasets and the split ----------------------------------------------------------------------
@pytest.mark.parametrize("key", REGRESSION)
def test_regression_datasets_shapes_seeds_noise_and_task(key):
    spec = DATASETS[key]
    assert spec.task == "regression" and spec.look_for
    X, y = make_dataset(key, 101, noise=0.0, random_state=3)
    assert X.shape == (101, 2) and X.dtype == np.float32 and y.shape == (101,) and y.dtype == np.float32
    assert np.abs(X).max() <= 1.0 and len(np.unique(y)) > 50  # real-valued targets
    X2, y2 = make_dataset(key, 101, noise=0.0, random_state=3)
    assert np.array_equal(X, X2) and np.array_equal(y, y2)
    assert not np.array_equal(y, make_dataset(key, 101, noise=0.0, random_state=4)[1])
    _, y_noisy = make_dataset(key, 101, noise=0.3, random_state=3)  # same points, jittered targets
    assert np.array_equal(make_dataset(key, 101, noise=0.3, random_state=3)[0], X)
    assert not np.allclose(y, y_noisy)
    with pytest.raises(ValueError, match="regression"):
        make_dataset(key, 101, noise=0.0, random_state=3, n_classes=3)


def test_targets_follow_tf_playground_scaled():
    X, y = make_dataset("plane", 200, noise=0.0, random_state=0)
    np.testing.assert_allclose(y, 0.6 * (X[:, 0] + X[:, 1]), atol=1e-6)  # (x + y) / 10 on [-6, 6]^2
    centres = np.array([[-4, 2.5], [0, 2.5], [4, 2.5], [-4, -2.5], [0, -2.5], [4, -2.5]]) / 6.0
    np.testing.assert_allclose(bumps_target(centres), [1, -1, 1, -1, 1, -1], atol=1e-6)
    assert abs(bumps_target(np.array([[0.0, 0.0]]))[0]) < 0.1  # between the bumps


def test_regression_split_is_a_seeded_permutation_with_one_output():
    X, y = make_dataset("plane", 100, noise=0.1, random_state=0)
    a = split_dataset(X, y, val_fraction=0.2, random_state=5, standardize=False, task="regression")
    b = split_dataset(X, y, val_fraction=0.2, random_state=5, standardize=False, task="regression")
    assert a.task == "regression" and a.n_classes == 1 and a.y_train.dtype == np.float32
    assert len(a.y_val) == 20 and len(a.y_train) == 80 and np.array_equal(a.y_val, b.y_val)
    np.testing.assert_array_equal(np.sort(np.concatenate([a.y_train, a.y_val])), np.sort(y))
    with pytest.raises(ValueError, match="integer|int labels"):
        split_dataset(X, y, val_fraction=0.2, random_state=5, standardize=False)  # classification


# ---- upload ----------------------------------------------------------------------------------------
def _csv(rows) -> bytes:
    buf = io.StringIO()
    csv.writer(buf).writerows([("x1", "x2", "value"), *rows])
    return buf.getvalue().encode()


def test_upload_detects_a_real_valued_third_column():
    rng = np.random.default_rng(0)
    rows = [(f"{a:.3f}", f"{b:.3f}", f"{a * b:.4f}") for a, b in rng.uniform(-1, 1, (40, 2))]
    data = parse_csv(_csv(rows))
    assert data.task == "regression" and data.y.dtype == np.float32 and data.n_classes == 1
    assert any("regression" in note for note in data.notes)
    np.testing.assert_allclose(data.y, [float(r[2]) for r in rows], rtol=1e-6)
    many = parse_csv(_csv([(str(i), str(-i), str(i)) for i in range(30)]))  # 30 whole numbers
    assert many.task == "regression"
    labels = parse_csv(_csv([(str(i), str(-i), str(i % 3)) for i in range(30)]))
    assert labels.task == "classification" and labels.y.dtype == np.int64 and labels.n_classes == 3
    assert not any("regression" in note for note in labels.notes)


def test_an_uploaded_regression_trains_as_regression():
    rng = np.random.default_rng(1)
    rows = [(f"{a:.3f}", f"{b:.3f}", f"{a + b:.4f}") for a, b in rng.uniform(-1, 1, (60, 2))]
    data = parse_csv(_csv(rows))
    exp = Experiment.from_points(Config(dataset="upload", epochs=3), data.X, data.y, "token")
    exp.step(3)
    assert exp.task == "regression" and set(exp.history()) == set(HISTORY_KEYS_REGRESSION)


# ---- metrics ---------------------------------------------------------------------------------------
def test_metrics_equal_sklearn():
    rng = np.random.default_rng(0)
    y = rng.normal(size=50)
    preds = y + rng.normal(scale=[[0.1], [0.5], [2.0]], size=(3, 50))
    for k in range(3):
        assert metrics.mse(y, preds)[k] == pytest.approx(skm.mean_squared_error(y, preds[k]))
        assert metrics.rmse(y, preds)[k] == pytest.approx(math.sqrt(skm.mean_squared_error(y, preds[k])))
        assert metrics.mae(y, preds)[k] == pytest.approx(skm.mean_absolute_error(y, preds[k]))
        assert metrics.r2(y, preds)[k] == pytest.approx(skm.r2_score(y, preds[k]))
    assert metrics.r2(np.ones(4), np.ones((1, 4)))[0] == skm.r2_score(np.ones(4), np.ones(4))
    with pytest.raises(ValueError):
        metrics.r2(y, preds[:, :10])


# ---- the trainer against per-model PyTorch ---------------------------------------------------------
def assert_regression_matches_reference(cfg, split, atol=2e-4):
    trainer = LockstepTrainer(cfg, split)
    trainer.step(cfg.epochs)
    hist = trainer.history()
    assert tuple(hist) == HISTORY_KEYS_REGRESSION
    for k, (act, seed) in enumerate(trainer.runs):
        model, ref = train_reference(cfg, split, act, seed)
        for key in HISTORY_KEYS_REGRESSION:
            np.testing.assert_allclose(
                hist[key][:, k], ref[key], atol=atol, rtol=1e-3, err_msg=f"{act}/{key}"
            )
        for name, value in trainer.state_dict(k).items():
            if not name.endswith("num_batches_tracked"):
                ref_value = model.state_dict()[name].numpy()
                np.testing.assert_allclose(value.numpy(), ref_value, atol=atol, rtol=1e-3, err_msg=name)
    return trainer


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_full_batch_regression_matches_reference(optimizer):
    cfg = Config(dataset="multigauss", activations=("linear", "tanh", "relu", "prelu", "gelu"),
                 optimizer=optimizer, lr=0.05, epochs=20, hidden_layers=2, width=6, n_seeds=2)  # fmt: skip
    trainer = assert_regression_matches_reference(cfg, reg_split())
    assert trainer.dims[-1] == 1 and np.isfinite(trainer.history()["val_r2"]).all()


def test_minibatch_batchnorm_l2_regression_matches_reference():
    cfg = Config(dataset="plane", activations=("relu", "tanh", "elu"), lr=0.02, batch_size=16, epochs=6,
                 n_seeds=2, seed=3, batch_norm=True, l2=0.01, loss="mse")  # fmt: skip
    assert_regression_matches_reference(cfg, reg_split("plane"))


def test_predict_and_predict_proba_for_regression():
    split = reg_split()
    trainer = LockstepTrainer(Config(dataset="multigauss", activations=("relu", "tanh"), epochs=2), split)
    trainer.step(2)
    values = trainer.predict(split.X_val)
    assert values.shape == (2, len(split.X_val)) and values.dtype == np.float32
    with pytest.raises(ValueError, match="predict"):
        trainer.predict_proba(split.X_val)


def test_a_huge_learning_rate_diverges_and_the_others_go_on():
    cfg = Config(dataset="multigauss", activations=("relu", "tanh"), optimizer="sgd", lr=50.0, epochs=30,
                 vary="lr", values=("0.01", "50"))  # fmt: skip
    exp = Experiment(cfg, reg_split())
    exp.step(30)
    rows = {(r.activation, exp.cfg.values[exp.run_rows[r.run]]): r for r in exp.summary()}
    assert all(rows[a, "50"].diverged_epoch is not None for a in ("relu", "tanh"))
    assert all(rows[a, "50"].verdicts[0].code == "diverged" for a in ("relu", "tanh"))
    assert all(
        rows[a, "0.01"].diverged_epoch is None and np.isfinite(rows[a, "0.01"].r2) for a in ("relu", "tanh")
    )


# ---- verdicts --------------------------------------------------------------------------------------
def _hist(train_r2, val_r2, epochs=30):
    ones = np.ones((epochs, 1))
    loss = (1 - np.minimum(train_r2, 1)) * 0.2 * ones + 1e-3
    return {"train_loss": loss, "train_r2": train_r2 * ones, "val_loss": loss, "val_r2": val_r2 * ones}


NO_DIAG = {"epochs": np.zeros(0), "dead": np.zeros((0, 1, 1)), "saturated": np.zeros((0, 1, 1)),
           "grad_norm": np.zeros((0, 1, 2))}  # fmt: skip


@pytest.mark.parametrize(
    ("train_r2", "val_r2", "code"),
    [
        (R2_MEAN, R2_MEAN, "mean_only"), (R2_MEAN + 0.01, R2_MEAN, "underfit"),
        (R2_BAD_UNDERFIT - 0.01, 0.4, "underfit"), (R2_FIT - 0.01, R2_FIT - 0.02, "underfit"),
        (0.99, 0.99 - R2_OVERFIT_GAP - 1e-6, "overfit"), (0.99, 0.99 - R2_OVERFIT_GAP + 0.01, "overfit_start"),
        (0.95, R2_GOOD, "good"), (0.93, R2_GOOD - 0.01, "fair"),
    ],
)  # fmt: skip
def test_regression_verdicts_fire_at_their_thresholds(train_r2, val_r2, code):
    found = verdicts(_hist(train_r2, val_r2), NO_DIAG, 0, None, y_train=np.zeros(3), n_classes=1)
    assert found[0].code == code, found[0]
    assert verdicts(_hist(0.99, 0.99), NO_DIAG, 0, 7, y_train=np.zeros(3), n_classes=1)[0].code == "diverged"


def test_regression_dead_units_and_saturation_are_reported():
    diag = {"epochs": np.array([1]), "dead": np.array([[[0.75]]]), "saturated": np.array([[[0.8]]]),
            "grad_norm": np.ones((1, 1, 2))}  # fmt: skip
    bad = [v.code for v in verdicts(_hist(0.2, 0.2), diag, 0, None, y_train=np.zeros(3), n_classes=1)]
    assert bad == ["underfit", "dying_relu", "saturated"]
    good = [v.code for v in verdicts(_hist(0.95, 0.95), diag, 0, None, y_train=np.zeros(3), n_classes=1)]
    assert good == ["good", "dead_units"]


# ---- the CLI and the exports -----------------------------------------------------------------------
def test_cli_compare_regression_end_to_end(tmp_path, capsys):
    status = cli.main(["compare", "--dataset", "multigauss", "--activations", "relu,tanh", "--epochs", "30",
                       "--seeds", "0-1", "--set", "n_samples=200", "--out", str(tmp_path)])  # fmt: skip
    out = capsys.readouterr().out
    assert status == 0 and "val R²" in out and "val RMSE" in out and "±" in out
    rows = list(csv.DictReader(io.StringIO((tmp_path / "summary.csv").read_text())))
    assert len(rows) == 4 and {"r2", "rmse", "mae"} <= set(rows[0]) and "val_acc" not in rows[0]
    assert all(-1 < float(r["r2"]) <= 1 and float(r["rmse"]) > 0 for r in rows)
    hist = (tmp_path / "histories.csv").read_text().splitlines()[0].split(",")
    assert hist[-1] == "r2" and "accuracy" not in hist
    assert (tmp_path / "weights.pt").exists()
    report = (tmp_path / "report.html").read_text()
    assert "Predicted surfaces" in report and "val R²" in report and "P(class 1)" not in report


def test_weights_export_of_a_regression_reloads(tmp_path):
    import torch

    from nnviz import export

    exp = Experiment(Config(dataset="plane", activations=("relu", "tanh"), epochs=5, n_samples=100))
    exp.step(5)
    payload = torch.load(io.BytesIO(export.weights_bytes(exp)), weights_only=False)
    X, _ = exp.data_xy("val")
    with torch.no_grad():
        out = export.load_run_model(payload, 1)(export.model_inputs(payload, 1, X))[:, 0].numpy()
    np.testing.assert_allclose(out, exp.predictions("val")[1], atol=1e-5)


def test_grid_varying_the_dataset_needs_one_task():
    with pytest.raises(ValueError, match="same task"):
        Config(vary="dataset", values=("moons", "plane"))
    cfg = Config(
        dataset="plane", activations=("relu",), epochs=3, vary="dataset", values=("plane", "multigauss")
    )
    summary = cli.build(cfg)
    summary.step(3)
    assert summary.task == "regression" and all(np.isfinite(r.r2) for r in summary.summary())


# ---- what the datasets and the preset claim --------------------------------------------------------
def linear_share(values: np.ndarray, tol: float = 1e-4) -> np.ndarray:
    """Per run, the share of interior grid points where both second differences of the predicted surface
    ``[K, R, R]`` vanish: there the surface is locally linear (a ReLU network's is, between its creases)."""
    v = values.astype(np.float64)
    dx = np.abs(v[:, :, 2:] - 2 * v[:, :, 1:-1] + v[:, :, :-2])[:, 1:-1, :]
    dy = np.abs(v[:, 2:, :] - 2 * v[:, 1:-1, :] + v[:, :-2, :])[:, :, 1:-1]
    return ((dx < tol) & (dy < tol)).mean((1, 2))


def test_regression_bumps_preset_relu_is_piecewise_linear_tanh_is_smooth():
    cfg = load_presets()["11-regression-bumps"].config.replace(seed=0, n_seeds=3)
    assert cfg.dataset == "multigauss" and cfg.activations == ("relu", "tanh")
    exp = Experiment(cfg)
    exp.step(cfg.epochs)
    share = linear_share(exp.surface(100)[1])
    for row in exp.summary():
        assert row.r2 > 0.9 and row.verdicts[0].code == "good", row  # both fit the bumps
        if row.activation == "relu":
            assert share[row.run] > 0.5, share  # measured 0.61-0.62 on seeds 0-2
        else:
            assert share[row.run] < 0.1, share  # measured 0.003-0.052


@pytest.mark.parametrize("key", REGRESSION)
def test_what_to_look_for_in_the_regression_datasets(key):
    cfg = Config(dataset=key, n_seeds=3)
    exp = Experiment(cfg)
    exp.step(cfg.epochs)
    rows = exp.summary()
    if key == "plane":
        assert all(r.r2 > 0.95 for r in rows)
    else:
        assert all(r.r2 > 0.9 for r in rows)
        for seed in cfg.seeds:
            mine = {r.activation: r.r2 for r in rows if r.seed == seed}
            assert max(mine, key=mine.get) == "tanh", mine
