"""Guided experiments: the ``*.json`` files beside this module (``nnviz/presets/``, package data),
each a config plus a two-sentence explanation.

A preset file holds ``title``, ``explanation``, ``params`` (URL parameters, see
:meth:`nnviz.config.Config.from_params`) and optionally ``contrast`` (the parameters to change to see
the other side of the story, e.g. standardised inputs). Each preset's claim is tested headless
(tests/test_presets.py).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

from nnviz.config import Config

PRESET_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Preset:
    key: str  # the file's stem, e.g. "03-dying-relu"
    title: str
    explanation: str
    params: dict[str, str]
    contrast: dict[str, str]

    @property
    def config(self) -> Config:
        cfg, notices = Config.from_params(self.params)
        if notices:
            raise ValueError(f"preset {self.key}: {'; '.join(n.problem for n in notices)}")
        return cfg

    @property
    def contrast_config(self) -> Config | None:
        if not self.contrast:
            return None
        cfg, notices = Config.from_params({**self.params, **self.contrast})
        if notices:
            raise ValueError(f"preset {self.key} contrast: {'; '.join(n.problem for n in notices)}")
        return cfg


@functools.cache  # the files ship with the package: read once per process (every rerun asks)
def load_presets(directory: Path = PRESET_DIR) -> dict[str, Preset]:
    """All presets, ordered by file name."""
    presets = {}
    for path in sorted(directory.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        presets[path.stem] = Preset(
            key=path.stem,
            title=data["title"],
            explanation=data["explanation"],
            params={str(k): str(v) for k, v in data["params"].items()},
            contrast={str(k): str(v) for k, v in data.get("contrast", {}).items()},
        )
    return presets
