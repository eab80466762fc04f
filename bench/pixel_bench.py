"""The pixel attributions: resnet_viz ``attribute`` against its floor and captum's own call.

Run from the checkout:  python -m bench.pixel_bench [--models resnet18 resnet50] [--side 224]
[--n 8] [--runs 5] [--threads 2] [--window 56] [--stride 56] [--methods saliency ...]
(pip install -r requirements-dev.txt first: it has captum). Prints, never asserts (timed
asserts fail on a busy machine).

Setting: the app's ResNet (``build_model(spec_from_state_dict(sd))`` loading the state_dict
``sd`` of torchvision's model of the same name with ``strict=True``, random weights, eval mode)
and torchvision's model itself with those weights, one random 224 x 224 image, class 207, CPU.
``--n``: the noise tunnels' samples and Integrated Gradients' steps (8 by default, for the CPU;
one batch: the batch size is ``n``); ``--window``/``--stride``: Occlusion's (56 by default: 16
window positions, in one batch).

Contenders, per model:

- floor fwd+bwd: one forward and backward pass to the input, ``torch.autograd.grad`` of the
  class logit with respect to the image (what Saliency has to do);
- floor n fwd+bwd: the same on a batch of ``n`` copies of the image (what a noise tunnel or
  Integrated Gradients has to do with ``n`` samples or steps in one batch);
- floor positions fwd: ``no_grad`` forward passes of as many images as Occlusion has window
  positions, in batches of Occlusion's ``batch_size`` (what Occlusion has to do);
- ours: ``attribute(app_model, x, method, 207, **options)``;
- captum: the same captum attribution on torchvision's model, as captum's documentation calls
  it; Guided Backprop, Guided Grad-CAM and DeepLift hook every ReLU module, and captum's
  DeepLift refuses torchvision's (``BasicBlock`` calls one ReLU twice), so those three run on
  a copy of the app's model whose ReLUs are distinct and not in place
  (``safe_relu_copy``), made once outside the timing: what ``attribute`` runs them on, minus
  the copy per call.

Timing: one warm-up call each, then rounds in which every contender runs once, in an order
shuffled anew every round (seeded), so a load spike hits them all alike. Printed per method:
the medians, ours / floor and ours / captum as the median of the per-round (paired) ratios,
the target and whether it is met. Targets: Saliency, Input x Gradient and Guided Backprop at
most 1.3x one fwd+bwd; the noise tunnels and Integrated Gradients at most 1.1x n fwd+bwd;
Occlusion's ratio to its forward passes reported; every method no slower than captum's call
(judged at 1.05x: paired medians on this shared machine move by a few per cent run to run).
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import time
import warnings
from collections.abc import Callable, Sequence

import torch
import torchvision
from captum.attr import (
    DeepLift,
    GuidedBackprop,
    GuidedGradCam,
    InputXGradient,
    IntegratedGradients,
    NoiseTunnel,
    Occlusion,
    Saliency,
)
from torch import nn

from resnet_viz import build_model, spec_from_state_dict
from resnet_viz.analysis.attribution.pixel import ATTRIBUTION_METHODS, METHODS, attribute
from resnet_viz.analysis.attribution.pixel_baselines import make_baseline
from resnet_viz.analysis.attribution.relu_copy import safe_relu_copy

TARGET = 207
#: Per method: the floor it is held to and the most ours / floor may be (None: reported only).
FLOOR_TARGETS = {
    "saliency": ("fwd+bwd", 1.3),
    "inputxgradient": ("fwd+bwd", 1.3),
    "guidedbackprop": ("fwd+bwd", 1.3),
    "guidedgradcam": ("fwd+bwd", None),
    "deeplift": ("fwd+bwd", None),
    "smoothgrad": ("n fwd+bwd", 1.1),
    "smoothgrad2": ("n fwd+bwd", 1.1),
    "vargrad": ("n fwd+bwd", 1.1),
    "integratedgradients": ("n fwd+bwd", 1.1),
    "occlusion": ("positions fwd", None),
}
#: ours / captum: "no slower", judged with the run-to-run noise of paired medians here.
CAPTUM_TARGET = 1.05


def models(name: str) -> tuple[nn.Module, nn.Module]:
    """(the app's ResNet, torchvision's) with the same random weights, both in eval mode."""
    torch.manual_seed(0)
    theirs = getattr(torchvision.models, name)().eval()
    state = theirs.state_dict()
    ours = build_model(spec_from_state_dict(state)).eval()
    ours.load_state_dict(state, strict=True)
    return ours, theirs


def options_for(method: str, n: int, window: int, stride: int, side: int) -> dict:
    names = {option.name for option in METHODS[method].options}
    wanted = {"samples": n, "steps": n, "batch_size": n, "window": window, "stride": stride}
    if method == "occlusion":
        wanted["batch_size"] = positions(side, window, stride)  # one batch by default
    return {k: v for k, v in wanted.items() if k in names}


def positions(side: int, window: int, stride: int) -> int:
    return ((side - window) // stride + 1) ** 2


def grad_pass(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    x = x.detach().requires_grad_()
    return torch.autograd.grad(model(x)[:, TARGET].sum(), x)[0]


def forward_passes(model: nn.Module, x: torch.Tensor, count: int, batch: int) -> None:
    with torch.no_grad():
        for start in range(0, count, batch):
            model(x.expand(min(batch, count - start), -1, -1, -1))


def captum_call(tv: nn.Module, safe: nn.Module, x: torch.Tensor, method: str, options: dict):
    """captum's own call for ``method`` on torchvision's model (``safe``: a ReLU-safe copy of the
    app's model, for the methods that hook ReLUs)."""
    xs = x.clone().requires_grad_()
    if method == "saliency":
        return Saliency(tv).attribute(xs, target=TARGET, abs=False)
    if method == "inputxgradient":
        return InputXGradient(tv).attribute(xs, target=TARGET)
    if method in ("smoothgrad", "smoothgrad2", "vargrad"):
        torch.manual_seed(options["seed"])
        return NoiseTunnel(Saliency(tv)).attribute(
            xs,
            nt_type={"smoothgrad2": "smoothgrad_sq"}.get(method, method),
            nt_samples=options["samples"],
            nt_samples_batch_size=options["batch_size"],
            stdevs=float(options["noise_level"] * (x.max() - x.min())),
            target=TARGET,
            abs=False,
        )
    if method == "integratedgradients":
        return IntegratedGradients(tv).attribute(
            xs,
            baselines=make_baseline(x, options["baseline"]),
            target=TARGET,
            n_steps=options["steps"],
            internal_batch_size=options["batch_size"],
            return_convergence_delta=True,
        )
    if method == "occlusion":
        w, s = options["window"], options["stride"]
        return Occlusion(tv).attribute(
            xs,
            sliding_window_shapes=(3, w, w),
            strides=(3, s, s),
            baselines=0,
            target=TARGET,
            perturbations_per_eval=options["batch_size"],
        )
    if method == "guidedbackprop":
        return GuidedBackprop(safe).attribute(xs, target=TARGET)
    if method == "guidedgradcam":
        cam = GuidedGradCam(safe, safe.layer4)
        return cam.attribute(xs, target=TARGET, interpolate_mode="bilinear")
    if method == "deeplift":
        return DeepLift(safe).attribute(
            xs,
            baselines=make_baseline(x, options["baseline"]),
            target=TARGET,
            return_convergence_delta=True,
        )
    raise ValueError(method)


def shuffled_rounds(fns: dict[str, Callable[[], object]], runs: int) -> dict[str, list[float]]:
    """Per contender, ``runs`` wall-clock times in seconds, each round in a new random order."""
    for fn in fns.values():  # warm-up: allocator, oneDNN primitive caches, lazy imports
        fn()
    names = list(fns)
    times: dict[str, list[float]] = {name: [] for name in names}
    order = random.Random(0)
    for _ in range(runs):
        order.shuffle(names)
        for name in names:
            start = time.perf_counter()
            fns[name]()
            times[name].append(time.perf_counter() - start)
    return times


def paired(times: dict[str, list[float]], a: str, b: str) -> float:
    return statistics.median(x / y for x, y in zip(times[a], times[b], strict=True))


def verdict(ratio: float, limit: float | None) -> str:
    if limit is None:
        return "(reported)"
    return f"<= {limit:.2f}  {'pass' if ratio <= limit else 'FAIL'}"


def bench_model(name: str, args) -> list[bool]:
    ours_model, tv = models(name)
    safe = safe_relu_copy(ours_model)
    torch.manual_seed(1)
    x = torch.randn(1, 3, args.side, args.side)
    n, window, stride = args.n, args.window, args.stride
    count = positions(args.side, window, stride)
    occlusion_batch = options_for("occlusion", n, window, stride, args.side)["batch_size"]
    fns: dict[str, Callable[[], object]] = {
        "fwd+bwd": lambda: grad_pass(ours_model, x),
        "n fwd+bwd": lambda: grad_pass(ours_model, x.expand(n, -1, -1, -1)),
    }
    if "occlusion" in args.methods:
        fns["positions fwd"] = lambda: forward_passes(ours_model, x, count, occlusion_batch)
    for method in args.methods:
        options = METHODS[method].defaults() | options_for(method, n, window, stride, args.side)
        mine = {k: v for k, v in options.items() if k != "layer"}
        fns[f"ours {method}"] = lambda m=method, o=mine: attribute(ours_model, x, m, TARGET, **o)
        fns[f"captum {method}"] = lambda m=method, o=options: captum_call(tv, safe, x, m, o)
    print(
        f"\n{name} at {args.side}x{args.side}, class {TARGET}, n = {n} samples/steps in one "
        f"batch, occlusion {window}/{stride}: {count} window positions in batches of "
        f"{occlusion_batch}, {args.runs} rounds"
    )
    times = shuffled_rounds(fns, args.runs)
    med = {key: statistics.median(values) for key, values in times.items()}
    for key in ("fwd+bwd", "n fwd+bwd", "positions fwd"):
        if key in med:
            print(f"  floor {key:<22s}{med[key] * 1e3:10.1f} ms")
    print(
        f"  {'method':<22s}{'ours ms':>10s}{'captum ms':>11s}  {'ours/floor (paired)':<40s}"
        f"{'ours/captum (paired)'}"
    )
    met = []
    for method in args.methods:
        floor, limit = FLOOR_TARGETS[method]
        to_floor = paired(times, f"ours {method}", floor)
        to_captum = paired(times, f"ours {method}", f"captum {method}")
        met += [to_captum <= CAPTUM_TARGET] + ([to_floor <= limit] if limit else [])
        print(
            f"  {METHODS[method].label:<22s}{med[f'ours {method}'] * 1e3:10.1f}"
            f"{med[f'captum {method}'] * 1e3:11.1f}  "
            f"{f'{to_floor:.3f} x {floor} {verdict(to_floor, limit)}':<40s}"
            f"{to_captum:.3f} {verdict(to_captum, CAPTUM_TARGET)}",
            flush=True,
        )
    return met


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--models", nargs="+", default=["resnet18", "resnet50"])
    parser.add_argument("--side", type=int, default=224)
    parser.add_argument("--n", type=int, default=8, help="samples and steps (8)")
    parser.add_argument("--window", type=int, default=56, help="occlusion window (56)")
    parser.add_argument("--stride", type=int, default=56, help="occlusion stride (56)")
    parser.add_argument("--runs", type=int, default=5, help="rounds after a warm-up (5)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (2)")
    parser.add_argument("--methods", nargs="+", choices=ATTRIBUTION_METHODS,
                        default=[m for m in ATTRIBUTION_METHODS if m in FLOOR_TARGETS])  # fmt: skip
    args = parser.parse_args(argv)
    if not 1 <= args.window <= args.side or not 1 <= args.stride <= args.side:
        parser.error("the occlusion window and stride must fit in the image")
    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore", category=UserWarning)  # captum's hook notices
    print(
        f"torch {torch.__version__}, Python {platform.python_version()}, {platform.machine()}, "
        f"{os.cpu_count()} CPUs, {args.threads} threads, load average {os.getloadavg()[0]:.2f}"
    )
    start = time.perf_counter()
    met = [ok for name in args.models for ok in bench_model(name, args)]
    print(
        f"\n{sum(met)} of {len(met)} targets met; {time.perf_counter() - start:.0f} s; "
        f"load average after {os.getloadavg()[0]:.2f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
