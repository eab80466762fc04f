"""Grad-CAM, HiResCAM and XGrad-CAM compared layer by layer: the same map where the class
score's gradient is constant over positions (the last stage, before global average pooling),
different maps before it; the gradient's variation by hand; the model left untouched."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats
import torch

from resnet_viz.analysis.attribution import methods
from resnet_viz.analysis.attribution.agreement import method_agreement, pearson, spatial_variation
from resnet_viz.analysis.attribution.cam import _heatmap, grad_cam
from resnet_viz.core.split import target_layers
from resnet_viz.data.images import load_image
from resnet_viz.data.samples import bundled_samples
from resnet_viz.weights import load_demo_model
from tests.unit.analysis.attribution.test_cam import (
    assert_unchanged,
    image_for,
    snapshot,
    tiny_model,
)

# One intra-op thread (see tests/conftest.py).
pytestmark = pytest.mark.usefixtures("one_intra_op_thread")


def test_pearson_matches_scipy_and_is_undefined_for_a_constant_map():
    rng = np.random.default_rng(0)
    a, b = rng.random((5, 5)), rng.random((5, 5))
    assert pearson(a, b) == pytest.approx(scipy.stats.pearsonr(a.ravel(), b.ravel())[0])
    assert pearson(a, 3 * a + 1) == pytest.approx(1.0)
    assert math.isnan(pearson(a, np.zeros((5, 5))))
    with pytest.raises(ValueError, match="different sizes"):
        pearson(a, np.zeros((4, 4)))


def test_spatial_variation_by_hand():
    constant = torch.ones(1, 3, 4, 4) * torch.tensor([1.0, -2.0, 0.5])[None, :, None, None]
    assert spatial_variation(constant) == 0.0
    # One channel, values (1, -1): its mean is 0, so all of it varies.
    assert spatial_variation(torch.tensor([[[[1.0, -1.0]]]])) == pytest.approx(1.0)
    # Values (3, 1): mean 2, deviations (1, -1): sqrt(2) / sqrt(10).
    assert spatial_variation(torch.tensor([[[[3.0, 1.0]]]])) == pytest.approx(math.sqrt(0.2))
    assert math.isnan(spatial_variation(torch.zeros(1, 2, 3, 3)))


def test_with_a_constant_gradient_the_three_formulas_give_one_map():
    """The module docstring's algebra, on a hand-built activation and a gradient that is
    constant over positions (one value per channel, of either sign)."""
    generator = torch.Generator().manual_seed(3)
    activation = torch.rand(1, 6, 5, 7, generator=generator)
    per_channel = torch.tensor([0.5, -1.0, 2.0, 0.25, -0.75, 1.5])
    gradient = per_channel[None, :, None, None].expand(1, 6, 5, 7).contiguous()
    grad, hires, xgrad = (
        methods.gradcam(activation, gradient),
        methods.hirescam(activation, gradient),
        methods.xgradcam(activation, gradient),
    )
    expected = torch.sum(per_channel[None, :, None, None] * activation, dim=1, keepdim=True)
    for m in (grad, hires, xgrad):
        torch.testing.assert_close(m, expected, rtol=1e-6, atol=1e-6)
    shown = [_heatmap(torch.relu(m), (20, 28)) for m in (grad, hires, xgrad)]
    torch.testing.assert_close(shown[1], shown[0], rtol=0, atol=1e-6)
    torch.testing.assert_close(shown[2], shown[0], rtol=0, atol=1e-6)
    # ...and a gradient that varies over positions parts them.
    varied = gradient * torch.rand(1, 6, 5, 7, generator=generator)
    assert pearson(methods.gradcam(activation, varied), methods.hirescam(activation, varied)) < 0.99


@pytest.mark.parametrize("kind", ["basic", "bottleneck", "cifar"])
def test_on_a_random_network_the_maps_coincide_at_the_last_stage_only(kind):
    """Measured (torch 2.14.1, CPU, seed 0): 1.000 for all three pairs at the last stage; at
    the stage before it the lowest pair is 0.098 (basic), 0.144 (bottleneck), 0.344 (cifar),
    with 89-93 % of the gradient's norm varying over positions."""
    model = tiny_model(kind)
    before = snapshot(model)
    result = method_agreement(model, image_for(model.spec))
    assert_unchanged(model, before)
    assert [r.layer for r in result.layers] == target_layers(model.spec)
    n = model.spec.num_stages
    last = result.layer(f"layer{n}")
    assert all(r > 0.999 for r in last.pearson.values()), last.pearson
    assert all(r > 0.999 for r in last.spearman.values()), last.spearman
    assert last.gradient_variation < 1e-6
    assert result.before_pooling == (f"layer{n}", f"layer{n}.{model.spec.layers[-1] - 1}")
    earlier = result.layer(f"layer{n - 1}")
    assert earlier.lowest[1] < 0.5
    assert earlier.gradient_variation > 0.5


