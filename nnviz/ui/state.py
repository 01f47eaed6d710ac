"""Session state: the config from the URL and the widgets, and the experiment kept between reruns.

Everything one user does lives in ``st.session_state`` (never in module globals or
``cache_resource``), so users of one server never see each other's experiments.
"""

from __future__ import annotations

import time

import streamlit as st

from nnviz.config import UPLOAD, Config
from nnviz.datasets import split_dataset
from nnviz.experiment import Experiment
from nnviz.upload import UploadedData

EXPERIMENT = "experiment"
CONFIG = "config"
PLAYING = "playing"
NOTICES = "url_notices"
ERROR = "experiment_error"
TRAIN_ERROR = "train_error"  # why training stopped, until the next Play, Step, Reset or experiment
UPLOADED = "uploaded"  # (sha256 hex, UploadedData) of the last valid upload
UPLOAD_MESSAGE = "upload_message"  # (level, text) about the last upload attempt


def init_session() -> None:
    """On a session's first run: parse the URL into a config and seed the widgets with it."""
    if CONFIG in st.session_state:
        return
    params = {key: st.query_params.get_all(key) for key in st.query_params}
    cfg, notices = Config.from_params(params)
    st.session_state[CONFIG] = cfg
    st.session_state[NOTICES] = notices
    st.session_state[PLAYING] = True
    from nnviz.ui.sidebar import seed_widgets  # the widgets' keys live with the widgets

    seed_widgets(cfg)


def sync_url(cfg: Config) -> None:
    """Make the address bar carry every setting (only when it changed, to avoid churn)."""
    params = cfg.to_params()
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
