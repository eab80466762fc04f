"""The lesion page's pair, a ResNet and its plain twin: their recipe, files, loader and trainer.

The recipe is this module's constants (:func:`training_recipe`): the degradation experiment's
training (SGD with momentum and weight decay, warm-up and cosine decay,
:mod:`resnet_viz.training.loop`) on the first :data:`TRAIN_IMAGES` UCI digits, both networks from
identical weights and on the same batches. Training is deterministic (one thread, fixed seed): the
same CPU kernels and torch build give the same bytes of weights.

Each file is written by :func:`resnet_viz.weights.checkpoint.write_checkpoint` with these extra
entries: ``"trained"`` (the recipe, so a test can tell a stale asset), ``"machine"`` and
``"environment"`` (the CPU kernels that computed it, see
:func:`~resnet_viz.runtime.kernels.machine_description`) and ``"torch"``.

Run ``python -m resnet_viz.experiments.lesion`` (console script ``resnet-viz-train-lesion``;
``--out FOLDER`` to write elsewhere); it also prints the lesion study
(:func:`~resnet_viz.analysis.lesion.lesion_study`) of both networks on the held-out digits.

The shipped pair (``assets/lesion_resnet.pt``, ``assets/lesion_plain.pt``, in the app's checkpoint
format, read with :func:`load_pair`): a CIFAR-style ResNet of depth :data:`DEPTH` (26: three stages
of 4 basic blocks, 16/32/64 filters, option A) and its plain twin, trained from identical weights
with the degradation experiment's recipe (SGD, momentum 0.9, weight decay 1e-4, lr 0.1 with warm-up
and cosine decay; :func:`training_recipe`) on the first :data:`TRAIN_IMAGES` UCI digits; the lesion
page measures them on the :data:`HELD_OUT` digits after those (:func:`held_out_digits`).
:func:`main` trains and writes them. Why these: depth 26 gives 10 lesionable blocks (depth 20 gives
7, the demo model's (2, 2, 2) layout 4), and plain-26 still trains well (at depth 56 it would not:
the degradation problem), so the comparison is between two networks that both work. Why the digits
and not the 32x32 shapes: the pair trains on them in well under a minute on a CPU, where the shapes
would take many minutes. Measured results: ``docs/experiments.md``.
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

from ..analysis.lesion import lesion_study
from ..analysis.twins import build_twins
from ..assets import ASSETS_DIR
from ..data.digits import DIGITS_CLASSES, DIGITS_MEAN, DIGITS_SIZE, DIGITS_STD, load_digits
from ..runtime.kernels import kernel_environment, machine_description
from ..training.loop import WarmupCosine, deterministic_run, train_one_epoch
from .degradation import DEFAULTS, digits_spec

__all__ = [
    "CHANCE",
    "DEPTH",
    "held_out_digits",
    "load_pair",
    "main",
    "save_pair",
    "train_pair",
    "training_recipe",
]

#: Recipe of the shipped pair.
DEPTH = 26
TRAIN_IMAGES = 1297
HELD_OUT = 500  # digits TRAIN_IMAGES .. TRAIN_IMAGES + HELD_OUT - 1
EPOCHS = 15
BATCH_SIZE = 64
LR = 0.1
WARMUP_EPOCHS = 2
SEED = 0
#: Accuracy of guessing a digit at random: where a broken network ends.
CHANCE = 1 / len(DIGITS_CLASSES)
RESNET_CHECKPOINT = ASSETS_DIR / "lesion_resnet.pt"
PLAIN_CHECKPOINT = ASSETS_DIR / "lesion_plain.pt"


def held_out_digits() -> tuple[torch.Tensor, torch.Tensor]:
    """The :data:`HELD_OUT` digits after the training set: the lesion page's batch."""
    x, y = load_digits(TRAIN_IMAGES + HELD_OUT)
    return x[TRAIN_IMAGES:], y[TRAIN_IMAGES:]


def load_pair(
    resnet_path: Path | str = RESNET_CHECKPOINT, plain_path: Path | str = PLAIN_CHECKPOINT
) -> tuple[nn.Module, nn.Module]:
    """The shipped ResNet-26 and plain-26, on the CPU in eval mode."""
    from ..weights.checkpoint import load_demo_model  # torchvision loads only when needed

    return (
        load_demo_model("cpu", path=resnet_path).model.eval(),
        load_demo_model("cpu", path=plain_path).model.eval(),
    )


def training_recipe() -> dict[str, int | float]:
    """The settings the shipped checkpoints record, so a test can tell a stale asset."""
    return {
        "depth": DEPTH,
        "train_images": TRAIN_IMAGES,
        "held_out": HELD_OUT,
        "epochs": EPOCHS,
        "batch_size": BATCH_SIZE,
        "lr": LR,
        "warmup_epochs": WARMUP_EPOCHS,
        "seed": SEED,
    }


def train_pair(
    *, epochs: int = EPOCHS, train_images: int = TRAIN_IMAGES, seed: int = SEED
) -> tuple[nn.Module, nn.Module]:
    """The ResNet of depth :data:`DEPTH` and its plain twin trained
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
    from ..weights.checkpoint import write_checkpoint  # torchvision loads only when needed

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
        prog="python -m resnet_viz.experiments.lesion",
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
