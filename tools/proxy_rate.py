"""Live frames per second in Chromium, directly against a replica and through HAProxy, in one run.
Usage: python -m tools.proxy_rate [--seconds 8] [--rounds 3] [--acts sigmoid,tanh,...]

Starts ``deploy.serve.Topology(1)`` on free ports (one serve.py replica, HAProxy in front of it), so
both ways reach the same process. Each measurement is a fresh browser context on one of the two
URLs: the page trains live, and the frames the boundary chart swapped in (its ``data-frames``
counter, charts.js) are counted over ``--seconds``. The two ways alternate, in the order
direct, proxy, proxy, direct, ... so that a drift of the machine's load (a shared machine) does not
favour one of them. Prints every measurement, the median of each way and the ratio proxy / direct.

No websocket listener in the page: Playwright's frame events copy every payload out of the browser,
which slows it (see tools/measure.py)."""

from __future__ import annotations

import argparse
import statistics
import sys
import time

from deploy.serve import Topology
from tools.harness import ARTIFACTS, browser, find_chromium, free_ports, wait_for_boundary
from tools.measure import EIGHT

CHART = '.nnviz-chart[data-chart="boundary"]'
FRAMES_JS = f"() => Number(document.querySelector('{CHART}').dataset.frames || 0)"


def frames_per_second(b, url: str, query: str, n_panels: int, seconds: float) -> float:
    """Live frames the page's boundary chart showed per second, after a second of warm-up."""
    context = b.new_context(viewport={"width": 1280, "height": 800})
    try:
        page = context.new_page()
        page.goto(url + "/" + query, wait_until="commit")
        wait_for_boundary(page, n_panels, timeout_s=60)
        page.wait_for_function(f"({FRAMES_JS})() > 0", timeout=30000)  # frames are coming
        page.wait_for_timeout(1000)
        f0, t0 = page.evaluate(FRAMES_JS), time.monotonic()
        page.wait_for_timeout(seconds * 1000)
        f1, t1 = page.evaluate(FRAMES_JS), time.monotonic()
        return (f1 - f0) / (t1 - t0)
    finally:
        context.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.proxy_rate", description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="length of each measurement")
    parser.add_argument("--rounds", type=int, default=3, help="measurements of each way")
    parser.add_argument("--acts", default=EIGHT.split("=", 1)[1], help="activations (default: eight)")
    args = parser.parse_args(argv)
    chromium = find_chromium()
    if chromium is None:
        print("no system Chromium (apt-get install chromium)", file=sys.stderr)
        return 1
    n_panels = len(args.acts.split(","))
    query = f"?act={args.acts}&epochs=5000&batch_size=8"  # small batches: training outlasts the window
    first = free_ports(2)
    rates: dict[str, list[float]] = {"direct": [], "proxy": []}
    try:
        with Topology(1, port=first, first_replica_port=first + 1, log_dir=ARTIFACTS / "proxy-rate") as t:
            urls = {"direct": t.replicas[0].url, "proxy": t.url}
            print(
                f"replica {urls['direct']}, HAProxy {urls['proxy']}; {n_panels} panels, {args.seconds:.0f} s each"
            )
            with browser(chromium) as b:
                frames_per_second(b, urls["direct"], query, n_panels, 2.0)  # warm-up: imports, caches
                for k in range(args.rounds):
                    order = ("direct", "proxy") if k % 2 == 0 else ("proxy", "direct")
                    for way in order:
                        rate = frames_per_second(b, urls[way], query, n_panels, args.seconds)
                        rates[way].append(rate)
                        print(f"  round {k + 1}, {way:6s}: {rate:5.2f} frames/s", flush=True)
    except RuntimeError as exc:  # no HAProxy, a replica that did not start
        print(f"proxy_rate: {exc}", file=sys.stderr)
        return 1
    direct, proxy = statistics.median(rates["direct"]), statistics.median(rates["proxy"])
    print(f"median: direct {direct:.2f} frames/s, through HAProxy {proxy:.2f} frames/s")
    print(f"ratio proxy / direct: {proxy / direct:.2f}" if direct else "ratio: no frames directly")
    return 0


if __name__ == "__main__":
    sys.exit(main())
