"""The lockstep trainer against ordinary per-model PyTorch training, plus its invariants."""

import pickle

import numpy as np
import pytest
import torch

from nnviz.config import Config
from nnviz.data.generators import make_dataset
from nnviz.data.split import split_dataset
from nnviz.engine.model import init_weights, layer_dims
from nnviz.engine.reference import train_reference
from nnviz.engine.trainer import HISTORY_KEYS, LockstepTrainer


def make_split(dataset="moons", n=120, noise=0.2, seed=0, n_classes=None):
    X, y = make_dataset(dataset, n, noise=noise, random_state=seed, n_classes=n_classes)
    return split_dataset(X, y, val_fraction=0.25, random_state=seed, standardize=True)


def assert_matches_reference(cfg, split, atol=2e-4):
    trainer = LockstepTrainer(cfg, split)
    trainer.step(cfg.epochs)
    hist = trainer.history()
    for k, (act, seed) in enumerate(trainer.runs):
        model, ref = train_reference(cfg, split, act, seed)
        for key in HISTORY_KEYS:
            # an accuracy may differ by one point whose logit is within float noise of 0
            n = len(split.y_train) if key == "train_acc" else len(split.y_val)
            tol = 1.01 / n if key.endswith("acc") else atol
            np.testing.assert_allclose(
                hist[key][:, k], ref[key], atol=tol, rtol=1e-3, err_msg=f"{act}/{seed}/{key}"
            )
        # final weights too
        for name, value in trainer.state_dict(k).items():
            if name.endswith("num_batches_tracked"):
                continue
            np.testing.assert_allclose(
                value.numpy(), model.state_dict()[name].numpy(), atol=atol, rtol=1e-3, err_msg=f"{act} {name}"
            )


ALL_ACTS = (
    "linear",
    "sigmoid",
    "tanh",
    "relu",
    "leaky_relu",
    "prelu",
    "elu",
    "selu",
    "gelu",
    "silu",
    "mish",
    "softplus",
    "softsign",
)


@pytest.mark.parametrize("optimizer", ["adam", "sgd", "momentum"])
def test_full_batch_matches_reference_every_activation(optimizer):
    cfg = Config(activations=ALL_ACTS, optimizer=optimizer, lr=0.05, epochs=25, hidden_layers=2, width=6)
    assert_matches_reference(cfg, make_split())


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_minibatches_and_two_seeds_match_reference(optimizer):
    cfg = Config(
        activations=("relu", "tanh", "prelu", "gelu"),
        optimizer=optimizer,
        lr=0.02,
        batch_size=16,
        epochs=8,
        n_seeds=2,
        seed=3,
        init="he",
    )
    assert_matches_reference(cfg, make_split())


def test_multiclass_mse_l1_l2_batchnorm_match_reference():
    split = make_split("spiral3", n=150, noise=0.2)
    for loss in ("ce", "mse"):
        cfg = Config(
            dataset="spiral3",
            activations=("relu", "elu", "silu", "prelu"),
            act_params=(("elu.alpha", 0.7), ("silu.beta", 2.0), ("prelu.slope", 0.1)),
            loss=loss,
            l1=1e-3,
            l2=1e-2,
            batch_norm=True,
            batch_size=32,
            epochs=6,
            hidden_layers=3,
            width=5,
            init="xavier",
        )
        assert_matches_reference(cfg, split)


def test_binary_mse_uniform_init_matches_reference():
    cfg = Config(
        activations=("sigmoid", "leaky_relu"),
        loss="mse",
        init="uniform",
        epochs=20,
        lr=0.1,
        optimizer="momentum",
    )
    assert_matches_reference(cfg, make_split("xor"))


def test_runs_of_one_seed_share_initial_weights():
    cfg = Config(activations=("relu", "tanh", "sigmoid"), n_seeds=2, seed=5)
    trainer = LockstepTrainer(cfg, make_split())
    expected = init_weights(layer_dims(2, cfg.hidden_layers, cfg.width, 2), cfg.init, 6)
    for k, (_act, seed) in enumerate(trainer.runs):
        if seed == 6:
            sd = trainer.state_dict(k)
            assert torch.equal(sd["0.weight"], expected[0][0])
    assert not torch.equal(trainer.state_dict(0)["0.weight"], trainer.state_dict(1)["0.weight"])


def test_pickled_trainer_resumes_exactly():
    cfg = Config(activations=("relu", "tanh"), batch_size=16, epochs=10, n_seeds=2)
    split = make_split()
    straight = LockstepTrainer(cfg, split)
    straight.step(10)
    resumed = LockstepTrainer(cfg, split)
    resumed.step(4)
    resumed = pickle.loads(pickle.dumps(resumed))
    assert resumed.step(100) == 6  # clamped to the budget
    for key in HISTORY_KEYS:
        np.testing.assert_array_equal(straight.history()[key], resumed.history()[key])
    assert resumed.done


def test_full_batch_steps_in_chunks_and_resumes_from_pickle():
    """Full batch evaluates an epoch's validation with the next epoch's forward pass; where a step
    call ends it is evaluated on its own. Step boundaries and pickling change nothing."""
    cfg = Config(activations=("relu", "tanh", "gelu"), epochs=12, n_seeds=2, lr=0.05)
    split = make_split()
    straight = LockstepTrainer(cfg, split)
    straight.step(12)
    chunked = LockstepTrainer(cfg, split)
    chunked.step(1)
    chunked.step(4)
    chunked = pickle.loads(pickle.dumps(chunked))
    assert chunked.step(100) == 7
    assert torch.equal(chunked.params, straight.params)
    for key in HISTORY_KEYS:
        np.testing.assert_allclose(chunked.history()[key], straight.history()[key], rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize(("loss", "batch_size"), [("mse", 0), ("ce", 0), ("ce", 16)])
def test_diverging_run_is_frozen_and_others_go_on(loss, batch_size):
    split = make_split()
    cfg = Config(
        activations=("relu", "sigmoid"),
        optimizer="sgd",
        lr=100.0,
        epochs=30,
        loss=loss,
        batch_size=batch_size,
    )
    trainer = LockstepTrainer(cfg, split)
    start = trainer.params.clone()  # the last parameters known to be finite
    # make the ReLU run diverge: huge weights overflow to inf in its forward pass
    with torch.no_grad():
        trainer._views[0]["W"][0].fill_(1e30)
        trainer._views[1]["W"][0].fill_(1e30)
    trainer.step(30)
    hist = trainer.history()
    assert trainer.diverged_epoch[0] == 1
    assert trainer.diverged_epoch[1] is None
    assert np.isnan(hist["train_loss"][:, 0]).all()
    assert np.isfinite(hist["train_loss"][:, 1]).all()
    assert torch.equal(trainer.params[0], start[0])  # restored to its last parameters, then frozen
    assert not torch.equal(trainer.params[1], start[1])


def test_predict_proba_shapes_and_sums():
    split = make_split("blobs", n=90, n_classes=4)
    cfg = Config(dataset="blobs", n_classes=4, activations=("relu", "tanh"), epochs=3)
    trainer = LockstepTrainer(cfg, split)
    trainer.step(3)
    probs = trainer.predict_proba(np.zeros((7, 2), dtype=np.float32))
    assert probs.shape == (2, 7, 4)
    np.testing.assert_allclose(probs.sum(-1), 1.0, atol=1e-5)
    hidden = trainer.hidden_outputs(np.zeros((7, 2), dtype=np.float32))
    assert [h.shape for h in hidden] == [(2, cfg.width, 7)] * cfg.hidden_layers
