"""The trainer's state/runtime split: it pickles its TrainerState and nothing else, rebuilds the rest,
resumes bit for bit, and the modules around it read it only through its public interface."""

import dataclasses
import io
import pickle

import numpy as np
import pytest
import torch

from nnviz.activations import Activation
from nnviz.analysis import inside
from nnviz.analysis.boundary import make_grid
from nnviz.config import Config
from nnviz.data.generators import make_dataset
from nnviz.data.split import split_dataset
from nnviz.engine import lockstep, losses, optim, params
from nnviz.engine.recorder import DiagnosticsRecorder
from nnviz.engine.trainer import HISTORY_KEYS, LockstepTrainer, TrainerState


def make_split(dataset="moons", n=120, seed=0, n_classes=None):
    X, y = make_dataset(dataset, n, noise=0.2, random_state=seed, n_classes=n_classes)
    return split_dataset(X, y, val_fraction=0.25, random_state=seed, standardize=True)


CASES = {
    "minibatch, 2 seeds, prelu": (
        dict(activations=("relu", "tanh", "prelu"), batch_size=16, epochs=9, n_seeds=2, diag_every=2),
        "moons",
    ),
    "full batch (pipelined)": (dict(activations=("relu", "sigmoid", "gelu"), epochs=11, lr=0.05), "moons"),
    "batch norm, 3 classes, mse, momentum": (
        dict(
            dataset="spiral3",
            activations=("elu", "silu"),
            batch_norm=True,
            batch_size=32,
            epochs=7,
            loss="mse",
            l1=1e-3,
            l2=1e-2,
            optimizer="momentum",
            diag_every=3,
        ),  # fmt: skip
        "spiral3",
    ),
    "a diverging run (sgd)": (
        dict(activations=("linear", "relu"), optimizer="sgd", lr=50.0, epochs=12),
        "moons",
    ),
    "a run diverging inside an epoch (minibatches, 2 seeds)": (
        dict(
            activations=("linear", "relu", "tanh"),
            optimizer="sgd",
            lr=30.0,
            batch_size=8,
            epochs=6,
            n_seeds=2,
        ),
        "moons",
    ),
}


def trained(case: str, chunks: list[int], pickle_after: int | None = None) -> LockstepTrainer:
    kwargs, dataset = CASES[case]
    split = make_split(dataset)
    trainer = LockstepTrainer(Config(**kwargs), split)
    for i, n in enumerate(chunks):
        trainer.step(n)
        if i == pickle_after:
            trainer = pickle.loads(pickle.dumps(trainer))
    return trainer


def state_tensors(obj):
    """Every tensor and array reachable from a state (through lists, tuples, dicts, dataclasses and
    plain objects)."""
    if isinstance(obj, torch.Tensor | np.ndarray):
        yield obj
    elif isinstance(obj, list | tuple):
        for item in obj:
            yield from state_tensors(item)
    elif isinstance(obj, dict):
        for item in obj.values():
            yield from state_tensors(item)
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        for f in dataclasses.fields(obj):
            yield from state_tensors(getattr(obj, f.name))
    elif hasattr(obj, "__dict__"):
        yield from state_tensors(vars(obj))


def assert_same_trainer(a: LockstepTrainer, b: LockstepTrainer) -> None:
    """Bit-identical states: every tensor, history, diagnostics record and counter."""
    assert a.epoch == b.epoch and a.diverged_epoch == b.diverged_epoch
    for key in HISTORY_KEYS:
        np.testing.assert_array_equal(a.history()[key], b.history()[key], err_msg=key)
    da, db = a.diagnostics.arrays(), b.diagnostics.arrays()
    for key in da:
        np.testing.assert_array_equal(da[key], db[key], err_msg=key)
    ta, tb = list(state_tensors(a.__getstate__())), list(state_tensors(b.__getstate__()))
    assert len(ta) == len(tb)
    for x, y in zip(ta, tb, strict=True):
        x, y = torch.as_tensor(x), torch.as_tensor(y)
        assert x.dtype == y.dtype and x.shape == y.shape
        assert torch.equal(x.nan_to_num(), y.nan_to_num()) and torch.equal(x.isnan(), y.isnan())
    assert a.__getstate__().optimizer.steps == b.__getstate__().optimizer.steps


