"""`make screenshot`: regenerate the README's screenshots from the running app (system Chromium).

Starts `streamlit run serve.py`, opens the page at 1280x800, waits for training to finish and saves
assets/screenshot.png, then one screenshot per view (tab) as assets/view-*.png.
Usage: python -m tools.screenshot [--only screenshot]   (make screenshot)
"""

from __future__ import annotations

import argparse
import sys

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
    ("view-exploding.png", "?preset=07-too-high-learning-rate", None, 3),
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
