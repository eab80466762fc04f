"""Grad-CAM and the gradient study on a CUDA GPU: timings against the bare forward pass.

Run from the checkout on a machine with a CUDA GPU:  python -m bench.gpu_check
ResNet-50 at 224 (random weights): the median of 50 runs of a no_grad forward (the floor),
grad_cam at layer4, and grad_cam_strip over all four stages; then gradient_norms of ResNet-56
and ResNet-110 (batch 16) against a bare forward + backward of the same two models.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Sequence

import torch

from resnet_viz import build_model, grad_cam, gradient_norms, preset
from resnet_viz.analysis.attribution.cam import grad_cam_strip
from resnet_viz.analysis.twins import build_twins


def cuda_median_ms(fn, runs: int = 50) -> float:
    for _ in range(5):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def floor_forward_backward(spec, batch: int) -> float:
    residual, plain = build_twins(spec, device="cuda")
    x = torch.randn(batch, 3, 32, 32, device="cuda")
    y = torch.randint(0, spec.num_classes, (batch,), device="cuda")

    def step():
        for model in (residual, plain):
            model.zero_grad(set_to_none=True)
            torch.nn.functional.cross_entropy(model(x), y).backward()

    return cuda_median_ms(step, runs=20)


def main(argv: Sequence[str] | None = None) -> int:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args(argv)
    if not torch.cuda.is_available():
        print("no CUDA device: this check needs a GPU")
        return 1
    print(torch.__version__, torch.cuda.get_device_name())
    model = build_model(preset("resnet50"), device="cuda").eval()
    image = torch.randn(1, 3, 224, 224, device="cuda")

    def forward():
        with torch.no_grad():
            model(image)

    floor = cuda_median_ms(forward)
    cam = cuda_median_ms(lambda: grad_cam(model, image, target_layer="layer4"))
    strip = cuda_median_ms(lambda: grad_cam_strip(model, image))
    print(f"resnet50 @224: floor {floor:.2f} ms, grad_cam {cam:.2f} ms ({cam / floor:.2f}x), "
          f"strip of 4 stages {strip:.2f} ms ({strip / floor:.2f}x)")  # fmt: skip
    assert grad_cam(model, image).device.startswith("cuda")
    for name in ("resnet56", "resnet110"):
        spec = preset(name)
        gradient_norms(spec, device="cuda")  # warm-up
        runs = [gradient_norms(spec, device="cuda") for _ in range(5)]
        run_ms = 1e3 * statistics.median(r.run_seconds for r in runs)
        base = floor_forward_backward(spec, 16)
        report = runs[0]
        print(f"{name} b16: gradient_norms run {run_ms:.1f} ms vs floor {base:.1f} ms "
              f"({run_ms / base:.2f}x); first/last residual "
              f"{report.first_last_ratio('residual'):.3g}, plain "
              f"{report.first_last_ratio('plain'):.3g}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
