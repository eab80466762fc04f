"""The gradient study's figures: how the first/last gradient ratio of a CIFAR ResNet and of its
plain twin depends on depth, BatchNorm, the initialisation and a few SGD steps.

Run from the checkout:  python -m bench.gradient_ratios [--seeds 0-5] [--depths 56 110]
[--device cpu]. The figures recorded from it are in docs/gradients.md.

Every number comes from :func:`resnet_viz.gradient_norms` with its defaults (batch of 16 random
inputs with random labels, Kaiming init, train-mode BatchNorm) unless the line says otherwise.
``first/last`` is :meth:`~resnet_viz.GradientReport.first_last_ratio`: the stem conv's gradient
norm over that of the last conv before the classifier. Sections:

1. per depth, with and without BatchNorm: both ratios and the losses, for every seed, then the
   range over the seeds;
2. per initialisation, without BatchNorm, at the first depth and seed: both ratios and the
   plain twin's stem gradient norm;
3. ``--steps`` SGD steps on the same batch (lr 0.01 and 0.1, momentum 0.9) at the first depth
   and seed: the plain ratio and both losses after each step.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence

import torch

from resnet_viz import gradient_norms, spec_for_depth
from resnet_viz.analysis.twins import INITS


def _seeds(text: str) -> list[int]:
    """``"3"`` -> [3]; ``"0-5"`` -> [0, ..., 5]; ``"0,2"`` -> [0, 2]."""
    seeds: list[int] = []
    for part in text.split(","):
        low, _, high = part.partition("-")
        seeds.extend(range(int(low), int(high or low) + 1))
    return seeds


def _span(values: list[float]) -> str:
    return f"{min(values):.3g}" if len(values) == 1 else f"{min(values):.3g}-{max(values):.3g}"


def depth_table(depths: list[int], seeds: list[int], device: str) -> None:
    print("1. first/last ratio, batch 16, Kaiming init")
    print(f"{'depth':>5} {'BN':>3} {'seed':>4} {'residual':>10} {'plain':>10} "
          f"{'loss res.':>10} {'loss plain':>10}")  # fmt: skip
    for depth in depths:
        for batch_norm in (True, False):
            residual, plain = [], []
            for seed in seeds:
                report = gradient_norms(
                    spec_for_depth(depth, "cifar"), batch_norm=batch_norm, seed=seed, device=device
                )
                residual.append(report.first_last_ratio("residual"))
                plain.append(report.first_last_ratio("plain"))
                print(f"{depth:>5} {'on' if batch_norm else 'off':>3} {seed:>4} "
                      f"{residual[-1]:>10.3g} {plain[-1]:>10.3g} "
                      f"{report.residual_loss:>10.3g} {report.plain_loss:>10.3g}")  # fmt: skip
            if len(seeds) > 1:
                print(f"{depth:>5} {'on' if batch_norm else 'off':>3} {'all':>4} "
                      f"{_span(residual):>10} {_span(plain):>10}")  # fmt: skip


def init_table(depth: int, seed: int, device: str) -> None:
    print(f"\n2. per initialisation, ResNet-{depth}, no BatchNorm, seed {seed}")
    print(f"{'init':>10} {'residual':>10} {'plain':>10} {'plain stem grad':>16}")
    for init in INITS:
        report = gradient_norms(
            spec_for_depth(depth, "cifar"), batch_norm=False, init=init, seed=seed, device=device
        )
        residual, plain = report.first_last_ratio("residual"), report.first_last_ratio("plain")
        print(f"{init:>10} {residual:>10.3g} {plain:>10.3g} {report.plain['conv1']:>16.3g}")


def steps_table(depth: int, seed: int, steps: int, device: str) -> None:
    for lr in (0.01, 0.1):
        print(f"\n3. ResNet-{depth} with BatchNorm, seed {seed}: {steps} SGD steps, lr {lr}")
        print(f"{'step':>4} {'plain ratio':>12} {'loss res.':>10} {'loss plain':>10}")
        report = gradient_norms(
            spec_for_depth(depth, "cifar"), steps=steps, lr=lr, seed=seed, device=device
        )
        for snap in report.history:
            print(f"{snap.step:>4} {report.first_last_ratio('plain', snap.step):>12.3g} "
                  f"{snap.residual_loss:>10.3g} {snap.plain_loss:>10.3g}")  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=_seeds, default=[0], help="e.g. 0, 0-5 or 0,3")
    parser.add_argument("--depths", type=int, nargs="+", default=[56, 110])
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1, help="torch threads on the CPU")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    print(f"torch {torch.__version__}, device {args.device}, {args.threads} thread(s)")
    depth_table(args.depths, args.seeds, args.device)
    init_table(args.depths[0], args.seeds[0], args.device)
    steps_table(args.depths[0], args.seeds[0], args.steps, args.device)
    print(f"\n{time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
