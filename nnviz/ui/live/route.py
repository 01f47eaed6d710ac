"""Live frames of the boundary chart over a websocket of their own, beside Streamlit's.

Every Streamlit script or fragment run costs the browser's main thread Streamlit's own bookkeeping
(~0.1 s on a small machine with headless Chromium, whatever the run changes), which capped the live
view at ~4-5 updates a second with 8 panels. So while training plays, one fragment run trains for
~PACING.stream_seconds and, after each chunk of epochs, publishes a frame (the panels' shading images, their
titles and the epoch; ~40-60 KB) on the session's ``Channel``; the chart component (charts.js) has a
websocket to it and swaps the new images in (~2 ms). Streamlit's own messages then carry the slower
parts (curves, summary, the progress bar) about once a second.

The websocket route exists only when the app is served by ``serve.py`` (``streamlit run serve.py``,
what ``make run`` does). Without it (``streamlit run app.py``, AppTest), or when the browser does not
connect (a proxy that drops websockets), the page falls back to a fragment run per frame.

A channel lives in its session's state: the route finds it by an unguessable token (a weak reference,
so an ended session's channel goes with it), and a frame is only ever images, titles and numbers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import threading
import time
import weakref

from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from nnviz.ui.live.pacing import PACING

PATH = "nnviz/live"  # relative to the app's base URL: ws(s)://host/<base>/nnviz/live/<token>

_channels: weakref.WeakValueDictionary[str, Channel] = weakref.WeakValueDictionary()
_served = False


def routes() -> list[WebSocketRoute]:
    """The routes to mount beside Streamlit's (serve.py); from then on, pages stream live frames."""
    global _served
    _served = True
    return [WebSocketRoute(f"/{PATH}/{{token}}", _stream)]


def served() -> bool:
    """Whether this server has the frame route (started with serve.py)."""
    return _served


class Channel:
    """The latest live frame of one session's boundary chart, for its browser's websocket.

    ``publish`` is called on the session's script thread; the websocket handlers wait on the server's
    event loop. Only the latest frame is kept: a browser that falls behind skips frames, never queues
    them."""

    def __init__(self) -> None:
        self.token = secrets.token_urlsafe(24)
        self._offered: float | None = None
        self.ever_connected = False
        self.loops = 0  # streaming runs so far (the publisher's count)
        self._lock = threading.Lock()
        self._seq = 0
        self._frame: str | None = None
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()
        _channels[self.token] = self
        weakref.finalize(self, _wake, self._waiters)  # an ended session's sockets close at once

    @property
    def path(self) -> str:
        return f"{PATH}/{self.token}"

    def offered(self) -> None:
        """Note that frames are being published for a page that has the chart (the first time)."""
        if self._offered is None:
            self._offered = time.monotonic()

    def waited(self) -> float:
        """Seconds since frames were first offered (0 before), for deciding the page will not come."""
        return 0.0 if self._offered is None else time.monotonic() - self._offered

    @property
    def connections(self) -> int:
        with self._lock:
            return len(self._waiters)

    def publish(self, frame: dict) -> None:
        text = json.dumps(frame, separators=(",", ":"))
        with self._lock:
            self._seq += 1
            self._frame = text
            waiters = list(self._waiters)
        _wake(waiters)

    def latest(self) -> tuple[int, str | None]:
        with self._lock:
            return self._seq, self._frame

    def _attach(self, waiter) -> None:
        with self._lock:
            self._waiters.add(waiter)
            self.ever_connected = True

    def _detach(self, waiter) -> None:
        with self._lock:
            self._waiters.discard(waiter)


def _wake(waiters) -> None:
    for loop, event in list(waiters):
        with contextlib.suppress(RuntimeError):  # that loop has closed: its socket is gone
            loop.call_soon_threadsafe(event.set)


async def _stream(websocket: WebSocket) -> None:
    """Send the channel's frames as they come (the latest one only, if several came meanwhile)."""
    channel = _channels.get(websocket.path_params.get("token", ""))
    if channel is None:
        await websocket.close(code=4404)  # no such session (or it has ended)
        return
    await websocket.accept()
    event = asyncio.Event()
    waiter = (asyncio.get_running_loop(), event)
    channel._attach(waiter)
    ref = weakref.ref(channel)
    del channel  # only the session keeps its channel alive
    closed = asyncio.ensure_future(websocket.receive())  # completes when the browser goes away
    sent = 0
    try:
        while True:
            event.clear()
            channel = ref()
            if channel is None:
                break
            seq, frame = channel.latest()
            del channel
            if seq != sent and frame is not None:
                await websocket.send_text(frame)
                sent = seq
            wake = asyncio.ensure_future(event.wait())
            done, _ = await asyncio.wait({closed, wake}, timeout=PACING.keepalive_seconds,
                                         return_when=asyncio.FIRST_COMPLETED)  # fmt: skip
            wake.cancel()
            if closed in done:
                if closed.result().get("type") != "websocket.receive":
                    break  # disconnected
                closed = asyncio.ensure_future(websocket.receive())  # the page never talks; ignore it
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass  # the browser went away mid-send
    finally:
        closed.cancel()
        channel = ref()
        if channel is not None:
            channel._detach(waiter)
        if websocket.application_state == WebSocketState.CONNECTED:
            with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):  # it went away meanwhile
                await websocket.close()
