"""Shared by the browser tests (tests/conftest.py, tests/test_browser.py) and the tools
(`make screenshot`, `make measure`, `make loadtest`): a Streamlit server in a subprocess and a
Playwright-driven system Chromium (Playwright cannot download browsers here)."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]  # the repository (tools/..)
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def find_chromium() -> str | None:
    """Path of the system Chromium, or None."""
    env = os.environ.get("NNVIZ_CHROMIUM")
    if env and Path(env).exists():
        return env
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def free_port() -> int:
    with contextlib.closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_ports(n: int) -> int:
    """The first of ``n`` consecutive free ports (e.g. HAProxy's, then its replicas')."""
    for _ in range(100):
        first = free_port()
        if first + n <= 65536 and all(_bindable(p) for p in range(first, first + n)):
            return first
    raise RuntimeError(f"found no {n} consecutive free ports")


def _bindable(port: int) -> bool:
    with contextlib.closing(socket.socket()) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("0.0.0.0", port))  # as deploy.serve checks them: HAProxy binds every interface
        except OSError:
            return False
    return True


@contextlib.contextmanager
def streamlit_server(
    port: int | None = None, log_path: Path | None = None, timeout: float = 60.0, script: str = "serve.py"
):
    """Start `streamlit run serve.py` (what make run does; ``script="app.py"``: Streamlit alone, no
    live websocket) on a free port; yields (base_url, process, log_path)."""
    port = port or free_port()
    ARTIFACTS.mkdir(exist_ok=True)
    log_path = log_path or ARTIFACTS / f"server-{port}.log"
    cmd = [
        sys.executable, "-m", "streamlit", "run", str(ROOT / script),
        "--server.port", str(port), "--server.headless", "true",
        "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
    ]  # fmt: skip
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc, timeout, log_path)
        yield url, proc, log_path
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def _wait_healthy(url: str, proc: subprocess.Popen, timeout: float, log_path: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited early:\n{log_path.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"streamlit did not become healthy in {timeout}s")


@contextlib.contextmanager
def browser(chromium: str):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


BOUNDARY_JS = """() => {
  const el = document.querySelector('.nnviz-chart[data-chart="boundary"]');
  if (!el || !el.data) return null;
  return {
    heatmaps: (el.layout.images || []).length,
    titles: (el.layout.annotations || []).map(a => (a.text || '').replace(/<[^>]+>|■/g, '').trim()),
  };
}"""


def boundary_info(page) -> dict | None:
    """Number of boundary subplots (shading images) and subplot titles of the boundary chart."""
    return page.evaluate(BOUNDARY_JS)


def epoch_of(page) -> int:
    """The epoch shown by the progress text 'Epoch N / M'."""
    import re

    text = page.locator('[data-testid="stProgress"]').first.inner_text(timeout=20000)
    match = re.search(r"Epoch (\d+)", text)
    return int(match.group(1)) if match else -1


def wait_for_boundary(page, n_runs: int, timeout_s: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout_s
    info = None
    while time.monotonic() < deadline:
        info = boundary_info(page)
        if info and info["heatmaps"] == n_runs:
            return info
        time.sleep(0.1)
    raise AssertionError(f"expected {n_runs} boundary subplots, last seen {info}")
