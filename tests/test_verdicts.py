"""The verdict rules (nnviz/analysis/verdicts.py), each on crafted histories just inside and just outside it,
and end to end on the default page."""

import math

import numpy as np
import pytest

from nnviz.analysis import verdicts as V
from nnviz.config import Config
from nnviz.experiment import Experiment

E = 200  # epochs of a crafted history
Y = np.array([0] * 50 + [1] * 50)  # balanced classes: chance 50%, constant-guess CE ln 2


def history(train_loss=0.05, val_loss=0.1, train_acc=0.98, val_acc=0.96, epochs=E):
    """One run's history: each argument a constant or an [epochs] array."""
    h = {}
    for key, value in (("train_loss", train_loss), ("val_loss", val_loss), ("train_acc", train_acc),
                       ("val_acc", val_acc)):  # fmt: skip
        h[key] = np.broadcast_to(np.asarray(value, dtype=np.float64), (epochs,)).copy()[:, None]
    return h


def no_diag(layers=3, hidden=2):
    return {"epochs": np.array([1, E]), "dead": np.zeros((2, 1, hidden)), "saturated": np.full((2, 1, hidden), np.nan),
            "grad_norm": np.ones((2, 1, layers))}  # fmt: skip


def judge(h, diag=None, diverged=None, loss="ce"):
    return V.verdicts(h, diag or no_diag(), 0, diverged, y_train=Y, n_classes=2, loss=loss)


def codes(found):
    return [v.code for v in found]


def rising_val(minimum: float, now: float, best_epoch: int = 50):
    """Validation loss falling to ``minimum`` at ``best_epoch``, then rising linearly to ``now``."""
    val = np.empty(E)
    val[:best_epoch] = np.linspace(0.7, minimum, best_epoch)
    val[best_epoch:] = np.linspace(minimum, now, E - best_epoch)
    return val


FALLING_TRAIN = np.geomspace(0.7, 0.01, E)


def test_constant_guess_is_chance():
    acc, loss = V.constant_guess(Y, 2, "ce")
    assert acc == 0.5 and loss == pytest.approx(math.log(2))
    acc, loss = V.constant_guess(np.array([0, 0, 0, 1]), 2, "mse")
    assert acc == 0.75 and loss == pytest.approx(0.25 * 0.75)
    acc, loss = V.constant_guess(np.array([0, 1, 2, 2]), 3, "ce")
    assert acc == 0.5 and loss == pytest.approx(-(2 * 0.25 * math.log(0.25) + 0.5 * math.log(0.5)))


def test_every_run_gets_exactly_one_fit_verdict_first():
    fit_codes = {
        "untrained",
        "diverged",
        "chance",
        "flat_loss",
        "underfit",
        "overfit",
        "overfit_start",
        "good",
        "fair",
    }
    cases = [history(), history(train_acc=0.5), history(train_loss=0.69), history(train_acc=0.8)]
    for h in cases:
        found = judge(h)
        assert found[0].code in fit_codes
        assert sum(c in fit_codes for c in codes(found)) == 1


def test_untrained_and_diverged():
    assert codes(judge(history(epochs=0))) == ["untrained"]
    found = judge(history(), diverged=7)
    assert found[0].code == "diverged" and "epoch 7" in found[0].text


def test_good_fit_names_train_and_validation():
    (found,) = judge(history(train_loss=0.05, val_loss=0.1, train_acc=0.98, val_acc=0.96))
    assert found.code == "good" and found.level == "good"
    assert "validation accuracy 96%" in found.text and "training 98%" in found.text


@pytest.mark.parametrize(("train_acc", "code"), [(0.549, "chance"), (0.551, "underfit")])
def test_chance_rule_edge(train_acc, code):
    assert judge(history(train_acc=train_acc, train_loss=0.5))[0].code == code


@pytest.mark.parametrize(
    ("train_loss", "code"), [(0.9 * math.log(2) + 1e-3, "flat_loss"), (0.9 * math.log(2) - 1e-3, "underfit")]
)
def test_flat_loss_rule_edge(train_loss, code):
    found = judge(history(train_acc=0.86, val_acc=0.87, train_loss=train_loss))[0]
    assert found.code == code
    if code == "flat_loss":
        assert "training loss" in found.text and "constant guess" in found.text


