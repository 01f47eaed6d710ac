"""Measure the live view in Chromium: time to the first boundary (warm server), redraws per second
and bytes per update with 8 activations.
Usage: python -m tools.measure [--seconds 10] [--script app.py] [--query Q --panels N]   (make measure)
``--query`` measures the live rate of another comparison (URL parameters, e.g. a grid:
``--query "vary=lr&values=0.003,0.03,0.3" --panels 12``); it trains with minibatches of 8 as the
default does.

Times are taken in the page (``performance.now()``, milliseconds since navigation start) when
Plotly has finished drawing the boundary chart, so polling from here does not blur them."""

from __future__ import annotations

import argparse
import statistics
import sys
import time

from tools.harness import browser, find_chromium, streamlit_server, wait_for_boundary

EIGHT = "act=sigmoid,tanh,relu,leaky_relu,elu,gelu,silu,softplus"
CHART = '.nnviz-chart[data-chart="boundary"]'


# In every page before the app's scripts: notes (performance.now()) the first animation frame at
# which the page's picture of the boundaries (charts.first_paint) is there with all its images loaded.
PICTURE_JS = """
(() => {
  const look = () => {
    const imgs = [...document.querySelectorAll('.nnviz-first-paint img, .nnviz-preview img')];
    if (imgs.length && imgs.every((i) => i.complete && i.naturalWidth > 0)) window.__nnvizPicture = performance.now();
    else requestAnimationFrame(look);
  };
  requestAnimationFrame(look);
})();
"""


def first_boundary(context, url: str, query: str, n: int) -> dict:
    """Seconds from navigation start to the first boundary on screen (the page's picture of it, or
    the interactive chart if that came first), to the interactive chart, and the load event."""
    page = context.new_page()
    page.add_init_script(PICTURE_JS)
    page.goto(url + "/" + query, wait_until="commit")
    wait_for_boundary(page, n, timeout_s=60)
    t = page.evaluate(
        f"""() => {{ const d = document.querySelector('{CHART}').dataset;
                     return {{ preview: window.__nnvizPicture || Number(d.firstDrawMs), drawn: Number(d.firstDrawMs),
                              load: performance.getEntriesByType('navigation')[0].loadEventEnd }}; }}"""
    )
    page.close()
    seen = min(t["preview"], t["drawn"])
    return {
        "seen_s": seen / 1000,
        "drawn_s": t["drawn"] / 1000,
        "seen_after_load_s": (seen - t["load"]) / 1000,
    }


def live_rate(context, url: str, seconds: float, params: str = EIGHT, panels: int = 8) -> dict:
    """Boundary updates the browser shows per second while training live, and the gaps between them
    (a page without listeners: Playwright's websocket events copy every payload out of the browser,
    which slows it), then the update sizes on the wire (another page, listening for a few seconds).

    An update is a live frame from nnviz's websocket swapped in, or a figure from Streamlit's drawn.
    Small minibatches make the epochs slower, so that training lasts the whole window; the drawing
    does not depend on them."""
    query = f"/?{params}&epochs=5000&batch_size=8"
    page = context.new_page()
    page.goto(url + query, wait_until="commit")
    wait_for_boundary(page, panels, timeout_s=60)
    page.wait_for_timeout(1000)
    page.evaluate(
        f"""() => {{ const d = document.querySelector('{CHART}'); window.__updates = [];
                     new MutationObserver(() => window.__updates.push(performance.now()))
                       .observe(d, {{attributes: true, attributeFilter: ['data-draws', 'data-frames']}}); }}"""
    )
    counts = f"""() => {{ const d = document.querySelector('{CHART}').dataset;
                          return Number(d.draws || 0) + Number(d.frames || 0); }}"""
    epochs0, updates0, t0 = _epoch(page), page.evaluate(counts), time.monotonic()
    page.wait_for_timeout(seconds * 1000)
    epochs1, updates1, t1 = _epoch(page), page.evaluate(counts), time.monotonic()
    stamps = page.evaluate("() => window.__updates")
    page.close()
    gaps = sorted(b - a for a, b in zip(stamps, stamps[1:], strict=False) if b - a > 1)  # (a draw + a frame)

    page = context.new_page()
    sizes: list[tuple[float, int]] = []  # boundary figures from Streamlit and frames from nnviz's socket

    def watch(ws) -> None:
        def received(payload) -> None:
            if "/nnviz/live/" in ws.url or (isinstance(payload, bytes) and b'"name":"boundary"' in payload):
                sizes.append((time.monotonic(), len(payload)))

        ws.on("framereceived", received)

    page.on("websocket", watch)
    page.goto(url + query, wait_until="commit")
    wait_for_boundary(page, panels, timeout_s=60)
    page.wait_for_timeout(1000)
    s0 = time.monotonic()
    page.wait_for_timeout(4000)
    page.close()
    big = [size for t, size in sizes if t >= s0]
    return {
        "updates_per_s": (updates1 - updates0) / (t1 - t0),
        "median_gap_ms": statistics.median(gaps) if gaps else float("nan"),
        "max_gap_ms": gaps[-1] if gaps else float("nan"),
        "epochs_per_s": (epochs1 - epochs0) / (t1 - t0),
        "boundary_messages_per_s": len(big) / 4.0,
        "median_kb_per_message": statistics.median(big) / 1000 if big else float("nan"),
        "max_kb_per_message": max(big) / 1000 if big else float("nan"),
    }


def _epoch(page) -> int:
    import re

    text = page.locator('[data-testid="stProgress"]').first.inner_text()
    return int(re.search(r"Epoch (\d+)", text).group(1))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--loads", type=int, default=5, help="warm page loads to time")
    parser.add_argument("--repeats", type=int, default=3, help="live-rate measurements")
    parser.add_argument("--script", default="serve.py", help="serve.py (make run) or app.py (no websocket)")
    parser.add_argument("--query", default=EIGHT, help="URL parameters of the live comparison measured")
    parser.add_argument("--panels", type=int, default=8, help="its boundary panels")
    args = parser.parse_args()
    chromium = find_chromium()
    if chromium is None:
        print("no system Chromium", file=sys.stderr)
        return 1
    with streamlit_server(script=args.script) as (url, _, _):
        with browser(chromium) as b:
            context = b.new_context(viewport={"width": 1280, "height": 800})  # one profile: a warm cache
            cold = first_boundary(context, url, "", 4)
            warm = [first_boundary(context, url, "", 4) for _ in range(args.loads)]
        live = []  # each in a browser of its own
        for _ in range(args.repeats):
            with browser(chromium) as b:
                context = b.new_context(viewport={"width": 1280, "height": 800})
                live.append(live_rate(context, url, args.seconds, args.query, args.panels))
    print(
        f"cold server and browser cache: boundary on screen {cold['seen_s']:.2f} s after navigation, "
        f"interactive {cold['drawn_s']:.2f} s"
    )

    def median(key: str) -> str:
        values = sorted(w[key] for w in warm)
        return f"{statistics.median(values):.2f} s ({', '.join(f'{v:.2f}' for v in values)})"

    print(f"warm, {len(warm)} loads: boundary on screen {median('seen_s')} after navigation")
    print(f"  = {median('seen_after_load_s')} after the load event; interactive chart {median('drawn_s')}")
    for run in live:
        print(f"live, {args.query}: " + ", ".join(f"{k} {v:.2f}" for k, v in run.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
