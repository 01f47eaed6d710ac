"""Every preset's claim, checked by running it headless (the same experiment the app runs).

A preset that varies a setting (``vary``) is checked row against row: each claim about one row is
asserted together with its contrast in the other rows, so that a claim that held everywhere (or
nowhere) would fail. The measured numbers behind the claims are in docs/presets.md.
"""

import numpy as np
import pytest
import torch

from nnviz.engine.model import layer_dims, reference_model
from nnviz.experiment import make_split
from nnviz.grid import build
from nnviz.presets import load_presets

PRESETS = load_presets()
LN2 = float(np.log(2))


def trained(cfg):
    exp = build(cfg)
    exp.step(cfg.epochs)
    return exp


def codes(row):
    return {v.code for v in row.verdicts}


def test_presets_load_and_explain_in_two_sentences():
    assert len(PRESETS) >= 9
    for preset in PRESETS.values():
        preset.config.validate()
        sentences = [s for s in preset.explanation.replace("e.g.", "eg").split(". ") if s.strip()]
        assert len(sentences) == 2, (preset.key, sentences)


SEEDS = 5  # each claim must hold on the seed the page shows (0) and on seeds 0-4


def per_seed(cfg):
    """Train seeds 0-4 of a preset (one lockstep experiment, or one per row of a grid; each run
    equals the run trained alone) and return, per seed, {activation: summary row}, and the experiment."""
    cfg = cfg.replace(seed=0, n_seeds=SEEDS)
    exp = trained(cfg)
    rows = exp.summary()
    return [{r.activation: r for r in rows if r.seed == seed} for seed in cfg.seeds], exp


def per_row(cfg):
    """Train seeds 0-4 of a grid preset and return {value: per-seed [{activation: summary row}]},
    the experiment, and each run's first-layer / output-layer gradient norm at the first record."""
    cfg = cfg.replace(seed=0, n_seeds=SEEDS)
    assert cfg.vary and cfg.n_runs <= 40
    exp = trained(cfg)
    out = {value: [{} for _ in range(SEEDS)] for value in cfg.values}
    for r in exp.summary():
        out[r.value][r.seed][r.activation] = r
    norms = exp.diagnostics()["grad_norm"][0]  # [K, layers + 1], NaN for layers a row lacks
    ratio = norms[:, 0] / norms[:, -1]
    return out, exp, ratio


def at_ln2_from_epoch_3(exp, k):
    """The run's training loss within 0.01 of ln 2 (a 50/50 answer everywhere) from epoch 3 on."""
    loss = exp.history()["train_loss"][2:, k]
    return len(loss) > 0 and bool(np.all(np.abs(loss - LN2) < 0.01))


def run_index(exp, activation, value, seed):
    return next(
        k
        for k, ((act, s), row) in enumerate(zip(exp.runs, exp.run_rows, strict=True))
        if (act, exp.cfg.values[row], s) == (activation, value, seed)
    )


def ratios_by(exp, ratio):
    """{(activation, value, seed): first-layer / output-layer gradient norm at the first record}."""
    runs = zip(exp.runs, exp.run_rows, strict=True)
    return {(act, exp.cfg.values[row], seed): ratio[k] for k, ((act, seed), row) in enumerate(runs)}


def test_linear_hidden_layer_cannot_solve_circles():
    seeds, _ = per_seed(PRESETS["01-linear-cannot-bend"].config)
    for rows in seeds:
        assert rows["linear"].val_acc < 0.60 and "chance" in codes(rows["linear"])  # "stays at chance"
        for act in ("tanh", "relu"):  # "bend the boundary ... within a few dozen epochs"
            assert rows[act].val_acc > 0.90 and rows[act].epochs_to_90 <= 50


def test_sigmoid_gradients_vanish_with_depth_and_relu_gradients_do_not():
    cfg = PRESETS["02-vanishing-gradients"].config
    assert cfg.vary == "hidden_layers" and cfg.values == ("1", "3", "6")
    rows, exp, ratio = per_row(cfg)
    at = ratios_by(exp, ratio)
    for seed in range(SEEDS):
        sig = [at["sigmoid", v, seed] for v in cfg.values]
        # "roughly a fifth to a half" with 1 layer, "less" with 3, "about a thousandth" with 6
        assert 0.15 < sig[0] < 0.6 and sig[0] > sig[1] > sig[2] and 1e-4 < sig[2] < 1e-2, sig
        relu = [at["relu", v, seed] for v in cfg.values]
        # "undiminished at every depth ... more than a tenth of the output layer's"
        assert min(relu) > 0.1 and relu[2] > 0.5 * relu[0], relu
        deep, shallow = rows["6"][seed], (rows["1"][seed], rows["3"][seed])
        assert at_ln2_from_epoch_3(exp, run_index(exp, "sigmoid", "6", seed))  # "from the third epoch on"
        sigmoid = deep["sigmoid"]
        assert sigmoid.verdicts[0].code in ("flat_loss", "chance") and "vanishing" in codes(sigmoid)
        assert all(r["sigmoid"].train_loss < 0.35 for r in shallow)  # "instead of falling to about 0.3"
        assert all(rows[v][seed]["relu"].val_acc > 0.9 for v in cfg.values)  # "above 90% in all three rows"