@pytest.mark.parametrize(("ratio", "code"), [(1.11, "worse_than_guess"), (1.09, "flat_loss")])
def test_worse_than_a_guess_rule_edge(ratio, code):
    found = judge(history(train_acc=0.84, val_acc=0.9, train_loss=ratio * math.log(2)))[0]
    assert found.code == code
    if code == "worse_than_guess":
        assert "confidently wrong" in found.text and "stay close" not in found.text


def test_flat_loss_uses_the_mse_guess_under_mse():
    assert judge(history(train_acc=0.86, train_loss=0.24), loss="mse")[0].code == "flat_loss"
    assert judge(history(train_acc=0.86, train_loss=0.24), loss="ce")[0].code == "underfit"


@pytest.mark.parametrize(("train_acc", "code"), [(0.899, "underfit"), (0.901, "good")])
def test_fit_rule_edge(train_acc, code):
    assert (
        judge(history(train_acc=train_acc, val_acc=train_acc - 0.01, train_loss=0.2, val_loss=0.25))[0].code
        == code
    )


def test_underfit_is_bad_below_75_percent():
    assert judge(history(train_acc=0.74, train_loss=0.5))[0].level == "bad"
    assert judge(history(train_acc=0.76, train_loss=0.5))[0].level == "warn"


def test_no_overfitting_for_a_model_that_does_not_fit_its_training_data():
    # a 25-point accuracy gap and a rising validation loss, but 80% on the training data: underfit
    found = judge(
        history(train_acc=0.8, val_acc=0.55, train_loss=FALLING_TRAIN + 0.3, val_loss=rising_val(0.6, 1.5))
    )
    assert codes(found)[0] == "underfit" and "overfit" not in codes(found)


@pytest.mark.parametrize(
    ("now", "code"),
    [
        (0.1 * 1.5 + 0.002, "overfit"),  # ratio 1.5 and rise 0.05 just met
        (0.1 * 1.5 - 0.002, "overfit_start"),  # ratio just under 1.5: the milder tier
        (0.1 * 1.2 + 0.002, "overfit_start"),
        (0.1 * 1.2 - 0.002, "good"),
    ],
)
def test_overfitting_in_the_loss_edges(now, code):
    val = rising_val(0.1, now)
    val[-V.WINDOW :] = now  # "now" is the mean of the last WINDOW epochs
    found = judge(history(train_loss=FALLING_TRAIN, val_loss=val, train_acc=0.99, val_acc=0.97))
    assert found[0].code == code
    if code != "good":
        assert "validation loss" in found[0].text and "training loss fell" in found[0].text


def test_overfitting_in_the_loss_needs_a_rise_not_only_a_ratio():
    val = rising_val(0.01, 0.019)  # 1.9x the minimum, but only 0.009 above it: noise at this scale
    val[-V.WINDOW :] = 0.019
    assert (
        judge(history(train_loss=FALLING_TRAIN, val_loss=val, train_acc=1.0, val_acc=0.99))[0].code == "good"
    )


def test_overfitting_in_the_loss_needs_the_training_loss_still_falling():
    val = rising_val(0.1, 0.3)
    flat_train = np.full(E, 0.05)  # the training loss no longer falls: not the overfitting pattern
    assert judge(history(train_loss=flat_train, val_loss=val, train_acc=0.99, val_acc=0.97))[0].code == "good"


def test_overfitting_in_the_loss_needs_the_minimum_behind_us():
    val = rising_val(0.1, 0.3, best_epoch=E - V.WINDOW + 1)  # minimum inside the last WINDOW epochs
    assert (
        judge(history(train_loss=FALLING_TRAIN, val_loss=val, train_acc=0.99, val_acc=0.97))[0].code == "good"
    )


@pytest.mark.parametrize(
    ("gap", "code"), [(0.101, "overfit"), (0.099, "overfit_start"), (0.051, "overfit_start"), (0.049, "good")]
)
def test_overfitting_in_the_accuracy_edges(gap, code):
    found = judge(history(train_acc=0.99, val_acc=0.99 - gap))
    assert found[0].code == code
    if code != "good":
        assert "training accuracy" in found[0].text and "above validation" in found[0].text


