"""One browser session's state: a typed object in ``st.session_state``, behind one accessor.

Everything one user does lives here (never in module globals or ``cache_resource``), so users of one
server never see each other's experiments. Widgets keep their own values under their own keys
(Streamlit's rule); everything else a session has is a field of :class:`Session`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import streamlit as st

from nnviz.config import UPLOAD, Config, Notice
from nnviz.data.upload import UploadedData
from nnviz.experiment import Experiment
from nnviz.presets import Preset, load_presets

KEY = "nnviz"  # the one session-state key nnviz's own state lives under
PRESET_PARAM = "preset"  # the URL parameter of the guided experiment on screen


@dataclass
class LiveState:
    """What the live view keeps between runs (see nnviz/ui/live)."""

    channel: object | None = None  # the session's live.route.Channel, once made
    stream_off: bool = False  # the page never opened the live websocket: frames go through Streamlit
    first_paint_done: bool = False  # the session's first page got the boundaries as plain pictures
    summary_shown: bool = False  # the first page defers the summary table by one tick
    titles: tuple | None = None  # (experiment uid, time, titles) while training live
    inline_run: int = -1  # the script run whose boundaries fragment ran inline (not on its timer)
    script_runs: int = 0  # full script runs so far


@dataclass
class Session:
    """What one browser session has: the config and experiment on screen and how it got there."""

    config: Config
    url_notices: list[Notice] = field(default_factory=list)  # what the opening URL got wrong
    experiment: Experiment | None = None
    playing: bool = True
    error: str | None = None  # why the requested settings cannot be used (the last ones stay)
    train_error: str | None = None  # why training stopped, until the next Play, Step, Reset or experiment
    upload: tuple[str, UploadedData] | None = None  # (sha256 hex, data) of the last valid upload
    upload_message: tuple[str, str] | None = None  # (level, text) about the last upload attempt
    preset: str | None = None  # the key of the guided experiment last loaded
    live: LiveState = field(default_factory=LiveState)
    replay_follow: bool = True  # the Replay slider follows training until the user picks an epoch
    replay_animation: tuple | None = None  # (what it shows, figure): rebuilt when a snapshot is added

    # ---- the experiment -------------------------------------------------------------------------
    def experiment_for(self, cfg: Config) -> Experiment | None:
        """The experiment for ``cfg``; a changed config restarts it (same seed, so reproducible).

        If the new config cannot be built (e.g. too few samples for the classes, or the uploaded data
        is gone), ``error`` says why and the previous experiment stays."""
        current = self.experiment
        token = self.upload[0] if self.upload and cfg.dataset == UPLOAD else ""
        if current is not None and current.cfg == cfg and current.data_token == token:
            return current
        try:
            if cfg.dataset != UPLOAD:
                new = Experiment(cfg)
            elif self.upload is None:
                raise ValueError("no uploaded data in this session; upload a CSV under Data")
            else:
                new = Experiment.from_points(cfg, self.upload[1].X, self.upload[1].y, data_token=token)
        except ValueError as exc:
            self.error = f"These settings cannot be used: {exc}"
            return current
        self.error = self.train_error = None
        if current is not None:
            self.url_notices = []  # the user has moved on from the URL they opened
            self.playing = True
        self.experiment, self.config = new, cfg
        return new

    def restart(self) -> None:
        """Reset: the same experiment back at epoch 0."""
        if self.experiment is not None:
            self.experiment = self.experiment.restarted()

    # ---- the guided experiment -------------------------------------------------------------------
    def active_preset(self) -> Preset | None:
        """The preset whose settings (or contrast settings) are on screen, else None."""
        preset = load_presets().get(self.preset) if self.preset else None
        if preset is not None and self.config in (preset.config, preset.contrast_config):
            return preset
        return None

    def url_params(self) -> dict[str, str]:
        """What the address bar carries: every setting off its default, and the preset on screen."""
        params = self.config.to_params()
        preset = self.active_preset()
        if preset is not None:
            params[PRESET_PARAM] = preset.key
        return params


def session() -> Session:
    """This browser session's state (made from the URL on its first run, see :func:`open_session`).

    Reads ``st.session_state`` on every call: that is where Streamlit ends a run for a pending rerun,
    which the live loop relies on."""
    return st.session_state[KEY]


def open_session() -> tuple[Session, bool]:
    """The session, made on its first run from the URL's parameters (``preset=KEY`` loads that
    preset's settings under the URL's own); returns it and whether it is new."""
    if KEY in st.session_state:
        return st.session_state[KEY], False
    params = {key: st.query_params.get_all(key) for key in st.query_params}
    preset, preset_notices = _preset_from(params)
    cfg, notices = Config.from_params(params)
    st.session_state[KEY] = new = Session(config=cfg, url_notices=preset_notices + notices, preset=preset)
    return new, True


def _preset_from(params: dict) -> tuple[str | None, list[Notice]]:
    """Take ``preset`` out of ``params`` and put that preset's settings under the others."""
    raw = params.pop(PRESET_PARAM, None)
    if not raw:
        return None, []
    key = str(raw[-1] if isinstance(raw, list) else raw)
    preset = load_presets().get(key)
    if preset is None:
        shown = key if len(key) <= 40 else key[:40] + "..."
        return None, [Notice(PRESET_PARAM, shown, "", f"{shown!r} is not one of the guided experiments")]
    params.update({k: v for k, v in preset.params.items() if k not in params})
    return key, []


def sync_url(s: Session) -> None:
    """Make the address bar carry the session's settings (only when they changed, to avoid churn)."""
    params = s.url_params()
    current = {key: st.query_params.get(key) for key in st.query_params}
    if current != params:
        st.query_params.from_dict(params)
