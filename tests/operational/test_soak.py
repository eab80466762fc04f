"""A short soak in CI: repeated Grad-CAM calls leave memory flat and the shared model as found
(bench/soak.py runs 200 calls on ResNet-50; figures in bench/README.md)."""

from bench.drivers.soak import soak
from resnet_viz import build_model, preset

#: Allowed RSS growth over the run: far below what leaking one activation set per call would
#: cost (ResNet-18 at 96 px keeps about 6 MB of activations per call: 40 calls, 230 MB).
MAX_GROWTH_MB = 25


def test_forty_calls_leave_memory_and_model_unchanged():
    model = build_model(preset("resnet18"))
    result = soak(model, side=96, calls=40)
    assert result.hooks_after == 0
    assert result.parameters_unchanged
    assert result.grads_untouched
    assert not model.training
    assert result.growth_mb < MAX_GROWTH_MB, result
