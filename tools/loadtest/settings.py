"""The settings each session asks for: a distinct activation list and seed per request, datasets,
epochs and network varying too; what the app must then show (subplot labels, dataset name)."""

from __future__ import annotations

import random
import urllib.parse
from dataclasses import dataclass

from nnviz.activations import ACTIVATIONS
from nnviz.config import ACTIVATION_KEYS, DATASET_KEYS, Config
from nnviz.data.generators import DATASETS


@dataclass(frozen=True)
class Settings:
    session: int
    generation: int
    cfg: Config

    @property
    def params(self) -> dict[str, str]:
        return self.cfg.to_params()

    @property
    def query(self) -> str:
        return "?" + urllib.parse.urlencode(self.params, safe=",")

    @property
    def labels(self) -> list[str]:
        """The subplot labels the app must show, in its order (activation-major, then seed)."""
        multi = self.cfg.n_seeds > 1
        return [
            ACTIVATIONS[a].name + (f" (seed {s})" if multi else "")
            for a in self.cfg.activations
            for s in self.cfg.seeds
        ]

    @property
    def dataset_name(self) -> str:
        return DATASETS[self.cfg.dataset].name

    def short(self) -> str:
        return f"s{self.session}g{self.generation} {self.query}"


class SettingsFactory:
    """Deterministic settings; no two requests of a run share an activation list or a seed."""

    # every generated dataset, regression's too (not "upload": its data is no URL)
    datasets = tuple(k for k in DATASET_KEYS if k in DATASETS)

    def __init__(self) -> None:
        self.used: set[tuple[str, ...]] = set()

    def make(self, session: int, generation: int) -> Settings:
        rng = random.Random(session * 7919 + generation * 104729)
        while True:
            acts = tuple(rng.sample(ACTIVATION_KEYS, rng.choice((1, 2, 2, 3, 3, 4))))
            if acts not in self.used:
                break
        self.used.add(acts)
        dataset = self.datasets[(session + generation) % len(self.datasets)]
        cfg = Config(
            dataset=dataset,
            n_classes=rng.choice((3, 4, 5)) if dataset == "blobs" else 3,
            activations=acts,
            seed=1 + 10 * session + 10_000 * generation,
            n_seeds=2 if session % 4 == 0 and len(acts) <= 3 else 1,  # seeds then show in the titles
            hidden_layers=rng.choice((1, 2, 3)),
            width=rng.choice((4, 8, 16)),
            lr=rng.choice((0.01, 0.03, 0.1)),
            batch_size=rng.choice((0, 0, 32)),
            # epoch budgets of different sessions differ too (visible in "Epoch N / M")
            epochs=200 + (40 * session) % 4000 + rng.randrange(40),
        ).validate()
        return Settings(session, generation, cfg)
