"""How much does one point of a loss landscape cost, against one forward pass of the same batch?

Run from the repository root: ``python -m bench.landscape_bench`` (``--depth``, ``--images``,
``--resolution``, ``--runs``). Prints, never asserts (timed asserts in tests are
flaky). The goal: a 21 x 21 grid of ResNet-20 on 512 digits in under a minute on the project's
2-core machine, i.e. each point close to one forward pass.

What each number includes (wall clock):
- forward: ``model(x)`` under ``no_grad`` in eval mode on the ``--images`` digits, the
  network built once outside the timed region (median of ``--runs`` after one warm-up), with
  one intra-op thread, as the landscape runs on the CPU.
- grid: one whole :func:`~resnet_viz.analysis.landscape.loss_landscape` call (argument checks,
  memory estimate, private copy, directions, every point), and that divided by the number of
  points.
The network is a random-init digits ResNet (the weights do not change the cost of a forward).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Sequence

import torch

from resnet_viz.analysis.landscape import loss_landscape
from resnet_viz.core.build import build_model
from resnet_viz.data.digits import load_digits
from resnet_viz.experiments.degradation import digits_spec
from resnet_viz.runtime.kernels import intra_op_threads


def forward_seconds(model: torch.nn.Module, x: torch.Tensor, runs: int) -> float:
    with torch.no_grad():
        model(x)
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            model(x)
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.landscape_bench")
    parser.add_argument("--depth", type=int, default=20)
    parser.add_argument("--images", type=int, default=512)
    parser.add_argument("--resolution", type=int, default=21)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    model = build_model(digits_spec(args.depth))
    x, y = load_digits(args.images)
    points = args.resolution**2
    print(
        f"ResNet-{args.depth} (digits), {args.images} images of 8x8, {args.resolution}x"
        f"{args.resolution} grid; {platform.machine()}, {os.cpu_count()} CPUs, torch "
        f"{torch.__version__}, load average {os.getloadavg()[0]:.2f}"
    )
    with intra_op_threads(1):
        forward = forward_seconds(model, x, args.runs)
    start = time.perf_counter()
    loss_landscape(model, x, y, resolution=args.resolution)
    grid = time.perf_counter() - start
    per_point = grid / points
    print(
        f"forward {1000 * forward:.1f} ms; grid {grid:.1f} s, {1000 * per_point:.1f} ms per "
        f"point = {per_point / forward:.2f}x a forward"
    )
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
