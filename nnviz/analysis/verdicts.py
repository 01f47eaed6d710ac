"""Verdicts: what a run's history and diagnostics say about it, in words a teacher can sign.

Every run gets exactly one *fit* verdict, the first of these that holds (so no two contradict):

==============  ==========================================================================================
``untrained``   no epoch trained yet
``diverged``    the training loss became NaN or infinite (the run was frozen)
``chance``      training accuracy within CHANCE_MARGIN of always answering the most common class
``worse_than_guess`` training loss above WORSE_LOSS x the loss of a constant guess of the class shares:
                confidently wrong outputs (a too-high learning rate, saturated units)
``flat_loss``   training loss at least FLAT_LOSS x that constant guess's loss: the outputs barely moved
                from that guess, whatever the accuracy says
``underfit``    training accuracy below FIT_ACC: the network does not fit its own training data
``overfit``     it fits the training data, and the validation loss (now) is at least OVERFIT_LOSS_RATIO x its own minimum and OVERFIT_LOSS_RISE above it, reached
                more than WINDOW epochs ago, while the training loss fell to TRAIN_FELL x its value then or
                less; or training accuracy is OVERFIT_GAP or more above validation (last WINDOW epochs)
``overfit_start`` the same with the milder EARLY_LOSS_RATIO / EARLY_LOSS_RISE / EARLY_GAP
``good``        it fits the training data, does not overfit, and validates at GOOD_VAL_ACC or better
``fair``        it fits the training data, does not overfit by these rules, validates below GOOD_VAL_ACC
==============  ==========================================================================================

Findings from the diagnostics follow the fit verdict. Exploding gradients are always reported. Dead
units are reported for every run (as the cause when the run does not fit, as a fact when it does).
Vanishing gradients and saturation are reported only for a run that does not fit its training data
(``chance``, ``flat_loss``, ``underfit``), where they explain why; beside a good fit they would read as
a contradiction. Every text names which data it quotes: training or validation.
Regression runs (R\u00b2 in place of accuracy) get the fit verdict of :func:`regression_fit_verdict`
instead: ``untrained``, ``diverged``, ``mean_only`` (training R\u00b2 at most R2_MEAN: no better than
always predicting the mean), ``underfit`` (training R\u00b2 below R2_FIT; "bad" below R2_BAD_UNDERFIT),
``overfit`` / ``overfit_start`` (the loss rule above, or training R\u00b2 R2_OVERFIT_GAP / R2_EARLY_GAP or
more above validation over the last WINDOW epochs), ``good`` (validation R\u00b2 at least R2_GOOD) and
``fair``; the diagnostics' findings follow as for classification (docs/regression.md).
The thresholds are documented in docs/verdicts.md; tests/test_verdicts.py checks each rule on crafted
histories just inside and just outside it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from nnviz.analysis.metrics import last_finite

FIT_ACC = 0.90
CHANCE_MARGIN = 0.05
FLAT_LOSS = 0.90
WORSE_LOSS = 1.10
GOOD_VAL_ACC = 0.85
WINDOW = 10  # epochs averaged for "now", and how long ago the validation minimum must lie
OVERFIT_LOSS_RATIO, OVERFIT_LOSS_RISE, OVERFIT_GAP = 1.5, 0.05, 0.10
EARLY_LOSS_RATIO, EARLY_LOSS_RISE, EARLY_GAP = 1.2, 0.02, 0.05
TRAIN_FELL = 0.9  # the training loss kept falling: now at most this fraction of its value at the val minimum
BAD_UNDERFIT_ACC = 0.75  # underfitting below this training accuracy is "bad", above it a warning
EXPLODING_NORM = 1e3  # any layer's gradient norm above this: exploding
VANISHING_RATIO = 1e-2  # layer-1 / output-layer gradient norm below this (first or last record)
DEAD_FRACTION = 0.5  # more dead units than this in a layer
SATURATED_FRACTION = 0.5
# Regression (R^2 = 1 - SSE / SST: 1 is a perfect fit, 0 is what always predicting the mean scores)
R2_MEAN = 0.05  # training R^2 at most this: no better than the mean
R2_BAD_UNDERFIT = 0.5  # training R^2 below this: underfits badly
R2_FIT = 0.9  # training R^2 below this: underfits (a warning above R2_BAD_UNDERFIT)
R2_GOOD = 0.9  # validation R^2 at least this: fits well
R2_OVERFIT_GAP, R2_EARLY_GAP = 0.10, 0.05  # training R^2 this much above validation's

NOT_FITTING = ("chance", "worse_than_guess", "flat_loss", "underfit", "mean_only")
# Short names of the codes, for tables that count verdicts (the CLI's summary over seeds).
LABELS = {
    "untrained": "untrained", "diverged": "diverged", "chance": "at chance", "worse_than_guess": "worse than a guess", "flat_loss": "barely learning",
    "underfit": "underfits", "overfit": "overfitting", "overfit_start": "starting to overfit",
    "good": "fits well", "fair": "fair fit", "exploding": "exploding gradients",
    "vanishing": "vanishing gradients", "dying_relu": "dying ReLU", "dead_units": "dead units",
    "saturated": "saturation", "mean_only": "no better than the mean",
}  # fmt: skip


@dataclass(frozen=True)
class Verdict:
    level: str  # "good", "info", "warn" or "bad"
    code: str  # stable identifier, e.g. "overfit", "dying_relu"
    text: str


def constant_guess(y_train: np.ndarray, n_classes: int, loss: str = "ce") -> tuple[float, float]:
    """Accuracy and loss of the best constant answers: the majority class, and the class shares.

    ``loss`` "ce": the shares' entropy (ln 2 for two balanced classes); "mse": the mean squared error
    of predicting the shares (0.25 for two balanced classes, as the trainer's one-probability MSE).
    """
    shares = np.bincount(np.asarray(y_train, dtype=np.int64), minlength=n_classes) / max(len(y_train), 1)
    acc = float(shares.max())
    if loss == "mse":
        value = shares[1] * (1 - shares[1]) if n_classes == 2 else float(np.mean(shares * (1 - shares)))
    else:
        value = -sum(p * math.log(p) for p in shares if p > 0)
    return acc, float(value)


def verdicts(
    history: dict,
    diag: dict,
    run: int,
    diverged_epoch: int | None,
    *,
    y_train,
    n_classes: int,
    loss: str = "ce",
) -> list[Verdict]:
    """The fit verdict of run ``run``, then the diagnostics' findings (see the module docstring).

    ``history``: ``train_loss``, ``train_acc``, ``val_loss``, ``val_acc``, each [E, K]; ``diag``: the
    recorder's arrays (``epochs`` [D], ``dead`` / ``saturated`` [D, K, H], ``grad_norm`` [D, K, L]).
    """
    h = {key: np.asarray(history[key], dtype=np.float64)[:, run] for key in history}
    if "train_r2" in h:  # a regression history (HISTORY_KEYS_REGRESSION)
        fit = regression_fit_verdict(h, diverged_epoch)
    else:
        fit = fit_verdict(h, diverged_epoch, constant_guess(y_train, n_classes, loss))
    return [fit, *_gradient_findings(diag, run, fit.code), *_unit_findings(diag, run, fit.code)]


def _untrained_or_diverged(h: dict, diverged_epoch: int | None) -> Verdict | None:
    """The verdict of a run with no history yet, or one that diverged (either task); else None."""
    if not len(h["train_loss"]):
        return Verdict("info", "untrained", "not trained yet")
    if diverged_epoch is not None:
        return Verdict(
            "bad", "diverged",
            f"diverged at epoch {diverged_epoch}: the training loss became NaN/inf, so the run was frozen "
            "at its last finite weights; lower the learning rate",
        )  # fmt: skip
    return None


def fit_verdict(h: dict, diverged_epoch: int | None, guess: tuple[float, float]) -> Verdict:
    """The one verdict of a run's history ``h`` (1-D arrays per key); ``guess``: constant_guess()."""
    early = _untrained_or_diverged(h, diverged_epoch)
    if early is not None:
        return early
    tl, ta, va, vl = (last_finite(h[key]) for key in ("train_loss", "train_acc", "val_acc", "val_loss"))
    chance_acc, chance_loss = guess
    accs = f"training accuracy {ta:.0%}, validation {va:.0%}"
    if ta <= chance_acc + CHANCE_MARGIN:
        return Verdict(
            "bad", "chance", f"no better than chance: {accs} (always answering the most common class: {chance_acc:.0%})"
        )  # fmt: skip
    if tl > WORSE_LOSS * chance_loss:
        return Verdict(
            "bad", "worse_than_guess",
            f"worse than a constant guess: training loss {tl:.3g} against {chance_loss:.3g} for always "
            f"answering the class shares, so many outputs are confidently wrong ({accs})",
        )  # fmt: skip
    if tl >= FLAT_LOSS * chance_loss:
        return Verdict(
            "bad", "flat_loss",
            f"barely learning: training loss {tl:.3g}, {tl / chance_loss:.0%} of a constant guess's {chance_loss:.3g}, "
            f"so its outputs stay close to that guess ({accs})",
        )  # fmt: skip
    if ta < FIT_ACC:
        level = "bad" if ta < BAD_UNDERFIT_ACC else "warn"
        return Verdict(level, "underfit", f"underfits: {accs}")
    over = _overfitting(h)
    if over is not None:
        return over
    if va >= GOOD_VAL_ACC:
        return Verdict(
            "good",
            "good",
            f"fits well: validation accuracy {va:.0%} (training {ta:.0%}), validation loss {vl:.3g}",
        )
    return Verdict("warn", "fair", f"fits the training data ({ta:.0%}) but validates at {va:.0%}")


def regression_fit_verdict(h: dict, diverged_epoch: int | None) -> Verdict:
    """The one verdict of a regression run's history ``h`` (``train_loss``, ``train_r2``, ``val_loss``,
    ``val_r2``: 1-D arrays), by the R2_* thresholds (module docstring)."""
    early = _untrained_or_diverged(h, diverged_epoch)
    if early is not None:
        return early
    tr, vr, vl = (last_finite(h[key]) for key in ("train_r2", "val_r2", "val_loss"))
    r2s = f"training R\u00b2 {tr:.2f}, validation {vr:.2f}"
    if tr <= R2_MEAN:
        return Verdict("bad", "mean_only", f"no better than always predicting the mean: {r2s}")
    if tr < R2_FIT:
        level = "bad" if tr < R2_BAD_UNDERFIT else "warn"
        return Verdict(level, "underfit", f"underfits: {r2s}")
    over = _overfitting(h, ("train_r2", "val_r2"), (R2_OVERFIT_GAP, R2_EARLY_GAP))
    if over is not None:
        return over
    if vr >= R2_GOOD:
        return Verdict(
            "good",
            "good",
            f"fits well: validation R\u00b2 {vr:.2f} (training {tr:.2f}), validation MSE {vl:.3g}",
        )
    return Verdict(
        "warn", "fair", f"fits the training data (R\u00b2 {tr:.2f}) but validates at R\u00b2 {vr:.2f}"
    )


def _overfitting(
    h: dict,
    keys: tuple[str, str] = ("train_acc", "val_acc"),
    gaps: tuple[float, float] = (OVERFIT_GAP, EARLY_GAP),
) -> Verdict | None:
    """Overfitting seen in the loss (validation loss up from its own minimum while the training loss
    kept falling) or in the accuracy (train above validation); None if neither rule holds."""
    val, train = h["val_loss"], h["train_loss"]
    n = len(val)
    loss_part, ratio, rise = "", 0.0, 0.0
    if n > WINDOW and np.isfinite(val).any():
        best = int(np.nanargmin(val))
        now = last_finite(val)
        train_now = last_finite(train)
        if best < n - WINDOW and train_now <= TRAIN_FELL * train[best]:
            ratio, rise = now / val[best], now - val[best]
            loss_part = (
                f"validation loss {now:.3g}, {ratio:.1f}x its minimum {val[best]:.3g} at epoch {best + 1}, "
                f"while the training loss fell to {train_now:.3g}"
            )
    train_key, val_key = keys
    gap = float(np.nanmean(h[train_key][-WINDOW:] - h[val_key][-WINDOW:]))
    if train_key == "train_acc":
        gap_part = f"training accuracy {gap * 100:.1f} points above validation ({last_finite(h['train_acc']):.0%} vs {last_finite(h['val_acc']):.0%})"
    else:
        gap_part = f"training R\u00b2 {gap:.2f} above validation ({last_finite(h[train_key]):.2f} vs {last_finite(h[val_key]):.2f})"
    for code, label, min_ratio, min_rise, min_gap in (
        ("overfit", "overfitting", OVERFIT_LOSS_RATIO, OVERFIT_LOSS_RISE, gaps[0]),
        ("overfit_start", "starting to overfit", EARLY_LOSS_RATIO, EARLY_LOSS_RISE, gaps[1]),
    ):
        by_loss = bool(loss_part) and ratio >= min_ratio and rise >= min_rise
        by_gap = gap >= min_gap
        if by_loss or by_gap:
            parts = [p for p, on in ((loss_part, by_loss), (gap_part, by_gap)) if on]
            return Verdict("warn", code, f"{label}: {'; '.join(parts)}")
    return None


def _gradient_findings(diag: dict, run: int, fit: str) -> list[Verdict]:
    norms = diag["grad_norm"][:, run, :] if len(diag["epochs"]) else np.zeros((0, 1))
    norms = norms[np.all(np.isfinite(norms), axis=1)]
    if not len(norms):
        return []
    out = []
    peak = float(norms.max())
    if peak > EXPLODING_NORM:
        out.append(
            Verdict("bad", "exploding", f"exploding gradients: a layer's gradient norm reached {peak:.2g}")
        )
    if fit in NOT_FITTING and norms.shape[1] > 2:
        # at the start of training (when it decides whether learning can begin) or now
        for when, row in (("at the start", norms[0]), ("now", norms[-1])):
            if row[-1] > 0 and row[0] / row[-1] < VANISHING_RATIO:
                text = f"vanishing gradients: layer 1 gets {row[0] / row[-1]:.1e} x the output layer's gradient ({when})"
                out.append(Verdict("warn", "vanishing", text))
                break
    return out


def _unit_findings(diag: dict, run: int, fit: str) -> list[Verdict]:
    if not len(diag["epochs"]):
        return []
    out = []
    dead = diag["dead"][-1, run]
    if np.isfinite(dead).any() and np.nanmax(dead) > DEAD_FRACTION:
        layer = int(np.nanargmax(dead))
        share = f"{dead[layer]:.0%} of layer {layer + 1}'s units are dead (zero on every training point, so no gradient)"
        if fit in NOT_FITTING:
            out.append(Verdict("bad", "dying_relu", f"dying ReLU: {share}"))
        else:
            out.append(Verdict("info", "dead_units", f"{share}; the others still fit the data"))
    sat = diag["saturated"][-1, run]
    if fit in NOT_FITTING and np.isfinite(sat).any() and np.nanmax(sat) > SATURATED_FRACTION:
        layer = int(np.nanargmax(sat))
        out.append(
            Verdict(
                "warn",
                "saturated",
                f"saturation: {sat[layer]:.0%} of layer {layer + 1}'s units are saturated",
            )
        )
    return out
