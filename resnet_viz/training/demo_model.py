"""Train the app's bundled demo ResNet on the synthetic shapes data, deterministically on a CPU.

The Grad-CAM page needs a model that works offline out of the box; a small ResNet trained on
:mod:`resnet_viz.data.synthetic_shapes` is that model, and because every object's mask is known, its
CAMs can be *measured* (pointing game, ``tests/unit/training/test_demo_model.py``). This module
trains it and writes the checkpoint ``resnet_viz/assets/demo_resnet.pt`` in the app's checkpoint
format (:mod:`resnet_viz.weights.checkpoint`, which also reads it), with the shapes' class names,
``input_size`` :data:`INPUT_SIZE` and the shapes' ``MEAN``/``STD``.

Data. Every epoch draws *fresh* images, ``make_batch(train_images, seed=TRAIN_SEED + epoch)``:
the generator costs a fraction of a millisecond per 64x64 image against several milliseconds
per image for a training step on a CPU, so unlimited data is nearly free and no image is seen
twice. Validation uses ``VALIDATION_SEED`` and the tests seeds from ``FRESH_SEED`` on; the three
ranges never overlap (``TRAIN_SEED + MAX_EPOCHS <= VALIDATION_SEED < FRESH_SEED``). No
augmentation: the generator already draws every object at a uniform random angle and position,
and a mirrored scene is just another scene of the same distribution (all seven shapes are
mirror-symmetric), so flips would add nothing that fresh data does not.

Progressive resizing. Most epochs run at 32x32, the last ones at 48 and then 64 (the size the
app and the tests use; :func:`size_schedule`). The shapes generator draws its scenes in units of
the image side, so an epoch's images are the same scenes at every size. A training step at 32
px costs several times less than one at 64 px, and finishing at the test resolution removes the
train/test resolution discrepancy (Touvron et al. 2019, "Fixing the train-test resolution
discrepancy"; fast.ai's DAWNBench and FFCV's ImageNet recipes also go from low to high
resolution).

Label smoothing 0.1 (Szegedy et al. 2016), chosen for localisation, not accuracy: in a recipe
search over seeds, runs with it pointed at the object more consistently (the pointing game)
at the same accuracy. Most misses are rings, whose CAM peaks in the hole: the hole is what
tells a ring from a disc, and a 4-px layer3 cell cannot resolve a 5-8 px band.

Optimiser (:class:`Recipe`): SGD with Nesterov momentum and torch's ``OneCycleLR``, one
training epoch at a time with :func:`resnet_viz.training.loop.train_one_epoch`.

Determinism (:func:`resnet_viz.training.loop.deterministic_run`). ``seed`` fixes the initial
weights and the order of images within each epoch (a ``torch.Generator``); the data themselves
depend only on the epoch. Training runs with ``torch.use_deterministic_algorithms(True)`` and a
fixed number of threads (the thread count changes how convolutions split their sums, hence the
last bits), and the caller's global RNG, thread count and determinism flag are restored
afterwards. Two runs with the same arguments on the same machine give bitwise-identical
weights (a test checks this); other CPU kernels or another torch build may differ in the last
bits. Measured results, timings and the exact commands: ``docs/experiments.md``.

Run ``python -m resnet_viz.training.demo_model --out resnet_viz/assets/demo_resnet.pt``.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..core.build import ResNet, build_model
from ..core.spec import ResNetSpec
from ..data.synthetic_shapes import CLASSES, MEAN, STD, ShapesBatch, make_batch
from ..weights.checkpoint import CHECKPOINT_FORMAT, DEMO_CHECKPOINT, write_checkpoint
from .loop import deterministic_run, train_one_epoch

__all__ = [
    "CHECKPOINT_FORMAT",
    "DEFAULT_CHECKPOINT",
    "DEMO_SPEC",
    "FRESH_SEED",
    "INPUT_SIZE",
    "TRAIN_SEED",
    "VALIDATION_SEED",
    "evaluate",
    "save_demo_checkpoint",
    "size_schedule",
    "train_demo_model",
]

#: The demo network: CIFAR-style stem (3x3, stride 1, no pooling) and three stages of two basic
#: blocks at widths 16/32/64 (He et al. 2015, Sec. 4.2, with n = 2, i.e. a ResNet-14), option B
#: projections where the shape changes. At 64x64 input the stages give 64x64, 32x32 and 16x16
#: maps, so Grad-CAM at ``layer3`` has 16x16 cells of 4x4 pixels: fine enough to point inside
#: objects whose area-equivalent diameter is 16-29 px.
DEMO_SPEC = ResNetSpec(
    block="basic",
    layers=(2, 2, 2),
    widths=(16, 32, 64),
    stem="cifar",
    shortcut="B",
    num_classes=len(CLASSES),
)
INPUT_SIZE = 64
DEFAULT_CHECKPOINT = DEMO_CHECKPOINT

#: Training epoch ``e`` uses ``make_batch(..., seed=TRAIN_SEED + e)``.
TRAIN_SEED = 100_000
MAX_EPOCHS = 1_000
#: Validation images during training.
VALIDATION_SEED = 200_000
#: Seeds from here on were never used in training or validation: tests draw their images here.
FRESH_SEED = 300_000

DEFAULT_EPOCHS = 16
DEFAULT_TRAIN_IMAGES = 6_000
DEFAULT_VAL_IMAGES = 1_000
#: One intra-op thread. With other busy processes on the cores, a training step runs several
#: times *slower* with 2 threads than with 1 (figures: docs/experiments.md): each OpenMP
#: barrier waits for whichever thread the scheduler has parked. Determinism needs one fixed
#: count, so the default is the one that does not collapse under load.
NUM_THREADS = 1


@dataclasses.dataclass(frozen=True)
class Recipe:
    """Optimiser settings: cross-entropy with label smoothing; SGD with Nesterov momentum and a
    one-cycle learning rate (Smith & Topin 2017, torch's ``OneCycleLR``: warm-up over the
    first ``warmup`` fraction of steps, then cosine annealing); weight decay on conv and fc
    weights only (not on BN parameters or biases)."""

    batch_size: int = 128
    max_lr: float = 0.2
    momentum: float = 0.9
    weight_decay: float = 5e-4
    warmup: float = 0.15
    label_smoothing: float = 0.1


ProgressFn = Callable[[dict[str, Any]], None]


def size_schedule(epochs: int, final: int = INPUT_SIZE) -> tuple[int, ...]:
    """Image side per epoch: the last eighth of the epochs (rounded up) at ``final``, the
    eighth before it at 3/4 of it, the rest at half of it. 16 epochs -> 12 x 32, 2 x 48,
    2 x 64; 1 epoch -> 64."""
    last = math.ceil(epochs / 8)
    middle = min(math.ceil(epochs / 8), epochs - last)
    first = epochs - last - middle
    return (final // 2,) * first + (final * 3 // 4,) * middle + (final,) * last


def _parameter_groups(model: nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    decay, no_decay = [], []
    for p in model.parameters():
        (decay if p.ndim > 1 else no_decay).append(p)
    return [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]


def _normalise(images: np.ndarray) -> torch.Tensor:
    """uint8 N x H x W x 3 -> float32 N x 3 x H x W, normalised with the shapes MEAN/STD."""
    x = torch.from_numpy(images).permute(0, 3, 1, 2).to(torch.float32).div_(255)
    mean = torch.tensor(MEAN, dtype=torch.float32).view(1, 3, 1, 1)
    std = torch.tensor(STD, dtype=torch.float32).view(1, 3, 1, 1)
    return ((x - mean) / std).contiguous()


def evaluate(model: nn.Module, batch: ShapesBatch, *, batch_size: int = 500) -> float:
    """Top-1 accuracy of ``model`` on ``batch`` (normalised with the shapes MEAN/STD).

    The model is put in eval mode (and left there); no gradients are recorded."""
    model.eval()
    correct = 0
    with torch.no_grad():
        for start in range(0, len(batch), batch_size):
            x = _normalise(batch.images[start : start + batch_size])
            y = torch.from_numpy(batch.labels[start : start + batch_size])
            correct += int((model(x).argmax(1) == y).sum())
    return correct / max(len(batch), 1)


def _batches(
    data: ShapesBatch, perm: np.ndarray, batch_size: int, steps: int
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """The epoch's mini-batches in ``perm``'s order (each batch's images in index order)."""
    for step in range(steps):
        idx = np.sort(perm[step * batch_size : (step + 1) * batch_size])
        yield _normalise(data.images[idx]), torch.from_numpy(data.labels[idx])


def _validate(model: nn.Module, cache: dict[int, ShapesBatch], n: int, size: int) -> float | None:
    # At the epoch's own size: a 64-px check after 32-px epochs says little (features are
    # scale-specific: 15-34 % measured) and costs six times as much.
    if n == 0:
        return None
    if size not in cache:
        cache[size] = make_batch(n, size=size, seed=VALIDATION_SEED)
    return evaluate(model, cache[size])


def train_demo_model(
    *,
    seed: int = 0,
    train_images: int = DEFAULT_TRAIN_IMAGES,
    epochs: int = DEFAULT_EPOCHS,
    val_images: int = DEFAULT_VAL_IMAGES,
    spec: ResNetSpec = DEMO_SPEC,
    recipe: Recipe = Recipe(),
    image_sizes: Sequence[int] | None = None,
    threads: int = NUM_THREADS,
    progress: ProgressFn | None = None,
) -> tuple[ResNet, list[dict[str, Any]]]:
    """Train ``spec`` on fresh shapes images; return ``(model in eval mode, history)``.

    Args:
        seed: initial weights and per-epoch image order.
        train_images: images per epoch (each epoch draws new ones, see the module docstring).
        epochs: passes; the learning rate follows one cycle over all of them.
        val_images: images of ``VALIDATION_SEED`` scored after every epoch, at that epoch's
            image size (0: skip). Validation never changes the weights.
        image_sizes: image side per epoch (``len == epochs``); default
            ``size_schedule(epochs)``, which ends at ``INPUT_SIZE``.
        progress: called after every epoch with that epoch's history entry.

    ``history`` has one dict per epoch: ``epoch`` (1-based), ``image_size``, ``train_loss``
    and ``train_accuracy`` (running averages over the epoch, in train mode), ``val_accuracy``
    at ``image_size`` (``None`` when ``val_images`` is 0), ``lr`` (of the epoch's last step),
    ``seconds`` (wall clock since the start, data generation included).
    """
    if not 1 <= epochs <= MAX_EPOCHS:
        raise ValueError(f"epochs must be in 1..{MAX_EPOCHS}, got {epochs}")
    if train_images < 1:
        raise ValueError(f"train_images must be positive, got {train_images}")
    sizes = tuple(size_schedule(epochs) if image_sizes is None else image_sizes)
    if len(sizes) != epochs:
        raise ValueError(f"image_sizes has {len(sizes)} entries for {epochs} epochs")
    start = time.perf_counter()
    steps_per_epoch = math.ceil(train_images / recipe.batch_size)
    val: dict[int, ShapesBatch] = {}  # per image size, the same scenes
    history: list[dict[str, Any]] = []
    with deterministic_run(seed, threads=threads, algorithms=True):
        model = build_model(spec).train()
        order = torch.Generator().manual_seed(seed)
        optimiser = torch.optim.SGD(
            _parameter_groups(model, recipe.weight_decay),
            lr=recipe.max_lr,
            momentum=recipe.momentum,
            nesterov=True,
        )
        schedule = torch.optim.lr_scheduler.OneCycleLR(
            optimiser,
            max_lr=recipe.max_lr,
            total_steps=epochs * steps_per_epoch,
            pct_start=recipe.warmup,
            anneal_strategy="cos",
            div_factor=25.0,
            final_div_factor=1e3,
        )
        for epoch in range(epochs):
            data = make_batch(train_images, size=sizes[epoch], seed=TRAIN_SEED + epoch)
            perm = torch.randperm(train_images, generator=order).numpy()
            stats = train_one_epoch(
                model,
                optimiser,
                _batches(data, perm, recipe.batch_size, steps_per_epoch),
                schedule,
                label_smoothing=recipe.label_smoothing,
            )
            entry = {
                "epoch": epoch + 1,
                "image_size": sizes[epoch],
                "train_loss": stats.loss,
                "train_accuracy": stats.accuracy,
                "val_accuracy": _validate(model, val, val_images, sizes[epoch]),
                "lr": stats.lr,
                "seconds": time.perf_counter() - start,
            }
            history.append(entry)
            if progress is not None:
                progress(entry)
    return model.eval(), history


def save_demo_checkpoint(
    model: ResNet, path: str | Path = DEFAULT_CHECKPOINT, *, input_size: int = INPUT_SIZE
) -> Path:
    """Write ``model`` with the shapes' classes, ``MEAN`` and ``STD`` in the app's checkpoint
    format (:func:`resnet_viz.weights.checkpoint.write_checkpoint`) to ``path``; return it."""
    return write_checkpoint(model, path, classes=CLASSES, input_size=input_size, mean=MEAN, std=STD)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m resnet_viz.training.demo_model",
        description="Train the demo ResNet on synthetic shapes and save the checkpoint.",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_CHECKPOINT, help="checkpoint path")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=DEFAULT_EPOCHS)
    parser.add_argument("--train-images", type=int, default=DEFAULT_TRAIN_IMAGES)
    parser.add_argument("--test-images", type=int, default=2_000)
    parser.add_argument("--threads", type=int, default=NUM_THREADS)
    args = parser.parse_args(argv)

    def report(entry: dict[str, Any]) -> None:
        print(
            f"epoch {entry['epoch']:2d}  {entry['image_size']} px  loss {entry['train_loss']:.4f}  "
            f"train {entry['train_accuracy']:.4f}  val {entry['val_accuracy']:.4f}  "
            f"lr {entry['lr']:.4f}  {entry['seconds']:.0f} s",
            flush=True,
        )

    start = time.perf_counter()
    model, _ = train_demo_model(
        seed=args.seed,
        epochs=args.epochs,
        train_images=args.train_images,
        threads=args.threads,
        progress=report,
    )
    elapsed = time.perf_counter() - start
    path = save_demo_checkpoint(model, args.out)
    test = make_batch(args.test_images, size=INPUT_SIZE, seed=FRESH_SEED)
    accuracy = evaluate(model, test)
    print(f"trained in {elapsed:.1f} s ({args.threads} thread(s))")
    print(f"test accuracy {accuracy:.4f} on {len(test)} images of seed {FRESH_SEED}")
    print(f"saved {path} ({path.stat().st_size / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
