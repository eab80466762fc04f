"""The CAM methods: the registry complete and the one place a method is named, every method
equal to pytorch-grad-cam (the reference implementation, run on a private copy of the model) on
two small networks at several layers and classes, by hand on a toy layer, the counterfactual,
the batched per-channel methods, errors, and the shared model left untouched."""

from __future__ import annotations

import copy
import dataclasses
import inspect

import numpy as np
import pytest
import torch
from pytorch_grad_cam import (
    AblationCAM,
    EigenCAM,
    GradCAM,
    GradCAMPlusPlus,
    HiResCAM,
    LayerCAM,
    ScoreCAM,
    XGradCAM,
    base_cam,
)
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

import resnet_viz
from resnet_viz import ResNetSpec
from resnet_viz.analysis.attribution import methods as cam_methods
from resnet_viz.analysis.attribution.cam import CAM_METHODS, grad_cam, grad_cam_strip
from resnet_viz.analysis.attribution.cam_weights import (
    MAX_BATCH_SIZE,
    ablationcam_weights,
    scorecam_weights,
)
from resnet_viz.analysis.attribution.methods import (
    GRADIENT_METHODS,
    METHODS,
    CamMethod,
    Kind,
    Paper,
    estimate_memory_bytes,
)
from resnet_viz.core.summary import summarize
from tests.model_support import sign_split_model
from tests.unit.analysis.attribution.test_cam import (
    assert_unchanged,
    image_for,
    snapshot,
    tiny_model,
)

# One intra-op thread (see tests/conftest.py).
pytestmark = pytest.mark.usefixtures("one_intra_op_thread")

LIBRARY = {
    "gradcam": GradCAM,
    "gradcam++": GradCAMPlusPlus,
    "xgradcam": XGradCAM,
    "hirescam": HiResCAM,
    "layercam": LayerCAM,
    "scorecam": ScoreCAM,
    "ablationcam": AblationCAM,
    "eigencam": EigenCAM,
}
#: Two small networks: a CIFAR-style basic-block ResNet at 32 px (option A shortcuts, widths
#: 4/8/16) and a bottleneck ResNet at 64 px (widths 2/4/4/8, so 8 to 32 channels per layer).
MODELS = {"cifar": ("layer2", "layer3", "layer2.0"), "bottleneck": ("layer3", "layer4", "layer2.1")}
CLASSES = (1, 4)


def library_map(method: str, model, x, layer: str, target: int, **kwargs) -> np.ndarray:
    """pytorch-grad-cam's map at the layer's own resolution after its ReLU (before its min-max
    and cv2.resize), computed on a deep copy: the library hooks the model and calls backward.
    The map is read where BaseCAM.compute_cam_per_layer hands it to scale_cam_image."""
    recorded = []
    original = base_cam.scale_cam_image

    def record(cam, target_size=None):
        if target_size is not None:
            recorded.append(np.array(cam, copy=True))
        return original(cam, target_size)

    peer = copy.deepcopy(model)
    base_cam.scale_cam_image = record
    try:
        with LIBRARY[method](model=peer, target_layers=[peer.get_submodule(layer)]) as cam:
            for name, value in kwargs.items():
                setattr(cam, name, value)
            cam(input_tensor=x.clone(), targets=[ClassifierOutputTarget(target)])
    finally:
        base_cam.scale_cam_image = original
    (maps,) = recorded
    return maps[0]


def library_normalised(raw: np.ndarray) -> np.ndarray:
    """The library's per-image min-max (utils/image.py scale_cam_image), at layer resolution."""
    shifted = raw - raw.min()
    return shifted / (1e-7 + shifted.max())


def test_the_methods_are_exported_in_order():
    assert resnet_viz.CAM_METHODS == CAM_METHODS == cam_methods.CAM_METHODS
    assert CAM_METHODS == (
        "gradcam", "gradcam++", "xgradcam", "hirescam", "layercam", "scorecam", "ablationcam",
        "eigencam",
    )  # fmt: skip
    assert set(LIBRARY) == set(CAM_METHODS)


# --------------------------------------------------------------------------------------------
# The registry
# --------------------------------------------------------------------------------------------


