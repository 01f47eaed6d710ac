"""`make screenshot`: regenerate the README's screenshots from the running app (system Chromium).

Starts `streamlit run serve.py`, opens the page at 1280x800, waits for training to finish and saves
assets/screenshot.png, then one screenshot per view (tab) as assets/view-*.png, assets/draw.png
(Draw points, with a few points drawn), assets/network.png, the grid's as assets/grid*.png (a
3 x 4 learning-rate grid finished, live, at 1024 and 1920 px, and rows of datasets) and a regression
comparison's as assets/regression*.png (finished and live).
Usage: python -m tools.screenshot [--only screenshot]   (make screenshot)
"""

from __future__ import annotations

import argparse
import contextlib
import sys

from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tools.harness import ROOT, browser, find_chromium, streamlit_server, wait_for_boundary

ASSETS = ROOT / "assets"
# (file, query, tab to open or None, number of boundary panels on the Compare tab)
VIEWS = [
    ("screenshot.png", "", None, 4),
    (
        "view-diagnostics.png",
        "?act=sigmoid,tanh,relu&hidden_layers=6&width=16&init=he&optimizer=sgd&lr=0.5&epochs=300",
        "Diagnostics",
        3,
    ),
    ("view-exploding.png", "?preset=07-too-high-learning-rate", None, 6),
    ("view-neurons.png", "?dataset=circles&act=relu,tanh,prelu&epochs=300", "Neurons", 3),
    ("view-replay.png", "?dataset=spiral&act=relu,tanh&width=16&hidden_layers=3&epochs=600", "Replay", 2),
    ("view-seeds.png", "?act=relu,tanh,sigmoid,leaky_relu&n_seeds=3&epochs=300", "Seeds", 12),
    ("view-zoo.png", "?epochs=50", "Activation zoo", 4),
    (
        "view-multiclass.png",
        "?dataset=spiral3&n_samples=600&act=relu,tanh,sigmoid,gelu&width=32&lr=0.01",
        None,
        4,
    ),
]


# The grid (a second compared setting): (file, query, panels, window width, live: shot while training)
GRID_LR = "?vary=lr&values=0.003,0.03,0.3"
GRID_VIEWS = [
    ("grid.png", GRID_LR + "&epochs=300", 12, 1280, False),
    ("grid-live.png", GRID_LR + "&epochs=5000", 12, 1280, True),
    ("grid-1024.png", GRID_LR + "&epochs=300", 12, 1024, False),
    ("grid-1920.png", GRID_LR + "&epochs=300", 12, 1920, False),
    ("grid-datasets.png", "?vary=dataset&values=moons,circles,xor&epochs=300", 12, 1280, False),
]


# Regression: four activations on the Gaussian bumps, finished and while training (a long run)
REGRESSION_QUERY = "?dataset=multigauss&act=relu,tanh,sigmoid,linear"
REGRESSION_VIEWS = [
    ("regression.png", REGRESSION_QUERY + "&epochs=600", 4, 1280, False),
    ("regression-live.png", REGRESSION_QUERY + "&epochs=5000&batch_size=8", 4, 1280, True),
]
REGRESSION_SCROLL = 230  # px down: the four panels, the legend and the value colour bar in view


def shoot_sized(
    b, url: str, name: str, query: str, n_panels: int, width: int, live: bool, scroll: int = 0
) -> None:
    """One screenshot at ``width`` px, finished or (``live``) while training, scrolled ``scroll`` px."""
    page = b.new_page(viewport={"width": width, "height": 800 if width < 1900 else 1080})
    page.goto(url + "/" + query, wait_until="domcontentloaded")
    wait_for_boundary(page, n_panels, timeout_s=90)
    if live:
        page.wait_for_timeout(4000)
        with contextlib.suppress(PlaywrightTimeout):  # a moment when no part is greyed as rerunning
            page.wait_for_function(
                '() => !document.querySelector(\'[data-testid="stMain"] [data-stale="true"]\')',
                timeout=8000,
                polling=50,
            )
    else:
        wait_until_trained(page, timeout_s=150)
    if scroll:  # over the main column's right margin: no chart takes the wheel or shows its toolbar
        page.mouse.move(width - 20, 500)
        page.mouse.wheel(0, scroll)
        page.wait_for_timeout(800)
    page.mouse.move(5, 400)
    page.screenshot(path=str(ASSETS / name))
    page.close()
    print(f"wrote assets/{name}")


def wait_until_trained(page, timeout_s: float = 90.0) -> None:
    page.wait_for_function(
        """() => { const p = document.querySelector('[data-testid="stProgress"]');
                   if (!p) return false; const m = p.innerText.match(/Epoch (\\d+) \\/ (\\d+)/);
                   return m && m[1] === m[2]; }""",
        timeout=timeout_s * 1000,
    )
    page.wait_for_timeout(1500)  # the final full-resolution redraw


