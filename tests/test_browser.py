"""Real-browser tests: the system Chromium driven by Playwright against a live `streamlit run serve.py`.

Skipped with a reason when no Chromium is installed; failing instead when NNVIZ_REQUIRE_BROWSER=1
(as in CI). Screenshots land in test-artifacts/.
"""

import time
from pathlib import Path

import pytest

from tools.harness import ARTIFACTS, boundary_info, epoch_of, wait_for_boundary


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
    page.get_by_role("button", name="Play").wait_for(timeout=15000)  # the app has rerun, paused
    page.wait_for_timeout(1000)  # a frame already in flight may still land
    paused = epoch_of(page)
    page.wait_for_timeout(1500)
    assert epoch_of(page) == paused, "paused training must not advance"
    end_before = curve_end(page)
    page.get_by_role("button", name="Play").click()
    page.wait_for_timeout(3000)
    assert epoch_of(page) > paused
    # the line's last epoch, not its point count: long histories are thinned to MAX_POINTS
    assert curve_end(page) > max(end_before, 0), "the loss curve grows while playing"


def curve_end(page) -> float:
    """The last epoch (x) of the first line in the curves chart, as Plotly drew it; -1 if none."""
    return page.evaluate(
        """() => { const c = document.querySelector('.nnviz-chart[data-chart="curves"]');
                   const d = c && c._fullData && c._fullData[0];
                   if (!d || !d.y || !d.y.length) return -1;
                   if (d.x && d.x.length) return Number(d.x[d.x.length - 1]);
                   return Number(d.x0) + Number(d.dx) * (d.y.length - 1); }"""
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


@pytest.mark.parametrize(
    "query, bad",
    [
        ("?width=%3Cscript%3Ealert(1)%3C/script%3E&lr=NaN&zzz=1", "width"),
        ("?act=relu,swoosh&epochs=1e99", "act"),
        ("?dataset=%F0%9F%98%80&noise=-1", "dataset"),
        ("?hidden_layers=7&hidden_layers=x", "hidden_layers"),
    ],
)
def test_junk_url_shows_warning_in_browser(chromium, app_server, page, query, bad):
    url, _, _ = app_server
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    open_app(page, url, query)
    wait_for_boundary(page, 4)
    page.locator('[data-testid="stAlert"]').first.wait_for(timeout=15000)
    assert bad in str(page.locator('[data-testid="stAlert"]').all_inner_texts())
    assert boundary_info(page)["heatmaps"] == 4
    assert not dialogs, "no script from the URL ran"


def test_upload_a_csv_then_download_the_data(chromium, app_server, page, tmp_path):
    url, _, _ = app_server
    open_app(page, url, "?epochs=50")
    wait_for_boundary(page, 4)
    bad = tmp_path / "bad.csv"
    bad.write_text("x1,x2,label\n" + "1,2,0\n" * 30)
    good = tmp_path / "good.csv"
    good.write_text(
        "x1,x2,label\n" + "".join(f"{i % 9},{(i * 7) % 5},{'red' if i % 3 else 'blue'}\n" for i in range(90))
    )
    page.get_by_text("Your own data (CSV)").click()
    uploader = page.locator('[data-testid="stFileUploader"] input[type="file"]')
    uploader.set_input_files(str(bad))
    page.get_by_text("same label").first.wait_for(timeout=20000)  # a clear message, nothing changed
    assert (
        "Two interleaving half circles" in page.locator('[data-testid="stSidebar"]').inner_text()
    )  # still moons
    uploader.set_input_files(str(good))
    page.get_by_text("Loaded 90 points in 2 classes").first.wait_for(timeout=20000)
    page.get_by_text("Two interleaving half circles").wait_for(state="detached", timeout=20000)
    wait_for_boundary(page, 4)
    page.screenshot(path=str(ARTIFACTS / "browser-upload.png"))
    page.get_by_text("Export: CSV, config, weights, HTML report, data").click()
    with page.expect_download(timeout=20000) as download:
        page.get_by_role("button", name="Dataset CSV").click()
    path = download.value.path()
    lines = Path(path).read_text().splitlines()
    assert lines[0] == "x1,x2,label" and len(lines) == 91
    page.screenshot(path=str(ARTIFACTS / "browser-upload.png"))


@pytest.mark.parametrize("server", ["app_server", "app_only_server"])
def test_live_updates_redraw_in_place_and_keep_the_users_zoom(chromium, request, page, server):
    """The boundary chart is one element for the whole run: updates swap its shading in place
    (no remount), and a zoom the user made survives them (layout.uirevision). Served by serve.py the
    updates are frames from the live websocket; by app.py alone, figures from Streamlit's."""
    url, _, _ = request.getfixturevalue(server)
    open_app(page, url, "?epochs=5000&batch_size=8")  # small batches: training outlasts the test
    wait_for_boundary(page, 4)
    chart = '.nnviz-chart[data-chart="boundary"]'
    page.evaluate(f"() => {{ document.querySelector('{chart}').__marked = true; }}")
    full = page.evaluate(f"() => document.querySelector('{chart}')._fullLayout.xaxis3.range")
    # a user's zoom: drag a box across the third panel (Plotly's drag layer for axes x3 / y3)
    box = page.locator(f"{chart} .draglayer .x3y3 .nsewdrag").bounding_box()
    y = box["y"] + box["height"] * 0.5
    page.mouse.move(box["x"] + box["width"] * 0.3, y - 20)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.5, y, steps=5)
    page.mouse.move(box["x"] + box["width"] * 0.6, y + 20, steps=5)
    page.mouse.up()
    zoomed = page.evaluate(f"() => document.querySelector('{chart}')._fullLayout.xaxis3.range")
    assert zoomed[1] - zoomed[0] < 0.5 * (full[1] - full[0]), (zoomed, full)
    counts = f"""() => {{ const d = document.querySelector('{chart}');
                          return {{draws: Number(d.dataset.draws), swaps: Number(d.dataset.swaps || 0),
                                  frames: Number(d.dataset.frames || 0), source: d.layout.images[0].source}}; }}"""
    before = page.evaluate(counts)
    epoch = epoch_of(page)
    page.wait_for_timeout(2500)
    after = page.evaluate(counts)
    state = page.evaluate(
        f"""() => {{ const d = document.querySelector('{chart}');
                     return [d.__marked === true, d._fullLayout.xaxis3.range, document.querySelectorAll('{chart}').length,
                             [...d.querySelectorAll('.imagelayer image')].every(
                               el => el.getAttribute('href') === d.layout.images[el.__data__._index].source),
                             [...d.querySelectorAll('.annotation text.annotation-text')].map(t => t.textContent),
                             d._fullLayout.annotations.map(a => a.text.replace(/<[^>]+>/g, ''))]; }}"""
    )
    assert epoch_of(page) > epoch, "training went on"
    assert after["source"] != before["source"], "the shading changed"
    if server == "app_server":
        assert after["frames"] - before["frames"] >= 5, (
            f"{after['frames'] - before['frames']} frames in 2.5 s"
        )
    else:
        assert after["frames"] == 0, "no live websocket without serve.py"
        assert after["draws"] >= before["draws"] + 5, (
            f"the chart redrew {after['draws'] - before['draws']} times"
        )
        assert after["swaps"] - before["swaps"] >= 3, (
            "most updates only swap the shading images (the cheap path)"
        )
    assert state[3] is True, "the panels show the figure's current shading"
    assert state[4] == state[5] and all("· val" in t for t in state[4]), "and titles that match it"
    assert state[0] is True and state[2] == 1, "the same chart element, not a new one"
    assert state[1] == zoomed, "the user's zoom is kept"


