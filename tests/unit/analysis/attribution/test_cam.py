"""Grad-CAM: hand-computed maps, agreement with independent computations and with captum (the
oracle: the library itself does not use captum), constant maps, the split of the network, the
shared model left untouched, threads, CPU fallback, overlays."""

from __future__ import annotations

import ast
import dataclasses
import gc
import math
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F  # noqa: N812
from captum.attr import LayerGradCam
from PIL import Image
from torch import nn

import resnet_viz
from resnet_viz import ResNetSpec, SpecError, build_model, preset
from resnet_viz.analysis.attribution import cam as cam_module
from resnet_viz.analysis.attribution.cam import (
    CamResult,
    LayerNameError,
    grad_cam,
    grad_cam_strip,
    layer_label,
    target_layers,
)
from resnet_viz.core.split import forward_from, forward_steps, run_steps, split_at
from resnet_viz.present.heatmaps import heatmap_image, overlay
from resnet_viz.runtime import locks as locks_module
from resnet_viz.runtime.locks import model_lock
from tests.model_support import sign_split_model

# One intra-op thread (see tests/conftest.py).
pytestmark = pytest.mark.usefixtures("one_intra_op_thread")

TINY = ResNetSpec(layers=(1, 2, 1, 1), widths=(4, 8, 8, 16), num_classes=10)
SPECS = {
    "basic": TINY,
    "bottleneck": dataclasses.replace(TINY, block="bottleneck", widths=(2, 4, 4, 8)),
    "preact": dataclasses.replace(TINY, preact=True),
    "cifar": ResNetSpec(
        layers=(1, 2, 1), widths=(4, 8, 16), stem="cifar", shortcut="A", num_classes=10
    ),
    "plain": dataclasses.replace(TINY, skip=False),
}
SIDE = {"imagenet": 64, "cifar": 32}
AGREEMENT_LAYERS = ("layer1", "layer3", "layer2.1", "layer4")


def randomize(model: nn.Module, seed: int = 0) -> nn.Module:
    """Non-trivial weights and BatchNorm statistics, so that every map has structure."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.weight.copy_(torch.rand(module.weight.shape, generator=generator) + 0.5)
                module.bias.copy_(torch.rand(module.bias.shape, generator=generator) * 0.4 - 0.2)
                module.running_mean.copy_(torch.randn(module.running_mean.shape) * 0.1)
                module.running_var.copy_(torch.rand(module.running_var.shape) + 0.5)
            elif isinstance(module, (nn.Conv2d, nn.Linear)):
                module.weight.copy_(
                    torch.randn(module.weight.shape, generator=generator)
                    * math.sqrt(2.0 / module.weight[0].numel())
                )
    return model


def tiny_model(kind: str = "basic", seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return randomize(build_model(SPECS[kind]), seed)


def image_for(spec: ResNetSpec, seed: int = 1, side: int | None = None) -> torch.Tensor:
    side = side or SIDE[spec.stem]
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(1, spec.in_channels, side, side, generator=generator)


def reference_cam(model: nn.Module, x: torch.Tensor, layer: str, target: int):
    """Grad-CAM from its definition with plain autograd and a forward hook (no captum):
    activations x channel-mean gradients, summed, ReLU, bilinear upsampling, min-max."""
    saved = {}
    handle = model.get_submodule(layer).register_forward_hook(
        lambda module, args, output: saved.__setitem__("a", output)
    )
    try:
        with torch.enable_grad():
            logits = model(x)
            (gradient,) = torch.autograd.grad(logits[0, target], saved["a"])
    finally:
        handle.remove()
    activation = saved["a"].detach()
    weights = gradient.mean(dim=(2, 3), keepdim=True)
    raw = torch.relu((weights * activation).sum(dim=1, keepdim=True))
    up = F.interpolate(raw, size=x.shape[-2:], mode="bilinear", align_corners=False)[0, 0]
    return ((up - up.min()) / (up.max() - up.min())).numpy(), raw[0, 0].numpy()


def captum_cam(model: nn.Module, x: torch.Tensor, layer: str, target: int):
    """The oracle: captum's LayerGradCam on the whole model at module ``layer`` (a stage or a
    block), ReLU'd, with the same bilinear upsampling and min-max normalisation."""
    direct = LayerGradCam(model, model.get_submodule(layer)).attribute(
        x, target=target, relu_attributions=True
    )
    direct = direct.detach()
    up = F.interpolate(direct, size=x.shape[-2:], mode="bilinear", align_corners=False)[0, 0]
    return ((up - up.min()) / (up.max() - up.min())).numpy(), direct[0, 0].numpy()


