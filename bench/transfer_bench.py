"""What transfer learning costs, against the bare PyTorch work it wraps.

Run from the repository root: ``python -m bench.transfer_bench`` (``--models``, ``--images``,
``--epochs``, ``--runs``). Prints, never asserts. Goals (the transfer-learning issue):

- linear probe: :func:`~resnet_viz.training.transfer.fine_tune` with ``mode="probe"`` (preparing
  the pixels, one pass of the frozen backbone, training the head) <= 1.1x the backbone's bare
  forward passes over the same images (``model.features`` then pooling, batches of 32 under
  ``torch.inference_mode``); the head's training negligible beside it;
- full fine-tune: one epoch of ``fine_tune(mode="full")`` (train, then validate) <= 1.2x the
  same epoch written as a bare PyTorch loop: a list of PIL images, torchvision's v2 transforms
  per image per epoch (resize 256, random crop 224, flip, normalise), a ``DataLoader`` of
  batches of the same size (the largest that fits the memory budget), AdamW, cross-entropy,
  then an evaluation pass over the validation images.

Both sides run in the same process with one intra-op thread (the app's training setting,
:data:`~resnet_viz.training.transfer.THREADS`), alternating, median of ``--runs``. The images
are random RGB noise at 320 x 256 in two classes (the cost does not depend on the pixels); the
networks have random weights (the cost does not depend on them either).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812 (PyTorch's own convention)
from PIL import Image
from torchvision.transforms import v2

from resnet_viz.core.build import build_model
from resnet_viz.core.presets import preset
from resnet_viz.data.image_folder import ImageFolder
from resnet_viz.data.images import IMAGENET_MEAN, IMAGENET_STD
from resnet_viz.data.split import stratified_split
from resnet_viz.runtime.kernels import intra_op_threads
from resnet_viz.training.transfer import BATCH_SIZE, LEARNING_RATES, THREADS, fine_tune
from resnet_viz.weights.common import Preprocessing

PREPROCESSING = Preprocessing(224, 256, IMAGENET_MEAN, IMAGENET_STD)


def noise_images(n: int, seed: int = 0) -> ImageFolder:
    rng = np.random.default_rng(seed)
    images = tuple(
        Image.fromarray(rng.integers(0, 256, (256, 320, 3), dtype=np.uint8)) for _ in range(n)
    )
    return ImageFolder(images, tuple(i % 2 for i in range(n)), ("a", "b"))


def median_seconds(work: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bare_features(model, data: ImageFolder) -> None:
    """The backbone's forward passes over the images, given as ready tensors (the floor)."""
    with torch.inference_mode():
        for start in range(0, len(data.images), BATCH_SIZE):
            x = torch.cat([PREPROCESSING.tensor(im) for im in data.images[start : start + 32]])
            model.pooled(model.features(x))


def bare_features_only(model, tensors: torch.Tensor) -> None:
    with torch.inference_mode():
        for start in range(0, len(tensors), BATCH_SIZE):
            model.pooled(model.features(tensors[start : start + BATCH_SIZE]))


def bare_epoch(spec, data: ImageFolder, batch_size: int) -> None:
    """One epoch of a plain fine-tuning loop, then its validation pass."""
    split = stratified_split(data.labels, seed=0)
    model = build_model(spec)
    optimizer = torch.optim.AdamW(model.parameters(), lr=LEARNING_RATES["full"])
    train_tf = v2.Compose([
        v2.PILToTensor(), v2.Resize(256, antialias=True), v2.CenterCrop(256), v2.RandomCrop(224),
        v2.RandomHorizontalFlip(), v2.ToDtype(torch.float32, scale=True),
        v2.Normalize(IMAGENET_MEAN, IMAGENET_STD),
    ])  # fmt: skip
    train = [(train_tf(data.images[i]), data.labels[i]) for i in split.train]
    loader = torch.utils.data.DataLoader(train, batch_size=batch_size, shuffle=True)
    model.train()
    for x, y in loader:
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.inference_mode():
        x = torch.cat([PREPROCESSING.tensor(data.images[i]) for i in split.validation])
        model(x).argmax(1)


def measure(name: str, data: ImageFolder, epochs: int, runs: int) -> None:
    """Print one network's probe and fine-tune figures against their bare twins."""
    spec = preset(name)
    model = build_model(spec)
    with intra_op_threads(THREADS):
        tensors = torch.cat([PREPROCESSING.tensor(im) for im in data.images])
        forward = median_seconds(lambda: bare_features_only(model, tensors), runs)
        floor = median_seconds(lambda: bare_features(model, data), runs)
    probe_times, head_times = [], []
    for _ in range(runs):
        events: list[tuple[str, float]] = []

        def note(p, events=events) -> None:
            events.append((p.stage, time.perf_counter()))

        start = time.perf_counter()
        fine_tune(model, data, "probe", preprocessing=PREPROCESSING, epochs=30, progress=note)
        end = time.perf_counter()
        probe_times.append(end - start)
        head_times.append(end - max(t for stage, t in events if stage == "features"))
    probe = statistics.median(probe_times)
    print(
        f"{name} probe (30 head epochs): {probe:.2f} s; bare forward passes {forward:.2f} s "
        f"({probe / forward:.2f}x), with the preprocessing {floor:.2f} s "
        f"({probe / floor:.2f}x, goal <= 1.1x); head training "
        f"{statistics.median(head_times):.3f} s"
    )
    batches = []

    def ours() -> None:
        done = fine_tune(model, data, "full", preprocessing=PREPROCESSING, epochs=epochs)
        batches.append(done.batch_size)  # the largest that fits the memory budget

    tuned = median_seconds(ours, runs)
    with intra_op_threads(THREADS):
        bare = median_seconds(lambda: bare_epoch(spec, data, batches[0]), runs)
    print(
        f"{name} full fine-tune, {epochs} epoch(s), batches of {batches[0]}: {tuned:.2f} s; "
        f"bare loop {bare * epochs:.2f} s ({tuned / (bare * epochs):.2f}x, goal <= 1.2x)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.transfer_bench")
    parser.add_argument("--models", nargs="+", default=["resnet18", "resnet50"])
    parser.add_argument("--images", type=int, default=100)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    data = noise_images(args.images)
    print(
        f"{args.images} images at 224 px, batches of {BATCH_SIZE}, {THREADS} thread; "
        f"{platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}, load average "
        f"{os.getloadavg()[0]:.2f}"
    )
    for name in args.models:
        measure(name, data, args.epochs, args.runs)
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