def test_static_preview_when_plotly_js_cannot_load(chromium, app_server, page):
    """Until plotly.js is there (or if it never comes), the boundary chart is a static picture of
    its panels, with a note saying so; the app does not break."""
    url, _, _ = app_server
    page.route("**/plotly-*.min.js", lambda route: route.abort())
    open_app(page, url, "?act=relu,tanh,gelu&epochs=100")
    preview = page.locator(
        '.nnviz-chart[data-chart="boundary"] .nnviz-preview'
    )  # the page's picture, moved in
    preview.wait_for(timeout=30000)
    page.wait_for_function(
        """() => document.querySelectorAll('.nnviz-chart[data-chart="boundary"] .nnviz-preview img').length === 3
                 && [...document.querySelectorAll('.nnviz-preview img')].every(i => i.complete && i.naturalWidth >= 240)""",
        timeout=30000,
    )
    titles = preview.inner_text()
    assert all(name in titles for name in ("ReLU", "Tanh", "GELU")), titles
    note = page.locator('.nnviz-chart[data-chart="boundary"] .nnviz-chart-error')
    note.wait_for(timeout=30000)
    assert "static picture" in note.inner_text()
    page.screenshot(path=str(ARTIFACTS / "browser-preview.png"))


def test_live_view_falls_back_when_the_websocket_is_blocked(chromium, app_server, page):
    """A proxy that drops nnviz's websocket: the server notices that the page never connected and
    sends the frames through Streamlit instead; the page keeps its settings and keeps training."""
    url, _, _ = app_server
    page.route_web_socket("**/nnviz/live/**", lambda ws: ws.close())
    open_app(page, url, "?dataset=circles&act=relu,tanh&epochs=5000&batch_size=8")
    wait_for_boundary(page, 2)
    chart = '.nnviz-chart[data-chart="boundary"]'
    draws = (
        f"() => {{ const d = document.querySelector('{chart}'); return d ? Number(d.dataset.draws) : 0; }}"
    )
    page.wait_for_function(f"({draws})() >= 8", timeout=60000)  # the fallback's fragment runs redraw it
    d0, e0 = page.evaluate(draws), epoch_of(page)
    page.wait_for_timeout(2000)
    assert page.evaluate(draws) >= d0 + 3 and epoch_of(page) > e0, "live again, through Streamlit"
    frames = page.evaluate(f"() => Number(document.querySelector('{chart}').dataset.frames || 0)")
    assert frames == 0
    dataset = page.evaluate(
        """() => document.querySelector('[data-testid="stSidebar"] input[aria-label="Dataset"]').value"""
    )
    assert dataset == "Circles", dataset
    assert "dataset=circles" in page.url