@pytest.mark.parametrize("case", CASES)
def test_pickled_mid_training_resumes_bit_for_bit(case):
    chunks = [1, 3, 100]  # the last step is clamped to the budget
    straight = trained(case, chunks)
    for pickle_after in (0, 1):
        resumed = trained(case, chunks, pickle_after=pickle_after)
        assert resumed.done
        assert_same_trainer(straight, resumed)
    if case == "a diverging run (sgd)":
        assert straight.diverged_epoch[0] is not None and not straight.alive.all()


def sliced(case: str, slices: list[int], pickle_at: set[int] = frozenset()) -> LockstepTrainer:
    """Trained by ``advance`` in slices of optimiser steps (cycling through ``slices``) to the end,
    pickled and restored after the slices whose index is in ``pickle_at``."""
    kwargs, dataset = CASES[case]
    trainer = LockstepTrainer(Config(**kwargs), make_split(dataset))
    i = 0
    while not trainer.done:
        spe = trainer.steps_per_epoch
        position = trainer.epoch * spe + trainer.batch  # steps so far
        taken = trainer.advance(slices[i % len(slices)])
        assert taken == min(slices[i % len(slices)], trainer.cfg.epochs * spe - position)
        assert trainer.epoch * spe + trainer.batch == position + taken
        # the history grows only when an epoch's last minibatch is done
        assert len(trainer.history()["train_loss"]) == trainer.epoch
        if i in pickle_at:
            trainer = pickle.loads(pickle.dumps(trainer))
        i += 1
    return trainer


@pytest.mark.parametrize("case", CASES)
def test_training_in_slices_changes_no_number(case):
    """Stopping after any optimiser step (inside an epoch) and resuming, even through a pickle, gives
    the trainer of training in one go, bit for bit: weights, optimiser state, history, diagnostics."""
    straight = trained(case, [10_000])
    for slices, pickle_at in (([1], set()), ([3, 1, 7, 2], {1, 4}), ([5], {0, 2, 3})):
        assert_same_trainer(straight, sliced(case, slices, pickle_at))
    if "diverging" in case:
        assert not straight.alive.all()


def test_step_finishes_the_epoch_under_way():
    kwargs, dataset = CASES["minibatch, 2 seeds, prelu"]
    trainer = LockstepTrainer(Config(**kwargs), make_split(dataset))
    spe = trainer.steps_per_epoch
    assert spe == 6  # 90 training points in batches of 16
    assert trainer.advance(spe + 2) == spe + 2 and (trainer.epoch, trainer.batch) == (1, 2)
    assert trainer.step(1) == 1 and (trainer.epoch, trainer.batch) == (2, 0)
    assert trainer.advance(3, until_epoch=2) == 0  # already there
    assert trainer.advance(100, until_epoch=3) == spe and (trainer.epoch, trainer.batch) == (3, 0)
    straight = trained("minibatch, 2 seeds, prelu", [3])
    assert_same_trainer(straight, trainer)


def test_a_restored_copy_shares_nothing_with_the_original():
    original = trained("minibatch, 2 seeds, prelu", [3])
    copy = pickle.loads(pickle.dumps(original))
    before = pickle.dumps(original)
    copy.step(4)
    assert copy.epoch == 7 and original.epoch == 3
    assert pickle.dumps(original) == before


def test_every_attribute_is_the_state_or_built_from_it():
    """A trained trainer holds nothing that a trainer rebuilt from its state alone lacks: no
    attribute is set outside ``_build_runtime`` (or it would be lost when unpickled)."""
    trainer = trained("minibatch, 2 seeds, prelu", [4])
    rebuilt = LockstepTrainer.__new__(LockstepTrainer)
    rebuilt.__setstate__(trainer.__getstate__())
    assert vars(rebuilt).keys() == vars(trainer).keys()
    assert vars(pickle.loads(pickle.dumps(trainer))).keys() == vars(trainer).keys()
    state = trainer.__getstate__()
    assert type(state) is TrainerState and state is trainer._state
    with pytest.raises(AttributeError):
        state.something_new = 1  # a slotted dataclass: new state must be a declared field


class _ClassRecorder(pickle.Unpickler):
    def __init__(self, data: bytes):
        super().__init__(io.BytesIO(data))
        self.classes: set = set()

    def find_class(self, module, name):
        found = super().find_class(module, name)
        self.classes.add(found)
        return found