def module_output(model: nn.Module, name: str, x: torch.Tensor) -> torch.Tensor:
    """What module ``name`` returns when the whole model runs on ``x``."""
    saved = {}
    handle = model.get_submodule(name).register_forward_hook(
        lambda module, args, output: saved.__setitem__("o", output)
    )
    try:
        model(x)
    finally:
        handle.remove()
    return saved["o"]


def hook_dicts(model: nn.Module) -> dict[str, int]:
    """Number of hooks of every kind on every module."""
    counts = {}
    for name, module in model.named_modules():
        for attribute, value in vars(module).items():
            if "hooks" in attribute and isinstance(value, dict):
                counts[f"{name}.{attribute}"] = len(value)
    return counts


def snapshot(model: nn.Module) -> dict:
    return {
        "state": {k: v.clone() for k, v in model.state_dict().items()},
        "ids": [id(p) for p in model.parameters()],
        "grads": [p.grad for p in model.parameters()],
        "requires_grad": [p.requires_grad for p in model.parameters()],
        "training": [m.training for m in model.modules()],
        "devices": {p.device for p in model.parameters()},
        "hooks": hook_dicts(model),
    }


def assert_unchanged(model: nn.Module, before: dict) -> None:
    after = snapshot(model)
    assert after["state"].keys() == before["state"].keys()
    for key, value in before["state"].items():
        assert torch.equal(after["state"][key], value), key
    assert after["ids"] == before["ids"]
    assert all(g is None for g in after["grads"])
    assert after["requires_grad"] == before["requires_grad"]
    assert after["training"] == before["training"]
    assert not any(after["training"])
    assert after["devices"] == before["devices"]
    assert after["hooks"] == before["hooks"]
    assert not any(after["hooks"].values())


# --------------------------------------------------------------------------------------------
# By hand
# --------------------------------------------------------------------------------------------

HAND = ResNetSpec(
    block="basic", layers=(1,), widths=(2,), stem="cifar", batch_norm=False, in_channels=1,
    num_classes=2,
)  # fmt: skip


def hand_model() -> nn.Module:
    """One stage, one block whose residual branch is zero, so layer1 = stem = [relu(x),
    relu(-x)] (the stem's 3x3 conv is +1 / -1 at the centre); fc: class 0 = ch0 - ch1,
    class 1 = -ch0 - ch1 (never positive evidence)."""
    return sign_split_model(HAND)


HAND_IMAGE = torch.tensor([[1.0, -2.0, 0.0, 3.0], [0.5, 4.0, -1.0, 0.0]]).reshape(1, 1, 2, 4)


def test_hand_computed_map_and_probabilities():
    # A = [relu(x), relu(-x)]; y0 = mean(A0) - mean(A1) = mean(x) = 5.5/8; dy0/dA = +-1/8, so
    # alpha = (1/8, -1/8) and L = relu(relu(x)/8 - relu(-x)/8) = relu(x)/8.
    result = grad_cam(hand_model(), HAND_IMAGE, target_layer="layer1", target_class=0)
    x = HAND_IMAGE[0, 0].numpy()
    np.testing.assert_allclose(result.raw, np.maximum(x, 0) / 8, atol=1e-7)
    # Same resolution (CIFAR stem, stride 1), so upsampling is the identity; min 0, max 4.
    np.testing.assert_allclose(result.heatmap, np.maximum(x, 0) / 4, atol=1e-6)
    # y1 = -mean(relu(x)) - mean(relu(-x)) = -(8.5 + 3) / 8
    y0, y1 = 5.5 / 8, -11.5 / 8
    p0 = math.exp(y0) / (math.exp(y0) + math.exp(y1))
    assert result.top_k[0][0] == 0
    assert result.top_k[0][1] == pytest.approx(p0, rel=1e-6)
    assert result.top_k[1] == (1, pytest.approx(1 - p0, rel=1e-5))
    assert result.target_class == 0


def test_a_class_with_no_positive_evidence_gives_an_all_zero_map():
    result = grad_cam(hand_model(), HAND_IMAGE, target_layer="layer1", target_class=1)
    assert not result.raw.any()
    assert not result.heatmap.any()
    assert result.heatmap.dtype == np.float32