def test_every_entry_is_complete_and_the_tables_are_derived_from_it():
    assert list(METHODS) == [entry.key for entry in METHODS.values()]
    labels = [entry.label for entry in METHODS.values()]
    assert len(set(labels)) == len(labels)
    by_kind = {kind: tuple(k for k, m in METHODS.items() if m.kind is kind) for kind in Kind}
    assert tuple(METHODS) == cam_methods.CAM_METHODS
    assert by_kind[Kind.GRADIENT] == GRADIENT_METHODS
    assert by_kind[Kind.PER_CHANNEL] == cam_methods.PER_CHANNEL_METHODS
    assert all(by_kind.values()), "every kind has a method"
    assert {k: m.label for k, m in METHODS.items()} == cam_methods.METHOD_LABELS
    assert list(cam_methods.METHOD_LABELS) == list(CAM_METHODS)
    for key, entry in METHODS.items():
        assert all((entry.label, entry.formula, entry.needs)), key
        assert all(dataclasses.astuple(entry.paper)), key
        assert entry.paper.year >= 2016, key  # CAM itself (Zhou et al.) is from 2016
        batched = entry.kind is Kind.PER_CHANNEL
        assert (entry.default_batch_size is not None) == batched, key
        if batched:
            assert 1 <= entry.default_batch_size <= MAX_BATCH_SIZE
            assert cam_methods.DEFAULT_BATCH_SIZE[key] == entry.default_batch_size
    assert set(cam_methods.DEFAULT_BATCH_SIZE) == set(by_kind[Kind.PER_CHANNEL])


def test_the_docstring_table_lists_every_entry():
    doc = cam_methods.__doc__
    assert "[the table" not in doc
    for entry in METHODS.values():
        row = next(line for line in doc.splitlines() if line.startswith(f'``"{entry.key}"``'))
        assert row.split() == [f'``"{entry.key}"``', *entry.formula.split(), *entry.needs.split()]


def test_the_default_batches_are_the_librarys():
    """The library's ScoreCAM and AblationCAM, on a layer with more channels than either batch,
    run the whole network on batches of exactly the entries' defaults."""
    assert inspect.signature(AblationCAM).parameters["batch_size"].default == 32
    model = tiny_model("bottleneck")
    x = image_for(model.spec)
    peer = copy.deepcopy(model)
    assert peer.layer4[-1].conv3.out_channels == 32
    for method in cam_methods.PER_CHANNEL_METHODS:
        images = []
        hook = peer.conv1.register_forward_pre_hook(
            lambda m, args, seen=images: seen.append(len(args[0]))
        )
        try:
            with LIBRARY[method](model=peer, target_layers=[peer.layer4]) as cam:
                cam(input_tensor=x.clone(), targets=[ClassifierOutputTarget(1)])
        finally:
            hook.remove()
        assert max(images) == METHODS[method].default_batch_size


def toy_entry(key: str, kind: Kind, weigh) -> CamMethod:
    return CamMethod(
        key=key, label=key.title(), kind=kind, weigh=weigh, formula="toy", needs="nothing",
        paper=Paper("Nobody", 2024, "A toy", "nowhere"), memory=lambda sizes, batch: 0,
    )  # fmt: skip


def test_a_new_method_is_one_entry(monkeypatch):
    """Registered in the registry alone, a method is accepted, computed on the path its kind
    asks for (the gradient for a gradient method, with its counterfactual) and estimated."""
    monkeypatch.setitem(METHODS, "channelsum", toy_entry(
        "channelsum", Kind.ACTIVATION_ONLY, lambda x: x.activation.sum(1, keepdim=True)
    ))  # fmt: skip
    monkeypatch.setitem(METHODS, "gradsum", toy_entry(
        "gradsum", Kind.GRADIENT, lambda x: x.gradient.sum(1, keepdim=True)
    ))  # fmt: skip
    x, g0, g1 = hand_gradients()
    # layer1 = [relu(x), relu(-x)]: the channels sum to |x|.
    result = grad_cam(toy_model(), TOY_IMAGE, target_layer="layer1", target_class=0,
                      method="channelsum")  # fmt: skip
    assert result.method == "channelsum"
    np.testing.assert_allclose(result.raw, np.abs(x), atol=1e-7)
    gradient = grad_cam(toy_model(), TOY_IMAGE, target_layer="layer1", target_class=0,
                        method="gradsum")  # fmt: skip
    np.testing.assert_allclose(gradient.raw, np.maximum(g0 + g1, 0), atol=1e-7)
    against = grad_cam(toy_model(), TOY_IMAGE, target_layer="layer1", target_class=0,
                       method="gradsum", counterfactual=True)  # fmt: skip
    np.testing.assert_allclose(against.raw, np.maximum(-(g0 + g1), 0), atol=1e-7)
    assert against.raw.max() > 0
    with pytest.raises(ValueError, match="Channelsum uses no gradient"):
        grad_cam(toy_model(), TOY_IMAGE, method="channelsum", counterfactual=True)
    spec, size = toy_model().spec, (1, 4, 4)
    base = estimate_memory_bytes(spec, size, "channelsum", "layer1")
    assert base == 3 * max(r.activation_bytes for r in summarize(spec, size).layers)


