"""Measure a heavy config in Chromium: how soon its first boundary is on screen, how soon Pause,
Step and Reset take effect, and whether it starves a light session of the same server.

    python -m tools.heavy            (~3 minutes; .venv/bin/python -m tools.heavy after make test)

The heavy config is issue 12's: 13 activations x 3 seeds, 6 x 64 units, 5000 points, batch size 1
(4000 minibatches an epoch, ~12 s an epoch on this 2-core machine). Every figure is taken in one
run beside the default config's, alternating, so that they compare on a shared, noisy machine:

* first boundary: seconds from navigation start to the boundaries on screen (tools.measure);
* Pause / Step / Reset: seconds from the click to the page showing its effect (the Play button
  back, the minibatch counter moved, "Epoch 0" without a minibatch), and for Pause the minibatches
  trained after the click (each ~3 ms);
* starvation: a light page's live updates per second (tools.measure.live_rate, 8 activations)
  alone and while the heavy page trains in another tab of the same server.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time

from tools.harness import browser, find_chromium, streamlit_server, wait_for_boundary
from tools.measure import first_boundary, live_rate

ACTS = "linear,sigmoid,tanh,relu,leaky_relu,prelu,elu,selu,gelu,silu,mish,softplus,softsign"
HEAVY = f"?act={ACTS}&n_seeds=3&hidden_layers=6&width=64&n_samples=5000&epochs=5000&batch_size=1"
N_HEAVY = 39
PROGRESS = '[data-testid="stProgress"]'


def _progress(page) -> tuple[int, int]:
    """(epoch, minibatch of the epoch under way) from the progress text."""
    text = page.locator(PROGRESS).first.inner_text(timeout=20000)
    epoch = int(re.search(r"Epoch (\d+)", text).group(1))
    batch = re.search(r"minibatch ([\d,]+)", text)
    return epoch, int(batch.group(1).replace(",", "")) if batch else 0


def _wait(page, predicate, timeout: float = 30.0, poll: float = 0.02) -> float:
    """Seconds until ``predicate(page)`` holds (polling), or raise."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        try:
            if predicate(page):
                return time.monotonic() - t0
        except Exception:  # noqa: BLE001 - the page is redrawing: look again
            pass
        time.sleep(poll)
    raise TimeoutError("the page did not get there in time")


def _button(page, label: str):
    return page.get_by_role("button", name=label, exact=True)


def controls(context, url: str) -> dict:
    """Pause, Play, Step and Reset on the heavy page, each timed from the click."""
    page = context.new_page()
    page.goto(url + "/" + HEAVY, wait_until="commit")
    wait_for_boundary(page, N_HEAVY, timeout_s=90)
    _wait(page, lambda p: _progress(p)[1] > 0, timeout=60)  # training inside the first epoch
    out = {}
    before = _progress(page)
    _button(page, "Pause").click()
    out["pause_s"] = _wait(page, lambda p: _button(p, "Play").is_visible())
    time.sleep(1.5)
    after = _progress(page)
    out["pause_minibatches_after_click"] = (after[0] - before[0]) * 4000 + after[1] - before[1]
    time.sleep(1.0)
    out["pause_held"] = _progress(page) == after  # nothing trains once paused
    b0 = _progress(page)
    _button(page, "Step").click()
    out["step_s"] = _wait(page, lambda p: _progress(p) != b0)
    out["step_minibatches"] = _progress(page)[1] - b0[1]
    _button(page, "Play").click()
    _wait(page, lambda p: _button(p, "Pause").is_visible())
    time.sleep(2.0)
    _button(page, "Reset").click()
    out["reset_s"] = _wait(page, lambda p: _progress(p) == (0, 0) and _button(p, "Play").is_visible())
    page.close()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.heavy", description=__doc__.split("\n\n")[0])
    parser.add_argument("--loads", type=int, default=3, help="page loads of each config to time")
    parser.add_argument("--seconds", type=float, default=8, help="live-rate window")
    args = parser.parse_args(argv)
    chromium = find_chromium()
    if chromium is None:
        print("no system Chromium", file=sys.stderr)
        return 1
    with streamlit_server() as (url, _, _), browser(chromium) as b:
        context = b.new_context(viewport={"width": 1280, "height": 800})
        first_boundary(context, url, "", 4)  # warm the server and the browser cache
        loads = {"default": [], "heavy": []}
        for _ in range(args.loads):
            loads["default"].append(first_boundary(context, url, "", 4)["seen_s"])
            loads["heavy"].append(first_boundary(context, url, HEAVY, N_HEAVY)["seen_s"])
        for name, values in loads.items():
            print(f"first boundary, {name}: median {statistics.median(values):.2f} s "
                  f"({', '.join(f'{v:.2f}' for v in values)})", flush=True)  # fmt: skip
        runs = [controls(context, url) for _ in range(2)]
        for key in runs[0]:
            print(f"{key}: " + ", ".join(str(round(r[key], 2)) for r in runs), flush=True)
        rates = {"alone": [], "beside the heavy page": []}
        for _ in range(2):
            rates["alone"].append(live_rate(b.new_context(), url, args.seconds)["updates_per_s"])
            heavy = context.new_page()
            heavy.goto(url + "/" + HEAVY, wait_until="commit")
            wait_for_boundary(heavy, N_HEAVY, timeout_s=90)
            _wait(heavy, lambda p: _progress(p)[1] > 0, timeout=60)
            rates["beside the heavy page"].append(
                live_rate(b.new_context(), url, args.seconds)["updates_per_s"]
            )
            heavy.close()
        for name, values in rates.items():
            print(
                f"light page's live updates/s, {name}: " + ", ".join(f"{v:.2f}" for v in values), flush=True
            )
        ratio = statistics.mean(rates["beside the heavy page"]) / statistics.mean(rates["alone"])
        print(f"ratio beside / alone: {ratio:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
