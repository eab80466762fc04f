"""The degradation problem, live: deeper plain networks train worse, deeper ResNets do not.

He, Zhang, Ren, Sun 2015 ("Deep Residual Learning for Image Recognition", arXiv:1512.03385),
Figures 1 and 6: on CIFAR-10, plain-56 ends with *higher training error* than plain-20, so the
trouble is optimisation, not overfitting; with identity shortcuts ResNet-56 trains at least as
well as ResNet-20. :func:`train_curves` reruns that comparison in a minute or two on a CPU and
returns the training error per epoch of each network; :func:`degradation_curves` returns the
curves shipped for the default settings, so a lecture gets the plot at once.

Dataset: scikit-learn's copy of the UCI handwritten digits (Alpaydin & Kaynak 1998: 1,797
images of 8x8 pixels, 16 grey levels, 10 classes), shipped as ``assets/digits.npz`` (45 KB; the
UCI data is CC BY 4.0, see ``assets/DIGITS_LICENSE.md``), so nothing is downloaded and
scikit-learn is not a dependency. Why not the project's synthetic shapes
(:mod:`resnet_viz.data.synthetic_shapes`): at the sizes a 2-core CPU can afford for four networks
in two
minutes (about 2,500 image-steps per network at 32x32), none of the four learns them. Measured
here, training error after 12 epochs of 512 shapes at 24x24 (no clutter): plain-20 76 %,
plain-56 82 %, ResNet-20 75 %, ResNet-56 78 %, all near chance (86 %); after 8 epochs of 1,024
at 16x16 (clutter 1): 72 %, 83 %, 74 %, 83 %. A curve that stays at chance shows no
degradation, only a task too hard for the budget. The digits are a real task that small
networks learn within a few epochs, and at 8x8 they are 16 times cheaper than 32x32 inputs.

What :func:`train_curves` does, precisely:

1. Data. The first ``train_images`` digits (in the shipped order) are the training set; pixels
   are scaled to [0, 1] and normalised with the set's mean and standard deviation
   (:data:`DIGITS_MEAN`, :data:`DIGITS_STD`); ``image_size`` > 8 upsamples by nearest neighbour.
   No augmentation.
2. Networks. For each depth d (6n + 2), the paper's CIFAR network (``spec_for_depth(d,
   "cifar")``: 3x3 stem, three stages of n basic blocks at 16/32/64 filters, option A shortcuts,
   BatchNorm) with one input channel and 10 classes, and its plain twin. The twins start from
   identical weights: :func:`~resnet_viz.analysis.gradients.build_twins` builds the ResNet with
   :func:`~resnet_viz.core.build.build_model`'s Kaiming init under ``seed`` and copies its tensors
   into the plain net, so the skip connections are the only difference.
3. Training. SGD, momentum 0.9, weight decay 1e-4 on every parameter (He et al. 2015, Sec. 4.2),
   mini-batches of ``batch_size``, mean cross-entropy. Learning rate: a linear warm-up from
   ``lr / warm-up steps`` to ``lr`` = 0.1 over ``warmup_epochs``, times a cosine decay to 0 over
   the whole run (Loshchilov & Hutter 2017, arXiv:1608.03983). The paper also warms up (it
   trains ResNet-110 at 0.01 until the training error is below 80 %, Sec. 4.2) and then divides
   the rate by 10 twice; the cosine stands in for those steps in a run of 10 epochs instead of
   160. Every network sees the same batches in the same order: one permutation per epoch, drawn
   from a generator seeded with ``seed``. The four networks advance in lockstep, one epoch each
   in turn, so a page can draw the four curves growing together (``on_epoch``).
4. Training error, after each epoch: the fraction of a fixed training subset (the first
   ``eval_images`` training images) that the network, in eval mode, misclassifies. Not the
   running error over the epoch's mini-batches (what Caffe logs): that one averages over
   weights that changed during the epoch, in train-mode BatchNorm, so it lags behind the network
   it describes and mixes two networks' worth of behaviour at every point. Eval mode measures
   the network that exists at the end of the epoch, as it would be used, with BatchNorm's
   running statistics. Each point costs one forward pass over ``eval_images`` (about 17 % of an
   epoch's training at the defaults).

Determinism: the same arguments give the same numbers, bitwise, on the CPU: the work runs with
one intra-op thread (restored afterwards), inside ``torch.random.fork_rng`` so the caller's RNG
state is untouched. One thread is deliberate: on the project's 2-core machine shared with
other jobs, two threads made each step 2-5x *slower* (measured), and a fixed thread count keeps
the sums in a fixed order. On a GPU, cuDNN picks its own algorithms, so curves are close, not
equal.

What it shows (measured on this project's 2-core AMD EPYC, one thread; training error after
epoch 10 with :data:`DEFAULTS`; the shipped run is seed 0, 46 s at load average 2.2):

====================  ==========  ==========  ==========  ==========
seed                  plain-20    plain-56    ResNet-20   ResNet-56
====================  ==========  ==========  ==========  ==========
0 (shipped)           0.0 %       79.9 %      0.0 %       0.0 %
1 .. 6                0.0-0.2 %   56-84 %     0.0 %       0.0-0.6 %
====================  ==========  ==========  ==========  ==========

The paper's result, magnified: plain-56 ends far above plain-20 while ResNet-56 ends level
with ResNet-20. The gap is much wider than the paper's (a few points after 64k iterations)
because the run is short: plain-56 first sits at chance (90 %) for two to four epochs, then
creeps down. Given 20 epochs it reaches 38 % (seed 0), so it is slower, not incapable.

The warm-up matters for ResNet-56 in a run this short, not for the verdict on plain nets.
Without it (``warmup_epochs=0``), ResNet-56 ends at 35 %, 15 % and 28 % for seeds 0-2
(0.4 % after 20 epochs, seed 0) and plain-56 at 50 %, 88 % and 84 %, while both 20-layer
networks still reach 0-0.2 %. He et al. met the same with ResNet-110: "the initial learning
rate of 0.1 is slightly too large to start converging" (Sec. 4.2), so they warmed it up at
0.01. (Why depth makes 0.1 too large at the start we have not measured here; each block adding
its branch to the signal, so that a deep ResNet's initial outputs are larger, is a likely
part.) So the default warms up all four networks alike, and the page can show the run without
it.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import math
import os
import platform
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812 (PyTorch's own convention)
from torch import nn

from ..assets import ASSETS_DIR
from ..core.presets import spec_for_depth
from ..core.spec import ResNetSpec, SpecError
from .gradients import build_twins

Progress = Callable[[float, str], None]
OnEpoch = Callable[[str, int, float], None]

ASSETS = ASSETS_DIR
DIGITS_PATH = ASSETS / "digits.npz"
CURVES_PATH = ASSETS / "degradation_curves.json"
CURVES_FORMAT = "resnet-viz-degradation/1"

#: The digits' classes, in label order.
DIGITS_CLASSES: tuple[str, ...] = tuple(str(d) for d in range(10))
DIGITS_COUNT = 1797
DIGITS_SIZE = 8
#: Mean and standard deviation of all 1,797 digits' pixels scaled to [0, 1] (a test recomputes
#: them from the shipped file).
DIGITS_MEAN = 0.30526
DIGITS_STD = 0.37605


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


@cache
def _digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    with np.load(DIGITS_PATH) as data:
        images, labels = data["images"], data["labels"]
    images.setflags(write=False)
    labels.setflags(write=False)
    return images, labels


def load_digits(n: int | None = None, image_size: int = DIGITS_SIZE) -> tuple[torch.Tensor, ...]:
    """The first ``n`` digits (all 1,797 by default) as ``(x, y)``: float32 N x 1 x S x S,
    normalised with :data:`DIGITS_MEAN`/:data:`DIGITS_STD`, upsampled by nearest neighbour to
    ``image_size``; int64 labels."""
    images, labels = _digits_arrays()
    n = len(labels) if n is None else n
    x = torch.from_numpy(images[:n].astype(np.float32) / 16.0).unsqueeze(1)
    x = (x - DIGITS_MEAN) / DIGITS_STD
    if image_size != DIGITS_SIZE:
        x = F.interpolate(x, size=(image_size, image_size), mode="nearest")
    return x.contiguous(), torch.from_numpy(labels[:n].astype(np.int64))


def digits_spec(depth: int, *, skip: bool = True) -> ResNetSpec:
    """The paper's CIFAR network of ``depth`` (6n + 2) for the digits: 1 input channel,
    10 classes. ``skip=False`` gives the plain twin."""
    spec = spec_for_depth(depth, "cifar")
    return ResNetSpec(**{**asdict(spec), "in_channels": 1, "num_classes": 10, "skip": skip})


def learning_rate(step: int, total_steps: int, warmup_steps: int, lr: float) -> float:
    """Linear warm-up over ``warmup_steps`` times a cosine decay to 0 over ``total_steps``."""
    warm = min(1.0, (step + 1) / warmup_steps) if warmup_steps > 0 else 1.0
    return lr * warm * 0.5 * (1.0 + math.cos(math.pi * step / total_steps))


_THREADS_LOCK = threading.Lock()
_threads_users = 0
_threads_before = 0


@contextlib.contextmanager
def intra_op_threads(n: int) -> Iterator[None]:
    """Run the block with ``n`` intra-op threads, then restore the caller's setting.

    ``torch.set_num_threads`` is process-wide and Streamlit runs each session in its own
    thread, so a plain save/set/restore would race (A saves 2 and sets 1, B saves 1, A restores
    2, B restores 1: the process is left at 1). Overlapping users are counted: the first saves
    the setting, the last restores it."""
    global _threads_users, _threads_before
    with _THREADS_LOCK:
        if _threads_users == 0:
            _threads_before = torch.get_num_threads()
        _threads_users += 1
        torch.set_num_threads(n)
    try:
        yield
    finally:
        with _THREADS_LOCK:
            _threads_users -= 1
            if _threads_users == 0:
                torch.set_num_threads(_threads_before)


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
    with intra_op_threads(1), torch.random.fork_rng(devices=[]), torch.inference_mode(False):
        return _train(settings, device, progress, on_epoch)


def _train(
    s: CurveSettings,
    device: torch.device,
    progress: Progress | None,
    on_epoch: OnEpoch | None,
) -> dict[str, list[float]]:
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
    # Progress in units of work: one epoch of a network costs about its number of blocks.
    cost = {name: sum(digits_spec(int(name.split("-")[1])).layers) for name in names}
    total_work = s.epochs * sum(cost.values())
    done = 0
    steps_per_epoch = math.ceil(s.train_images / s.batch_size)
    total_steps = s.epochs * steps_per_epoch
    warmup_steps = s.warmup_epochs * steps_per_epoch
    order = torch.Generator().manual_seed(s.seed)
    curves: dict[str, list[float]] = {name: [] for name in names}
    for epoch in range(1, s.epochs + 1):
        perm = torch.randperm(s.train_images, generator=order).to(device)
        batches = [perm[i : i + s.batch_size] for i in range(0, s.train_images, s.batch_size)]
        first_step = (epoch - 1) * steps_per_epoch
        for name, net in nets.items():
            train_one_epoch(net, optimizers[name], x, y, batches, first_step, total_steps,
                         warmup_steps, s.lr)  # fmt: skip
            error = _error(net, x_eval, y_eval)
            curves[name].append(error)
            done += cost[name]
            report(
                done / total_work,
                f"Epoch {epoch}/{s.epochs}: {name} training error {100 * error:.1f} %",
            )
            if on_epoch is not None:
                on_epoch(name, epoch, error)
    return curves


def train_one_epoch(
    net: nn.Module,
    optimizer: torch.optim.Optimizer,
    x: torch.Tensor,
    y: torch.Tensor,
    batches: list[torch.Tensor],
    first_step: int,
    total_steps: int,
    warmup_steps: int,
    lr: float,
) -> None:
    net.train()
    for i, idx in enumerate(batches):
        rate = learning_rate(first_step + i, total_steps, warmup_steps, lr)
        for group in optimizer.param_groups:
            group["lr"] = rate
        loss = F.cross_entropy(net(x[idx]), y[idx])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()


def _error(net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    net.eval()
    with torch.no_grad():
        wrong = (net(x).argmax(1) != y).sum().item()
    return wrong / len(y)


# --------------------------------------------------------------------------- shipped curves


def degradation_record(path: Path | str = CURVES_PATH) -> dict:
    """The shipped run as stored: ``{"format", "settings", "curves", "date", "machine",
    "wall_seconds", "load_average", "torch"}``."""
    data = json.loads(Path(path).read_text())
    if data.get("format") != CURVES_FORMAT:
        raise ValueError(f"{path} is not a {CURVES_FORMAT} file")
    return data


def degradation_curves(path: Path | str = CURVES_PATH) -> dict[str, list[float]]:
    """The training-error curves shipped for :data:`DEFAULTS` (keys "plain-20", "plain-56",
    "resnet-20", "resnet-56"), as :func:`train_curves` computed them; instant."""
    return {name: list(v) for name, v in degradation_record(path)["curves"].items()}


def write_degradation_curves(path: Path | str = CURVES_PATH) -> dict:
    """Run :func:`train_curves` with :data:`DEFAULTS` and write the record to ``path``."""
    settings = asdict(DEFAULTS)
    kwargs = {k: v for k, v in settings.items() if k not in ("momentum", "weight_decay")}
    start = time.perf_counter()
    curves = train_curves(**kwargs, progress=lambda f, m: print(f"{100 * f:5.1f} %  {m}"))
    wall = time.perf_counter() - start
    record = {
        "format": CURVES_FORMAT,
        "settings": {**settings, "depths": list(DEFAULTS.depths)},
        "curves": curves,
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": machine_description(),
        "threads": 1,
        "wall_seconds": round(wall, 1),
        "load_average": [round(v, 2) for v in os.getloadavg()],
        "torch": torch.__version__,
    }
    Path(path).write_text(json.dumps(record, indent=1) + "\n")
    return record


def machine_description() -> str:
    """``"x86_64, 2 CPUs, AMD EPYC"``: what the shipped record says it was computed on. Float
    sums differ between CPU kernels, so curves are bitwise reproducible on the same kind of
    machine and torch build only."""
    return f"{platform.machine()}, {os.cpu_count()} CPUs, {_cpu_model()}"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m resnet_viz.analysis.degradation",
        description="Train plain-20/56 and ResNet-20/56 on the digits with the default "
        "settings and write the curves the app ships.",
    )
    parser.add_argument("--out", type=Path, default=CURVES_PATH, help="JSON file to write")
    args = parser.parse_args(argv)
    record = write_degradation_curves(args.out)
    for name, curve in record["curves"].items():
        print(f"{name:>10}: final training error {100 * curve[-1]:.1f} %")
    print(f"{record['wall_seconds']} s, load average {record['load_average']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