# --------------------------------------------------------------------------------------------
# Against pytorch-grad-cam
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(MODELS))
@pytest.mark.parametrize("method", CAM_METHODS)
def test_every_method_equals_pytorch_grad_cam(method, kind):
    model = tiny_model(kind)
    x = image_for(model.spec)
    before = snapshot(model)
    varied = 0
    for layer in MODELS[kind]:
        for target in CLASSES:
            result = grad_cam(model, x, target_layer=layer, target_class=target, method=method)
            assert (result.method, result.layer, result.target_class) == (method, layer, target)
            expected = library_map(method, model, x, layer, target)
            assert result.raw.shape == expected.shape
            scale = max(float(expected.max()), 1e-12)
            np.testing.assert_allclose(result.raw, expected, rtol=1e-4, atol=1e-5 * scale)
            np.testing.assert_allclose(
                library_normalised(result.raw), library_normalised(expected), atol=1e-4
            )
            varied += bool(expected.max() > expected.min())
    assert varied >= 4, "mostly blank maps would make this comparison vacuous"
    assert_unchanged(model, before)


def test_ablation_with_a_negative_minimum_equals_the_library_one_channel_per_batch():
    """Pre-activation blocks end in an addition, so activations go below 0 and the ablated
    channel is set to min - 1e7 (pytorch-grad-cam's rule; its batches shift that value per
    position in the batch, which batch_size=1 avoids)."""
    model = tiny_model("preact")
    x = image_for(model.spec)
    for layer in ("layer2", "layer3.0"):
        result = grad_cam(model, x, target_layer=layer, target_class=3, method="ablationcam")
        expected = library_map("ablationcam", model, x, layer, 3, batch_size=1)
        scale = max(float(expected.max()), 1e-12)
        assert scale > 1e-6
        np.testing.assert_allclose(result.raw, expected, rtol=1e-4, atol=1e-5 * scale)


def test_eigen_cam_is_the_same_for_every_class():
    model = tiny_model("cifar")
    x = image_for(model.spec)
    maps = [grad_cam(model, x, method="eigencam", target_class=c).raw for c in range(3)]
    assert maps[0].max() > 0
    for other in maps[1:]:
        np.testing.assert_array_equal(other, maps[0])


# --------------------------------------------------------------------------------------------
# By hand
# --------------------------------------------------------------------------------------------

TOY = ResNetSpec(
    block="basic", layers=(1, 1), widths=(2, 2), stem="cifar", shortcut="A", batch_norm=False,
    in_channels=1, num_classes=2,
)  # fmt: skip
TOY_IMAGE = torch.tensor(
    [[1.0, -2.0, 3.0, 0.5], [4.0, 1.0, -1.0, 2.0], [-3.0, 2.0, 2.0, -1.0], [0.5, 1.0, -4.0, 3.0]]
).reshape(1, 1, 4, 4)


def toy_model():
    """Every weight 0 except: the stem's 3x3 conv is +1 / -1 at the centre, so the stem gives
    A = [relu(x), relu(-x)]; both residual branches are zero, so layer1 = A and layer2 =
    relu(A[:, :, ::2, ::2]) (option A's shortcut keeps the even positions); fc: class 0 =
    ch0 - ch1, class 1 = -ch0 - ch1, after averaging the 2 x 2 positions of layer2.

    So at layer1 the gradient of y0 is 1/4 on channel 0 at the even positions where x > 0, and
    -1/4 on channel 1 at the even positions where x < 0 (where the layer2 ReLU lets it through),
    and 0 everywhere else: a gradient that varies with position, as Grad-CAM++ and LayerCAM
    need, and one that is exactly 0 at most positions, which Grad-CAM++ treats specially."""
    return sign_split_model(TOY)


def test_toy_activation_and_gradient_are_what_the_docstring_says():
    model = toy_model()
    x = TOY_IMAGE[0, 0]
    with torch.no_grad():
        logits = model(TOY_IMAGE)[0]
    # Even positions (0,0), (0,2), (2,0), (2,2) hold 1, 3, -3, 2.
    assert logits[0].item() == pytest.approx((1 + 3 - 3 + 2) / 4)
    assert logits[1].item() == pytest.approx(-(1 + 3 + 3 + 2) / 4)
    assert x[::2, ::2].tolist() == [[1.0, 3.0], [-3.0, 2.0]]


