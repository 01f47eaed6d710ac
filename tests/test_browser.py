"""Real-browser tests: the system Chromium driven by Playwright against a live `streamlit run app.py`.

Skipped with a reason when no Chromium is installed; failing instead when NNVIZ_REQUIRE_BROWSER=1
(as in CI). Screenshots land in test-artifacts/.
"""

import time

from tests.browser.harness import ARTIFACTS, boundary_info, epoch_of, wait_for_boundary


def open_app(page, url: str, query: str = "") -> None:
    page.goto(url + "/" + query, wait_until="domcontentloaded")


def test_page_trains_live_and_shows_one_boundary_per_activation(chromium, app_server, page):
    url, _, _ = app_server
    start = time.monotonic()
    open_app(page, url)
    info = wait_for_boundary(page, 4)
    first_boundary_s = time.monotonic() - start
    assert [t.split(" ·")[0] for t in info["titles"] if "·" in t] == ["Sigmoid", "Tanh", "ReLU", "Leaky ReLU"]
    # training runs live without a click: the epoch counter advances on its own
    e1 = epoch_of(page)
    page.wait_for_timeout(1500)
    e2 = epoch_of(page)
    assert e2 > e1 or e2 == 300, (e1, e2)
    page.screenshot(path=str(ARTIFACTS / "browser-compare.png"), full_page=False)
    print(f"first boundary visible {first_boundary_s:.2f}s after navigation (cold session)")


def test_pause_play_and_curves_advance(chromium, app_server, page):
    url, _, _ = app_server
    open_app(page, url, "?epochs=5000")
    wait_for_boundary(page, 4)
    page.get_by_role("button", name="Pause").click()
    page.wait_for_timeout(800)
    paused = epoch_of(page)
    page.wait_for_timeout(800)
    assert epoch_of(page) == paused, "paused training must not advance"
    n_before = curve_length(page)
    page.get_by_role("button", name="Play").click()
    page.wait_for_timeout(3000)
    assert epoch_of(page) > paused
    assert curve_length(page) > max(n_before, 1), "the loss curve grows while playing"


def curve_length(page) -> int:
    """Points in the first line of the curves chart (the second Plotly chart), as Plotly drew it."""
    return page.evaluate(
        """() => { const els = document.querySelectorAll('[data-testid="stPlotlyChart"] .js-plotly-plot');
                   const c = els[els.length - 1]; const d = c && c._fullData && c._fullData[0];
                   return d && d.y ? d.y.length : 0; }"""
    )


def test_changing_activations_changes_the_grid(chromium, app_server, page):
    url, _, _ = app_server
    open_app(page, url, "?act=relu,tanh,gelu&epochs=50")
    wait_for_boundary(page, 3)
    # remove the first chosen activation with its chip's close button in the sidebar multiselect
    page.locator('[data-testid="stSidebar"]').get_by_role("button", name="Remove ReLU").click()
    info = wait_for_boundary(page, 2)
    assert [t.split(" ·")[0] for t in info["titles"] if "·" in t] == ["Tanh", "GELU"]
    assert "act=tanh%2Cgelu" in page.url or "act=tanh,gelu" in page.url
    page.screenshot(path=str(ARTIFACTS / "browser-after-change.png"))


def test_activation_zoo_tab(chromium, app_server, page):
    url, _, _ = app_server
    open_app(page, url, "?epochs=20")
    wait_for_boundary(page, 4)
    page.get_by_role("tab", name="Activation zoo").click()
    page.locator(".katex").first.wait_for(timeout=15000)
    assert page.get_by_text("Range").first.is_visible()
    page.screenshot(path=str(ARTIFACTS / "browser-zoo.png"))


def test_junk_url_shows_warning_in_browser(chromium, app_server, page):
    url, _, _ = app_server
    open_app(page, url, "?width=%3Cscript%3Ealert(1)%3C/script%3E&lr=NaN&zzz=1")
    wait_for_boundary(page, 4)
    alert = page.locator('[data-testid="stAlert"]').first
    alert.wait_for(timeout=15000)
    assert "width" in page.locator('[data-testid="stAlert"]').all_inner_texts().__str__()
    assert boundary_info(page)["heatmaps"] == 4