def test_at_the_last_stage_grad_cam_is_cam_over_the_number_of_positions():
    # For global average pooling + linear, dy_c/dA^k_ij = w_ck / (h*w): Grad-CAM reduces to
    # CAM (Zhou et al. 2016) divided by h*w (Selvaraju et al. 2017, Sec. 3.1).
    model = tiny_model("basic")
    x = image_for(TINY)
    result = grad_cam(model, x, target_layer="layer4", target_class=3)
    with torch.no_grad():
        activation = split_at(model, "layer4").before(x)[0]
    h, w = activation.shape[-2:]
    cam = torch.relu(torch.einsum("k,kij->ij", model.fc.weight[3].detach(), activation)) / (h * w)
    assert cam.max() > 0
    np.testing.assert_allclose(result.raw, cam.numpy(), rtol=1e-5, atol=1e-7)


# --------------------------------------------------------------------------------------------
# Agreement
# --------------------------------------------------------------------------------------------


def agreement_cases():
    for kind, spec in SPECS.items():
        for layer in AGREEMENT_LAYERS:
            if layer in target_layers(spec):
                yield pytest.param(kind, layer, id=f"{kind}-{layer}")


@pytest.mark.parametrize(("kind", "layer"), list(agreement_cases()))
def test_equals_an_independent_autograd_computation_and_captum_on_the_whole_model(kind, layer):
    model = tiny_model(kind)
    x = image_for(model.spec)
    result = grad_cam(model, x, target_layer=layer)
    heatmap, raw = reference_cam(model, x, layer, result.target_class)
    assert raw.max() > 0, "a trivial map would make this test vacuous"
    np.testing.assert_allclose(result.raw, raw, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(result.heatmap, heatmap, atol=1e-5)

    direct = LayerGradCam(model, model.get_submodule(layer)).attribute(
        x, target=result.target_class, relu_attributions=True
    )
    np.testing.assert_allclose(result.raw, direct[0, 0].detach().numpy(), rtol=1e-5, atol=1e-6)


def test_resnet50_at_224_agrees_with_captum_on_the_whole_model():
    model = randomize(build_model(preset("resnet50")))
    x = image_for(model.spec, side=224)
    result = grad_cam(model, x, target_class=207)
    direct = LayerGradCam(model, model.layer4).attribute(x, target=207, relu_attributions=True)
    up = F.interpolate(direct, size=(224, 224), mode="bilinear", align_corners=False)[0, 0]
    expected = ((up - up.min()) / (up.max() - up.min())).detach().numpy()
    assert result.raw.shape == (7, 7)
    np.testing.assert_allclose(result.raw, direct[0, 0].detach().numpy(), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(result.heatmap, expected, atol=1e-5)
    with torch.no_grad():
        probabilities = torch.softmax(model(x)[0], 0)
    top = torch.topk(probabilities, 5)
    assert [c for c, _ in result.top_k] == top.indices.tolist()
    np.testing.assert_allclose([p for _, p in result.top_k], top.values.numpy(), rtol=1e-5)


ORACLE_LAYERS = ("layer1", "layer1.0", "layer2.1", "layer3", "layer3.0", "layer4")


def oracle_cases():
    for kind in ("basic", "bottleneck", "preact", "cifar"):
        for layer in ORACLE_LAYERS:
            if layer in target_layers(SPECS[kind]):
                yield pytest.param(kind, layer, id=f"{kind}-{layer}")


@pytest.mark.parametrize(("kind", "layer"), list(oracle_cases()))
def test_grad_cam_equals_captum_on_the_whole_model_for_several_classes(kind, layer):
    model = tiny_model(kind)
    x = image_for(model.spec)
    classes = [None, 0, 3, 7]
    for target in classes:
        result = grad_cam(model, x, target_layer=layer, target_class=target)
        if target is not None:
            assert result.target_class == target
        heatmap, raw = captum_cam(model, x, layer, result.target_class)
        np.testing.assert_allclose(result.raw, raw, rtol=1e-5, atol=1e-6)
        if raw.max() > raw.min():
            np.testing.assert_allclose(result.heatmap, heatmap, atol=1e-5)
        else:
            assert np.all(result.heatmap == (1.0 if raw.max() > 0 else 0.0))


@pytest.mark.parametrize("kind", ["basic", "bottleneck", "cifar"])
def test_strip_equals_captum_on_the_whole_model(kind):
    model = tiny_model(kind, seed=2)
    x = image_for(model.spec, seed=5)
    layers = [name for name in ORACLE_LAYERS if name in target_layers(model.spec)]
    varied = 0
    for target in (None, 1, 9):
        strip = grad_cam_strip(model, x, layers, target)
        assert [r.layer for r in strip] == layers
        for result in strip:
            heatmap, raw = captum_cam(model, x, result.layer, result.target_class)
            np.testing.assert_allclose(result.raw, raw, rtol=1e-5, atol=1e-6)
            if raw.max() > raw.min():
                varied += 1
                np.testing.assert_allclose(result.heatmap, heatmap, atol=1e-5)
    assert varied >= len(layers), "mostly trivial maps would make this test vacuous"


def test_only_the_pixel_attributions_import_captum():
    """The CAMs are the app's own code path (checked against captum above); captum runs only the
    pixel attributions, which are captum's own methods."""
    package = Path(resnet_viz.__file__).parent
    attribution = package / "analysis" / "attribution"
    pixel = {attribution / "pixel.py", attribution / "pixel_methods.py"}
    for path in package.rglob("*.py"):
        if path in pixel:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            assert not any(n.split(".")[0] == "captum" for n in names), path


# --------------------------------------------------------------------------------------------
# Constant maps
# --------------------------------------------------------------------------------------------


def test_a_constant_positive_map_is_all_ones_not_upsampling_noise():
    # ResNet-18 at 32 x 32 px: layer4 is 1 x 1. Bilinear upsampling of that one value leaves an
    # ulp or two of noise, which min-max would stretch to {0, 0.5, 1}.
    torch.manual_seed(0)
    model = build_model(preset("resnet18")).eval()
    x = torch.randn(1, 3, 32, 32)
    result = grad_cam(model, x)
    assert result.layer == "layer4"
    assert result.raw.shape == (1, 1)
    assert result.raw[0, 0] > 0, "the top-1 class has positive evidence here"
    assert result.heatmap.shape == (32, 32)
    assert result.heatmap.dtype == np.float32
    assert np.all(result.heatmap == 1.0)
    strip = grad_cam_strip(model, x, ["layer4", "layer3"])
    assert np.all(strip[0].heatmap == 1.0)
    assert strip[1].heatmap.min() == 0.0  # layer3 is 2 x 2 and not constant
    assert strip[1].heatmap.max() == 1.0


def test_a_constant_zero_map_stays_all_zeros():
    torch.manual_seed(0)
    model = build_model(preset("resnet18")).eval()
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        least = int(model(x)[0].argmin())
    result = grad_cam(model, x, target_class=least)
    assert result.raw.shape == (1, 1)
    assert result.raw[0, 0] == 0.0  # no positive evidence for the least likely class
    assert not result.heatmap.any()
    assert result.heatmap.dtype == np.float32


@pytest.mark.parametrize("side", [1, 2, 3, 7])
@pytest.mark.parametrize("size", [(32, 32), (224, 224), (61, 97)])
def test_constant_maps_of_any_size_normalise_exactly(side, size):
    for value in (1e-3, 0.37, 1.2089293, 7e4):
        raw = torch.full((1, 1, side, side), value)
        heat = cam_module._heatmap(raw, size)
        assert heat.shape == size
        assert torch.all(heat == 1.0), (side, size, value)
    assert torch.all(cam_module._heatmap(torch.zeros(1, 1, side, side), size) == 0.0)


def test_a_map_that_is_not_constant_is_min_max_normalised_after_upsampling():
    raw = torch.tensor([[[[0.0, 1.0], [2.0, 4.0]]]])
    heat = cam_module._heatmap(raw, (8, 8))
    up = F.interpolate(raw, size=(8, 8), mode="bilinear", align_corners=False)[0, 0]
    torch.testing.assert_close(heat, (up - up.min()) / (up.max() - up.min()))
    assert heat.min() == 0.0
    assert heat.max() == 1.0


@pytest.mark.parametrize("kind", list(SPECS))
def test_the_two_halves_of_every_split_are_the_model(kind):
    model = tiny_model(kind)
    x = image_for(model.spec)
    with torch.no_grad():
        expected = model(x)
        assert torch.equal(run_steps(forward_steps(model), x), expected)
        for name in target_layers(model.spec):
            split = split_at(model, name)
            activation = split.before(x)
            assert torch.equal(split.after(activation), expected), name
            assert torch.equal(forward_from(model, name, activation), expected), name
            # the cut is where the module of that name ends
            assert torch.equal(activation, module_output(model, name, x)), name


@pytest.mark.parametrize("kind", ["basic", "bottleneck", "cifar"])
def test_strip_equals_separate_calls(kind):
    model = tiny_model(kind)
    x = image_for(model.spec)
    layers = ("layer3", "layer1", "layer2.1", "layer2", "layer1.0")
    strip = grad_cam_strip(model, x, layers)
    assert [r.layer for r in strip] == list(layers)
    for result in strip:
        alone = grad_cam(model, x, target_layer=result.layer)
        assert result.target_class == alone.target_class
        assert result.top_k == alone.top_k
        np.testing.assert_allclose(result.raw, alone.raw, rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(result.heatmap, alone.heatmap, atol=1e-5)


def test_strip_defaults_to_every_stage_and_takes_a_class():
    model = tiny_model("basic")
    x = image_for(TINY)
    strip = grad_cam_strip(model, x, target_class=4)
    assert [r.layer for r in strip] == ["layer1", "layer2", "layer3", "layer4"]
    assert {r.target_class for r in strip} == {4}
    cifar = tiny_model("cifar")
    assert [r.layer for r in grad_cam_strip(cifar, image_for(cifar.spec))] == [
        "layer1",
        "layer2",
        "layer3",
    ]
    with pytest.raises(ValueError, match="at least one layer"):
        grad_cam_strip(model, x, [])


# --------------------------------------------------------------------------------------------
# The result
# --------------------------------------------------------------------------------------------


def test_result_fields():
    model = tiny_model("basic")
    x = torch.randn(1, 3, 64, 96, generator=torch.Generator().manual_seed(3))
    result = grad_cam(model, x, target_layer="layer2.1", top_k=3)
    assert isinstance(result, CamResult)
    assert result.heatmap.shape == (64, 96)
    assert result.heatmap.dtype == np.float32
    assert result.raw.dtype == np.float32
    assert result.raw.shape == (8, 12)
    assert result.heatmap.min() == 0.0
    assert result.heatmap.max() == 1.0
    assert result.layer == "layer2.1"
    assert result.device == "cpu"
    assert result.fell_back_to_cpu is False
    assert len(result.top_k) == 3
    assert result.target_class == result.top_k[0][0]  # top-1 when no class is given
    probabilities = [p for _, p in result.top_k]
    assert probabilities == sorted(probabilities, reverse=True)
    with pytest.raises(ValueError, match="read-only"):
        result.heatmap[0, 0] = 0.5
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.layer = "layer1"  # type: ignore[misc]


def test_top_k_is_capped_at_the_number_of_classes():
    model = tiny_model("cifar")
    assert len(grad_cam(model, image_for(model.spec), top_k=50).top_k) == 10


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"target_layer": "layer5"}, LayerNameError, "no layer 'layer5'"),
        ({"target_layer": "layer2.2"}, LayerNameError, "numbered from 0"),
        ({"target_layer": "fc"}, SpecError, "no layer 'fc'"),
        ({"target_class": 10}, ValueError, "from 0 to 9"),
        ({"target_class": -1}, ValueError, "from 0 to 9"),
        ({"target_class": True}, ValueError, "class index"),
        ({"top_k": 0}, ValueError, "top_k"),
        ({"device": "meta"}, ValueError, "never moves a shared model"),
    ],
)
def test_bad_arguments_are_refused_clearly(kwargs, error, match):
    model = tiny_model("basic")
    before = snapshot(model)
    with pytest.raises(error, match=match):
        grad_cam(model, image_for(TINY), **kwargs)
    assert_unchanged(model, before)


