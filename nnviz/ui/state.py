"""Session state: the config from the URL and the widgets, and the experiment kept between reruns.

Everything one user does lives in ``st.session_state`` (never in module globals or
``cache_resource``), so users of one server never see each other's experiments.
"""

from __future__ import annotations

import time

import streamlit as st

from nnviz.config import UPLOAD, Config
from nnviz.data.split import split_dataset
from nnviz.data.upload import UploadedData
from nnviz.experiment import Experiment
from nnviz.presets import Preset, load_presets

EXPERIMENT = "experiment"
CONFIG = "config"
PLAYING = "playing"
NOTICES = "url_notices"
ERROR = "experiment_error"
TRAIN_ERROR = "train_error"  # why training stopped, until the next Play, Step, Reset or experiment
UPLOADED = "uploaded"  # (sha256 hex, UploadedData) of the last valid upload
UPLOAD_MESSAGE = "upload_message"  # (level, text) about the last upload attempt
PRESET = "preset"  # the key of the guided experiment last loaded (shown while its settings are)
PRESET_PARAM = "preset"  # its URL parameter
PRESET_CHOICE = "preset_choice"  # the sidebar's preset picker


def init_session() -> None:
    """On a session's first run: parse the URL into a config and seed the widgets with it."""
    if CONFIG in st.session_state:
        return
    params = {key: st.query_params.get_all(key) for key in st.query_params}
    preset_notices = _open_preset(params)
    cfg, notices = Config.from_params(params)
    st.session_state[CONFIG] = cfg
    st.session_state[NOTICES] = preset_notices + notices
    st.session_state[PLAYING] = True
    from nnviz.ui.sidebar import seed_widgets  # the widgets' keys live with the widgets

    seed_widgets(cfg)


def _open_preset(params: dict) -> list[str]:
    """A URL's ``preset=KEY``: the preset's settings under the URL's own, and its explanation shown
    while they are on screen. Removes the key from ``params``; returns notices about it."""
    raw = params.pop(PRESET_PARAM, None)
    if not raw:
        return []
    key = str(raw[-1] if isinstance(raw, list) else raw)
    preset = load_presets().get(key)
    if preset is None:
        shown = key if len(key) <= 40 else key[:40] + "..."
        return [f"preset: {shown!r} is not one of the guided experiments; ignored"]
    params.update({k: v for k, v in preset.params.items() if k not in params})
    st.session_state[PRESET] = st.session_state[PRESET_CHOICE] = key
    return []


def active_preset(cfg: Config) -> Preset | None:
    """The preset whose settings (or contrast settings) are on screen, else None."""
    key = st.session_state.get(PRESET)
    preset = load_presets().get(key) if key else None
    if preset is not None and cfg in (preset.config, preset.contrast_config):
        return preset
    return None


def sync_url(cfg: Config) -> None:
    """Make the address bar carry every setting and the guided experiment on screen (only when it
    changed, to avoid churn)."""
    params = cfg.to_params()
    preset = active_preset(cfg)
    if preset is not None:
        params[PRESET_PARAM] = preset.key
    current = {key: st.query_params.get(key) for key in st.query_params}
    if current != params:
        st.query_params.from_dict(params)


def experiment(cfg: Config) -> Experiment | None:
    """The session's experiment for ``cfg``; a changed config restarts it (same seed, so reproducible).

    If the new config cannot be built (e.g. too few samples for the classes, or the uploaded data is
    gone), the error is kept for the page to show and the previous experiment stays.
    """
    current: Experiment | None = st.session_state.get(EXPERIMENT)
    upload = st.session_state.get(UPLOADED) if cfg.dataset == UPLOAD else None
    token = upload[0] if upload else ""
    if current is not None and current.cfg == cfg and current.data_token == token:
        return current
    try:
        if cfg.dataset == UPLOAD and upload is None:
            raise ValueError("no uploaded data in this session; upload a CSV under Data")
        split = _upload_split(cfg, upload[1]) if upload else None
        new = Experiment(cfg, split, data_token=token)
    except ValueError as exc:
        st.session_state[ERROR] = f"These settings cannot be used: {exc}"
        return current
    st.session_state.pop(ERROR, None)
    st.session_state.pop(TRAIN_ERROR, None)
    if current is not None:
        st.session_state[NOTICES] = []  # the user has moved on from the URL they opened
        st.session_state[PLAYING] = True
    st.session_state[EXPERIMENT] = new
    st.session_state[CONFIG] = cfg
    return new


def _upload_split(cfg: Config, data: UploadedData):
    return split_dataset(
        data.X, data.y, val_fraction=cfg.val_fraction, random_state=cfg.data_seed, standardize=cfg.standardize
    )


def reset() -> None:
    exp: Experiment | None = st.session_state.get(EXPERIMENT)
    if exp is not None:
        st.session_state[EXPERIMENT] = Experiment(exp.cfg, exp.split, data_token=exp.data_token)


def playing() -> bool:
    return bool(st.session_state.get(PLAYING, False))


def set_playing(value: bool) -> None:
    st.session_state[PLAYING] = value


def train_for(exp: Experiment, seconds: float, max_epochs: int) -> int:
    """Train in small chunks until ``seconds`` have passed or ``max_epochs`` are done."""
    start, done, chunk = time.perf_counter(), 0, 1
    while done < max_epochs and not exp.done:
        t0 = time.perf_counter()
        done += exp.step(min(chunk, max_epochs - done))
        elapsed = time.perf_counter() - t0
        if time.perf_counter() - start >= seconds:
            break
        # grow the chunk while an epoch is cheap, so Python overhead per chunk stays small
        if elapsed < seconds / 8:
            chunk *= 2
    return done
