"""The degradation problem, live: deeper plain networks train worse, deeper ResNets do not.

He, Zhang, Ren, Sun 2015 ("Deep Residual Learning for Image Recognition", arXiv:1512.03385),
Figures 1 and 6: on CIFAR-10, plain-56 ends with *higher training error* than plain-20, so the
trouble is optimisation, not overfitting; with identity shortcuts ResNet-56 trains at least as
well as ResNet-20. :func:`train_curves` reruns that comparison in a minute or two on a CPU and
returns the training error per epoch of each network; :func:`degradation_curves` returns the
curves shipped for the default settings, so a lecture gets the plot at once; :func:`main` (the
console script ``resnet-viz-degradation-curves``) trains them again and writes the record.

The shipped record (``assets/degradation_curves.json``, format ``"resnet-viz-degradation/1"``)::

    {"format", "settings": asdict(DEFAULTS) with depths as a list,
     "curves": {"plain-20": [...], ...}, "date", "machine", "environment", "threads": 1,
     "wall_seconds", "load_average", "torch"}

``machine`` and ``environment`` say which CPU kernels computed it
(:func:`~resnet_viz.runtime.kernels.machine_description`,
:func:`~resnet_viz.runtime.kernels.kernel_environment`). To reproduce a record bit for bit, run
``python -m resnet_viz.experiments.degradation`` with the same torch build and the record's
``environment`` variables set on a machine whose description then matches the record's.

Dataset: the UCI handwritten digits (:mod:`resnet_viz.data.digits`), not the project's
synthetic shapes: at the budget of four networks in two minutes on a small CPU, none of the
four networks learns the shapes, and a curve that stays at chance shows no degradation, only a
task too hard for the budget. The digits are a real task that small networks learn within a
few epochs. (Measurements: ``docs/experiments.md``.)

What :func:`train_curves` does, precisely:

1. Data. The first ``train_images`` digits (in the shipped order) are the training set,
   normalised with the set's mean and standard deviation (:func:`~resnet_viz.data.digits.
   load_digits`); ``image_size`` > 8 upsamples by nearest neighbour. No augmentation.
2. Networks. For each depth d (6n + 2), the paper's CIFAR network (``spec_for_depth(d,
   "cifar")``: 3x3 stem, three stages of n basic blocks at 16/32/64 filters, option A shortcuts,
   BatchNorm) with one input channel and 10 classes (:func:`digits_spec`), and its plain twin.
   The twins start from identical weights: :func:`~resnet_viz.analysis.twins.build_twins` builds
   the ResNet with :func:`~resnet_viz.core.build.build_model`'s Kaiming init under ``seed`` and
   copies its tensors into the plain net, so the skip connections are the only difference.
3. Training (:func:`~resnet_viz.training.loop.train_one_epoch`). SGD, momentum 0.9, weight
   decay 1e-4 on every parameter (He et al. 2015, Sec. 4.2), mini-batches of ``batch_size``,
   mean cross-entropy. Learning rate (:class:`~resnet_viz.training.loop.WarmupCosine`): a linear
   warm-up from ``lr / warm-up steps`` to ``lr`` = 0.1 over ``warmup_epochs``, times a cosine
   decay to 0 over the whole run (Loshchilov & Hutter 2017, arXiv:1608.03983). The paper also
   warms up (it trains ResNet-110 at 0.01 until the training error is below 80 %, Sec. 4.2:
   "the initial learning rate of 0.1 is slightly too large to start converging") and then
   divides the rate by 10 twice; the cosine stands in for those steps in a run of 10 epochs
   instead of 160. The warm-up applies to all four networks alike; without it the deep ResNet
   starts slowly too, which the page lets one see. Every network sees the same batches in the
   same order: one permutation per epoch, drawn from a generator seeded with ``seed``. The
   four networks advance in lockstep, one epoch each in turn, so a page can draw the four
   curves growing together (``on_epoch``).
4. Training error, after each epoch: the fraction of a fixed training subset (the first
   ``eval_images`` training images) that the network, in eval mode, misclassifies
   (:func:`~resnet_viz.analysis.degradation.training_error`, which says why not the running
   error over the epoch).

Determinism: the same arguments give the same numbers, bitwise, on the same CPU kernels and torch
build: the work runs with one intra-op thread (restored afterwards), inside
``torch.random.fork_rng`` so the caller's RNG state is untouched
(:func:`~resnet_viz.training.loop.deterministic_run`). One thread is deliberate: a fixed thread
count keeps the sums in a fixed order, and at these sizes a second thread does not make a step
faster (``docs/experiments.md``). Another vector instruction set (AVX2 or AVX-512 kernels) sums
differently, and training amplifies the last bits into visibly different curves; on a GPU, cuDNN
picks its own algorithms. The shipped record says which kernels computed it.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn

from ..analysis.degradation import training_error
from ..analysis.twins import build_twins
from ..assets import ASSETS_DIR
from ..core.presets import spec_for_depth
from ..core.spec import ResNetSpec, SpecError
from ..data.digits import DIGITS_CLASSES, DIGITS_COUNT, DIGITS_SIZE, load_digits
from ..runtime.kernels import kernel_environment, machine_description
from ..training.loop import WarmupCosine, deterministic_run, train_one_epoch

Progress = Callable[[float, str], None]
OnEpoch = Callable[[str, int, float], None]

CURVES_PATH = ASSETS_DIR / "degradation_curves.json"
CURVES_FORMAT = "resnet-viz-degradation/1"


@dataclass(frozen=True)
class CurveSettings:
    """Everything that determines :func:`train_curves`' numbers."""

    depths: tuple[int, ...] = (20, 56)
    epochs: int = 10
    train_images: int = 1024
    image_size: int = 8
    batch_size: int = 64
    lr: float = 0.1
    warmup_epochs: int = 2
    eval_images: int = 512
    momentum: float = 0.9
    weight_decay: float = 1e-4
    seed: int = 0


