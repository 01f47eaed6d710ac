"""Every preset's claim, checked by running it headless (the same Experiment the app runs)."""

import numpy as np
import pytest

from nnviz.experiment import Experiment
from nnviz.presets import load_presets

PRESETS = load_presets()


def trained(cfg):
    exp = Experiment(cfg)
    exp.step(cfg.epochs)
    return exp


def by_activation(exp):
    return {r.activation: r for r in exp.summary()}


def codes(row):
    return {v.code for v in row.verdicts}


def test_presets_load_and_explain_in_two_sentences():
    assert len(PRESETS) >= 7
    for preset in PRESETS.values():
        preset.config.validate()
        sentences = [s for s in preset.explanation.replace("e.g.", "eg").split(". ") if s.strip()]
        assert len(sentences) == 2, (preset.key, sentences)


SEEDS = 5  # each claim must hold on the seed the page shows (0) and on seeds 0-4


def per_seed(cfg):
    """Train seeds 0-4 of a preset (one lockstep experiment; each run equals the run trained alone)
    and return, per seed, {activation: summary row}, and the experiment."""
    cfg = cfg.replace(seed=0, n_seeds=SEEDS)
    exp = trained(cfg)
    rows = exp.summary()
    return [{r.activation: r for r in rows if r.seed == seed} for seed in cfg.seeds], exp


def test_linear_hidden_layer_cannot_solve_circles():
    seeds, _ = per_seed(PRESETS["01-linear-cannot-bend"].config)
    for rows in seeds:
        assert rows["linear"].val_acc < 0.60 and "chance" in codes(rows["linear"])  # "stays at chance"
        for act in ("tanh", "relu"):  # "bend the boundary ... within a few dozen epochs"
            assert rows[act].val_acc > 0.90 and rows[act].epochs_to_90 <= 50


def test_deep_sigmoid_gradients_vanish_and_its_loss_stays_at_ln2():
    seeds, exp = per_seed(PRESETS["02-vanishing-gradients"].config)
    norms = exp.trainer.diagnostics.arrays()["grad_norm"][0]  # first record: [K, layers]
    for k, (act, _) in enumerate(exp.trainer.runs):
        ratio = norms[k, 0] / norms[k, -1]
        if act == "sigmoid":  # "about a thousandth of the output layer's gradient" at the start
            assert 1e-4 < ratio < 1e-2, ratio
        else:  # "nearly undiminished"
            assert ratio > 0.1, (act, ratio)
    for rows in seeds:
        sigmoid = rows["sigmoid"]
        assert abs(sigmoid.train_loss - np.log(2)) < 0.01  # "stays at ln 2 = 0.69"
        assert sigmoid.verdicts[0].code in ("flat_loss", "chance") and "vanishing" in codes(sigmoid)
        assert rows["tanh"].val_acc > 0.9 and rows["relu"].val_acc > 0.9  # "fit the moons above 90%"


def test_high_learning_rate_kills_relu_not_leaky_relu():
    seeds, _ = per_seed(PRESETS["03-dying-relu"].config)
    for rows in seeds:
        assert rows["relu"].dead_pct > 50 and "dying_relu" in codes(rows["relu"])
        assert rows["relu"].verdicts[0].code == "chance"  # "leaving the network at chance"
        assert rows["leaky_relu"].dead_pct == 0  # "leaves no unit dead"
        assert rows["leaky_relu"].val_acc > rows["relu"].val_acc + 0.2


def test_tanh_and_relu_outpace_sigmoid_on_moons():
    seeds, _ = per_seed(PRESETS["04-sigmoid-tanh-relu"].config)
    for rows in seeds:
        fast = [rows["tanh"].epochs_to_90, rows["relu"].epochs_to_90]
        assert None not in fast and max(fast) < 150  # "in under 150 epochs"
        slow = rows["sigmoid"].epochs_to_90  # "more than three times as long or never"
        assert slow is None or slow > 3 * max(fast)
        assert rows["sigmoid"].train_loss > 1.5 * max(rows["tanh"].train_loss, rows["relu"].train_loss)
        assert all(0.85 < r.val_acc < 0.95 for r in rows.values())  # "all three end near 90%"


def test_softmax_solves_three_arm_spiral_and_sigmoid_is_slowest():
    seeds, exp = per_seed(PRESETS["05-softmax-spiral"].config)
    assert exp.split.n_classes == 3
    assert exp.confusion().shape == (3 * SEEDS, 3, 3)
    for rows in seeds:
        assert rows["relu"].val_acc > 0.9
        assert rows["relu"].epochs_to_90 < rows["tanh"].epochs_to_90  # "ReLU carves the arms fastest"
        assert rows["sigmoid"].epochs_to_90 > 2 * rows["relu"].epochs_to_90  # "several times more"


def test_standardising_inputs_helps_sigmoid_on_every_seed():
    preset = PRESETS["06-unscaled-inputs"]
    assert not preset.config.standardize and preset.contrast_config.standardize
    raw, _ = per_seed(preset.config)
    scaled, _ = per_seed(preset.contrast_config)
    for r, s in zip(raw, scaled, strict=True):  # "its training loss is higher on every seed"
        assert r["sigmoid"].train_loss > s["sigmoid"].train_loss + 0.05


def test_too_high_learning_rate_diverges_and_is_frozen():
    preset = PRESETS["07-too-high-learning-rate"]
    seeds, _ = per_seed(preset.config)
    for rows in seeds:
        linear = rows["linear"]
        assert linear.diverged_epoch is not None and linear.diverged_epoch <= 10  # "within a few epochs"
        assert linear.verdicts[0].code == "diverged"
        assert rows["tanh"].train_loss > 2  # "its training loss ends above 2"
        assert rows["relu"].dead_pct > 50  # "most ReLU units die"
        assert all(r.verdicts[0].code not in ("good", "fair") for r in rows.values())  # "nothing learns well"
    calm, _ = per_seed(preset.config.replace(lr=0.03))  # "lower the learning rate to 0.03 and all three fit"
    for rows in calm:
        assert all(r.diverged_epoch is None and r.val_acc > 0.85 for r in rows.values())


@pytest.mark.parametrize("key", sorted(PRESETS))
def test_every_preset_config_is_valid(key):
    assert PRESETS[key].config.n_runs >= 2
