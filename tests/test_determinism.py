"""The same config and seed give bit-identical results in two separate processes.

What guarantees it (see docs/reliability.md): every random draw comes from a seeded generator
(numpy's default_rng for data and batch order, a torch.Generator for initial weights), training runs
in float32 on the CPU with a fixed thread count (torch.set_num_threads(1), as the app and the CLI
use), and the trainer uses no ops with nondeterministic CPU kernels (no index_add/scatter
reductions); torch.use_deterministic_algorithms(True) is set in the child to prove the last point.
"""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = """
import hashlib, sys, torch
torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)
from nnviz.config import Config
from nnviz.experiment import Experiment
cfg, notices = Config.from_params(dict(a.split("=", 1) for a in sys.argv[1:]))
assert not notices, notices
exp = Experiment(cfg)
exp.step(cfg.epochs)
h = hashlib.sha256()
for key, values in sorted(exp.trainer.history().items()):
    h.update(key.encode()); h.update(values.tobytes())
h.update(exp.trainer.params.numpy().tobytes())
for _, frame in exp.snapshots:
    h.update(frame.tobytes())
print(h.hexdigest())
"""

CASES = [
    ["act=relu,tanh,prelu,gelu", "n_seeds=3", "epochs=60", "batch_size=16"],
    [
        "dataset=spiral3",
        "act=elu,silu",
        "batch_norm=1",
        "epochs=40",
        "loss=mse",
        "l2=0.01",
        "optimizer=momentum",
    ],
    ["act=linear,relu", "optimizer=sgd", "lr=50", "epochs=30"],  # includes a diverging run
]


def digest(args: list[str]) -> str:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, *args], capture_output=True, text=True, check=True, cwd=ROOT
    )
    return out.stdout.strip()


def test_two_processes_give_bit_identical_results():
    for args in CASES:
        first, second = digest(args), digest(args)
        assert first == second, args
        assert len(first) == 64


def test_a_different_seed_gives_different_results():
    assert digest(CASES[0]) != digest([*CASES[0], "seed=1"])


RESUME_CHILD = """
import hashlib, pickle, sys, torch
torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)
from nnviz.config import Config
from nnviz.experiment import make_split
from nnviz.engine.trainer import LockstepTrainer
mode, path = sys.argv[1], sys.argv[2]
cfg, _ = Config.from_params(dict(a.split("=", 1) for a in sys.argv[3:]))
if mode == "resume":
    with open(path, "rb") as f:
        trainer = pickle.load(f)
else:
    trainer = LockstepTrainer(cfg, make_split(cfg))
    trainer.step(cfg.epochs // 3)
    if mode == "save":
        with open(path, "wb") as f:
            pickle.dump(trainer, f)
        sys.exit()
trainer.step(cfg.epochs)
h = hashlib.sha256()
for key, values in sorted(trainer.history().items()):
    h.update(key.encode()); h.update(values.tobytes())
for key, values in sorted(trainer.diagnostics.arrays().items()):
    h.update(key.encode()); h.update(values.tobytes())
h.update(trainer.params.numpy().tobytes())
print(h.hexdigest())
"""


def test_a_trainer_pickled_mid_training_resumes_bit_for_bit_in_another_process(tmp_path):
    """Save at a third of the budget in one process, resume in a fresh one: the same bits as a
    process that trained with the same step calls and never pickled."""

    def child(mode: str, args: list[str]) -> str:
        cmd = [sys.executable, "-c", RESUME_CHILD, mode, str(tmp_path / "trainer.pkl"), *args]
        return subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=ROOT).stdout.strip()

    for args in (CASES[0], CASES[2]):  # minibatches and seeds; full batch with a diverging run
        straight = child("straight", args)
        assert child("save", args) == ""
        assert child("resume", args) == straight, args
        assert len(straight) == 64