def hand_gradients():
    """d y0 / d layer1, written down (see toy_model)."""
    x = TOY_IMAGE[0, 0].numpy()
    even = np.zeros((4, 4), bool)
    even[::2, ::2] = True
    g0 = np.where(even & (x > 0), 0.25, 0.0)
    g1 = np.where(even & (x < 0), -0.25, 0.0)
    return x, g0, g1


def test_layer_cam_by_hand():
    x, g0, g1 = hand_gradients()
    # ReLU(g0) relu(x) + ReLU(g1) relu(-x): only channel 0's three positive even positions.
    expected = np.maximum(g0, 0) * np.maximum(x, 0) + np.maximum(g1, 0) * np.maximum(-x, 0)
    assert expected.tolist() == [[0.25, 0, 0.75, 0], [0, 0, 0, 0], [0, 0, 0.5, 0], [0, 0, 0, 0]]
    result = grad_cam(toy_model(), TOY_IMAGE, target_layer="layer1", target_class=0,
                      method="layercam")  # fmt: skip
    np.testing.assert_allclose(result.raw, expected, atol=1e-7)
    # Grad-CAM averages the same gradient over all 16 positions: alpha = (3/64, -1/64).
    gradcam = grad_cam(toy_model(), TOY_IMAGE, target_layer="layer1", target_class=0)
    by_hand = np.maximum(3 / 64 * np.maximum(x, 0) - 1 / 64 * np.maximum(-x, 0), 0)
    np.testing.assert_allclose(gradcam.raw, by_hand, atol=1e-7)


def test_grad_cam_plus_plus_by_hand():
    x, _, _ = hand_gradients()
    # Channel 0: g = 1/4 at 3 positions, 0 elsewhere; sum of relu(x) = 20. Eq. 19:
    # a = g^2 / (2 g^2 + 20 g^3 + 1e-6) where g != 0; w0 = sum a relu(g) = 3 * a / 4.
    # Channel 1: its only non-zero gradient is negative, so ReLU(g) = 0 and w1 = 0.
    assert np.maximum(x, 0).sum() == 20
    a = (1 / 16) / (2 / 16 + 20 / 64 + 1e-6)
    w0 = 3 * a / 4
    result = grad_cam(toy_model(), TOY_IMAGE, target_layer="layer1", target_class=0,
                      method="gradcam++")  # fmt: skip
    np.testing.assert_allclose(result.raw, w0 * np.maximum(x, 0), rtol=1e-6)
    assert w0 == pytest.approx(3 / 28, rel=1e-5)


def test_counterfactual_by_hand_and_a_blank_map():
    x, _, _ = hand_gradients()
    model = toy_model()
    # Class 1 = -(ch0 + ch1): every gradient is <= 0, so LayerCAM and Grad-CAM++ are blank.
    for method in ("layercam", "gradcam++"):
        plain = grad_cam(model, TOY_IMAGE, target_layer="layer1", target_class=1, method=method)
        assert plain.blank
        assert not plain.raw.any()
        assert not plain.heatmap.any()
    # Negated, the gradient is +1/4 at the even positions where |x| > 0 on the channel that
    # carries them: channel 0 at (0,0), (0,2), (2,2); channel 1 at (2,0).
    layer = grad_cam(model, TOY_IMAGE, target_layer="layer1", target_class=1,
                     method="layercam", counterfactual=True)  # fmt: skip
    expected = np.zeros((4, 4))
    expected[0, 0], expected[0, 2], expected[2, 2], expected[2, 0] = 0.25, 0.75, 0.5, 0.75
    np.testing.assert_allclose(layer.raw, expected, atol=1e-7)
    assert layer.counterfactual
    assert not layer.blank
    plus = grad_cam(model, TOY_IMAGE, target_layer="layer1", target_class=1,
                    method="gradcam++", counterfactual=True)  # fmt: skip
    # relu(-x) sums to 11: a1 = (1/16) / (2/16 + 11/64 + 1e-6), one position, w1 = a1 / 4.
    assert np.maximum(-x, 0).sum() == 11
    a0 = (1 / 16) / (2 / 16 + 20 / 64 + 1e-6)
    a1 = (1 / 16) / (2 / 16 + 11 / 64 + 1e-6)
    by_hand = 3 * a0 / 4 * np.maximum(x, 0) + a1 / 4 * np.maximum(-x, 0)
    np.testing.assert_allclose(plus.raw, by_hand, rtol=1e-6)


