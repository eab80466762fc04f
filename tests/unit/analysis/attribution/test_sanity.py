"""The cascading model-randomisation sanity check: the order of the cascade, the private copy
(the given model is never touched), the similarity measures against scipy and by hand, and on
the demo model the correlation falls as the randomisation goes deeper."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import scipy.ndimage
import scipy.stats
import torch
from captum.attr import GuidedBackprop, Saliency

import resnet_viz
from resnet_viz import build_model, preset
from resnet_viz.analysis.attribution import sanity as sanity_module
from resnet_viz.analysis.attribution.methods import CAM_METHODS
from resnet_viz.analysis.attribution.pixel import ATTRIBUTION_METHODS, PixelAttribution, attribute
from resnet_viz.analysis.attribution.sanity import cascade, sanity_check, spearman, ssim
from resnet_viz.core.spec import SpecError
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


def test_the_cascade_goes_from_the_classifier_to_the_stem():
    model = build_model(preset("resnet18"), device="meta")
    units = cascade(model)
    assert [u for u, _, _ in units] == [
        "fc", "layer4.1", "layer4.0", "layer3.1", "layer3.0", "layer2.1", "layer2.0",
        "layer1.1", "layer1.0", "stem",
    ]  # fmt: skip
    assert units[0][2] == ("fc",)
    assert units[-1][2] == ("conv1", "bn1")
    assert units[1][1] == "stage 4, block 2"
    preact = build_model(dataclasses.replace(preset("resnet18"), preact=True), device="meta")
    assert cascade(preact)[0][2] == ("final_bn", "fc")


def test_after_the_whole_cascade_the_copy_is_the_fresh_network():
    model = tiny_model("bottleneck")
    private = sanity_module._private_copy(model)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(5)
        fresh = build_model(model.spec)
    state = fresh.state_dict()
    for _, _, prefixes in cascade(private):
        sanity_module._reinitialise(private, state, prefixes)
    for key, value in private.state_dict().items():
        assert torch.equal(value, state[key]), key
    # ...and the copy never shared memory with the model, which kept its weights.
    assert not torch.equal(model.layer1[0].conv1.weight, private.layer1[0].conv1.weight)


def test_the_given_model_is_never_touched():
    model = tiny_model("basic")
    x = image_for(model.spec)
    before = snapshot(model)
    seen = []
    result = sanity_check(model, x, target_layer="layer3", method="layercam",
                          progress=lambda d, t: seen.append((d, t)))  # fmt: skip
    assert_unchanged(model, before)
    assert not torch.nn.modules.module._global_forward_hooks
    assert [s.randomized for s in result.steps] == [u for u, _, _ in cascade(model)]
    assert [s.depth for s in result.steps] == list(range(1, 1 + 5 + 2))
    assert seen == [(i, 8) for i in range(1, 9)]
    assert result.method == "layercam"
    assert result.layer == "layer3"
    assert result.target_class == result.original.target_class
    assert {s.result.target_class for s in result.steps} == {result.target_class}
    assert resnet_viz.sanity_check is sanity_check


def test_the_same_seed_gives_the_same_steps():
    model = tiny_model("cifar")
    x = image_for(model.spec)
    a = sanity_check(model, x, seed=3)
    b = sanity_check(model, x, seed=3)
    for s, t in zip(a.steps, b.steps, strict=True):
        np.testing.assert_array_equal(s.result.heatmap, t.result.heatmap)
        assert s.rank_correlation == t.rank_correlation


def test_it_works_under_inference_mode_and_no_grad():
    model = tiny_model("cifar")
    x = image_for(model.spec)
    expected = sanity_check(model, x)
    for manager in (torch.inference_mode, torch.no_grad):
        with manager():
            result = sanity_check(model, x.clone())
        assert [s.rank_correlation for s in result.steps] == [
            s.rank_correlation for s in expected.steps
        ]


def test_bad_arguments_are_refused_before_any_work():
    model = tiny_model("cifar")
    with pytest.raises(ValueError, match="Unknown CAM method"):
        sanity_check(model, image_for(model.spec), method="guided")
    with pytest.raises(ValueError, match="from 0 to 9"):
        sanity_check(model, image_for(model.spec), target_class=10)


def test_spearman_equals_scipy_with_ties():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 5, (12, 9)).astype(np.float32)  # many ties
    b = a + rng.normal(0, 2, a.shape)
    assert spearman(a, b) == pytest.approx(scipy.stats.spearmanr(a.ravel(), b.ravel())[0])
    assert spearman(a, a) == pytest.approx(1.0)
    assert spearman(a, -a) == pytest.approx(-1.0)
    assert spearman(a, np.zeros_like(a)) == 0.0


def reference_ssim(a: np.ndarray, b: np.ndarray) -> float:
    """skimage's structural_similarity(gaussian_weights=True, sigma=1.5,
    use_sample_covariance=False, data_range=1), written with scipy: Gaussian filters of
    radius 5 (truncate 3.5), then the mean over the interior where the window fits."""

    def f(t):
        return scipy.ndimage.gaussian_filter(t, sigma=1.5, truncate=3.5, mode="reflect")

    mx, my = f(a), f(b)
    vx, vy, cxy = f(a * a) - mx * mx, f(b * b) - my * my, f(a * b) - mx * my
    c1, c2 = 0.01**2, 0.03**2
    s = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx**2 + my**2 + c1) * (vx + vy + c2))
    return float(s[5:-5, 5:-5].mean())


def test_ssim_equals_the_gaussian_reference_and_hand_values():
    rng = np.random.default_rng(1)
    a = rng.random((40, 33))
    b = np.clip(a + rng.normal(0, 0.2, a.shape), 0, 1)
    assert ssim(a, b) == pytest.approx(reference_ssim(a, b), rel=1e-9)
    assert ssim(a, a) == pytest.approx(1.0)
    # Two constant maps p and q: no variance anywhere, so SSIM = (2pq + C1) / (p^2 + q^2 + C1).
    p, q = 0.2, 0.7
    expected = (2 * p * q + 0.01**2) / (p * p + q * q + 0.01**2)
    assert ssim(np.full((16, 16), p), np.full((16, 16), q)) == pytest.approx(expected)


def test_on_the_demo_model_the_correlation_falls_as_the_randomisation_deepens():
    """Grad-CAM at layer3 (the last stage) on the seven bundled shapes. Measured mean rank
    correlation per step: classifier 0.86, layer3.1 0.53, layer3.0 0.35, layer2.1 0.17,
    layer2.0 0.30, layer1.1 0.43, layer1.0 0.29, stem 0.21 (torch 2.14.1, CPU, seed 0)."""
    demo = load_demo_model("cpu")
    shapes = [s for s in bundled_samples() if s.synthetic]
    rho = []
    for sample in shapes:
        x = demo.preprocessing.tensor(load_image(sample.read()))
        result = sanity_check(demo.model, x, target_layer="layer3")
        rho.append([s.rank_correlation for s in result.steps])
    mean = np.mean(rho, axis=0)
    assert mean[0] > 0.7  # the classifier alone: the features still point at the object
    assert all(m < mean[0] - 0.25 for m in mean[1:])
    assert mean[3:].mean() < 0.45  # once the randomisation is below the target layer
    assert mean[-1] < 0.4


# --------------------------------------------------------------------------------------------
# Pixel attribution methods


def fresh_network(spec, seed: int = 0):
    """The network the cascade's weights come from, built as the check builds it."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build_model(spec).eval()


