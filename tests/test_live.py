"""The live websocket (nnviz/ui/live/route.py): frames reach the page, the latest only, for its session only."""

import gc
import json
import socket
import threading
import time

import pytest
import uvicorn
from starlette.applications import Starlette
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from nnviz.ui.live import route as live


@pytest.fixture(scope="module")
def server():
    """The route on a real server (uvicorn, as under Streamlit), in a thread; yields its ws:// base."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    served = live._served
    config = uvicorn.Config(Starlette(routes=live.routes()), port=port, log_level="warning", lifespan="off")
    live._served = served  # (routes() tells the app it is served: not the other tests' app)
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield f"ws://127.0.0.1:{port}/"
    srv.should_exit = True
    thread.join(5)


def receive(ws) -> dict:
    return json.loads(ws.recv(timeout=5))


def frame(epoch: int) -> dict:
    return {"rev": "r", "epoch": epoch, "images": [f"data:image/png;base64,{epoch}"], "titles": ["t"]}


def test_frames_reach_the_socket_latest_first(server):
    channel = live.Channel()
    assert channel.path == f"{live.PATH}/{channel.token}" and not channel.ever_connected
    for epoch in (1, 2, 3):  # published before the page connects: only the latest is kept
        channel.publish(frame(epoch))
    with connect(server + channel.path) as ws:
        assert receive(ws)["epoch"] == 3
        assert channel.ever_connected and channel.connections == 1
        channel.publish(frame(4))
        channel.publish(frame(5))
        got = receive(ws)["epoch"]
        if got == 4:  # the socket may have sent 4 before 5 came; never an older one, never twice
            got = receive(ws)["epoch"]
        assert got == 5
        with pytest.raises(TimeoutError):  # and nothing more until the next frame
            ws.recv(timeout=0.3)
    deadline = time.monotonic() + 5
    while channel.connections and time.monotonic() < deadline:
        time.sleep(0.02)
    assert channel.connections == 0


def test_an_unknown_token_is_refused(server):
    channel = live.Channel()  # some other session's
    with pytest.raises(InvalidStatus), connect(server + f"{live.PATH}/not-{channel.token}"):
        pass


def test_an_ended_sessions_socket_closes(server):
    channel = live.Channel()
    path = server + channel.path
    with connect(path) as ws:
        channel.publish(frame(1))
        assert receive(ws)["epoch"] == 1
        del channel  # the session state let go of it
        gc.collect()
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=5)  # at once, not after KEEPALIVE_SECONDS
    with pytest.raises(InvalidStatus), connect(path):
        pass


def test_tokens_are_unguessable_and_distinct():
    tokens = {live.Channel().token for _ in range(50)}
    assert len(tokens) == 50 and all(len(t) >= 32 for t in tokens)