@pytest.mark.parametrize(
    ("image", "match"),
    [
        (torch.randn(3, 64, 64), r"shape \(1, 3, H, W\)"),
        (torch.randn(2, 3, 64, 64), r"shape \(1, 3, H, W\)"),
        (torch.randn(1, 1, 64, 64), r"shape \(1, 3, H, W\)"),
        (torch.zeros(1, 3, 64, 64, dtype=torch.uint8), "float"),
        (np.zeros((1, 3, 64, 64), np.float32), "torch.Tensor"),
    ],
)
def test_bad_images_are_refused_clearly(image, match):
    with pytest.raises(ValueError, match=match):
        grad_cam(tiny_model("basic"), image)


def test_a_model_in_training_mode_is_refused_not_switched():
    model = tiny_model("basic").train()
    before = snapshot(model)
    with pytest.raises(ValueError, match="training mode"):
        grad_cam(model, image_for(TINY))
    assert all(m.training for m in model.modules())
    after = snapshot(model)
    for key, value in before["state"].items():
        assert torch.equal(after["state"][key], value), key


def test_a_double_precision_model_gets_a_double_precision_input():
    model = tiny_model("basic").double()
    x = image_for(TINY)
    result = grad_cam(model, x, target_layer="layer3")
    reference = grad_cam(tiny_model("basic"), x, target_layer="layer3")
    assert result.heatmap.dtype == np.float32
    np.testing.assert_allclose(result.heatmap, reference.heatmap, atol=1e-4)


