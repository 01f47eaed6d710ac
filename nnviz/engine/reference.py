"""Ordinary per-model PyTorch training: the oracle of the lockstep trainer and the benchmark's baseline.

It trains one ``nn.Sequential`` with ``torch.optim`` and autograd, with exactly the conventions of
:class:`nnviz.engine.trainer.LockstepTrainer` (same initial weights, same minibatch order, same history
definition), one model after another. Regression (a split with ``task == "regression"``): one linear
output, ``F.mse_loss`` (mean, no 1/2 factor), and R\u00b2 in the accuracy slots (``train_r2``, ``val_r2``).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from nnviz.config import Config
from nnviz.data.features import InputMap
from nnviz.data.split import Split
from nnviz.engine.model import epoch_order, layer_dims, reference_model
from nnviz.engine.trainer import ADAM_BETAS, ADAM_EPS, HISTORY_KEYS, HISTORY_KEYS_REGRESSION


def make_optimizer(cfg: Config, params) -> torch.optim.Optimizer:
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr)
    if cfg.optimizer == "momentum":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum)
    return torch.optim.Adam(params, lr=cfg.lr, betas=ADAM_BETAS, eps=ADAM_EPS)


def data_loss(logits: torch.Tensor, y: torch.Tensor, n_classes: int, loss: str, regression: bool = False):
    if regression:
        return F.mse_loss(logits[:, 0], y)
    if n_classes == 2:
        z = logits[:, 0]
        if loss == "ce":
            return F.binary_cross_entropy_with_logits(z, y.float())
        return F.mse_loss(torch.sigmoid(z), y.float())
    if loss == "ce":
        return F.cross_entropy(logits, y)
    return F.mse_loss(torch.softmax(logits, dim=1), F.one_hot(y, n_classes).float())


def correct_count(logits: torch.Tensor, y: torch.Tensor, n_classes: int) -> int:
    pred = (logits[:, 0] > 0).long() if n_classes == 2 else logits.argmax(1)
    return int((pred == y).sum())


def train_reference(cfg: Config, split: Split, activation: str, seed: int) -> tuple[nn.Module, dict]:
    """Train one model; returns it and its history ``{key: [epochs]}`` (HISTORY_KEYS, or
    HISTORY_KEYS_REGRESSION for a regression split: R\u00b2 = 1 - SSE / SST, the training SSE summed
    over the epoch's minibatches as seen).

    The model's inputs are ``cfg.features`` of the split's points, standardised on the training
    points (:class:`~nnviz.data.features.InputMap`, as the lockstep trainer has them)."""
    inputs = InputMap.fit(cfg.features, split.X_train, standardize=cfg.standardize)
    dims = layer_dims(len(cfg.features), cfg.hidden_layers, cfg.width, split.n_classes)
    model = reference_model(
        dims, activation, cfg.params_for(activation), scheme=cfg.init, seed=seed, batch_norm=cfg.batch_norm
    )
    opt = make_optimizer(cfg, model.parameters())
    weights = [m.weight for m in model if isinstance(m, nn.Linear)]
    x, y = torch.from_numpy(inputs.apply(split.X_train)), torch.from_numpy(split.y_train)
    xv, yv = torch.from_numpy(inputs.apply(split.X_val)), torch.from_numpy(split.y_val)
    n = len(y)
    bs = cfg.batch_size if 0 < cfg.batch_size < n else n
    reg = split.task == "regression"
    keys = HISTORY_KEYS_REGRESSION if reg else HISTORY_KEYS
    hist = {k: [] for k in keys}

    def score(out, target) -> float:  # SSE for regression, the correct count for classification
        if reg:
            return float(((out[:, 0] - target) ** 2).sum())
        return correct_count(out, target, split.n_classes)

    sst, sst_val = (float(((t - t.mean()) ** 2).sum()) if reg else 1.0 for t in (y, yv))
    for epoch in range(cfg.epochs):
        model.train()
        order = torch.from_numpy(epoch_order(seed, epoch, n)) if bs < n else torch.arange(n)
        loss_sum, correct = 0.0, 0
        for start in range(0, n, bs):
            idx = order[start : start + bs]
            logits = model(x[idx])
            loss = data_loss(logits, y[idx], split.n_classes, cfg.loss, reg)
            penalty = sum(cfg.l1 * w.abs().sum() + 0.5 * cfg.l2 * (w * w).sum() for w in weights)
            opt.zero_grad()
            (loss + penalty).backward()
            opt.step()
            loss_sum += float(loss.detach()) * len(idx)
            correct += score(logits.detach(), y[idx])
        model.eval()
        with torch.no_grad():
            logits = model(xv)
            hist["val_loss"].append(float(data_loss(logits, yv, split.n_classes, cfg.loss, reg)))
            val_score = score(logits, yv)
        hist["train_loss"].append(loss_sum / n)
        if reg:
            hist["train_r2"].append(1.0 - correct / sst)
            hist["val_r2"].append(1.0 - val_score / sst_val)
        else:
            hist["train_acc"].append(correct / n)
            hist["val_acc"].append(val_score / len(yv))
    return model, {k: np.asarray(v) for k, v in hist.items()}
