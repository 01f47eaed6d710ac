import os

import pytest

from tools.harness import ARTIFACTS, browser, find_chromium, streamlit_server


def missing(reason: str) -> None:
    """A system binary a test needs is not there: skip with ``reason``, or fail in CI
    (NNVIZ_REQUIRE_BROWSER=1, set by .ci/run, which installs them)."""
    if os.environ.get("NNVIZ_REQUIRE_BROWSER") == "1":
        pytest.fail(reason + " but NNVIZ_REQUIRE_BROWSER=1")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium_path():
    path = find_chromium()
    if path is None:
        missing("no system Chromium found (install Debian's chromium: apt-get install -y chromium)")
    return path


@pytest.fixture(scope="session")
def haproxy_path():
    from deploy.serve import find_haproxy

    path = find_haproxy()
    if path is None:
        missing("HAProxy not installed (Debian: apt-get install -y haproxy)")
    return path


@pytest.fixture(scope="session")
def app_server():
    with streamlit_server() as (url, proc, log):
        yield url, proc, log


@pytest.fixture(scope="session")
def app_only_server():
    """`streamlit run app.py`: no live websocket, so live frames go through Streamlit's own."""
    with streamlit_server(script="app.py") as (url, proc, log):
        yield url, proc, log


@pytest.fixture(scope="session")
def chromium(chromium_path):
    with browser(chromium_path) as b:
        yield b


@pytest.fixture
def page(chromium):
    ARTIFACTS.mkdir(exist_ok=True)
    context = chromium.new_context(viewport={"width": 1280, "height": 800})
    pg = context.new_page()
    yield pg
    context.close()