def test_only_resnet_viz_models_are_accepted():
    with pytest.raises(TypeError, match="resnet_viz ResNet"):
        grad_cam(nn.Sequential(nn.Conv2d(3, 4, 3)), torch.randn(1, 3, 8, 8))


def test_layer_error_is_a_spec_error_and_a_value_error():
    assert issubclass(LayerNameError, SpecError)
    assert issubclass(LayerNameError, ValueError)


# --------------------------------------------------------------------------------------------
# Catalogue and labels
# --------------------------------------------------------------------------------------------


def test_catalogue_lists_every_stage_and_block_in_forward_order():
    assert target_layers(preset("resnet18")) == [
        "layer1", "layer1.0", "layer1.1", "layer2", "layer2.0", "layer2.1",
        "layer3", "layer3.0", "layer3.1", "layer4", "layer4.0", "layer4.1",
    ]  # fmt: skip
    resnet50 = target_layers(preset("resnet50"))
    assert len(resnet50) == 4 + 16
    model = build_model(preset("resnet50"), device="meta")
    names = [n for n, _ in model.named_modules() if n.startswith("layer") and n.count(".") <= 1]
    assert names == resnet50


def test_labels_name_the_stage_block_and_map_size():
    assert layer_label(preset("resnet50"), "layer4") == "Stage 4 (layer4, 7×7 at 224 px)"
    assert layer_label(preset("resnet50"), "layer2.1") == (
        "Stage 2, block 2 of 4 (layer2.1, 28×28 at 224 px)"
    )
    assert layer_label(preset("resnet56"), "layer3") == "Stage 3 (layer3, 8×8 at 32 px)"
    assert layer_label(preset("resnet18"), "layer4", (3, 512, 384)) == (
        "Stage 4 (layer4, 16×12 at 512×384 px)"
    )
    with pytest.raises(LayerNameError):
        layer_label(preset("resnet56"), "layer4")


