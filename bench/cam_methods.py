"""The eight CAM methods: resnet_viz against pytorch-grad-cam and a plain forward pass.

Run from the checkout:  python -m bench.cam_methods [--runs 7] [--per-channel-runs 3]
[--threads 2] (pip install -r requirements-bench.txt first)

Gradient methods and Eigen-CAM: ResNet-50 (build_model(preset("resnet50")), random weights,
eval mode), one 224 x 224 image, CPU, ``layer4``, class 207. Score-CAM and Ablation-CAM run
the network once per channel (2048 at ResNet-50's layer4: minutes per call on two cores, and
pytorch-grad-cam's Ablation-CAM re-runs the whole network for every channel), so by default
they are measured on a smaller setting: ResNet-18 at 112 x 112, ``layer4`` (512 channels);
``--per-channel-preset resnet50 --per-channel-side 224`` runs them on the first setting.

Contenders, per method:

- floor: ``model(x)`` under ``torch.no_grad()`` (what a prediction costs);
- ours: ``resnet_viz.grad_cam(model, x, target_layer="layer4", target_class=..., method=...)``
  (upsampling, min-max and top-5 included);
- pytorch-grad-cam: the method's class as its README uses it (a context manager per call,
  ``targets=[ClassifierOutputTarget(...)]``), on its own deep copy of the model (it hooks the
  model and calls ``.backward()``). Its tqdm progress bars are silenced.

Timing: two warm-up calls each, then rounds in which every contender runs once, in an order
shuffled anew every round (seeded): a load spike from other jobs hits them all alike, and no
contender always follows the same one. (A fixed rotation put the floor right after
pytorch-grad-cam's Eigen-CAM in most rounds; numpy's OpenBLAS threads, still spinning after
its SVD, then took a core from the floor's forward pass: 108 ms instead of 61 ms with two
threads.) Printed per contender: the median, its
ratio to pytorch-grad-cam's median and to the floor's, and the median per-round (paired) ratio
to the floor. Goals: the gradient methods at most ~1.3 x the floor; no method slower than
pytorch-grad-cam.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import os
import platform
import random
import statistics
import time
from collections.abc import Callable, Sequence

import torch

from resnet_viz import build_model, grad_cam, preset
from resnet_viz.analysis.attribution.methods import CAM_METHODS, METHOD_LABELS, PER_CHANNEL_METHODS

TARGET = 207
LAYER = "layer4"


def library_class(method: str):
    import pytorch_grad_cam as lib

    return {
        "gradcam": lib.GradCAM,
        "gradcam++": lib.GradCAMPlusPlus,
        "xgradcam": lib.XGradCAM,
        "hirescam": lib.HiResCAM,
        "layercam": lib.LayerCAM,
        "scorecam": lib.ScoreCAM,
        "ablationcam": lib.AblationCAM,
        "eigencam": lib.EigenCAM,
    }[method]


def contenders(model, x, methods: Sequence[str]) -> dict[str, Callable[[], object]]:
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    peer = copy.deepcopy(model)

    def floor():
        with torch.no_grad():
            return model(x)

    fns: dict[str, Callable[[], object]] = {"floor": floor}
    for method in methods:

        def ours(method=method):
            return grad_cam(model, x, target_layer=LAYER, target_class=TARGET, method=method)

        def theirs(method=method):
            with (
                contextlib.redirect_stderr(io.StringIO()),
                library_class(method)(model=peer, target_layers=[peer.layer4]) as cam,
            ):
                return cam(input_tensor=x, targets=[ClassifierOutputTarget(TARGET)])

        fns[f"ours {method}"] = ours
        fns[f"lib {method}"] = theirs
    return fns


def shuffled_rounds(fns: dict[str, Callable[[], object]], runs: int) -> dict[str, list[float]]:
    """Per contender, ``runs`` wall-clock times in seconds, each round in a new random order."""
    for fn in fns.values():  # warm-up: allocator, oneDNN primitive caches, lazy imports
        fn()
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


def report(times: dict[str, list[float]], methods: Sequence[str]) -> None:
    floor = times["floor"]
    med_floor = statistics.median(floor)
    print(f"{'method':14s} {'ours ms':>10s} {'lib ms':>10s} {'ours/lib':>9s} "
          f"{'ours/floor':>11s} {'paired':>7s} {'lib/floor':>10s}")  # fmt: skip
    print(f"{'floor':14s} {med_floor * 1e3:10.1f}")
    for method in methods:
        ours, lib = times[f"ours {method}"], times[f"lib {method}"]
        m_ours, m_lib = statistics.median(ours), statistics.median(lib)
        paired = statistics.median(t / f for t, f in zip(ours, floor, strict=True))
        print(
            f"{METHOD_LABELS[method]:14s} {m_ours * 1e3:10.1f} {m_lib * 1e3:10.1f} "
            f"{m_ours / m_lib:9.3f} {m_ours / med_floor:11.3f} {paired:7.3f} "
            f"{m_lib / med_floor:10.3f}"
        )


def dead_channels(model, x) -> tuple[int, int]:
    """(channels of layer4 that are zero everywhere on this image, all channels)."""
    with torch.no_grad():
        activation = model.layer4(model.layer3(model.layer2(model.layer1(model.stem(x)))))
    dead = int((activation[0].flatten(1) == 0).all(1).sum())
    return dead, activation.shape[1]


def setting(name: str, side: int, threads: int, runs: int) -> tuple[torch.nn.Module, torch.Tensor]:
    torch.manual_seed(0)
    model = build_model(preset(name))
    x = torch.randn(1, 3, side, side)
    print(
        f"\n{name} at {side}x{side}, {LAYER}, class {TARGET}, "
        f"CPU, {threads} thread{'s' * (threads != 1)}, {runs} rounds"
    )
    return model, x


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=7, help="rounds, gradient methods (7)")
    parser.add_argument("--per-channel-runs", type=int, default=3, help="rounds, Score/Ablation")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    parser.add_argument("--per-channel-preset", default="resnet18")
    parser.add_argument("--per-channel-side", type=int, default=112)
    parser.add_argument("--only", choices=["gradient", "per-channel"], default=None)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(
        f"torch {torch.__version__}, Python {platform.python_version()}, {platform.machine()}, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}"
    )
    if args.only != "per-channel":
        methods = [m for m in CAM_METHODS if m not in PER_CHANNEL_METHODS]
        model, x = setting("resnet50", 224, args.threads, args.runs)
        report(shuffled_rounds(contenders(model, x, methods), args.runs), methods)
    if args.only != "gradient":
        methods = list(PER_CHANNEL_METHODS)
        name, side = args.per_channel_preset, args.per_channel_side
        model, x = setting(name, side, args.threads, args.per_channel_runs)
        dead, channels = dead_channels(model, x)
        print(f"{dead} of {channels} {LAYER} channels are zero everywhere on this image")
        report(shuffled_rounds(contenders(model, x, methods), args.per_channel_runs), methods)
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
