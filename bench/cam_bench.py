"""Grad-CAM speed: resnet_viz.grad_cam against a plain forward pass and two named peers.

Run from the checkout:  python -m bench.cam_bench [--runs 15] [--threads 2]
(pip install -r requirements-bench.txt first: the peer pytorch-grad-cam is a bench-only
dependency.)

ResNet-50 (build_model(preset("resnet50")), random weights, eval mode), one 224 x 224 image, on
the CPU with torch.set_num_threads(2). Contenders, all explaining the same class at layer4:

- floor:    model(x) under torch.no_grad(): what any prediction costs;
- ours:     resnet_viz.analysis.attribution.cam.grad_cam (the part before the target layer
            under no_grad, one autograd.grad for the rest, bilinear upsampling, min-max, top-5);
- captum:   captum's LayerGradCam(model, model.layer4).attribute(x, target, relu_attributions=
            True) on the whole model, plus the same bilinear upsampling to 224 x 224;
- pytorch-grad-cam: GradCAM(model=..., target_layers=[model.layer4[-1]]) as its README uses it
            (a context manager per call), on its own copy of the model (it calls .backward()
            and leaves .grad on the parameters).

Goal: ours <= 1.15 x the floor (an explanation costs little more than the prediction itself)
and never slower than captum direct.

Timing: after a warm-up, the contenders run in interleaved rounds (each round times every
contender once, in an order that rotates), so a load spike from other jobs on a shared machine
hits all of them alike. Printed: the median time of each, its ratio to the floor and to captum
from those medians, and the median of the per-round ratios (paired, the more robust figure).
"""

from __future__ import annotations

import argparse
import copy
import os
import platform
import statistics
import time
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F  # noqa: N812 (PyTorch's own convention)

from resnet_viz import build_model, preset
from resnet_viz.analysis.attribution.cam import grad_cam

SIDE = 224
TARGET = 207  # any fixed class: every contender explains the same one


def contenders(model, peer_model, x) -> dict[str, Callable[[], object]]:
    from captum.attr import LayerGradCam
    from pytorch_grad_cam import GradCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    def floor():
        with torch.no_grad():
            return model(x)

    def ours():
        return grad_cam(model, x, target_layer="layer4", target_class=TARGET)

    def ours_top1():
        return grad_cam(model, x, target_layer="layer4")

    def captum_direct():
        cam = LayerGradCam(model, model.layer4)
        attribution = cam.attribute(x, target=TARGET, relu_attributions=True)
        return F.interpolate(attribution, size=(SIDE, SIDE), mode="bilinear", align_corners=False)

    def pytorch_grad_cam():
        with GradCAM(model=peer_model, target_layers=[peer_model.layer4[-1]]) as cam:
            return cam(input_tensor=x, targets=[ClassifierOutputTarget(TARGET)])

    return {
        "floor (no_grad forward)": floor,
        "resnet_viz grad_cam": ours,
        "resnet_viz grad_cam, top-1": ours_top1,
        "captum LayerGradCam direct": captum_direct,
        "pytorch-grad-cam GradCAM": pytorch_grad_cam,
    }


def interleaved(fns: dict[str, Callable[[], object]], runs: int) -> dict[str, list[float]]:
    """Per contender, ``runs`` wall-clock times in seconds, measured in rotating rounds."""
    for fn in fns.values():  # warm-up: allocator, oneDNN primitive caches, lazy imports
        fn()
        fn()
    names = list(fns)
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(runs):
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            start = time.perf_counter()
            fns[name]()
            times[name].append(time.perf_counter() - start)
    return times


def report(times: dict[str, list[float]]) -> None:
    floor_name, ours_name, captum_name = (
        "floor (no_grad forward)",
        "resnet_viz grad_cam",
        "captum LayerGradCam direct",
    )
    floor, captum = times[floor_name], times[captum_name]
    med_floor, med_captum = statistics.median(floor), statistics.median(captum)
    header = ("contender", "median ms", "x floor", "x captum", "paired x floor")
    print(f"{header[0]:30s} {header[1]:>10s} {header[2]:>8s} {header[3]:>9s} {header[4]:>15s}")
    for name, ts in times.items():
        med = statistics.median(ts)
        paired = statistics.median(t / f for t, f in zip(ts, floor, strict=True))
        print(
            f"{name:30s} {med * 1e3:10.1f} {med / med_floor:8.3f} {med / med_captum:9.3f} "
            f"{paired:15.3f}"
        )
    ours = times[ours_name]
    paired_floor = statistics.median(t / f for t, f in zip(ours, floor, strict=True))
    paired_captum = statistics.median(t / c for t, c in zip(ours, captum, strict=True))
    print(
        f"\ngoal: ours <= 1.15 x floor (paired median {paired_floor:.3f}: "
        f"{'met' if paired_floor <= 1.15 else 'MISSED'}), never slower than captum direct "
        f"(paired median {paired_captum:.3f}: {'met' if paired_captum <= 1 else 'MISSED'})"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=15, help="timed rounds (default 15)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = build_model(preset("resnet50"))
    peer_model = copy.deepcopy(model)
    x = torch.randn(1, 3, SIDE, SIDE)
    threads = torch.get_num_threads()
    print(
        f"ResNet-50 at {SIDE}x{SIDE}, CPU, {threads} thread{'s' * (threads != 1)}, {args.runs} "
        f"rounds; torch {torch.__version__}, Python {platform.python_version()}, "
        f"{platform.machine()}, {os.cpu_count()} CPUs"
    )
    report(interleaved(contenders(model, peer_model, x), args.runs))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