# --------------------------------------------------------------------------------------------
# The shared model is left exactly as found
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("context", ["plain", "no_grad", "inference_mode"])
def test_model_is_unchanged_and_results_do_not_depend_on_the_callers_grad_mode(context):
    model = tiny_model("preact")
    x = image_for(model.spec)
    expected = grad_cam(model, x, target_layer="layer2")
    before = snapshot(model)
    managers = {
        "plain": torch.enable_grad,
        "no_grad": torch.no_grad,
        "inference_mode": torch.inference_mode,
    }
    with managers[context]():
        image = x.clone()  # an inference tensor under inference_mode
        result = grad_cam(model, image, target_layer="layer2")
        strip = grad_cam_strip(model, image)
        assert torch.is_grad_enabled() == (context == "plain")
        assert torch.is_inference_mode_enabled() == (context == "inference_mode")
    np.testing.assert_array_equal(result.heatmap, expected.heatmap)
    assert len(strip) == 4
    assert_unchanged(model, before)
    assert not torch.nn.modules.module._global_forward_hooks
    assert not torch.nn.modules.module._global_backward_hooks


def test_an_input_that_requires_grad_gets_no_grad():
    model = tiny_model("basic")
    x = image_for(TINY).requires_grad_()
    grad_cam(model, x)
    assert x.grad is None


# --------------------------------------------------------------------------------------------
# Threads
# --------------------------------------------------------------------------------------------