def test_a_pre_activation_network_is_not_the_same_at_its_last_stage():
    """Its head starts with a BN-ReLU, so the gradient at the last stage is w / hw times a
    position-dependent ReLU mask. Measured: variation 0.64, lowest correlation 0.918."""
    model = tiny_model("preact")
    result = method_agreement(model, image_for(model.spec))
    last = result.layer("layer4")
    assert last.gradient_variation == pytest.approx(0.64, abs=0.05)
    assert last.lowest[1] < 0.99
    assert result.before_pooling == ()


def test_the_maps_are_the_cam_paths_own():
    model = tiny_model("basic")
    x = image_for(model.spec)
    result = method_agreement(model, x, methods=("gradcam", "layercam"), layers=["layer2.0"])
    a = grad_cam(model, x, target_layer="layer2.0", target_class=result.target_class).raw
    b = grad_cam(
        model, x, target_layer="layer2.0", target_class=result.target_class, method="layercam"
    ).raw
    assert result.layers[0].pearson == {("gradcam", "layercam"): pytest.approx(pearson(a, b))}
    assert result.labels == {"gradcam": "Grad-CAM", "layercam": "LayerCAM"}


def test_bad_input_is_refused():
    model = tiny_model("basic")
    x = image_for(model.spec)
    with pytest.raises(ValueError, match="at least two"):
        method_agreement(model, x, methods=("gradcam", "gradcam"))
    with pytest.raises(ValueError, match="Unknown CAM method"):
        method_agreement(model, x, methods=("gradcam", "nope"))


@pytest.mark.slow
def test_on_the_demo_model_the_maps_coincide_at_the_last_stage_and_part_before_it():
    """The demo model (CIFAR-style, stages layer1..layer3) on the seven bundled shapes.
    Measured at layer3.0, the block before the last: lowest pairwise correlation 0.978, 0.823,
    0.830, 0.915, 0.764, 0.913, 0.883 (mean 0.872), gradient variation 0.69-0.81 (mean 0.71);
    at layer3: 1.000 and 0 (torch 2.14.1, CPU)."""
    demo = load_demo_model("cpu")
    lowest, variation = [], []
    for sample in (s for s in bundled_samples() if s.synthetic):
        x = demo.preprocessing.tensor(load_image(sample.read()))
        result = method_agreement(demo.model, x)
        last = result.layer("layer3")
        assert all(r > 0.999 for r in last.pearson.values()), (sample.label, last.pearson)
        assert last.gradient_variation < 1e-6
        block = result.layer("layer3.0")
        assert block.lowest[1] < 0.99
        lowest.append(block.lowest[1])
        variation.append(block.gradient_variation)
    assert len(lowest) == 7
    assert np.mean(lowest) == pytest.approx(0.872, abs=0.05)
    assert np.mean(variation) == pytest.approx(0.71, abs=0.05)