def test_fair_when_fitting_without_overfitting_but_validating_low():
    # the gap rule looks at the last WINDOW epochs: a late drop of validation accuracy is not yet a gap
    val_acc = np.full(E, 0.95)
    val_acc[-1] = 0.80
    assert judge(history(train_acc=0.95, val_acc=val_acc))[0].code == "fair"


def grads(first, last):
    d = no_diag(layers=len(first))
    d["grad_norm"] = np.array([[first], [last]], dtype=np.float64)
    return d


def test_vanishing_only_beside_a_run_that_does_not_fit():
    d = grads([1e-4, 1e-2, 1.0], [1e-1, 0.5, 1.0])  # 1e-4 at the start: vanishing
    assert "vanishing" in codes(judge(history(train_loss=0.69, train_acc=0.8), d))
    assert "vanishing" not in codes(judge(history(), d))  # fits well: no contradiction


@pytest.mark.parametrize(("ratio", "flagged"), [(0.99e-2, True), (1.01e-2, False)])
def test_vanishing_rule_edge(ratio, flagged):
    d = grads([ratio, 0.5, 1.0], [ratio, 0.5, 1.0])
    assert ("vanishing" in codes(judge(history(train_acc=0.8, train_loss=0.5), d))) == flagged


@pytest.mark.parametrize(("peak", "flagged"), [(1.01e3, True), (0.99e3, False)])
def test_exploding_rule_edge_is_always_reported(peak, flagged):
    d = grads([1.0, 1.0, 1.0], [peak, 1.0, 1.0])
    assert ("exploding" in codes(judge(history(), d))) == flagged


@pytest.mark.parametrize(("dead", "flagged"), [(0.51, True), (0.5, False)])
def test_dead_units_rule_edge(dead, flagged):
    d = no_diag()
    d["dead"][-1, 0, 0] = dead
    failing = codes(judge(history(train_acc=0.5, train_loss=0.69), d))
    assert ("dying_relu" in failing) == flagged
    fitting = judge(history(), d)  # a run that fits: said as a fact, not as a failure
    assert ("dead_units" in codes(fitting)) == flagged and "dying_relu" not in codes(fitting)


def test_saturation_only_beside_a_run_that_does_not_fit():
    d = no_diag()
    d["saturated"][-1, 0, 1] = 0.75
    assert "saturated" in codes(judge(history(train_acc=0.8, train_loss=0.5), d))
    assert "saturated" not in codes(judge(history(), d))


def test_no_contradicting_pairs_over_many_random_histories():
    rng = np.random.default_rng(0)
    for _ in range(300):
        h = history(
            train_loss=np.abs(rng.normal(0.3, 0.3, E)), val_loss=np.abs(rng.normal(0.4, 0.3, E)),
            train_acc=np.clip(rng.normal(0.85, 0.1, E), 0, 1), val_acc=np.clip(rng.normal(0.8, 0.1, E), 0, 1),
        )  # fmt: skip
        d = grads(list(10 ** rng.uniform(-4, 1, 3)), list(10 ** rng.uniform(-4, 1, 3)))
        found = codes(judge(h, d))
        assert not ({"good", "fair"} & set(found) and {"vanishing", "saturated", "dying_relu"} & set(found))
        fit = (
            "good",
            "overfit",
            "overfit_start",
            "underfit",
            "chance",
            "worse_than_guess",
            "flat_loss",
            "fair",
        )
        assert sum(c in fit for c in found) == 1


def test_default_page_flags_tanhs_overfitting():
    """The default page: Tanh's validation loss rises to ~3x its minimum while its training loss falls."""
    cfg = Config()
    exp = Experiment(cfg)
    exp.step(cfg.epochs)
    rows = {r.activation: r for r in exp.summary()}
    tanh = rows["tanh"].verdicts[0]
    assert tanh.code == "overfit", tanh.text
    assert "validation loss" in tanh.text
    val = exp.trainer.history()["val_loss"]
    for row in rows.values():  # every run whose validation loss is 1.5x its minimum is flagged
        if row.val_loss >= 1.5 * val[:, row.run].min() + 0.05:
            assert row.verdicts[0].code == "overfit", (row.name, row.verdicts[0].text)
        assert row.verdicts[0].code != "good" or row.val_loss < 1.2 * val[:, row.run].min() + 0.02
