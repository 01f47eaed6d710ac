"""The server's cost and size of one live frame: eight panels' pictures at the live resolution, for a
classification (moons) and a regression (multigauss) comparison of the same eight activations,
measured interleaved in one run so that their ratio holds on a noisy machine.
Usage: python -m tools.frame_cost [--repeats 30]"""

from __future__ import annotations

import argparse
import statistics
import time

from nnviz.config import Config
from nnviz.figures import adapters
from nnviz.grid import build
from nnviz.ui.live.pacing import PACING

EIGHT = ("sigmoid", "tanh", "relu", "leaky_relu", "elu", "gelu", "silu", "softplus")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    exps = {
        d: build(Config(dataset=d, activations=EIGHT, epochs=50 + args.repeats))
        for d in ("moons", "multigauss")
    }
    for exp in exps.values():
        exp.step(5)
    times: dict[str, list[float]] = {d: [] for d in exps}
    sizes = {}
    for _ in range(args.repeats):
        for d, exp in exps.items():
            exp.step(1)  # a new frame after a training chunk: the surfaces are evaluated again (not timed)
            start = time.perf_counter()
            images = adapters.experiment_shading(exp, PACING.live_resolution)
            times[d].append(time.perf_counter() - start)
            sizes[d] = sum(len(i) for i in images)
    for d in exps:
        print(
            f"{d}: median {1000 * statistics.median(times[d]):.1f} ms a frame, {sizes[d] / 1024:.0f} KB of images"
        )
    ratio = statistics.median(times["multigauss"]) / statistics.median(times["moons"])
    print(f"regression / classification: {ratio:.2f}")


if __name__ == "__main__":
    main()
