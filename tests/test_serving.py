"""Browser tests through HAProxy: ``deploy.serve.Topology(2)`` (two ``streamlit run serve.py``
replicas behind HAProxy with cookie affinity, what ``make serve`` starts) on free ports, driven by
the system Chromium.

* Affinity: each new browser is balanced to a replica once (its first request) and then stays
  there: every request of the page carries that replica's cookie, HAProxy's counters show its
  websockets and its uploads and downloads on that replica and nothing on the other, and nnviz's
  live websocket (whose token only that replica knows) delivers frames.
* Through the proxy: a CSV upload, the dataset CSV and the weights downloads, live frames.
* A replica killed (SIGKILL) under a live page: the page says it lost the connection (charts.js),
  Streamlit's frontend reconnects by itself, HAProxy redispatches it to the healthy replica, where
  the page starts again from its URL (and says so); the other replica's page is untouched; the dead
  one is marked DOWN, and once restarted, UP and reachable again.

Skipped with a reason when HAProxy or Chromium is missing; failing instead when
NNVIZ_REQUIRE_BROWSER=1 (as in CI). Screenshots and the servers' logs land in test-artifacts/.
"""

from __future__ import annotations

import collections
import contextlib
import csv
import io
import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from deploy.serve import COOKIE, Topology
from tools.harness import ARTIFACTS, boundary_info, epoch_of, free_ports, wait_for_boundary

VIEWPORT = {"width": 1280, "height": 800}
SLOW = 60  # s: a replica's first session (imports, cold caches) on a busy 2-core machine
CHART = '.nnviz-chart[data-chart="boundary"]'
NOTICE = f"{CHART} .nnviz-chart-notice"  # charts.js: the live chart's note about its connection
LOST = "Lost the connection to the server"
RESTARTED = "the page started again from its URL"
GOOD_CSV = "x1,x2,label\n" + "".join(
    f"{i % 9},{(i * 7) % 5},{'red' if i % 3 else 'blue'}\n" for i in range(90)
)  # the upload of test_browser.py: 90 points, labels blue (class 0) and red (class 1)


# ---- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def haproxy(haproxy_path):
    """HAProxy (tests/conftest.py skips or fails without it), its directory on PATH (Debian puts it
    in /usr/sbin)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PATH", str(Path(haproxy_path).parent) + os.pathsep + os.environ.get("PATH", ""))
        yield haproxy_path


@contextlib.contextmanager
def two_replicas(name: str):
    first = free_ports(3)  # HAProxy's port, then the replicas'
    log_dir = ARTIFACTS / f"serving-{name}"  # replica-r1.log, replica-r2.log, haproxy.log
    shutil.rmtree(log_dir, ignore_errors=True)
    with Topology(2, port=first, first_replica_port=first + 1, log_dir=log_dir) as topology:
        yield topology


@pytest.fixture(scope="module")
def topology(haproxy, chromium):
    """Two replicas and HAProxy for the tests that do not break anything (startup: a few seconds)."""
    with two_replicas("shared") as t:
        yield t


@pytest.fixture(scope="module")
def fault_topology(haproxy, chromium):
    """Two more, for the test that kills one of them."""
    with two_replicas("fault") as t:
        yield t


@dataclass
class Tab:
    """One browser context (its own cookies) with one page, and what the page sent and received."""

    page: object
    requests: list = field(default_factory=list)  # every request the page made (Playwright's)
    responses: list = field(default_factory=list)
    live_frames: list = field(default_factory=list)  # (time, payload) from nnviz's live websockets
    websockets: list = field(default_factory=list)  # their URLs, Streamlit's too

    def frames_shown(self) -> int:
        """Live frames the boundary chart swapped in (charts.js counts them)."""
        return self.page.evaluate(
            f"() => {{ const d = document.querySelector('{CHART}'); return d ? Number(d.dataset.frames || 0) : 0; }}"
        )


@pytest.fixture
def browse(chromium):
    """``browse(url, query, listen=False)``: a new browser context on ``url/query``; closed after
    the test. ``listen``: collect the live frames (Playwright copies each one out of the browser,
    which slows it a little: only where the frames are counted)."""
    ARTIFACTS.mkdir(exist_ok=True)
    contexts = []

    def open_tab(url: str, query: str = "", listen: bool = False) -> Tab:
        context = chromium.new_context(viewport=VIEWPORT)
        contexts.append(context)
        page = context.new_page()
        tab = Tab(page)
        page.on("request", lambda r: tab.requests.append(r))
        page.on("response", lambda r: tab.responses.append(r))

        def on_websocket(ws) -> None:
            tab.websockets.append(ws.url)
            if listen and "/nnviz/live/" in ws.url:
                ws.on("framereceived", lambda payload: tab.live_frames.append((time.monotonic(), payload)))

        page.on("websocket", on_websocket)
        page.goto(url + "/" + query, wait_until="domcontentloaded")
        return tab

    yield open_tab
    for context in contexts:
        context.close()


# ---- helpers -----------------------------------------------------------------------------------


def replica_of(tab: Tab) -> str | None:
    """The replica HAProxy's affinity cookie names for this browser context."""
    values = [c["value"] for c in tab.page.context.cookies() if c["name"] == COOKIE]
    return values[0] if values else None


