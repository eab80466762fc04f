"""summarize(spec) against what a user does today: build the model, then torchinfo.summary.

Run from the checkout:  python -m bench.summary_vs_torchinfo
Prints medians and the speed-up per network. Goal: at least 50x faster than the peer on
ResNet-152 and under 10 ms in every case, so that the architecture page can recompute the
summary on every click.

The peer builds torchvision's model (resnet18/50/152) or, for ResNet-1202 which torchvision
lacks, resnet_viz's own builder, then calls torchinfo.summary with the input size and the
output-size and mult-add columns; both halves are timed together, as a user waits for both.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Sequence
from functools import partial

import torch
import torchinfo
import torchvision

from resnet_viz import build_model, preset, summarize

CASES = [("resnet18", 224), ("resnet50", 224), ("resnet152", 224), ("resnet1202", 32)]
OURS_RUNS, PEER_RUNS = 50, 5


def median_seconds(fn, runs: int) -> float:
    fn()  # warm-up: imports, allocator, caches
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def peer(name: str, side: int) -> None:
    if hasattr(torchvision.models, name):
        model = getattr(torchvision.models, name)()
    else:
        model = build_model(preset(name))
    torchinfo.summary(
        model,
        input_size=(1, 3, side, side),
        col_names=("output_size", "num_params", "mult_adds"),
        verbose=0,
        device="cpu",
    )


def main(argv: Sequence[str] | None = None) -> int:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args(argv)
    torch.set_num_threads(2)
    print(f"torch {torch.__version__}, torchinfo {torchinfo.__version__}, 2 threads")
    print(f"{'network':<12}{'input':>7}{'summarize':>13}{'build+torchinfo':>18}{'speed-up':>11}")
    for name, side in CASES:
        spec = preset(name)
        ours = median_seconds(partial(summarize, spec, (3, side, side)), OURS_RUNS)
        theirs = median_seconds(partial(peer, name, side), PEER_RUNS)
        print(
            f"{name:<12}{side:>7}{ours * 1e3:>10.2f} ms{theirs * 1e3:>15.0f} ms"
            f"{theirs / ours:>10.0f}x"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
