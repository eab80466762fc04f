"""LRP as a pixel method (the registry's ``"lrp"`` entry, run by resnet_viz.attribute): the same
relevance as lrp() itself, conservation through attribute(), models LRP cannot explain and its
options refused with a SpecError, and the memory budget checked before any work."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torchvision.models import resnet18

import resnet_viz
from resnet_viz.analysis.attribution import pixel
from resnet_viz.analysis.attribution.lrp import COMPOSITES, lrp
from resnet_viz.analysis.copies import hook_count, same_state, snapshot
from resnet_viz.core.build import build_model
from resnet_viz.core.spec import ResNetSpec, SpecError
from resnet_viz.runtime.memory import BudgetError

from .test_lrp import SPECS, bias_free_model

SIDE = 32


@pytest.fixture(scope="module")
def image():
    return torch.randn(1, 3, SIDE, SIDE, generator=torch.Generator().manual_seed(4))


@pytest.fixture(scope="module")
def resnet():
    torch.manual_seed(0)
    return build_model(SPECS["post-activation, projections"]).eval()


def test_lrp_is_a_pixel_method_of_the_public_api():
    assert "lrp" in resnet_viz.ATTRIBUTION_METHODS
    entry = pixel.METHODS["lrp"]
    assert entry.defaults() == {"composite": "epsilon-plus-flat", "zero_bias": False}
    assert entry.options[0].choices == tuple(COMPOSITES)
    assert '``"lrp"``' in pixel.__doc__  # the registry's table lists it


@pytest.mark.parametrize(
    ("composite", "zero_bias", "target"),
    [("epsilon-plus-flat", False, 2), ("epsilon", True, 0), ("epsilon-gamma-box", False, None)],
)
def test_the_entry_equals_lrp_itself(resnet, image, composite, zero_bias, target):
    before = snapshot(resnet)
    ours = resnet_viz.attribute(resnet, image, "lrp", target, composite=composite,
                                zero_bias=zero_bias)  # fmt: skip
    theirs = lrp(resnet, image, target, composite, zero_bias=zero_bias)
    assert ours.target_class == theirs.target_class
    np.testing.assert_array_equal(ours.raw, theirs.raw)
    np.testing.assert_array_equal(ours.heatmap, theirs.heatmap)
    assert ours.options == {"composite": composite, "zero_bias": zero_bias}
    assert ours.delta is None
    assert same_state(resnet, before)
    assert hook_count(resnet) == 0
    assert all(p.grad is None for p in resnet.parameters())


@pytest.mark.parametrize("name", SPECS)
def test_relevance_is_conserved_through_attribute(name, image):
    """LRP-epsilon without bias relevance on a net with no bias after folding BN: the input's
    relevance sums to the explained logit (Bach et al. 2015, Eq. 2)."""
    model = bias_free_model(SPECS[name])
    result = resnet_viz.attribute(model, image, "lrp", 3, composite="epsilon", zero_bias=True)
    with torch.no_grad():
        logit = float(model(image)[0, 3])
    assert abs(logit) > 1e-3  # a logit of 0 would make the relative check empty
    assert float(result.raw.astype(np.float64).sum()) == pytest.approx(logit, rel=1e-3)


def test_models_lrp_cannot_explain_are_refused(image):
    se = ResNetSpec(layers=(1, 1), widths=(8, 16), stem="cifar", num_classes=5, se=True)
    with pytest.raises(SpecError, match="squeeze-and-excitation"):
        resnet_viz.attribute(build_model(se).eval(), image, "lrp", 0)
    with pytest.raises(SpecError, match="app's ResNet"):
        resnet_viz.attribute(resnet18(num_classes=5).eval(), image, "lrp", 0)


@pytest.mark.parametrize(
    ("options", "words"),
    [({"composite": "nope"}, "LRP composite"), ({"zero_bias": 1}, "biases"),
     ({"zero_bias": "yes"}, "biases"), ({"steps": 3}, "no option steps")],
)  # fmt: skip
def test_bad_options_are_refused_before_any_work(resnet, image, options, words):
    calls = []
    handle = resnet.register_forward_pre_hook(lambda *_: calls.append(1))
    try:
        with pytest.raises(SpecError, match=f"(?i){words}"):
            resnet_viz.attribute(resnet, image, "lrp", 0, **options)
    finally:
        handle.remove()
    assert calls == []


def test_memory_over_the_budget_is_refused_before_any_work(resnet, image, monkeypatch):
    needed = pixel.estimate_memory_bytes(resnet.spec, (3, SIDE, SIDE), "lrp")
    calls = []
    handle = resnet.register_forward_pre_hook(lambda *_: calls.append(1))
    monkeypatch.setattr(pixel, "memory_budget_bytes", lambda device: needed - 1)
    try:
        with pytest.raises(BudgetError, match="LRP at 32x32 pixels"):
            resnet_viz.attribute(resnet, image, "lrp", 0)
    finally:
        handle.remove()
    assert calls == []
    monkeypatch.setattr(pixel, "memory_budget_bytes", lambda device: needed)
    assert resnet_viz.attribute(resnet, image, "lrp", 0).method == "lrp"


def test_the_memory_estimate_is_two_recorded_passes():
    """The same activations as Guided Grad-CAM's two passes, plus the input and its relevance."""
    size = (3, 64, 64)
    spec = ResNetSpec()
    image_bytes = 4 * 3 * 64 * 64
    lrp_bytes = pixel.estimate_memory_bytes(spec, size, "lrp")
    assert lrp_bytes == pixel.estimate_memory_bytes(spec, size, "guidedgradcam") + 2 * image_bytes


def test_the_shared_models_weights_are_never_what_zennit_rewrites(resnet, image, monkeypatch):
    """zennit folds each BatchNorm into its convolution by assigning ``weight.data`` on the model
    it is given: LRP must get weights of its own, never the shared model's tensors (another
    session may run a forward pass on them meanwhile)."""
    from resnet_viz.analysis.attribution import lrp as lrp_module

    shared = {t.data_ptr() for t in [*resnet.parameters(), *resnet.buffers()]}
    seen = []
    original = lrp_module.relevance_on_copy

    def spy(work, *args):
        seen.append({t.data_ptr() for t in [*work.parameters(), *work.buffers()]})
        return original(work, *args)

    monkeypatch.setattr(lrp_module, "relevance_on_copy", spy)
    before = snapshot(resnet)
    resnet_viz.attribute(resnet, image, "lrp", 1)
    assert len(seen) == 1
    assert seen[0].isdisjoint(shared)
    assert same_state(resnet, before)