def counters(topology: Topology) -> dict[str, dict[str, int]]:
    """Per replica: HTTP requests (req_tot), load-balancing decisions (lbtot: requests without a
    valid cookie), current sessions (scur: open websockets, requests in flight), redispatches."""
    keys = ("req_tot", "lbtot", "scur", "wredis")
    return {name: {k: int(row[k] or 0) for k in keys} for name, row in topology.stat().items()}


def status(topology: Topology, name: str) -> str:
    return topology.stat()[name]["status"]


def all_up(topology: Topology) -> None:
    """Wait until HAProxy has every replica UP: on a busy machine a health check can time out (1 s),
    and a replica two failed checks DOWN gets no new browsers until two checks pass again."""
    wait_until(
        lambda: all(status(topology, r.name) == "UP" for r in topology.replicas),
        30,
        lambda: f"every replica UP, last {[status(topology, r.name) for r in topology.replicas]}",
    )


def wait_until(condition, timeout: float, what, interval: float = 0.2):
    """Poll ``condition`` until it is true; ``what`` (a string, or a function giving one when it
    fails) says what was awaited."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:.0f} s: {what() if callable(what) else what}")
        time.sleep(interval)


def panel_titles(tab: Tab) -> list[str]:
    return [t.split(" ·")[0] for t in boundary_info(tab.page)["titles"] if "·" in t]


def dataset_shown(tab: Tab) -> str:
    return tab.page.evaluate(
        """() => document.querySelector('[data-testid="stSidebar"] input[aria-label="Dataset"]').value"""
    )


def assert_sticky(tab: Tab, topology: Topology, replica: str) -> None:
    """Every request the page sent to the proxy after its first carried the cookie naming
    ``replica``, and no response set another (HAProxy sets it again only when it chose a server)."""
    mine = [r for r in tab.requests if r.url.startswith(topology.url)]
    assert mine, "the page made requests"
    first = mine[0]
    assert first.is_navigation_request() and COOKIE not in first.all_headers().get("cookie", "")
    for request in mine[1:]:
        cookies = request.all_headers().get("cookie", "").split("; ")
        assert f"{COOKIE}={replica}" in cookies, (request.method, request.url, cookies)
    set_by = [
        r.url
        for r in tab.responses
        if r.url.startswith(topology.url) and COOKIE in r.all_headers().get("set-cookie", "")
    ]
    assert set_by == [first.url], set_by


def no_traceback(tab: Tab) -> None:
    assert tab.page.locator('[data-testid="stException"]').count() == 0
    assert "Traceback" not in tab.page.inner_text("body")


# ---- affinity ----------------------------------------------------------------------------------


def test_two_browsers_get_their_own_replica_and_stay_on_it(topology, browse):
    before = counters(topology)
    a = browse(topology.url, "?act=relu,tanh&epochs=40")
    wait_for_boundary(a.page, 2, timeout_s=SLOW)
    all_up(topology)
    b = browse(topology.url, "?dataset=circles&act=sigmoid,relu,gelu&epochs=40")  # a's websockets are open
    wait_for_boundary(b.page, 3, timeout_s=SLOW)
    ra, rb = replica_of(a), replica_of(b)
    assert {ra, rb} == {"r1", "r2"}, "leastconn sends the second browser to the other replica"
    # each page shows its own URL's settings
    assert panel_titles(a) == ["ReLU", "Tanh"] and dataset_shown(a) == "Moons"
    assert panel_titles(b) == ["Sigmoid", "ReLU", "GELU"] and dataset_shown(b) == "Circles"
    # nnviz's live websocket found its session's channel: its token is known only to that replica
    wait_until(lambda: a.frames_shown() > 0 and b.frames_shown() > 0, 30, "live frames on both pages")
    # each replica holds exactly its page's two websockets (Streamlit's /_stcore/stream and nnviz's)
    wait_until(
        lambda: all(c["scur"] == 2 for c in counters(topology).values()),
        15,
        lambda: f"two open sessions on each replica, last {counters(topology)}",
    )
    for tab in (a, b):
        assert sorted(u.split("/")[3] for u in tab.websockets) == ["_stcore", "nnviz"], tab.websockets
    after = counters(topology)
    # one load-balancing decision per browser (its first request); all the others went by cookie
    assert sum(after[r]["lbtot"] - before[r]["lbtot"] for r in after) == 2, (before, after)
    assert all(after[r]["wredis"] == before[r]["wredis"] for r in after), "no redispatch"
    assert after[ra]["req_tot"] > before[ra]["req_tot"] and after[rb]["req_tot"] > before[rb]["req_tot"]
    assert_sticky(a, topology, ra)
    assert_sticky(b, topology, rb)
    no_traceback(a)
    no_traceback(b)


# ---- through the proxy -------------------------------------------------------------------------


def test_upload_and_downloads_through_the_proxy_reach_the_pages_replica(topology, browse, tmp_path):
    import torch

    from nnviz.export import load_run_model

    tab = browse(topology.url, "?act=relu,tanh&epochs=50")
    wait_for_boundary(tab.page, 2, timeout_s=SLOW)
    own = replica_of(tab)
    other = next(r.name for r in topology.replicas if r.name != own)
    page = tab.page
    before = counters(topology)
    n_before = len(tab.requests)

    good = tmp_path / "good.csv"
    good.write_text(GOOD_CSV)
    page.get_by_text("Your own data (CSV)").click()
    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(good))
    page.get_by_text("Loaded 90 points in 2 classes").first.wait_for(timeout=20000)
    page.get_by_text("Two interleaving half circles").wait_for(state="detached", timeout=20000)  # not moons
    wait_for_boundary(page, 2, timeout_s=SLOW)

    page.get_by_text("Export: CSV, config, weights, HTML report, data").click()
    with page.expect_download(timeout=20000) as download:
        page.get_by_role("button", name="Dataset CSV").click()
    rows = list(csv.reader(io.StringIO(Path(download.value.path()).read_text())))
    assert rows[0] == ["x1", "x2", "label"] and len(rows) == 91
    shown = collections.Counter((round(float(x), 3), round(float(y), 3), int(c)) for x, y, c in rows[1:])
    uploaded = collections.Counter(
        (float(x), float(y), {"blue": 0, "red": 1}[c])
        for x, y, c in csv.reader(io.StringIO(GOOD_CSV.split("\n", 1)[1]))
    )
    assert shown == uploaded, "the dataset download is the uploaded points (train and validation)"

    with page.expect_download(timeout=20000) as download:
        page.get_by_role("button", name="Weights (torch)").click()
    assert download.value.suggested_filename == "nnviz-weights.pt"
    payload = torch.load(download.value.path(), weights_only=False)
    assert [run["activation"] for run in payload["runs"]] == ["relu", "tanh"]
    # 2 inputs; 2 classes: 1 logit
    assert payload["dims"][0] == 2 and payload["dims"][-1] == 1, payload["dims"]
    points = torch.tensor([[float(x), float(y)] for x, y, _ in rows[1:]])
    mean, scale = (torch.tensor(payload["standardize"][k]) for k in ("mean", "scale"))
    for k in range(2):  # the trained weights load into a plain torch module and classify the points
        logits = load_run_model(payload, k)((points - mean) / scale).detach()
        assert logits.shape == (90, 1) and torch.isfinite(logits).all()
    page.screenshot(path=str(ARTIFACTS / "serving-upload.png"))

    page.wait_for_timeout(500)  # the last responses are counted
    after = counters(topology)
    sent = [r for r in tab.requests[n_before:] if r.url.startswith(topology.url)]
    assert [r.method for r in sent if "/_stcore/upload_file/" in r.url] == ["PUT"], "the upload"
    assert len([r for r in sent if urlsplit(r.url).path.startswith("/media/")]) == 2, "the two downloads"
    # the upload and the downloads (and whatever else the page fetched meanwhile) reached the page's
    # replica, and not one request the other
    assert after[own]["req_tot"] - before[own]["req_tot"] >= 3, (before, after)
    assert after[other]["req_tot"] == before[other]["req_tot"], (before, after)
    assert after[own]["lbtot"] == before[own]["lbtot"] and after[own]["wredis"] == before[own]["wredis"]
    assert_sticky(tab, topology, own)
    no_traceback(tab)


def test_live_frames_stream_through_the_proxy(topology, browse):
    query = "?act=relu,tanh,gelu&epochs=5000&batch_size=8"  # small batches: training outlasts the test
    tab = browse(topology.url, query, listen=True)
    wait_for_boundary(tab.page, 3, timeout_s=SLOW)
    wait_until(lambda: tab.live_frames, 30, "a first live frame")
    tab.page.wait_for_timeout(1000)
    n0, shown0, epoch0 = len(tab.live_frames), tab.frames_shown(), epoch_of(tab.page)
    tab.page.wait_for_timeout(4000)
    frames = [json.loads(payload) for _, payload in tab.live_frames[n0:]]
    # ~10 a second when nothing else runs (PACING.stream_frame_seconds); a shared machine is slower
    print(f"{len(frames)} live frames through the proxy in 4 s")
    assert len(frames) >= 10, f"{len(frames)} live frames through the proxy in 4 s"
    assert all(len(f["images"]) == 3 and f["epochs"] == 5000 for f in frames)
    epochs = [f["epoch"] for f in frames]
    assert epochs == sorted(epochs) and epochs[-1] > epochs[0], epochs
    assert tab.frames_shown() - shown0 >= 5, "the page swapped them in"
    assert epoch_of(tab.page) > epoch0
    live = [u for u in tab.websockets if "/nnviz/live/" in u]
    assert live and all(u.startswith(topology.url.replace("http", "ws", 1) + "/nnviz/live/") for u in live)
    own = replica_of(tab)
    expected = {r.name: (2 if r.name == own else 0) for r in topology.replicas}
    wait_until(
        lambda: {r: c["scur"] for r, c in counters(topology).items()} == expected,
        15,
        lambda: f"both websockets on the page's replica {own}, last {counters(topology)}",
    )


# ---- a replica dies ----------------------------------------------------------------------------


def test_a_killed_replica(fault_topology, browse):
    t = fault_topology
    a = browse(t.url, "?dataset=circles&act=relu,tanh&epochs=5000&batch_size=8")
    wait_for_boundary(a.page, 2, timeout_s=SLOW)
    all_up(t)
    b = browse(t.url, "?act=sigmoid,relu,gelu&epochs=5000&batch_size=8")
    wait_for_boundary(b.page, 3, timeout_s=SLOW)
    ra, rb = replica_of(a), replica_of(b)
    assert ra != rb and {ra, rb} == {"r1", "r2"}
    wait_until(lambda: a.frames_shown() > 0 and b.frames_shown() > 0, 30, "both pages live")
    url_a = a.page.url

    epoch_b, shown_b = epoch_of(b.page), b.frames_shown()
    t.kill_replica(ra)
    killed = time.monotonic()

    # Page A: its websockets drop (1006). Streamlit greys its widgets out and shows no message of its
    # own (toolbarMode "minimal"); the live chart says what happened instead of silently freezing.
    notice = a.page.locator(NOTICE)
    notice.wait_for(timeout=5000)
    assert LOST in notice.inner_text()
    a.page.screenshot(path=str(ARTIFACTS / "serving-fault-lost.png"))
    no_traceback(a)

    # HAProxy's health checks (every 1 s, fall 3) mark the dead replica DOWN within a few seconds
    wait_until(
        lambda: status(t, ra).startswith("DOWN"),
        6 - (time.monotonic() - killed),
        f"{ra} DOWN 6 s after the kill",
    )
    down_s = time.monotonic() - killed
    assert status(t, rb).startswith("UP")

    # Page B, on the other replica, is untouched: it went on training and receiving frames meanwhile,
    # and goes on
    assert epoch_of(b.page) > epoch_b and b.frames_shown() > shown_b
    epoch_b, shown_b = epoch_of(b.page), b.frames_shown()
    b.page.wait_for_timeout(2000)
    assert epoch_of(b.page) > epoch_b and b.frames_shown() > shown_b
    assert b.page.locator(NOTICE).count() == 0 and replica_of(b) == rb

    # Streamlit's frontend reconnects by itself; HAProxy sends it (redispatch) to the healthy replica,
    # which has no such session: a new one, run from the page's URL, so training starts again
    a.page.wait_for_function(
        f"() => (document.querySelector('{NOTICE}') || {{}}).innerText?.includes('{RESTARTED}')",
        timeout=30000,
    )
    assert replica_of(a) == rb
    wait_for_boundary(a.page, 2, timeout_s=SLOW)
    shown_a = a.frames_shown()
    wait_until(lambda: a.frames_shown() > shown_a, 20, "live frames again on page A")
    assert panel_titles(a) == ["ReLU", "Tanh"] and dataset_shown(a) == "Circles" and a.page.url == url_a
    a.page.screenshot(path=str(ARTIFACTS / "serving-fault-restarted.png"))
    no_traceback(a)

    # Reloading page A: its boundary again, with its URL's settings, from the healthy replica
    a.page.reload(wait_until="domcontentloaded")
    wait_for_boundary(a.page, 2, timeout_s=SLOW)
    assert panel_titles(a) == ["ReLU", "Tanh"] and dataset_shown(a) == "Circles" and a.page.url == url_a
    assert replica_of(a) == rb and a.page.locator(NOTICE).count() == 0
    wait_until(lambda: a.frames_shown() > 0, 30, "live frames after the reload")
    no_traceback(a)

    # The killed replica started again: UP after two good checks, and a new browser reaches it
    # (leastconn: the healthy replica holds both pages' websockets, the restarted one none)
    t.restart_replica(ra)
    wait_until(lambda: status(t, ra) == "UP", 15, f"{ra} UP again")
    c = browse(t.url, "?act=elu&epochs=40")
    wait_for_boundary(c.page, 1, timeout_s=SLOW)
    assert replica_of(c) == ra and panel_titles(c) == ["ELU"]
    wait_until(lambda: c.frames_shown() > 0, 30, "live frames from the restarted replica")
    no_traceback(c)
    print(f"{ra} marked DOWN {down_s:.1f} s after the kill")


# ---- make serve: the supervisor ------------------------------------------------------------------


def _children(pid: int) -> set[int]:
    """Every live descendant of ``pid`` (from /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
    found, todo = set(), [pid]
    while todo:
        p = todo.pop()
        for child, parent in parents.items():
            if parent == p and child not in found:
                found.add(child)
                todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_make_serve_restarts_a_replica_that_exits_and_ctrl_c_stops_everything(haproxy):
    """``python -m deploy.serve`` (make serve): serves through HAProxy once every replica is up,
    starts a replica again when it dies, and on Ctrl-C (SIGINT to its process group, as a terminal
    sends it) stops every process it started and frees every port."""
    import signal
    import subprocess
    import sys
    import urllib.request

    from deploy.serve import ROOT, healthy

    first = free_ports(3)
    ports = [first, first + 1, first + 2]
    log = (ARTIFACTS / "serving-make-serve.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "deploy.serve", "--replicas", "2", "--port", str(first),
         "--first-replica-port", str(first + 1)],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + SLOW
        while not healthy(f"http://127.0.0.1:{first}"):
            assert proc.poll() is None, (ARTIFACTS / "serving-make-serve.log").read_text()
            assert time.monotonic() < deadline, "make serve did not come up"
            time.sleep(0.3)
        with urllib.request.urlopen(f"http://127.0.0.1:{first}/", timeout=10) as r:
            assert r.status == 200 and COOKIE in r.headers.get("Set-Cookie", "")
        started = _children(proc.pid)
        assert len(started) >= 3  # two replicas and HAProxy (and whatever they start)
        # a replica that dies is started again
        replica = next(
            p for p in started if f"--server.port {first + 1}" in Path(f"/proc/{p}/cmdline").read_text().replace("\0", " ")
        )  # fmt: skip
        os.kill(replica, signal.SIGKILL)
        deadline = time.monotonic() + SLOW
        while not healthy(f"http://127.0.0.1:{first + 1}") or _alive(replica):
            assert time.monotonic() < deadline, "the dead replica was not started again"
            time.sleep(0.3)
        assert "replica r1 exited; starting it again" in (ARTIFACTS / "serving-make-serve.log").read_text()
        everything = _children(proc.pid)
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C
        assert proc.wait(30) == 0
        assert not [p for p in everything if _alive(p)], "processes left running after Ctrl-C"
        import socket

        for port in ports:
            with contextlib.closing(socket.socket()) as s:
                assert s.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still answers"
    finally:
        if proc.poll() is None:
            proc.kill()
        log.close()
