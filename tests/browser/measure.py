"""Measure the live view in Chromium: time to first boundary (warm server), updates per second and
bytes per update with 8 activations. Usage: python -m tests.browser.measure [--seconds 10]"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

from tests.browser.harness import browser, find_chromium, streamlit_server, wait_for_boundary

EIGHT = "act=sigmoid,tanh,relu,leaky_relu,elu,gelu,silu,softplus"


def first_boundary_seconds(b, url: str, query: str, n: int) -> float:
    page = b.new_page()
    start = time.monotonic()
    page.goto(url + "/" + query, wait_until="commit")
    wait_for_boundary(page, n, timeout_s=60)
    elapsed = time.monotonic() - start
    page.close()
    return elapsed


def live_rate(b, url: str, seconds: float) -> dict:
    """Frames the server pushes while training live, and their size (websocket frames)."""
    page = b.new_page()
    frames: list[tuple[float, int]] = []
    page.on(
        "websocket",
        lambda ws: ws.on(
            "framereceived",
            lambda f: frames.append((time.monotonic(), len(f) if isinstance(f, (bytes, str)) else 0)),
        ),
    )
    page.goto(url + f"/?{EIGHT}&epochs=5000", wait_until="commit")
    wait_for_boundary(page, 8, timeout_s=60)
    page.wait_for_timeout(1000)
    frames.clear()
    epochs0 = _epoch(page)
    t0 = time.monotonic()
    page.wait_for_timeout(seconds * 1000)
    t1 = time.monotonic()
    epochs1 = _epoch(page)
    charts = page.evaluate("() => document.querySelectorAll('.js-plotly-plot').length")
    big = [size for t, size in frames if size > 20_000 and t0 <= t <= t1]  # one boundary update each
    page.close()
    return {
        "updates_per_s": len(big) / (t1 - t0),
        "median_kb_per_update": statistics.median(big) / 1000 if big else float("nan"),
        "max_kb_per_update": max(big) / 1000 if big else float("nan"),
        "epochs_per_s": (epochs1 - epochs0) / (t1 - t0),
        "plotly_charts_in_dom": charts,
    }


def _epoch(page) -> int:
    import re

    text = page.locator('[data-testid="stProgress"]').first.inner_text()
    return int(re.search(r"Epoch (\d+)", text).group(1))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args()
    chromium = find_chromium()
    if chromium is None:
        print("no system Chromium", file=sys.stderr)
        return 1
    with streamlit_server() as (url, _, _), browser(chromium) as b:
        context = b.new_context(viewport={"width": 1280, "height": 800})  # one profile: a warm cache
        cold = first_boundary_seconds(context, url, "", 4)
        warm = [first_boundary_seconds(context, url, "", 4) for _ in range(3)]
        live = live_rate(context, url, args.seconds)
    print(
        f"first boundary, cold server: {cold:.2f} s; warm server: median {statistics.median(warm):.2f} s ({', '.join(f'{w:.2f}' for w in warm)})"
    )
    print(
        "live, 8 activations: "
        + ", ".join(f"{k} {v:.2f}" if isinstance(v, float) else f"{k} {v}" for k, v in live.items())
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
