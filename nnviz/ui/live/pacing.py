"""The live view's pacing: every timing and resolution constant, with why it has its value."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Pacing:
    # With the live websocket (serve.py): one run of the boundaries fragment streams frames for
    # ``stream_seconds`` (half that on the session's first run, so the curves get data sooner), then
    # the next run starts ``restart_seconds`` later, once the curves and the summary have run.
    stream_seconds: float = 1.2
    restart_seconds: float = 0.1
    stream_frame_seconds: float = 0.1  # a frame every 0.1 s: trains 0.05 s, draws ~0.03 s
    stream_train_seconds: float = 0.05
    progress_every: int = 3  # frames per update of the epoch counter while streaming
    stream_grace: float = 10.0  # the page has this long to open the websocket, else frames fall back
    keepalive_seconds: float = 20.0  # a socket's wait wakes at least this often (to notice a gone channel)
    # Without it: each run of the fragment is one frame, trains at most ``fallback_train_seconds``
    # and draws in the rest (every Streamlit run costs the browser ~0.1 s: ~5 frames a second at best).
    frame_seconds: float = 0.18
    fallback_train_seconds: float = 0.06
    # Either way:
    slow_seconds: float = 1.0  # the curves and the summary refresh this often
    titles_seconds: float = 2.0  # the panels' titles (their validation accuracy) refresh this often
    playback_seconds: float = 7.0  # the whole epoch budget plays out over at least this long
    live_resolution: int = 80  # the boundary grid while training (a ~4.5 KB PNG a panel, upsampled)
    full_resolution: int = 160  # when paused or finished

    @property
    def train_share(self) -> float:
        """The share of a streaming frame's time spent training (for the time-left estimate)."""
        return self.stream_train_seconds / self.stream_frame_seconds


PACING = Pacing()