def test_concurrent_calls_on_one_shared_model_equal_sequential_calls():
    model = tiny_model("bottleneck")
    images = [image_for(model.spec, seed=s) for s in range(4)]
    jobs = [
        (images[i % 4], layer, target)
        for i, (layer, target) in enumerate(
            (layer, target) for layer in ("layer4", "layer2.1", "layer3") for target in (None, 2)
        )
    ]
    expected = [grad_cam(model, x, target_layer=lay, target_class=t) for x, lay, t in jobs]
    expected_strips = [grad_cam_strip(model, x) for x in images]
    before = snapshot(model)
    start = threading.Barrier(8)

    def session(offset: int):
        start.wait()  # all eight sessions hit the model at once
        results = {}
        for j in range(len(jobs)):
            i = (j + offset) % len(jobs)  # each session in its own order
            x, layer, target = jobs[i]
            results[i] = grad_cam(model, x, target_layer=layer, target_class=target)
        return results, grad_cam_strip(model, images[offset % 4])

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(session, range(8)))
    for offset, (results, strip) in enumerate(outcomes):
        pairs = [(results[i], want) for i, want in enumerate(expected)]
        pairs += list(zip(strip, expected_strips[offset % 4], strict=True))
        for have, want in pairs:
            assert (have.layer, have.target_class) == (want.layer, want.target_class)
            np.testing.assert_array_equal(have.heatmap, want.heatmap)
            np.testing.assert_array_equal(have.raw, want.raw)
            assert have.top_k == want.top_k
    assert_unchanged(model, before)


def test_one_lock_per_model_created_once_and_dropped_with_the_model():
    models = [build_model(SPECS["cifar"]), build_model(SPECS["cifar"])]
    with ThreadPoolExecutor(max_workers=8) as pool:
        locks = list(pool.map(lambda _: model_lock(models[0]), range(16)))
    assert all(lock is locks[0] for lock in locks)
    assert model_lock(models[1]) is not locks[0]
    count = len(locks_module._LOCKS)
    models.pop(0)
    gc.collect()
    assert len(locks_module._LOCKS) == count - 1


# --------------------------------------------------------------------------------------------
# Devices
# --------------------------------------------------------------------------------------------


def test_out_of_memory_retries_on_a_cpu_copy_and_never_moves_the_shared_model(monkeypatch):
    model = tiny_model("basic")
    x = image_for(TINY)
    expected = grad_cam(model, x, target_layer="layer3")
    before = snapshot(model)
    real_attempt = cam_module._attempt
    seen = []

    def attempt(net, image, where, *args, **kwargs):
        seen.append((net, torch.device(where)))
        if len(seen) == 1:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real_attempt(net, image, where, *args, **kwargs)

    # Pretend the shared model lives on a GPU that is full.
    monkeypatch.setattr(cam_module, "_model_device", lambda m: torch.device("cuda", 0))
    monkeypatch.setattr(cam_module, "_attempt", attempt)
    result = grad_cam(model, x, target_layer="layer3")

    assert result.fell_back_to_cpu is True
    assert result.device == "cpu"
    (first, on_gpu), (second, on_cpu) = seen
    assert first is model
    assert on_gpu == torch.device("cuda", 0)
    assert second is not model
    assert on_cpu == torch.device("cpu")
    assert {p.device.type for p in second.parameters()} == {"cpu"}
    assert not second.training
    np.testing.assert_array_equal(result.heatmap, expected.heatmap)
    assert_unchanged(model, before)


def test_other_errors_are_not_retried(monkeypatch):
    def attempt(*args, **kwargs):
        raise RuntimeError("cuDNN error: CUDNN_STATUS_INTERNAL_ERROR")

    monkeypatch.setattr(cam_module, "_model_device", lambda m: torch.device("cuda", 0))
    monkeypatch.setattr(cam_module, "_attempt", attempt)
    with pytest.raises(RuntimeError, match="CUDNN_STATUS"):
        grad_cam(tiny_model("basic"), image_for(TINY))