# --------------------------------------------------------------------------------------------
# Counterfactual
# --------------------------------------------------------------------------------------------


def negated_class(model, target: int):
    """A copy whose logit ``target`` is the negation of the original's."""
    twin = copy.deepcopy(model)
    with torch.no_grad():
        twin.fc.weight[target].neg_()
        twin.fc.bias[target].neg_()
    return twin


@pytest.mark.parametrize("method", GRADIENT_METHODS)
def test_counterfactual_is_the_map_of_the_negated_score(method):
    model = tiny_model("bottleneck")
    x = image_for(model.spec)
    twin = negated_class(model, 4)
    for layer in ("layer2", "layer4"):
        have = grad_cam(model, x, target_layer=layer, target_class=4, method=method,
                        counterfactual=True)  # fmt: skip
        want = grad_cam(twin, x, target_layer=layer, target_class=4, method=method)
        np.testing.assert_allclose(have.raw, want.raw, rtol=1e-5, atol=1e-7)
        assert have.counterfactual
        assert not want.counterfactual


@pytest.mark.parametrize("method", ["scorecam", "ablationcam", "eigencam"])
def test_counterfactual_needs_a_gradient(method):
    model = tiny_model("cifar")
    with pytest.raises(ValueError, match="uses no gradient"):
        grad_cam(model, image_for(model.spec), method=method, counterfactual=True)


def test_an_unknown_method_names_the_valid_ones():
    model = tiny_model("cifar")
    with pytest.raises(ValueError, match=r"gradcam, gradcam\+\+, xgradcam.*eigencam"):
        grad_cam(model, image_for(model.spec), method="guided")
    with pytest.raises(ValueError, match="batch_size"):
        grad_cam(model, image_for(model.spec), method="scorecam", batch_size=0)


# --------------------------------------------------------------------------------------------
# Score-CAM and Ablation-CAM: batches, skips, progress
# --------------------------------------------------------------------------------------------


class CountingModel:
    """A fake network: logits = (sum of pixels, sum of squares), counting images per call."""

    def __init__(self):
        self.batches: list[int] = []

    def __call__(self, x):
        self.batches.append(len(x))
        flat = x.flatten(1)
        return torch.stack([flat.sum(1), (flat**2).sum(1)], dim=1)


def brute_force_scorecam(model, image, activation, target):
    """pytorch-grad-cam's Score-CAM weights, every channel scored on its own."""
    up = torch.nn.UpsamplingBilinear2d(size=image.shape[-2:])(activation)[0]
    scores = []
    for channel in up:
        mask = (channel - channel.min()) / (channel.max() - channel.min() + 1e-8)
        scores.append(model(image * mask)[0, target])
    return torch.softmax(torch.stack(scores), 0)


def test_score_cam_scores_all_constant_channels_with_one_image():
    generator = torch.Generator().manual_seed(0)
    activation = torch.rand(1, 10, 3, 3, generator=generator)
    activation[0, [1, 4, 5, 8]] = 0.0  # dead channels: exactly constant when upsampled
    image = torch.randn(1, 3, 12, 12, generator=generator)
    model, seen = CountingModel(), []
    weights = scorecam_weights(model, image, activation, 1, batch_size=4,
                               progress=lambda d, t: seen.append((d, t)))  # fmt: skip
    assert model.batches == [1, 4, 2]  # one image for the 4 dead channels, then 6 in batches
    assert seen == [(4, 10), (8, 10), (10, 10)]
    expected = brute_force_scorecam(CountingModel(), image, activation, 1)
    torch.testing.assert_close(weights, expected, rtol=1e-5, atol=1e-7)


def test_ablation_cam_skips_channels_that_are_already_ablated():
    generator = torch.Generator().manual_seed(1)
    activation = torch.relu(torch.randn(1, 7, 2, 2, generator=generator)) + 0.1
    activation[0, 0, 0, 0] = 0.0  # the minimum is 0, so channels are zeroed
    activation[0, [2, 3]] = 0.0  # already zero: removing them changes nothing
    tail, seen = CountingModel(), []
    score = float(CountingModel()(activation)[0, 1])
    weights = ablationcam_weights(tail, activation, score, 1, batch_size=3,
                                  progress=lambda d, t: seen.append((d, t)))  # fmt: skip
    assert tail.batches == [3, 2]
    assert seen == [(5, 7), (7, 7)]
    by_hand = []
    for k in range(7):
        ablated = activation.clone()
        ablated[0, k] = 0.0
        by_hand.append((score - float((ablated**2).sum())) / score)
    torch.testing.assert_close(weights, torch.tensor(by_hand), rtol=1e-5, atol=1e-7)
    assert weights[2] == 0
    assert weights[3] == 0