def test_high_learning_rate_kills_relu_not_leaky_relu():
    cfg = PRESETS["03-dying-relu"].config
    assert cfg.vary == "lr" and cfg.values == ("0.5", "8")
    rows, exp, _ = per_row(cfg)
    dead = exp.diagnostics()["dead"][-1]  # [K, layers] at the last record
    values = cfg.values
    for k, ((act, _seed), row) in enumerate(zip(exp.runs, exp.run_rows, strict=True)):
        if act == "relu" and values[row] == "8":  # "every unit of ReLU's second layer" dies
            assert dead[k, 1] == 1.0, dead[k]
    for seed in range(SEEDS):
        high, low = rows["8"][seed], rows["0.5"][seed]
        assert high["relu"].dead_pct > 50 and "dying_relu" in codes(high["relu"])
        assert high["relu"].verdicts[0].code == "chance"  # "stays at chance"
        assert low["relu"].dead_pct < 20  # "fewer than one unit in five is dead"
        assert low["relu"].verdicts[0].code == "good"  # "and ReLU fits the moons"
        assert low["relu"].val_acc > high["relu"].val_acc + 0.3
        for r in (high, low):  # "no unit dies in either row ... about 90% in both"
            assert r["leaky_relu"].dead_pct == 0 and r["leaky_relu"].val_acc > 0.85
        assert high["leaky_relu"].val_acc > high["relu"].val_acc + 0.2


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
    cfg = PRESETS["06-unscaled-inputs"].config
    assert cfg.vary == "standardize" and cfg.values == ("0", "1")
    assert [row.standardize for row in cfg.rows] == [False, True]
    rows, exp, _ = per_row(cfg)
    raw_x, scaled_x = exp.parts[0].split.X_train, exp.parts[1].split.X_train
    assert 0.4 < raw_x[:, 0].mean() < 0.6 and abs(scaled_x[:, 0].mean()) < 0.05  # "x1 averages about 0.5"
    assert 1.5 < raw_x[:, 0].std() / raw_x[:, 1].std() < 2.1  # "x1 spread nearly twice as wide as x2"
    for raw, scaled in zip(rows["0"], rows["1"], strict=True):  # "higher ... and lower on every seed"
        assert raw["sigmoid"].train_loss > scaled["sigmoid"].train_loss + 0.05
        assert raw["sigmoid"].val_acc < scaled["sigmoid"].val_acc

    def gains(act):  # per seed, how much lower the training loss ends on standardised inputs
        return [
            raw[act].train_loss - scaled[act].train_loss
            for raw, scaled in zip(rows["0"], rows["1"], strict=True)
        ]

    for act in ("tanh", "relu"):
        # "gaining from standardised inputs on some seeds and hardly at all on others"
        assert max(gains(act)) > 0.05 and min(abs(g) for g in gains(act)) < 0.03, (act, gains(act))
        # "change less on average": sigmoid's mean gain is more than twice theirs
        assert np.mean(gains("sigmoid")) > 2 * np.mean(gains(act)), (act, gains("sigmoid"), gains(act))


def test_too_high_learning_rate_diverges_and_is_frozen():
    cfg = PRESETS["07-too-high-learning-rate"].config
    assert cfg.vary == "lr" and cfg.values == ("0.03", "10") and cfg.optimizer == "momentum"
    rows, _, _ = per_row(cfg)
    for high, low in zip(rows["10"], rows["0.03"], strict=True):
        linear = high["linear"]
        assert linear.diverged_epoch is not None and linear.diverged_epoch <= 10  # "within a few epochs"
        assert linear.verdicts[0].code == "diverged"
        # "tanh saturates" (and does not in the lr 0.03 row)
        assert "saturated" in codes(high["tanh"]) and "saturated" not in codes(low["tanh"])
        # "its training loss ends above ln 2": worse than answering 50/50 everywhere
        assert high["tanh"].train_loss > np.log(2) and high["tanh"].verdicts[0].code == "worse_than_guess"
        assert high["relu"].dead_pct > 50  # "most ReLU units die"
        assert all(r.verdicts[0].code not in ("good", "fair") for r in high.values())  # "nothing learns well"
        # "in the lr 0.03 row the same three networks train without diverging and settle above 90%"
        assert all(r.diverged_epoch is None and r.val_acc > 0.9 for r in low.values())