def test_cpu_copy_has_the_same_weights_in_its_own_memory():
    model = tiny_model("bottleneck")
    twin = cam_module._cpu_copy(model)
    assert type(twin) is type(model)
    assert twin is not model
    assert not twin.training
    for (key, a), b in zip(model.state_dict().items(), twin.state_dict().values(), strict=True):
        assert torch.equal(a, b), key
        assert a.data_ptr() != b.data_ptr(), key
    x = image_for(model.spec)
    with torch.no_grad():
        assert torch.equal(twin(x), model(x))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_runs_on_the_models_gpu():
    model = tiny_model("basic").to("cuda")
    x = image_for(TINY)
    result = grad_cam(model, x, target_layer="layer3", target_class=1)
    assert result.device.startswith("cuda")
    assert not result.fell_back_to_cpu
    cpu = grad_cam(cam_module._cpu_copy(model), x, target_layer="layer3", target_class=1)
    np.testing.assert_allclose(result.heatmap, cpu.heatmap, atol=1e-3)
    assert all(p.grad is None for p in model.parameters())
    assert all(p.device.type == "cuda" for p in model.parameters())


# --------------------------------------------------------------------------------------------
# Pictures
# --------------------------------------------------------------------------------------------


def gradient_image(width=40, height=30) -> Image.Image:
    array = np.zeros((height, width, 3), np.uint8)
    array[..., 0] = np.linspace(0, 255, width, dtype=np.uint8)[None, :]
    array[..., 1] = 100
    return Image.fromarray(array)


def test_overlay_blends_by_hand():
    image = gradient_image()
    heat = np.zeros((30, 40), np.float32)
    heat[:, 20:] = 1.0
    out = overlay(image, heat, alpha=0.25, colormap="gray")
    base = np.asarray(image, np.float64)
    colour = np.where(heat[..., None] > 0, 255.0, 0.0)
    np.testing.assert_allclose(np.asarray(out), np.rint(0.75 * base + 0.25 * colour), atol=1)
    assert out.mode == "RGB"
    assert out.size == image.size


def test_overlay_extremes():
    image = gradient_image()
    heat = np.random.default_rng(0).random((30, 40)).astype(np.float32)
    assert np.array_equal(np.asarray(overlay(image, heat, alpha=0.0)), np.asarray(image))
    full = overlay(image, heat, alpha=1.0, colormap="viridis")
    assert np.array_equal(np.asarray(full), np.asarray(heatmap_image(heat, "viridis")))


def test_overlay_resizes_a_smaller_heatmap_bilinearly():
    image = gradient_image(64, 64)
    heat = np.zeros((7, 7), np.float32)
    heat[3, 3] = 1.0
    out = np.asarray(overlay(image, heat, alpha=1.0, colormap="gray"))
    assert out.shape == (64, 64, 3)
    centre, corner = out[32, 32, 0], out[0, 0, 0]
    assert centre > 200
    assert corner == 0
    assert 0 < out[32, 26, 0] < centre  # smooth falloff, not nearest-neighbour blocks


def test_overlay_accepts_any_mode_and_a_grad_cam_heatmap():
    model = tiny_model("basic")
    result = grad_cam(model, image_for(TINY))
    out = overlay(gradient_image(64, 64).convert("L"), result.heatmap)
    assert out.mode == "RGB"
    assert out.size == (64, 64)


def test_heatmap_image_colours_with_matplotlib():
    import matplotlib

    heat = np.array([[0.0, 0.5], [1.0, 0.25]], np.float32)
    picture = heatmap_image(heat, "jet")
    assert picture.size == (2, 2)
    assert picture.mode == "RGB"
    expected = matplotlib.colormaps["jet"](heat, bytes=True)[..., :3]
    assert np.array_equal(np.asarray(picture), expected)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"alpha": 1.5}, "alpha must be a number from 0 to 1"),
        ({"alpha": -0.1}, "alpha must be a number from 0 to 1"),
        ({"alpha": "0.5"}, "alpha must be a number"),
        ({"colormap": "no-such-map"}, "Unknown colormap 'no-such-map'"),
    ],
)
def test_overlay_refuses_bad_options(kwargs, match):
    with pytest.raises(ValueError, match=match):
        overlay(gradient_image(), np.zeros((30, 40), np.float32), **kwargs)


@pytest.mark.parametrize(
    ("heat", "match"),
    [
        (np.zeros((2, 3, 4)), "2-D"),
        (np.full((4, 4), 1.5), r"\[0, 1\]"),
        (np.full((4, 4), np.nan), "NaN"),
    ],
)
def test_overlay_refuses_bad_heatmaps(heat, match):
    with pytest.raises(ValueError, match=match):
        overlay(gradient_image(), heat)
    with pytest.raises(ValueError, match=match):
        heatmap_image(heat)
