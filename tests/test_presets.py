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


def test_linear_hidden_layer_cannot_solve_circles():
    rows = by_activation(trained(PRESETS["01-linear-cannot-bend"].config))
    assert rows["linear"].val_acc < 0.60
    assert rows["tanh"].val_acc > 0.90 and rows["relu"].val_acc > 0.90


def test_deep_sigmoid_gradients_vanish_and_it_stalls():
    exp = trained(PRESETS["02-vanishing-gradients"].config)
    rows = by_activation(exp)
    norms = exp.trainer.diagnostics.arrays()["grad_norm"][0]  # first record: [K, layers]
    ratio = {act: norms[k, 0] / norms[k, -1] for k, (act, _) in enumerate(exp.trainer.runs)}
    assert ratio["sigmoid"] < 1e-2 < ratio["tanh"] and ratio["sigmoid"] < 1e-2 < ratio["relu"]
    assert "vanishing" in codes(rows["sigmoid"])
    assert rows["sigmoid"].train_loss > 0.6  # stalled near chance (ln 2 = 0.69)
    assert rows["tanh"].val_acc > 0.9 and rows["relu"].val_acc > 0.9


def test_high_learning_rate_kills_relu_not_leaky_relu():
    rows = by_activation(trained(PRESETS["03-dying-relu"].config))
    assert rows["relu"].dead_pct > 50 and "dying_relu" in codes(rows["relu"])
    assert rows["leaky_relu"].dead_pct == 0
    assert rows["leaky_relu"].val_acc > rows["relu"].val_acc + 0.2


def test_tanh_and_relu_outpace_sigmoid_on_moons():
    rows = by_activation(trained(PRESETS["04-sigmoid-tanh-relu"].config))
    assert rows["sigmoid"].epochs_to_90 is None
    assert rows["tanh"].epochs_to_90 is not None and rows["relu"].epochs_to_90 is not None
    assert rows["sigmoid"].train_loss > rows["tanh"].train_loss + 0.1
    assert rows["sigmoid"].train_loss > rows["relu"].train_loss + 0.1


def test_softmax_solves_three_arm_spiral_and_sigmoid_is_slowest():
    cfg = PRESETS["05-softmax-spiral"].config
    exp = trained(cfg)
    assert exp.split.n_classes == 3
    rows = by_activation(exp)
    assert rows["relu"].val_acc > 0.9
    assert rows["sigmoid"].epochs_to_90 > 2 * rows["relu"].epochs_to_90
    assert exp.confusion().shape == (3, 3, 3)


def test_standardising_inputs_helps():
    preset = PRESETS["06-unscaled-inputs"]
    raw = by_activation(trained(preset.config))
    scaled = by_activation(trained(preset.contrast_config))
    assert not preset.config.standardize and preset.contrast_config.standardize
    assert raw["sigmoid"].train_loss > scaled["sigmoid"].train_loss + 0.05
    assert np.mean([r.train_loss for r in raw.values()]) > np.mean([r.train_loss for r in scaled.values()])


def test_too_high_learning_rate_diverges_and_is_frozen():
    preset = PRESETS["07-too-high-learning-rate"]
    exp = trained(preset.config)
    rows = by_activation(exp)
    assert rows["linear"].diverged_epoch is not None and "diverged" in codes(rows["linear"])
    assert all(r.val_acc < 0.95 for r in rows.values())  # nothing learns well
    calm = by_activation(trained(preset.config.replace(lr=0.03)))
    assert all(r.diverged_epoch is None and r.val_acc > 0.85 for r in calm.values())


@pytest.mark.parametrize("key", sorted(PRESETS))
def test_every_preset_config_is_valid(key):
    assert PRESETS[key].config.n_runs >= 2
