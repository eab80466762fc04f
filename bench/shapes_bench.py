"""The synthetic shapes: how fast they are generated, and how quickly a small ResNet learns them.

Run from the checkout:
      python -m bench.shapes_bench            generation timings (best of 3: wall clock, CPU time)
      python -m bench.shapes_bench --learn    also train a 78k-parameter ResNet and print its
                                              test accuracy after every epoch, with the time so far
The figures recorded from it are in docs/synthetic_shapes.md.

Timings: ``make_batch`` of 10,000 images at 64x64 and at 32x32, of 1,000 at 224x224, and one
``sample_image`` at 224 px. Learnability: a ResNet with a 3x3 stem (stride 2 at 64 px, 1 at
32 px) and one basic block per stage at widths 16/32/64 (option B projections), trained with SGD
(Nesterov momentum 0.9, weight decay 5e-4) and a one-cycle learning rate peaking at 0.05, batch
128, on ``make_batch(20_000, seed=1)``, tested on 2,000 images of seed 2, one torch thread.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812 (PyTorch's own convention)

from resnet_viz import build_model
from resnet_viz.core.spec import ResNetSpec
from resnet_viz.data.synthetic_shapes import CLASSES, make_batch, sample_image

SPEC = ResNetSpec(
    block="basic", layers=(1, 1, 1), widths=(16, 32, 64), stem="cifar", shortcut="B",
    num_classes=len(CLASSES),
)  # fmt: skip


def best_of(fn: Callable[[], object], repeats: int = 3) -> tuple[float, float]:
    """(wall-clock seconds, CPU seconds of this process) of the fastest of ``repeats`` runs."""
    runs = []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        runs.append((time.perf_counter() - wall, time.process_time() - cpu))
    return min(runs)


def timings() -> None:
    cases = [
        ("make_batch(10_000, size=64)", lambda: make_batch(10_000, size=64)),
        ("make_batch(10_000, size=32)", lambda: make_batch(10_000, size=32)),
        ("make_batch(1_000, size=224)", lambda: make_batch(1_000, size=224)),
        ("sample_image('star', size=224)", lambda: sample_image("star", size=224)),
    ]
    print(f"{'':<34}{'wall':>9}{'CPU':>9}")
    for label, fn in cases:
        wall, cpu = best_of(fn)
        print(f"{label:<34}{wall:8.3f}s{cpu:8.3f}s")


def learn(size: int, epochs: int, lr: float) -> None:
    torch.manual_seed(0)
    model = build_model(SPEC)
    if size >= 64:
        model.conv1.stride = (2, 2)
    x_train, y_train = make_batch(20_000, size=size, seed=1).to_tensors()
    x_test, y_test = make_batch(2_000, size=size, seed=2).to_tensors()
    steps_per_epoch = -(-len(y_train) // 128)
    optimizer = torch.optim.SGD(
        model.parameters(), lr=lr, momentum=0.9, nesterov=True, weight_decay=5e-4
    )
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=lr, epochs=epochs, steps_per_epoch=steps_per_epoch
    )
    parameters = sum(p.numel() for p in model.parameters())
    print(f"\nResNet of {parameters:,} parameters at {size}x{size}, {epochs} epochs, lr {lr}")
    order = torch.Generator().manual_seed(0)
    start = time.perf_counter()
    for epoch in range(1, epochs + 1):
        model.train()
        for index in torch.randperm(len(y_train), generator=order).split(128):
            loss = F.cross_entropy(model(x_train[index]), y_train[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
        model.eval()
        with torch.no_grad():
            accuracy = (model(x_test).argmax(1) == y_test).float().mean().item()
        elapsed = time.perf_counter() - start
        print(f"epoch {epoch:>2}: test accuracy {100 * accuracy:6.2f} % after {elapsed:5.0f} s")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learn", action="store_true", help="also train the small ResNet")
    parser.add_argument("--size", type=int, default=32, help="image side for --learn")
    parser.add_argument("--epochs", type=int, default=4, help="epochs for --learn")
    parser.add_argument("--lr", type=float, default=0.05, help="peak learning rate for --learn")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    print(
        f"numpy {np.__version__}, torch {torch.__version__}, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}, "
        f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}"
    )
    timings()
    if args.learn:
        learn(args.size, args.epochs, args.lr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
