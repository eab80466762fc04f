"""Many Grad-CAM calls in a row in one process: memory stays flat and the model unchanged.

Shared by tests/operational/test_soak.py (a short run in CI) and bench/soak.py (200 calls on
ResNet-50).
"""

from __future__ import annotations

import gc
import re
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from resnet_viz.analysis.attribution.cam import grad_cam, grad_cam_strip


def rss_mb() -> float:
    status = Path("/proc/self/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) / 1024


def hook_count(model: nn.Module) -> int:
    return sum(
        len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks)
        for m in model.modules()
    )


@dataclass(frozen=True)
class SoakResult:
    calls: int
    rss_before_mb: float
    rss_after_mb: float
    hooks_after: int
    parameters_unchanged: bool
    grads_untouched: bool

    @property
    def growth_mb(self) -> float:
        return self.rss_after_mb - self.rss_before_mb


def soak(model: nn.Module, side: int, calls: int, warmup: int = 10) -> SoakResult:
    """``calls`` Grad-CAM calls (every fifth one a 4-stage strip) on varying random images;
    RSS is read after ``warmup`` calls, so allocator caches are already filled."""
    before = {k: v.clone() for k, v in model.state_dict().items()}
    generator = torch.Generator().manual_seed(0)
    images = [torch.randn(1, 3, side, side, generator=generator) for _ in range(8)]
    rss_before = 0.0
    for i in range(warmup + calls):
        if i == warmup:
            gc.collect()
            rss_before = rss_mb()
        image = images[i % len(images)]
        if i % 5 == 4:
            grad_cam_strip(model, image)
        else:
            grad_cam(model, image, target_class=i % 10)
    gc.collect()
    after = model.state_dict()
    return SoakResult(
        calls=calls,
        rss_before_mb=rss_before,
        rss_after_mb=rss_mb(),
        hooks_after=hook_count(model),
        parameters_unchanged=all(torch.equal(before[k], after[k]) for k in before),
        grads_untouched=all(p.grad is None for p in model.parameters()),
    )