def shoot(page, url: str, name: str, query: str, tab: str | None, n_panels: int) -> None:
    page.goto(url + "/" + query, wait_until="domcontentloaded")
    wait_for_boundary(page, n_panels, timeout_s=90)
    wait_until_trained(page)
    if tab:
        page.get_by_role("tab", name=tab).click()
        page.wait_for_timeout(2500)
    page.screenshot(path=str(ASSETS / name))
    print(f"wrote assets/{name}")


# assets/draw.png: Draw points on, a few points drawn into the moons' empty corners, in data coordinates
# (x, y, shift: a shift-click adds the next class): a blue group top left, an orange one bottom right
DRAW_QUERY = "?epochs=600"
DRAW_POINTS = [
    (-1.5, 1.33, True), (-1.36, 1.45, True), (-1.4, 1.24, True), (-1.6, 1.2, True),
    (2.3, -1.0, False), (2.45, -0.88, False), (2.38, -1.12, False),
]  # fmt: skip
CHART = '.nnviz-chart[data-chart="boundary"]'


def click_data(page, x: float, y: float, shift: bool = False) -> None:
    """A click on the first boundary panel at the data point (x, y)."""
    px, py = page.evaluate(
        """([sel, x, y]) => { const d = document.querySelector(sel), p = d._fullLayout._plots.xy;
                              const box = d.querySelector('.main-svg').getBoundingClientRect();
                              return [box.left + p.xaxis._offset + p.xaxis.l2p(x),
                                      box.top + p.yaxis._offset + p.yaxis.l2p(y)]; }""",
        [CHART, x, y],
    )
    page.mouse.move(px, py)
    if shift:
        page.keyboard.down("Shift")
    page.mouse.down()
    page.mouse.up()
    if shift:
        page.keyboard.up("Shift")


def shoot_draw(page, url: str) -> None:
    page.goto(url + "/" + DRAW_QUERY, wait_until="domcontentloaded")
    wait_for_boundary(page, 4, timeout_s=90)
    wait_until_trained(page)
    page.get_by_text("Draw points", exact=True).click()
    page.wait_for_function(
        f"() => {{ const d = document.querySelector('{CHART}'); return d && d.dataset.drawing === 'on'; }}",
        timeout=30000,
    )
    for x, y, shift in DRAW_POINTS:
        click_data(page, x, y, shift)
        page.wait_for_timeout(150)
    page.wait_for_function(
        f"""() => {{ const s = document.querySelector('{CHART}')._nnvizDrawing;
                     return s && s.acked >= {len(DRAW_POINTS)} && !s.pending.length; }}""",
        timeout=30000,
    )
    page.wait_for_function("() => location.search.includes('dataset=upload')", timeout=30000)
    wait_until_trained(page)
    page.mouse.move(700, 500)
    page.mouse.wheel(0, 150)  # the tabs at the top: the controls and every panel in view
    page.wait_for_timeout(800)
    page.screenshot(path=str(ASSETS / "draw.png"))
    print("wrote assets/draw.png")


# assets/network.png: the Network tab, ReLU and Sigmoid side by side after training (moons, 2 x 8 units)
NETWORK_QUERY = "?act=relu,sigmoid&epochs=300"


def shoot_network(page, url: str) -> None:
    page.goto(url + "/" + NETWORK_QUERY, wait_until="domcontentloaded")
    wait_for_boundary(page, 2, timeout_s=90)
    wait_until_trained(page)
    page.get_by_role("tab", name="Network").click()
    page.wait_for_function(
        """() => ['network_0', 'network_1'].every(k => {
             const d = document.querySelector(`.nnviz-chart[data-chart="${k}"]`);
             return d && Number(d.dataset.draws) >= 1; })""",
        timeout=30000,
    )
    page.mouse.move(700, 500)
    page.mouse.wheel(0, 150)  # the tabs at the top: the controls and both networks in view
    page.mouse.move(5, 400)  # (no hover label in the picture)
    page.wait_for_timeout(1500)
    page.screenshot(path=str(ASSETS / "network.png"))
    print("wrote assets/network.png")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", help="just this file stem, e.g. screenshot")
    args = parser.parse_args()
    chromium = find_chromium()
    if chromium is None:
        print("no system Chromium found: apt-get install -y chromium", file=sys.stderr)
        return 1
    views = [v for v in VIEWS if args.only is None or v[0].startswith(args.only)]
    with streamlit_server() as (url, _, _), browser(chromium) as b:
        page = b.new_page(viewport={"width": 1280, "height": 800})
        for name, query, tab, n_panels in views:
            shoot(page, url, name, query, tab, n_panels)
        if args.only is None or "draw.png".startswith(args.only):
            shoot_draw(page, url)
        if args.only is None or "network.png".startswith(args.only):
            shoot_network(page, url)
        for views, scroll in ((GRID_VIEWS, 0), (REGRESSION_VIEWS, REGRESSION_SCROLL)):
            for name, query, n_panels, width, live in views:
                if args.only is None or name.startswith(args.only):
                    shoot_sized(b, url, name, query, n_panels, width, live, scroll)
    return 0


if __name__ == "__main__":
    sys.exit(main())