#: The settings of the shipped curves and of the page's default run.
DEFAULTS = CurveSettings()


def curve_names(depths: Sequence[int]) -> list[str]:
    """``["plain-20", "plain-56", "resnet-20", "resnet-56"]`` for depths (20, 56): the order of
    :func:`train_curves`' keys (plain first, then residual, each by depth)."""
    return [f"{kind}-{d}" for kind in ("plain", "resnet") for d in depths]


def digits_spec(depth: int, *, skip: bool = True) -> ResNetSpec:
    """The paper's CIFAR network of ``depth`` (6n + 2) for the digits: 1 input channel,
    10 classes. ``skip=False`` gives the plain twin."""
    spec = spec_for_depth(depth, "cifar")
    return ResNetSpec(
        **{**asdict(spec), "in_channels": 1, "num_classes": len(DIGITS_CLASSES), "skip": skip}
    )


def _check_settings(s: CurveSettings) -> None:
    if not s.depths:
        raise SpecError("Give at least one depth.")
    for d in s.depths:
        spec_for_depth(d, "cifar")  # SpecError with the nearest valid depths
    if len(set(s.depths)) != len(s.depths):
        raise SpecError("Each depth once, please.")

    def whole(name: str, value: object, lo: int, hi: int) -> None:
        if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
            raise SpecError(f"{name} must be a whole number from {lo} to {hi}; got {value!r}.")

    whole("epochs", s.epochs, 1, 1000)
    whole("train_images", s.train_images, 1, DIGITS_COUNT)
    whole("image_size", s.image_size, DIGITS_SIZE, 256)
    whole("batch_size", s.batch_size, 1, DIGITS_COUNT)
    whole("warmup_epochs", s.warmup_epochs, 0, s.epochs)
    whole("eval_images", s.eval_images, 1, s.train_images)
    if not (math.isfinite(s.lr) and s.lr > 0):
        raise SpecError(f"lr must be a positive number; got {s.lr!r}.")
    if not (0 <= s.momentum < 1 and 0 <= s.weight_decay < 1):
        raise SpecError("momentum and weight_decay must lie in [0, 1).")


