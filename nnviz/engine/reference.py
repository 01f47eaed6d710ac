"""Ordinary per-model PyTorch training: the oracle of the lockstep trainer and the benchmark's baseline.

It trains one ``nn.Sequential`` with ``torch.optim`` and autograd, with exactly the conventions of
:class:`nnviz.engine.trainer.LockstepTrainer` (same initial weights, same minibatch order, same history
definition), one model after another.
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
from nnviz.engine.trainer import ADAM_BETAS, ADAM_EPS


def make_optimizer(cfg: Config, params) -> torch.optim.Optimizer:
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr)
    if cfg.optimizer == "momentum":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum)
    return torch.optim.Adam(params, lr=cfg.lr, betas=ADAM_BETAS, eps=ADAM_EPS)


def data_loss(logits: torch.Tensor, y: torch.Tensor, n_classes: int, loss: str) -> torch.Tensor:
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
    """Train one model; returns it and its history ``{key: [epochs]}`` (see ``training.HISTORY_KEYS``).

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
    hist = {k: [] for k in ("train_loss", "train_acc", "val_loss", "val_acc")}
    for epoch in range(cfg.epochs):
        model.train()
        order = torch.from_numpy(epoch_order(seed, epoch, n)) if bs < n else torch.arange(n)
        loss_sum, correct = 0.0, 0
        for start in range(0, n, bs):
            idx = order[start : start + bs]
            logits = model(x[idx])
            loss = data_loss(logits, y[idx], split.n_classes, cfg.loss)
            penalty = sum(cfg.l1 * w.abs().sum() + 0.5 * cfg.l2 * (w * w).sum() for w in weights)
            opt.zero_grad()
            (loss + penalty).backward()
            opt.step()
            loss_sum += float(loss.detach()) * len(idx)
            correct += correct_count(logits.detach(), y[idx], split.n_classes)
        model.eval()
        with torch.no_grad():
            logits = model(xv)
            hist["val_loss"].append(float(data_loss(logits, yv, split.n_classes, cfg.loss)))
            hist["val_acc"].append(correct_count(logits, yv, split.n_classes) / len(yv))
        hist["train_loss"].append(loss_sum / n)
        hist["train_acc"].append(correct / n)
    return model, {k: np.asarray(v) for k, v in hist.items()}
