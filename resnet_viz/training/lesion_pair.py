"""Train the lesion page's pair, a ResNet and its plain twin, and write their checkpoints.

The recipe is :mod:`resnet_viz.analysis.lesion`'s constants (:func:`~resnet_viz.analysis.
lesion.training_recipe`): the degradation experiment's training (SGD with momentum and weight
decay, warm-up and cosine decay, :mod:`resnet_viz.training.loop`) on the first
:data:`~resnet_viz.analysis.lesion.TRAIN_IMAGES` UCI digits, both networks from identical
weights and on the same batches. Training is deterministic (one thread, fixed seed): the same
CPU kernels and torch build give the same bytes of weights.

Each file is written by :func:`resnet_viz.weights.checkpoint.write_checkpoint` with these extra
entries: ``"trained"`` (the recipe, so a test can tell a stale asset), ``"machine"`` and
``"environment"`` (the CPU kernels that computed it, see
:func:`~resnet_viz.training.loop.machine_description`) and ``"torch"``.

Run ``python -m resnet_viz.training.lesion_pair`` (``--out FOLDER`` to write elsewhere); it
also prints the lesion study of both networks on the held-out digits.
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

from ..analysis.degradation import DEFAULTS, digits_spec
from ..analysis.lesion import (
    BATCH_SIZE,
    DEPTH,
    EPOCHS,
    LR,
    PLAIN_CHECKPOINT,
    RESNET_CHECKPOINT,
    SEED,
    TRAIN_IMAGES,
    WARMUP_EPOCHS,
    held_out_digits,
    lesion_study,
    training_recipe,
)
from ..analysis.twins import build_twins
from ..data.digits import DIGITS_CLASSES, DIGITS_MEAN, DIGITS_SIZE, DIGITS_STD, load_digits
from ..weights.checkpoint import write_checkpoint
from .loop import (
    WarmupCosine,
    deterministic_run,
    kernel_environment,
    machine_description,
    train_one_epoch,
)

__all__ = ["main", "save_pair", "train_pair"]


def train_pair(
    *, epochs: int = EPOCHS, train_images: int = TRAIN_IMAGES, seed: int = SEED
) -> tuple[nn.Module, nn.Module]:
    """The ResNet of depth :data:`~resnet_viz.analysis.lesion.DEPTH` and its plain twin trained
    on the digits (recipe in the module docstring); deterministic on the CPU (one thread, fixed
    seed). Returns ``(resnet, plain)`` in eval mode."""
    with deterministic_run(threads=1):
        x, y = load_digits(train_images)
        residual, plain = build_twins(digits_spec(DEPTH), seed=seed)
        order = torch.Generator().manual_seed(seed)
        steps_per_epoch = math.ceil(train_images / BATCH_SIZE)
        total, warmup = epochs * steps_per_epoch, WARMUP_EPOCHS * steps_per_epoch
        nets = (residual, plain)
        optimizers = [
            torch.optim.SGD(
                n.parameters(),
                lr=LR,
                momentum=DEFAULTS.momentum,
                weight_decay=DEFAULTS.weight_decay,
            )
            for n in nets
        ]
        schedules = [WarmupCosine(opt, total, warmup) for opt in optimizers]
        for _ in range(epochs):
            perm = torch.randperm(train_images, generator=order)
            batches = [perm[i : i + BATCH_SIZE] for i in range(0, train_images, BATCH_SIZE)]
            for net, opt, schedule in zip(nets, optimizers, schedules, strict=True):
                train_one_epoch(net, opt, ((x[idx], y[idx]) for idx in batches), schedule)
    return residual.eval(), plain.eval()


def save_pair(resnet: nn.Module, plain: nn.Module, folder: Path | str) -> tuple[Path, Path]:
    """Write the pair as ``lesion_resnet.pt`` and ``lesion_plain.pt`` in ``folder``."""
    folder = Path(folder)
    extra = {
        "trained": training_recipe(),
        "machine": machine_description(),
        "environment": kernel_environment(),
        "torch": str(torch.__version__),
    }
    paths = []
    for model, name in ((resnet, RESNET_CHECKPOINT.name), (plain, PLAIN_CHECKPOINT.name)):
        path = write_checkpoint(
            model,
            folder / name,
            classes=DIGITS_CLASSES,
            input_size=DIGITS_SIZE,
            mean=[DIGITS_MEAN],
            std=[DIGITS_STD],
            extra=extra,
        )
        paths.append(path)
    return paths[0], paths[1]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m resnet_viz.training.lesion_pair",
        description=f"Train the lesion page's ResNet-{DEPTH} and plain-{DEPTH} on the digits "
        f"and write {RESNET_CHECKPOINT.name} and {PLAIN_CHECKPOINT.name}.",
    )
    parser.add_argument("--out", type=Path, default=RESNET_CHECKPOINT.parent, help="output folder")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    resnet, plain = train_pair()
    wall = time.perf_counter() - start
    paths = save_pair(resnet, plain, args.out)
    batch = held_out_digits()
    for name, model, path in zip(("resnet", "plain"), (resnet, plain), paths, strict=True):
        result = lesion_study(model, batch)
        print(
            f"{name}: held-out accuracy {result.baseline:.3f}, mean over single-block lesions "
            f"{result.mean_accuracy:.3f}; {path} ({path.stat().st_size:,} bytes)"
        )
        for block, acc in result.accuracy.items():
            print(f"  without {block}: {acc:.3f}")
    print(f"trained in {wall:.0f} s on {machine_description()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