def test_a_grid_trains_live_row_by_row_and_the_vary_control_changes_it(chromium, app_server, page):
    url, _, _ = app_server
    open_app(page, url, "?vary=lr&values=0.003,0.03,0.3&epochs=5000")
    info = wait_for_boundary(page, 12, timeout_s=60)
    names = [t.split(" ·")[0] for t in info["titles"] if "·" in t]
    assert names == ["Sigmoid", "Tanh", "ReLU", "Leaky ReLU"] * 3  # columns: activations; rows: lr
    texts = page.evaluate(
        """() => [...document.querySelectorAll('.nnviz-chart[data-chart="boundary"] .annotation-text')]
                 .map(t => t.textContent)"""
    )
    assert {"lr 0.003", "lr 0.03", "lr 0.3"} <= set(texts)  # the row headers
    e1 = epoch_of(page)
    page.wait_for_timeout(2000)
    assert epoch_of(page) > e1  # live
    page.screenshot(path=str(ARTIFACTS / "browser-grid.png"))
    values = page.locator('input[aria-label="Values (rows)"]')
    values.fill("0.01, 8")
    values.press("Enter")
    wait_for_boundary(page, 8, timeout_s=60)
    page.wait_for_function("() => location.search.includes('values=0.01%2C8')", timeout=15000)
    values.fill("0.01, banana")
    values.press("Enter")
    page.get_by_text("banana: not valid values of lr").wait_for(timeout=15000)
    assert boundary_info(page)["heatmaps"] == 8  # the last grid stays
