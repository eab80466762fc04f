"""Fused maps (LayerCAM's fusion): the rule by hand on made-up maps, the per-layer maps equal to
grad_cam's, pytorch-grad-cam's LayerCAM per layer and its mean over several layers, errors,
and the model left as found."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
from pytorch_grad_cam import LayerCAM
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

from resnet_viz.analysis.attribution.cam import LayerNameError, grad_cam
from resnet_viz.analysis.attribution.fused import (
    FusionError,
    fuse_maps,
    fuse_results,
    fused_cam,
    stage_layers,
)
from tests.unit.analysis.attribution.test_cam import (
    assert_unchanged,
    image_for,
    snapshot,
    tiny_model,
)
from tests.unit.analysis.attribution.test_methods import library_map

# One intra-op thread (see tests/conftest.py).
pytestmark = pytest.mark.usefixtures("one_intra_op_thread")


def test_the_papers_rule_by_hand():
    """Shallow [[0,1],[2,4]] / 4 through tanh(2 x); deep [[0,0],[0,2]] / 2; element-wise max."""
    shallow = np.array([[0, 1], [2, 4]], np.float32)
    deep = np.array([[0, 0], [0, 2]], np.float32)
    fused = fuse_maps([shallow, deep], (2, 2))
    expected = [[0, math.tanh(0.5)], [math.tanh(1.0), 1.0]]  # tanh(2) = 0.964 < 1 at the corner
    np.testing.assert_allclose(fused, expected, rtol=1e-6)


def test_only_the_shallow_maps_are_scaled_and_gamma_is_eqs():
    shallow = np.array([[1.0, 2.0]], np.float32)
    deep = np.array([[4.0, 1.0]], np.float32)
    fused = fuse_maps([shallow, deep], (1, 2), gamma=1.0)
    np.testing.assert_allclose(fused, [[1.0, max(math.tanh(1.0), 0.25)]], rtol=1e-6)


def test_maps_are_upsampled_bilinearly_by_hand():
    """A 1 x 2 deep map [[0, 4]] at 1 x 4 (align_corners=False): sources -0.25, 0.25, 0.75, 1.25
    clamp to [0, 1, 3, 4]; divided by 4. A blank shallow map adds nothing."""
    blank = np.zeros((1, 1), np.float32)
    fused = fuse_maps([blank, np.array([[0.0, 4.0]], np.float32)], (1, 4))
    np.testing.assert_allclose(fused, [[0, 0.25, 0.75, 1.0]], rtol=1e-6)


def test_blank_maps_fuse_to_zero():
    blank = np.zeros((2, 2), np.float32)
    assert not fuse_maps([blank, blank], (4, 4)).any()
    assert not fuse_maps([blank, blank], (4, 4), rule="mean").any()


def test_the_mean_rule_by_hand():
    """min-max each ([[0,.5],[.5,1]] and [[0,0],[0,1]]), average, min-max again."""
    a = np.array([[0, 2], [2, 4]], np.float32)
    b = np.array([[1, 1], [1, 3]], np.float32)
    fused = fuse_maps([a, b], (2, 2), rule="mean")
    np.testing.assert_allclose(fused, [[0, 0.25], [0.25, 1.0]], atol=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"rule": "median"}, "Unknown fusion rule"),
        ({"gamma": 0}, "gamma must be a positive number"),
        ({"gamma": float("nan")}, "gamma must be a positive number"),
    ],
)
def test_bad_rules_are_user_errors(kwargs, words):
    with pytest.raises(FusionError, match=words):
        fuse_maps([np.ones((2, 2), np.float32)], (2, 2), **kwargs)


def test_negative_maps_are_refused():
    with pytest.raises(FusionError, match=">= 0"):
        fuse_maps([-np.ones((2, 2), np.float32)], (2, 2))


def test_the_per_layer_maps_are_grad_cams_and_the_model_is_left_as_found():
    model = tiny_model().eval()
    x = image_for(model.spec)
    before = snapshot(model)
    fused = fused_cam(model, x, target_class=3)
    assert fused.layers == stage_layers(model) == ("layer1", "layer2", "layer3", "layer4")
    for name, result in zip(fused.layers, fused.maps, strict=True):
        alone = grad_cam(model, x, target_layer=name, target_class=3, method="layercam")
        np.testing.assert_array_equal(result.heatmap, alone.heatmap)
        np.testing.assert_array_equal(result.raw, alone.raw)
    assert fused.heatmap.shape == x.shape[-2:]
    assert fused.heatmap.min() >= 0
    assert fused.heatmap.max() <= 1
    again = fuse_maps([r.raw for r in fused.maps], tuple(x.shape[-2:]))
    np.testing.assert_array_equal(fused.heatmap, again)
    assert_unchanged(model, before)


def test_each_layer_equals_pytorch_grad_cams_layercam():
    model = tiny_model().eval()
    x = image_for(model.spec)
    fused = fused_cam(model, x, layers=("layer2", "layer3.0", "layer4"), target_class=1)
    for name, result in zip(fused.layers, fused.maps, strict=True):
        np.testing.assert_allclose(
            result.raw, library_map("layercam", model, x, name, 1), rtol=1e-4, atol=1e-6
        )


def test_the_mean_rule_is_pytorch_grad_cams_answer():
    model = tiny_model().eval()
    x = image_for(model.spec)
    layers = ("layer1", "layer2", "layer3", "layer4")
    peer = copy.deepcopy(model)
    with LayerCAM(model=peer, target_layers=[peer.get_submodule(n) for n in layers]) as cam:
        theirs = cam(input_tensor=x.clone(), targets=[ClassifierOutputTarget(2)])[0]
    mine = fused_cam(model, x, layers=layers, target_class=2, rule="mean")
    np.testing.assert_allclose(mine.heatmap, theirs, atol=1e-5)


def test_the_layers_must_be_shallow_to_deep_and_known():
    model = tiny_model().eval()
    x = image_for(model.spec)
    with pytest.raises(FusionError, match="shallow to deep"):
        fused_cam(model, x, layers=("layer3", "layer2"))
    with pytest.raises(FusionError, match="shallow to deep"):
        fused_cam(model, x, layers=("layer4.0", "layer4"))  # one tensor, two names
    with pytest.raises(LayerNameError):
        fused_cam(model, x, layers=("layer9",))


def test_only_gradient_methods_and_one_class_fuse():
    model = tiny_model().eval()
    x = image_for(model.spec)
    with pytest.raises(FusionError, match="gradient method"):
        fused_cam(model, x, method="scorecam")
    a = grad_cam(model, x, target_layer="layer3", target_class=0, method="layercam")
    b = grad_cam(model, x, target_layer="layer4", target_class=1, method="layercam")
    with pytest.raises(FusionError, match="one class"):
        fuse_results([a, b])
    with pytest.raises(FusionError, match="at least one"):
        fuse_results([])