def train_curves(
    depths: Sequence[int] = DEFAULTS.depths,
    *,
    epochs: int = DEFAULTS.epochs,
    train_images: int = DEFAULTS.train_images,
    image_size: int = DEFAULTS.image_size,
    seed: int = DEFAULTS.seed,
    batch_size: int = DEFAULTS.batch_size,
    lr: float = DEFAULTS.lr,
    warmup_epochs: int = DEFAULTS.warmup_epochs,
    eval_images: int = DEFAULTS.eval_images,
    progress: Progress | None = None,
    on_epoch: OnEpoch | None = None,
    device: torch.device | str | None = None,
) -> dict[str, list[float]]:
    """Train plain and residual networks of ``depths`` side by side; return the training error
    of each after every epoch (see the module docstring for the exact recipe).

    Returns:
        ``{"plain-20": [...], "plain-56": [...], "resnet-20": [...], "resnet-56": [...]}`` for
        the default depths (:func:`curve_names` gives the order): ``epochs`` fractions in
        [0, 1], misclassified images of the fixed training subset, after epochs 1, 2, ...

    Args:
        depths: CIFAR depths 6n + 2 (20, 32, 44, 56, 110, ...); cost grows with depth.
        epochs, train_images, image_size, batch_size, lr, warmup_epochs, eval_images: the
            recipe (defaults in :data:`DEFAULTS`, the settings of the shipped curves).
        seed: weights and batch order; the same seed gives the same numbers (bitwise on CPU).
        progress: ``progress(fraction, message)``, fraction from 0 to 1, for a progress bar.
        on_epoch: ``on_epoch(name, epoch, error)`` after each network's epoch (epoch from 1),
            to draw curves while they grow.
        device: ``None`` or ``"cpu"`` for the CPU, or e.g. ``"cuda"``.

    Raises:
        SpecError: a depth that is not 6n + 2, or a setting out of range.
    """
    settings = CurveSettings(
        depths=tuple(depths),
        epochs=epochs,
        train_images=train_images,
        image_size=image_size,
        batch_size=batch_size,
        lr=lr,
        warmup_epochs=warmup_epochs,
        eval_images=eval_images,
        seed=seed,
    )
    _check_settings(settings)
    device = torch.device(device or "cpu")
    with deterministic_run(threads=1):
        return _train(settings, device, progress, on_epoch)[0]


def train_networks(
    settings: CurveSettings = DEFAULTS,
    *,
    progress: Progress | None = None,
    device: torch.device | str | None = None,
) -> tuple[dict[str, nn.Module], dict[str, list[float]]]:
    """The networks :func:`train_curves` trains with ``settings`` (default: the shipped
    curves' recipe), trained, in eval mode, keyed as :func:`curve_names`; and their curves."""
    _check_settings(settings)
    device = torch.device(device or "cpu")
    with deterministic_run(threads=1):
        curves, nets = _train(settings, device, progress, None)
    return {name: net.eval() for name, net in nets.items()}, curves


