"""The workbench's count of a pixel method's passes (what its spinner says) against the passes
captum really makes, counted on a tiny ResNet; and the spinner's words from the counts."""

from __future__ import annotations

import pytest
import torch

from resnet_viz.analysis.attribution.pixel import attribute
from resnet_viz.core.build import build_model
from resnet_viz.core.spec import ResNetSpec
from resnet_viz.ui.pixel_workbench import FORWARD_SHARE, passes, spinner_text

SIDE = 32
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # captum's notices


def forward_calls(method: str, **options) -> int:
    torch.manual_seed(0)
    model = build_model(ResNetSpec(layers=(1, 1), widths=(4, 8), num_classes=3)).eval()
    calls = []
    handle = model.register_forward_hook(lambda *_: calls.append(1))
    try:
        attribute(model, torch.randn(1, 3, SIDE, SIDE), method, target=0, **options)
    finally:
        handle.remove()
    return len(calls)


@pytest.mark.parametrize(
    ("method", "options", "extra"),
    [
        ("saliency", {}, 0),
        ("smoothgrad", {"samples": 3, "batch_size": 1}, 0),
        ("vargrad", {"samples": 4, "batch_size": 1}, 0),
        # captum's convergence delta: one more forward pass each of the image and the baseline
        ("integratedgradients", {"steps": 5, "batch_size": 1}, 2),
        ("occlusion", {"window": 8, "stride": 4, "batch_size": 1}, 0),
        ("occlusion", {"window": 16, "stride": 16, "batch_size": 1}, 0),
    ],
)
def test_the_count_is_captums_number_of_passes(method, options, extra):
    count, forward_only = passes(method, options, SIDE)
    assert forward_calls(method, **options) == count + extra
    assert forward_only == (method == "occlusion")


def test_the_count_reads_the_registry_defaults():
    assert passes("smoothgrad", {}, SIDE) == (25, False)
    assert passes("integratedgradients", {}, SIDE) == (50, False)
    assert passes("occlusion", {}, 224) == (27 * 27 + 1, True)  # window 16, stride 8
    assert passes("guidedgradcam", {"layer": "layer2"}, SIDE) == (2, False)


def test_the_spinner_says_the_passes_and_the_estimate_from_one_pass():
    assert spinner_text("Saliency", 1, False, 0.25) == "Saliency…"
    assert spinner_text("SmoothGrad", 25, False, None) == (
        "SmoothGrad: 25 forward and backward passes…"
    )
    text = spinner_text("Integrated Gradients", 50, False, 0.2)
    assert text.startswith(
        "Integrated Gradients: 50 forward and backward passes, at most about 10.0 s"
    )
    assert "took 200 ms here" in text
    occlusion = spinner_text("Occlusion", 1200, True, 0.3)
    assert occlusion.startswith("Occlusion: 1 200 forward passes, at most about ")
    assert f"about {1200 * 0.3 * FORWARD_SHARE:.1f} s" in occlusion