def test_batch_norm_rescues_a_deep_sigmoid_network():
    cfg = PRESETS["08-batch-norm-deep-sigmoid"].config
    assert cfg.vary == "batch_norm" and cfg.values == ("0", "1") and cfg.hidden_layers == 6
    rows, exp, ratio = per_row(cfg)
    at = ratios_by(exp, ratio)
    for seed, (off, on) in enumerate(zip(rows["0"], rows["1"], strict=True)):
        sigmoid = off["sigmoid"]  # "about a thousandth of the output layer's gradient", "stays at ln 2"
        assert 1e-4 < at["sigmoid", "0", seed] < 1e-2 and at["sigmoid", "1", seed] > 0.1
        assert at_ln2_from_epoch_3(exp, run_index(exp, "sigmoid", "0", seed))
        assert sigmoid.verdicts[0].code in ("flat_loss", "chance") and "vanishing" in codes(sigmoid)
        # "fits the moons above 94% validation accuracy within 40 epochs"
        assert on["sigmoid"].val_acc > 0.94 and on["sigmoid"].epochs_to_90 <= 40
        assert on["sigmoid"].verdicts[0].code == "good"
        assert off["tanh"].val_acc > 0.9 and on["tanh"].val_acc > 0.9  # "as tanh does in both rows"


def _spread_by_layer(cfg, activation, scheme, seed):
    """How much each hidden layer's output varies between the training points at the start (the
    mean over units of the standard deviation over points), first hidden layer first."""
    split = make_split(cfg)
    dims = layer_dims(split.X_train.shape[1], cfg.hidden_layers, cfg.width, split.n_classes)
    model = reference_model(dims, activation, {}, scheme=scheme, seed=seed)
    h, out = torch.tensor(split.X_train, dtype=torch.float32), []
    with torch.no_grad():
        for layer in model:
            h = layer(h)
            if not isinstance(layer, torch.nn.Linear):
                out.append(h.std(0).mean().item())
    return np.array(out)


def test_the_default_init_starves_a_deep_network_and_the_others_do_not():
    cfg = PRESETS["09-init-schemes"].config
    assert cfg.vary == "init" and cfg.values == ("default", "xavier", "he", "uniform")
    assert cfg.hidden_layers == 6
    others = cfg.values[1:]
    for act, per_layer in (("relu", (0.25, 0.45)), ("tanh", (0.45, 0.65))):
        for seed in range(SEEDS):
            spread = {s: _spread_by_layer(cfg, act, s, seed) for s in cfg.values}
            shrink = spread["default"][-1] / spread["default"][0]
            # "about a third (ReLU) to a half (tanh) as much as the layer before" (geometric mean)
            assert per_layer[0] < shrink ** (1 / (cfg.hidden_layers - 1)) < per_layer[1], (act, seed, shrink)
            for s in others:  # "the sixth layer's output varies at least ten times more at the start"
                assert spread[s][-1] > 10 * spread["default"][-1], (act, s, seed)
    rows, exp, _ = per_row(cfg)
    for seed in range(SEEDS):
        relu = rows["default"][seed]["relu"]
        assert at_ln2_from_epoch_3(exp, run_index(exp, "relu", "default", seed))  # "sits at ln 2 = 0.69"
        assert relu.verdicts[0].code in ("flat_loss", "chance")
        # "tanh takes several times more epochs to reach 90% than in any other row"
        tanh = rows["default"][seed]["tanh"].epochs_to_90
        slowest_other = max(rows[s][seed]["tanh"].epochs_to_90 for s in others)
        assert tanh is not None and tanh > 3 * slowest_other, (seed, tanh, slowest_other)
        for s in others:  # "in those rows both networks fit the moons above 90%"
            assert all(r.val_acc > 0.9 and r.diverged_epoch is None for r in rows[s][seed].values())


@pytest.mark.parametrize("key", sorted(PRESETS))
def test_every_preset_config_is_valid(key):
    cfg = PRESETS[key].config
    assert cfg.n_runs >= 2
    assert cfg.replace(n_seeds=SEEDS).n_runs <= 40  # the tests' five seeds stay within the cap