@pytest.mark.parametrize("method", ["saliency", "guidedbackprop", "guidedgradcam"])
def test_a_pixel_method_gets_one_step_per_unit_and_leaves_the_model_as_found(method):
    model = tiny_model("basic")
    x = image_for(model.spec)
    before = snapshot(model)
    seen = []
    check = sanity_check(model, x, method=method, target_layer="layer3",
                         progress=lambda d, t: seen.append((d, t)))  # fmt: skip
    assert_unchanged(model, before)  # state, requires_grad, .grad, hooks on every module
    assert not torch.nn.modules.module._global_forward_hooks
    assert not torch.nn.modules.module._global_backward_hooks
    assert isinstance(check.original, PixelAttribution)
    assert all(isinstance(s.result, PixelAttribution) for s in check.steps)
    assert [s.randomized for s in check.steps] == [u for u, _, _ in cascade(model)]
    assert seen == [(i, 1 + len(check.steps)) for i in range(1, 2 + len(check.steps))]
    assert {s.result.target_class for s in check.steps} == {check.target_class}
    assert check.layer == ("layer3" if method == "guidedgradcam" else None)
    assert check.method == method


def test_the_fully_randomised_pixel_map_is_captums_on_the_fresh_network():
    """After the last step the copy is the fresh network: its Saliency and Guided Backprop
    maps are captum's own on a network built under the same seed."""
    model = tiny_model("cifar")
    x = image_for(model.spec)
    fresh = fresh_network(model.spec, seed=4)
    for method, explainer in (("saliency", Saliency), ("guidedbackprop", GuidedBackprop)):
        check = sanity_check(model, x, method=method, seed=4)
        kwargs = {"abs": False} if method == "saliency" else {}
        expected = explainer(fresh).attribute(
            x.clone().requires_grad_(), target=check.target_class, **kwargs
        )[0]
        np.testing.assert_allclose(check.steps[-1].result.raw, expected.detach().numpy(),
                                   rtol=1e-5, atol=1e-7)  # fmt: skip
        assert check.steps[-1].rank_correlation == pytest.approx(
            spearman(check.original.heatmap, check.steps[-1].result.heatmap)
        )


def test_pixel_options_and_normalisation_pass_through():
    model = tiny_model("basic")
    x = image_for(model.spec)
    check = sanity_check(model, x, method="guidedgradcam", options={"layer": "layer2"})
    assert check.layer == "layer2"
    assert {s.result.options["layer"] for s in check.steps} == {"layer2"}
    mean, std = (0.3, 0.3, 0.3), (0.2, 0.2, 0.2)
    check = sanity_check(model, x, method="integratedgradients", mean=mean, std=std,
                         options={"steps": 3, "baseline": "black"})  # fmt: skip
    expected = attribute(model, x, "integratedgradients", mean=mean, std=std, steps=3)
    np.testing.assert_array_equal(check.original.raw, expected.raw)
    assert check.steps[0].result.options["steps"] == 3


def test_a_method_key_names_one_registry_only():
    """draw_map, and the page's choice of the map to check, tell the kinds apart by key."""
    assert not set(CAM_METHODS) & set(ATTRIBUTION_METHODS)


def test_bad_pixel_arguments_are_refused():
    model = tiny_model("cifar")
    x = image_for(model.spec)
    with pytest.raises(SpecError, match="has no option"):
        sanity_check(model, x, method="saliency", options={"steps": 3})
    with pytest.raises(SpecError, match="A CAM method takes no options"):
        sanity_check(model, x, method="gradcam", options={"steps": 3})
    with pytest.raises(SpecError, match="Unknown CAM method or pixel attribution method"):
        sanity_check(model, x, method="magic")