def test_ablation_cam_runs_only_the_part_after_the_layer():
    model = tiny_model("bottleneck")
    x = image_for(model.spec)
    private = copy.deepcopy(model)  # a counting hook goes on a private copy only
    stem_images, fc_rows = [], []
    private.conv1.register_forward_pre_hook(lambda m, args: stem_images.append(len(args[0])))
    private.fc.register_forward_pre_hook(lambda m, args: fc_rows.append(len(args[0])))
    grad_cam(private, x, target_layer="layer3", method="ablationcam", batch_size=5)
    assert stem_images == [1]  # the first forward pass only
    channels = private.layer3[-1].conv3.out_channels
    assert sum(fc_rows) <= 1 + channels
    assert max(fc_rows) <= 5


def test_score_cam_batches_are_bounded_and_report_progress():
    model = tiny_model("cifar")
    x = image_for(model.spec)
    private = copy.deepcopy(model)
    images, seen = [], []
    private.conv1.register_forward_pre_hook(lambda m, args: images.append(len(args[0])))
    result = grad_cam(private, x, target_layer="layer3", method="scorecam", batch_size=3,
                      progress=lambda d, t: seen.append((d, t)))  # fmt: skip
    assert images[0] == 1
    assert max(images) <= 3
    assert seen[-1] == (16, 16)  # layer3 has 16 channels
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    np.testing.assert_allclose(
        result.raw, grad_cam(model, x, target_layer="layer3", method="scorecam").raw, rtol=1e-5
    )


# --------------------------------------------------------------------------------------------
# The rest of the contract
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["layercam", "hirescam", "eigencam", "ablationcam"])
def test_strip_equals_separate_calls_for_other_methods(method):
    model = tiny_model("cifar")
    x = image_for(model.spec)
    strip = grad_cam_strip(model, x, ["layer3", "layer1", "layer2.1"], 2, method=method)
    for result in strip:
        alone = grad_cam(model, x, target_layer=result.layer, target_class=2, method=method)
        assert result.method == method
        np.testing.assert_allclose(result.raw, alone.raw, rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(result.heatmap, alone.heatmap, atol=1e-5)


@pytest.mark.parametrize("method", CAM_METHODS)
def test_the_model_is_left_as_found_even_under_inference_mode(method):
    model = tiny_model("bottleneck")
    x = image_for(model.spec)
    before = snapshot(model)
    expected = grad_cam(model, x, target_layer="layer3", method=method)
    with torch.inference_mode():
        result = grad_cam(model, x.clone(), target_layer="layer3", method=method)
    np.testing.assert_array_equal(result.heatmap, expected.heatmap)
    assert result.heatmap.shape == (64, 64)
    assert result.top_k == expected.top_k
    assert_unchanged(model, before)


def test_memory_estimates_by_hand():
    spec = dataclasses.replace(tiny_model("cifar").spec)
    size = (3, 32, 32)
    layers = summarize(spec, size).layers
    largest = max(r.activation_bytes for r in layers)
    layer3 = 16 * 8 * 8 * 4  # layer3's output: 16 channels of 8 x 8, float32
    assert estimate_memory_bytes(spec, size, "eigencam", "layer3") == 3 * largest + 3 * layer3
    one = estimate_memory_bytes(spec, size, "scorecam", "layer3", batch_size=1)
    two = estimate_memory_bytes(spec, size, "scorecam", "layer3", batch_size=2)
    # per masked image: the image twice (input and product), its mask, its forward pass
    assert two - one == 2 * 3 * 32 * 32 * 4 + 32 * 32 * 4 + 3 * largest
    tail = layers[-2:]  # layer3 is the last stage: only pooling and fc follow
    assert estimate_memory_bytes(spec, size, "gradcam", "layer3") == 3 * largest + 2 * sum(
        r.activation_bytes for r in tail
    )
    assert estimate_memory_bytes(spec, size, "ablationcam", "layer3", batch_size=4) == (
        3 * largest + 4 * (layer3 + 3 * max(r.activation_bytes for r in tail))
    )
    with pytest.raises(ValueError, match="Unknown CAM method"):
        estimate_memory_bytes(spec, size, "nope", "layer3")
