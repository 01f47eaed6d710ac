"""`make bench`: the lockstep trainer against a naive per-model PyTorch loop and scikit-learn.

Workload W: moons, 1000 training points (+250 validation), noise 0.2, 2-16-16-1, full-batch Adam
lr 0.01, 1000 epochs, 8 activations. Variants: W with minibatches of 32, W with 40 runs
(8 activations x 5 seeds), W x 3 learning rates (a grid whose 24 runs train in one lockstep
computation) and W x 3 widths (a grid of 3 lockstep groups, one per width, timed together). In the
grids the naive loop and scikit-learn train every model with its row's config. Every implementation does the same work per epoch (a training pass and a
validation evaluation). Times are medians of ``--repeats`` runs, measured in this run; the naive loop
and scikit-learn are timed on fewer epochs where a full run would take minutes, and every figure is
reported per model-step (one model, one optimiser step), which is what the ratio compares.

Usage: ``python -m bench.bench [--repeats 5] [--threads 1] [--quick]``
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

import torch

from nnviz.config import LOCKSTEP_AXES, Config
from nnviz.data.generators import make_dataset
from nnviz.data.split import split_dataset
from nnviz.engine.reference import train_reference
from nnviz.engine.trainer import LockstepTrainer

ACTS = ("sigmoid", "tanh", "relu", "leaky_relu", "elu", "gelu", "silu", "softplus")
SKLEARN_ACTS = {"sigmoid": "logistic", "tanh": "tanh", "relu": "relu"}
LRS = ("0.003", "0.01", "0.03")  # the learning-rate grid: one lockstep group of 24 runs
WIDTHS = ("4", "8", "16")  # the width grid: 3 lockstep groups of 8 runs


def workload(
    batch_size: int = 0, n_seeds: int = 1, epochs: int = 1000, vary: str = "", values: tuple[str, ...] = ()
) -> tuple[Config, object]:
    cfg = Config(
        dataset="moons",
        n_samples=1250,
        noise=0.2,
        val_fraction=0.2,
        activations=ACTS,
        n_seeds=n_seeds,
        hidden_layers=2,
        width=16,
        optimizer="adam",
        lr=0.01,
        batch_size=batch_size,
        epochs=epochs,
        diag_every=1000,
        vary=vary,
        values=values,
    )
    X, y = make_dataset("moons", cfg.n_samples, noise=cfg.noise, random_state=0)
    return cfg, split_dataset(X, y, val_fraction=cfg.val_fraction, random_state=0, standardize=True)


def steps_per_epoch(cfg: Config, n_train: int) -> int:
    bs = cfg.batch_size
    return 1 if bs <= 0 or bs >= n_train else -(-n_train // bs)


def median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def lockstep_groups(cfg: Config) -> list[Config]:
    """The configs trained as one LockstepTrainer each: ``cfg`` itself (no grid, or a grid of a
    lockstep setting), else one per row (as nnviz.grid.GridExperiment's groups)."""
    return [cfg] if not cfg.vary or cfg.vary in LOCKSTEP_AXES else list(cfg.rows)


def time_lockstep(cfg, split, repeats) -> float:
    """Seconds per model-step (every group of a grid, trained one after another)."""
    groups = lockstep_groups(cfg)

    def run():
        for group in groups:
            LockstepTrainer(group, split).step(group.epochs)

    steps = cfg.n_runs * cfg.epochs * steps_per_epoch(cfg, len(split.y_train))
    return median_time(run, repeats) / steps


def time_naive(cfg, split, repeats, epochs) -> float:
    small = cfg.replace(epochs=epochs)
    rows = small.rows  # each model trains with its row's config

    def run():
        for act in small.activations:
            for row in rows:
                for seed in row.seeds:
                    train_reference(row, split, act, seed)

    steps = small.n_runs * epochs * steps_per_epoch(small, len(split.y_train))
    return median_time(run, repeats) / steps


def time_sklearn(cfg, split, repeats, epochs) -> float:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    n = len(split.y_train)
    bs = n if cfg.batch_size <= 0 else cfg.batch_size

    models = [(row, a) for row in cfg.rows for a in cfg.activations if a in SKLEARN_ACTS]

    def run():
        for row, act in models:
            clf = MLPClassifier(
                hidden_layer_sizes=(row.width,) * row.hidden_layers,
                activation=SKLEARN_ACTS[act],
                solver="adam",
                learning_rate_init=row.lr,
                batch_size=bs,
                max_iter=epochs,
                alpha=0.0,
                tol=0.0,
                n_iter_no_change=epochs + 1,
                shuffle=cfg.batch_size > 0,
                random_state=0,
            )
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                clf.fit(split.X_train, split.y_train)
                clf.score(split.X_val, split.y_val)

    steps = len(models) * epochs * steps_per_epoch(cfg, n)  # one seed each
    return median_time(run, repeats) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="fewer epochs, for a smoke run")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    scale = 10 if args.quick else 1
    grid_epochs = (1000 // scale, 200 // scale, 1000 // scale)  # lockstep, naive loop, sklearn: as W
    rows = [
        ("W: 8 runs, full batch", dict(), 1000 // scale, 200 // scale, 1000 // scale),
        ("W, minibatch 32", dict(batch_size=32), 100 // scale, 10 // scale, 50 // scale),
        ("W, 40 runs (8 acts x 5 seeds)", dict(n_seeds=5), 1000 // scale, 40 // scale, 200 // scale),
        ("W x 3 learning rates (24 runs, one lockstep group)", dict(vary="lr", values=LRS), *grid_epochs),
        ("W x widths 4, 8, 16 (24 runs, 3 lockstep groups)", dict(vary="width", values=WIDTHS), *grid_epochs),
    ]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), median of {args.repeats} runs")
    print("times in microseconds per model-step (one model, one optimiser step)\n")
    w = max(len(row[0]) for row in rows)
    header = f"| {'workload':{w}} | {'lockstep':>9} | {'naive loop':>10} | {'sklearn MLP':>11} | {'naive/lockstep':>14} | {'sklearn/lockstep':>16} |"
    print(header)
    print("|" + "|".join("-" * (len(c)) for c in header.split("|")[1:-1]) + "|")
    for name, changes, epochs, naive_epochs, sk_epochs in rows:
        cfg, split = workload(epochs=epochs, **changes)
        lock = time_lockstep(cfg, split, args.repeats) * 1e6
        naive = time_naive(cfg, split, args.repeats, naive_epochs) * 1e6
        sk = time_sklearn(cfg, split, args.repeats, sk_epochs) * 1e6
        print(
            f"| {name:{w}} | {lock:9.1f} | {naive:10.1f} | {sk:11.1f} | {naive / lock:13.1f}x | {sk / lock:15.1f}x |",
            flush=True,
        )


if __name__ == "__main__":
    main()