@pytest.mark.parametrize("case", CASES)
def test_the_pickle_holds_the_state_and_no_runtime_object(case):
    trainer = trained(case, [2, 1])
    data = pickle.dumps(trainer)
    reader = _ClassRecorder(data)
    reader.load()
    runtime_types = {
        lockstep.Workspace,
        lockstep.Group,
        lockstep.LayerCache,
        params.Layout,
        params.Slot,
        Activation,
        optim.FlatOptimizer,
        losses.SplitTargets,
    }
    assert not reader.classes & runtime_types
    assert {TrainerState, DiagnosticsRecorder, optim.OptimizerState, Config} <= reader.classes
    # the bytes are the state's tensors plus a little bookkeeping
    tensors = list(state_tensors(trainer.__getstate__()))
    for t in tensors:  # each owns its memory: pickling a view would write all of its base
        if isinstance(t, torch.Tensor):
            assert t.untyped_storage().nbytes() == t.nbytes
    state_bytes = sum(t.nbytes for t in tensors)
    assert state_bytes <= len(data) < state_bytes + 24_000


def test_the_pickle_is_far_smaller_than_the_runtime():
    """W-sized data (1000 training points): the workspaces dwarf the state; none of them is pickled."""
    cfg = Config(activations=("relu", "tanh", "gelu", "elu"), n_samples=1250, val_fraction=0.2, epochs=5)
    X, y = make_dataset("moons", cfg.n_samples, noise=0.2, random_state=0)
    trainer = LockstepTrainer(cfg, split_dataset(X, y, val_fraction=0.2, random_state=0, standardize=True))
    trainer.step(5)
    runtime_bytes = sum(t.nbytes for ws in trainer._workspaces.values() for t in state_tensors(ws))
    assert runtime_bytes > 1_000_000
    assert len(pickle.dumps(trainer)) < runtime_bytes / 10


class PublicOnly:
    """A trainer seen through its public interface only: private names raise AttributeError."""

    def __init__(self, trainer):
        self._trainer = trainer

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(f"{name} is private to the trainer")
        return getattr(self._trainer, name)


def test_the_recorder_and_inside_use_only_the_public_interface():
    trainer = trained("minibatch, 2 seeds, prelu", [4])  # diag_every=2: epoch 4 is recorded
    public = PublicOnly(trainer)
    recorder = DiagnosticsRecorder.for_config(trainer.cfg)
    with torch.inference_mode():
        recorder.record(public)
    mine, theirs = recorder.arrays(), trainer.diagnostics.arrays()
    for key in ("dead", "saturated", "grad_norm"):
        np.testing.assert_array_equal(mine[key][-1], theirs[key][-1], err_msg=key)
    grid = make_grid(trainer.train_inputs, resolution=6)
    maps = inside.unit_maps(public, 4, grid)
    assert [m.shape for m in maps] == [(trainer.cfg.width, 6, 6)] * trainer.cfg.hidden_layers
    assert inside.prelu_slopes(public, 0) is None
    slopes = inside.prelu_slopes(public, 4)  # prelu, first seed
    np.testing.assert_array_equal(slopes[0], trainer.state_dict(4)["1.weight"].numpy())
    lines = inside.grid_lines(grid, n_lines=3, n_points=4)
    space = inside.transformed_space(public, 4, 1, trainer.train_inputs, lines)
    assert space["points"].shape == (len(trainer.train_inputs), 2)


def test_the_public_views_of_the_state():
    split = make_split()
    trainer = LockstepTrainer(Config(activations=("relu", "sigmoid"), n_seeds=2, epochs=3), split)
    np.testing.assert_array_equal(trainer.train_inputs, split.X_train)
    assert trainer.grad_norms().shape == (4, trainer.cfg.hidden_layers + 1)
    assert not trainer.grad_norms().any()  # before the first step
    trainer.step(3)
    assert (trainer.grad_norms() > 0).all()
    groups = trainer.activation_groups
    assert [g.act.key for g in groups] == ["relu", "sigmoid"]
    assert [list(range(trainer.n_runs))[g.runs] for g in groups] == [[0, 1], [2, 3]]
    np.testing.assert_array_equal(trainer.diagnostics.arrays()["grad_norm"][-1], trainer.grad_norms())