def _train(
    s: CurveSettings,
    device: torch.device,
    progress: Progress | None,
    on_epoch: OnEpoch | None,
) -> tuple[dict[str, list[float]], dict[str, nn.Module]]:
    def report(fraction: float, message: str) -> None:
        if progress is not None:
            progress(min(max(fraction, 0.0), 1.0), message)

    report(0.0, "Building the networks")
    x, y = load_digits(s.train_images, s.image_size)
    x, y = x.to(device), y.to(device)
    x_eval, y_eval = x[: s.eval_images], y[: s.eval_images]
    nets: dict[str, nn.Module] = {}
    for depth in s.depths:
        residual, plain = build_twins(digits_spec(depth), seed=s.seed, device=device)
        nets[f"plain-{depth}"], nets[f"resnet-{depth}"] = plain, residual
    names = curve_names(s.depths)
    nets = {name: nets[name] for name in names}
    optimizers = {
        name: torch.optim.SGD(
            net.parameters(), lr=s.lr, momentum=s.momentum, weight_decay=s.weight_decay
        )
        for name, net in nets.items()
    }
    steps_per_epoch = math.ceil(s.train_images / s.batch_size)
    schedules = {
        name: WarmupCosine(opt, s.epochs * steps_per_epoch, s.warmup_epochs * steps_per_epoch)
        for name, opt in optimizers.items()
    }
    # Progress in units of work: one epoch of a network costs about its number of blocks.
    cost = {name: sum(digits_spec(int(name.split("-")[1])).layers) for name in names}
    total_work = s.epochs * sum(cost.values())
    done = 0
    order = torch.Generator().manual_seed(s.seed)
    curves: dict[str, list[float]] = {name: [] for name in names}
    for epoch in range(1, s.epochs + 1):
        perm = torch.randperm(s.train_images, generator=order).to(device)
        batches = [perm[i : i + s.batch_size] for i in range(0, s.train_images, s.batch_size)]
        for name, net in nets.items():
            pairs = ((x[idx], y[idx]) for idx in batches)
            train_one_epoch(net, optimizers[name], pairs, schedules[name])
            error = training_error(net, x_eval, y_eval)
            curves[name].append(error)
            done += cost[name]
            report(
                done / total_work,
                f"Epoch {epoch}/{s.epochs}: {name} training error {100 * error:.1f} %",
            )
            if on_epoch is not None:
                on_epoch(name, epoch, error)
    return curves, nets


# --------------------------------------------------------------------------- shipped curves


def degradation_record(path: Path | str = CURVES_PATH) -> dict:
    """The shipped run as stored: ``{"format", "settings", "curves", "date", "machine",
    "environment", "threads", "wall_seconds", "load_average", "torch"}`` (``machine`` and
    ``environment`` say which CPU kernels computed it, see
    :func:`~resnet_viz.runtime.kernels.machine_description`)."""
    data = json.loads(Path(path).read_text())
    if data.get("format") != CURVES_FORMAT:
        raise ValueError(f"{path} is not a {CURVES_FORMAT} file")
    return data


def degradation_curves(path: Path | str = CURVES_PATH) -> dict[str, list[float]]:
    """The training-error curves shipped for :data:`DEFAULTS` (keys "plain-20", "plain-56",
    "resnet-20", "resnet-56"), as :func:`train_curves` computed them; instant."""
    return {name: list(v) for name, v in degradation_record(path)["curves"].items()}


# --------------------------------------------------------------------------- the console script


def write_degradation_curves(path: Path | str = CURVES_PATH, *, quiet: bool = False) -> dict:
    """Run :func:`train_curves` with :data:`DEFAULTS` and write the record to ``path``."""
    settings = asdict(DEFAULTS)
    kwargs = {k: v for k, v in settings.items() if k not in ("momentum", "weight_decay")}

    def progress(fraction: float, message: str) -> None:
        if not quiet:
            print(f"{100 * fraction:5.1f} %  {message}", flush=True)

    start = time.perf_counter()
    curves = train_curves(**kwargs, progress=progress)
    wall = time.perf_counter() - start
    record = {
        "format": CURVES_FORMAT,
        "settings": {**settings, "depths": list(DEFAULTS.depths)},
        "curves": curves,
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": machine_description(),
        "environment": kernel_environment(),
        "threads": 1,
        "wall_seconds": round(wall, 1),
        "load_average": [round(v, 2) for v in os.getloadavg()],
        "torch": str(torch.__version__),
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=1) + "\n")
    return record


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m resnet_viz.experiments.degradation",
        description="Train plain-20/56 and ResNet-20/56 on the digits with the default "
        "settings and write the curves the app ships.",
    )
    parser.add_argument("--out", type=Path, default=CURVES_PATH, help="JSON file to write")
    parser.add_argument("--quiet", action="store_true", help="no per-epoch progress lines")
    args = parser.parse_args(argv)
    record = write_degradation_curves(args.out, quiet=args.quiet)
    for name, curve in record["curves"].items():
        print(f"{name:>10}: final training error {100 * curve[-1]:.1f} %")
    print(f"{record['machine']}; {record['wall_seconds']} s, load average {record['load_average']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
