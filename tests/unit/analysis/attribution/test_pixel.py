"""Pixel attributions (resnet_viz.analysis.attribution.pixel): hand answers on tiny models,
agreement with captum's own calls and with pytorch-grad-cam's Guided Backprop, the shared model
left as found, and every bad option refused with a SpecError before any work."""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pytest
import torch
from captum.attr import (
    DeepLift,
    GuidedBackprop,
    GuidedGradCam,
    InputXGradient,
    IntegratedGradients,
    NoiseTunnel,
    Occlusion,
    Saliency,
)
from pytorch_grad_cam import GuidedBackpropReLUModel
from torch import nn

from resnet_viz.analysis.attribution import pixel
from resnet_viz.analysis.attribution.pixel import (
    ATTRIBUTION_METHODS,
    METHODS,
    attribute,
    make_baseline,
)
from resnet_viz.analysis.copies import hook_count, same_state, snapshot
from resnet_viz.core.build import build_model
from resnet_viz.core.spec import ResNetSpec, SpecError
from resnet_viz.runtime.memory import BudgetError

SPEC = ResNetSpec(layers=(1, 1, 1, 1), widths=(4, 8, 8, 16), num_classes=5)
SIDE = 32

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # captum's hook notices


@pytest.fixture(scope="module")
def resnet():
    torch.manual_seed(0)
    return build_model(SPEC).eval()


@pytest.fixture(scope="module")
def image():
    return torch.randn(1, 3, SIDE, SIDE, generator=torch.Generator().manual_seed(1))


def linear_model(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(3 * 6 * 6, 4)).eval()


# --------------------------------------------------------------------------------------------
# Hand answers
# --------------------------------------------------------------------------------------------


def test_saliency_of_a_linear_model_is_its_weight():
    model = linear_model()
    x = torch.randn(1, 3, 6, 6)
    result = attribute(model, x, "saliency", target=2)
    weight = model[1].weight[2].detach().view(3, 6, 6)
    np.testing.assert_allclose(result.raw, weight.numpy(), rtol=1e-6)
    expected = weight.abs().sum(0)
    expected = (expected - expected.min()) / (expected.max() - expected.min())
    np.testing.assert_allclose(result.heatmap, expected.numpy(), atol=1e-6)
    assert result.target_class == 2
    assert result.delta is None


@pytest.mark.parametrize("baseline", ["black", "blurred", "noise", "mean"])
def test_integrated_gradients_of_a_linear_model_is_exact(baseline):
    model = linear_model()
    x = torch.randn(1, 3, 6, 6)
    result = attribute(model, x, "integratedgradients", target=1, baseline=baseline, steps=7)
    b = make_baseline(x, baseline)
    weight = model[1].weight[1].detach().view(1, 3, 6, 6)
    np.testing.assert_allclose(result.raw, ((x - b) * weight)[0].numpy(), atol=1e-6)
    assert abs(result.delta) < 1e-5


def test_baselines_in_normalised_space():
    x = torch.randn(1, 3, 8, 8)
    mean, std = (0.5, 0.4, 0.3), (0.2, 0.25, 0.5)
    black = make_baseline(x, "black", mean=mean, std=std)
    np.testing.assert_allclose(black[0, :, 0, 0], [-2.5, -1.6, -0.6], rtol=1e-6)
    assert torch.equal(make_baseline(x, "mean"), torch.zeros_like(x))
    noise = make_baseline(x, "noise", mean=mean, std=std) * torch.tensor(std).view(1, 3, 1, 1)
    pixels = noise + torch.tensor(mean).view(1, 3, 1, 1)
    assert float(pixels.min()) >= 0
    assert float(pixels.max()) <= 1
    flat = torch.full_like(x, 0.7)
    torch.testing.assert_close(make_baseline(flat, "blurred"), flat)  # a blur keeps a flat image


@pytest.mark.slow
def test_integrated_gradients_is_complete_on_a_resnet():
    """Sundararajan et al. 2017, Sec. 3 (completeness): the attributions sum to f(x) - f(b);
    with 200 steps the gap is under 1 % of it on a random-weight ResNet-18."""
    torch.manual_seed(0)
    model = build_model(ResNetSpec()).eval()
    x = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(2))
    result = attribute(model, x, "integratedgradients", target=3, steps=200, baseline="black")
    with torch.no_grad():
        gap = model(x)[0, 3] - model(make_baseline(x, "black"))[0, 3]
    assert abs(result.delta) < 0.01 * abs(float(gap))
    assert abs(result.raw.sum() - float(gap)) < 0.01 * abs(float(gap))


class TwoLayer(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(3, 4)
        self.relu = nn.ReLU()
        self.fc2 = nn.Linear(4, 2)
        with torch.no_grad():
            self.fc1.weight.copy_(torch.tensor([[1.0, -1, 0], [0, 2, 1], [-1, 0, 1], [1, 1, 1]]))
            self.fc1.bias.copy_(torch.tensor([0.0, -1, 0.5, -10]))
            self.fc2.weight.copy_(torch.tensor([[1.0, -2, 3, 1], [0, 1, 1, 1]]))
            self.fc2.bias.zero_()

    def forward(self, x):
        return self.fc2(self.relu(self.fc1(x.flatten(1))))


def test_guided_backprop_of_a_two_layer_net_by_hand():
    """x = (1, 2, 3): pre-activations (-1, 6, 2.5, -4), so units 2 and 3 are open. For class 0
    the gradient reaching them is fc2's row (-2, 3); guided backprop keeps only its positive
    part (0, 3), and the input gradient is 3 x fc1's row 3 = (-3, 0, 3)."""
    model = TwoLayer().eval()
    x = torch.tensor([1.0, 2, 3]).view(1, 3, 1, 1)
    result = attribute(model, x, "guidedbackprop", target=0)
    np.testing.assert_allclose(result.raw[:, 0, 0], [-3.0, 0.0, 3.0], atol=1e-6)
    plain = attribute(model, x, "saliency", target=0)  # plain gradient: -2 x row 2 + 3 x row 3
    np.testing.assert_allclose(plain.raw[:, 0, 0], [-3.0, -4.0, 1.0], atol=1e-6)


def test_occlusion_lights_exactly_the_windows_over_the_pixel_it_reads():
    class OnePixel(nn.Module):
        def forward(self, x):
            return torch.stack([x[:, 1, 5, 7] * 2.0, -x[:, 0, 0, 0]], dim=1)

    x = torch.rand(1, 3, 12, 12) + 0.5
    window, stride = 4, 2
    result = attribute(OnePixel().eval(), x, "occlusion", target=0, window=window, stride=stride)
    covered = np.zeros((12, 12), dtype=bool)
    for top in range(0, 12 - window + 1, stride):
        for left in range(0, 12 - window + 1, stride):
            if top <= 5 < top + window and left <= 7 < left + window:
                covered[top : top + window, left : left + window] = True
    assert np.array_equal(result.heatmap > 0, covered)
    assert np.array_equal(result.raw[0] > 0, covered)  # the window spans every channel
    # every window over the read pixel drops the score by 2 x[1, 5, 7], and it has no other
    np.testing.assert_allclose(result.raw[:, 5, 7], 2 * float(x[0, 1, 5, 7]), rtol=1e-5)


# --------------------------------------------------------------------------------------------
# The wrapper adds nothing: captum's own call on the same model, and pytorch-grad-cam
# --------------------------------------------------------------------------------------------


def _captum(model, x, method, target, options):
    seeded = torch.random.fork_rng()
    with seeded:
        torch.manual_seed(options.get("seed", 0))
        xs = x.clone().requires_grad_()
        if method == "saliency":
            return Saliency(model).attribute(xs, target=target, abs=False), None
        if method == "inputxgradient":
            return InputXGradient(model).attribute(xs, target=target), None
        if method in ("smoothgrad", "smoothgrad2", "vargrad"):
            nt_type = {"smoothgrad2": "smoothgrad_sq"}.get(method, method)
            return NoiseTunnel(Saliency(model)).attribute(
                xs,
                nt_type=nt_type,
                nt_samples=options["samples"],
                nt_samples_batch_size=options["batch_size"],
                stdevs=float(options["noise_level"] * (x.max() - x.min())),
                target=target,
                abs=False,
            ), None
        if method == "integratedgradients":
            return IntegratedGradients(model).attribute(
                xs,
                baselines=make_baseline(x, options["baseline"]),
                target=target,
                n_steps=options["steps"],
                return_convergence_delta=True,
            )
        if method == "occlusion":
            w, s = options["window"], options["stride"]
            return Occlusion(model).attribute(
                xs, sliding_window_shapes=(3, w, w), strides=(3, s, s), baselines=0, target=target
            ), None
        twin = copy.deepcopy(model)
        if method == "guidedbackprop":
            return GuidedBackprop(twin).attribute(xs, target=target), None
        if method == "guidedgradcam":
            cam = GuidedGradCam(twin, getattr(twin, options["layer"]))
            return cam.attribute(xs, target=target, interpolate_mode="bilinear"), None
        if method == "deeplift":
            return DeepLift(twin).attribute(
                xs,
                baselines=make_baseline(x, options["baseline"]),
                target=target,
                return_convergence_delta=True,
            )
    raise AssertionError(method)


OPTIONS = {
    "smoothgrad": {"samples": 6, "batch_size": 4, "noise_level": 0.2, "seed": 3},
    "smoothgrad2": {"samples": 5, "batch_size": 5, "noise_level": 0.1, "seed": 0},
    "vargrad": {"samples": 4, "batch_size": 3, "noise_level": 0.3, "seed": 7},
    "integratedgradients": {"steps": 20, "batch_size": 6, "baseline": "blurred"},
    "occlusion": {"window": 8, "stride": 4, "batch_size": 5},
    "deeplift": {"baseline": "black"},
    "guidedgradcam": {"layer": "layer3"},  # the tiny net's layer4 map of class 2 is blank
}


#: The methods that run captum ("lrp" runs zennit: test_pixel_lrp.py checks it against lrp()).
CAPTUM_METHODS = tuple(m for m in ATTRIBUTION_METHODS if m != "lrp")


@pytest.mark.parametrize("method", CAPTUM_METHODS)
def test_each_method_equals_captums_own_call(resnet, image, method):
    options = OPTIONS.get(method, {})
    result = attribute(resnet, image, method, target=2, **options)
    expected, delta = _captum(resnet, image, method, 2, METHODS[method].defaults() | options)
    np.testing.assert_allclose(result.raw, expected.detach()[0].numpy(), rtol=1e-4, atol=1e-6)
    if delta is None:
        assert result.delta is None
    else:
        assert result.delta == pytest.approx(float(delta[0]), rel=1e-4, abs=1e-6)
    assert result.heatmap.shape == (SIDE, SIDE)
    assert result.heatmap.min() >= 0
    assert result.heatmap.max() == pytest.approx(1)
    assert not result.raw.flags.writeable
    assert not result.heatmap.flags.writeable


def test_noise_tunnels_are_reproducible_and_leave_the_callers_random_stream(resnet, image):
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    first = attribute(resnet, image, "smoothgrad", target=1, samples=3)
    assert torch.equal(torch.rand(1), before)
    second = attribute(resnet, image, "smoothgrad", target=1, samples=3)
    assert np.array_equal(first.raw, second.raw)
    other = attribute(resnet, image, "smoothgrad", target=1, samples=3, seed=1)
    assert not np.array_equal(first.raw, other.raw)


def test_guided_backprop_equals_pytorch_grad_cam(resnet, image):
    ours = attribute(resnet, image, "guidedbackprop", target=4)
    library = GuidedBackpropReLUModel(copy.deepcopy(resnet), device="cpu")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = library(image.clone(), target_category=4)  # H x W x C
    np.testing.assert_allclose(ours.raw, theirs.transpose(2, 0, 1), rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("method", ATTRIBUTION_METHODS)
def test_top1_is_explained_when_no_class_is_given(resnet, image, method):
    with torch.no_grad():
        top = int(resnet(image)[0].argmax())
    options = OPTIONS.get(method, {})
    result = attribute(resnet, image, method, **options)
    assert result.target_class == top
    if method == "lrp":  # zennit's, not captum's: the same call with the class given
        expected = attribute(resnet, image, method, top, **options).raw
    else:
        expected, _ = _captum(resnet, image, method, top, METHODS[method].defaults() | options)
        expected = expected.detach()[0].numpy()
    np.testing.assert_allclose(result.raw, expected, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("method", ["saliency", "inputxgradient"])
def test_the_top1_class_costs_no_forward_pass_of_its_own(resnet, image, method):
    calls = []
    handle = resnet.register_forward_hook(lambda *_: calls.append(1))
    try:
        attribute(resnet, image, method)
        assert len(calls) == 1  # the method's own pass; the class was read there
        attribute(resnet, image, method, target=3)
        assert len(calls) == 2
    finally:
        handle.remove()


def test_the_private_copy_shares_the_weights_and_nothing_else(resnet):
    work = pixel.safe_relu_copy(resnet)
    assert all(a is b for a, b in zip(work.parameters(), resnet.parameters(), strict=True))
    assert all(a is b for a, b in zip(work.buffers(), resnet.buffers(), strict=True))
    assert not any(a is b for a, b in zip(work.modules(), resnet.modules(), strict=True))
    relus = [m for m in work.modules() if isinstance(m, nn.ReLU)]
    assert relus
    assert not any(m.inplace for m in relus)
    assert len({id(m) for m in relus}) == len(relus)


# --------------------------------------------------------------------------------------------
# The shared model is left exactly as found
# --------------------------------------------------------------------------------------------


class TorchvisionLike(nn.Module):
    """A block written the torchvision way: one in-place ReLU module called twice."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 3, padding=1)
        self.conv2 = nn.Conv2d(4, 3, 3, padding=1)
        self.relu = nn.ReLU(inplace=True)
        self.fc = nn.Linear(3, 5)

    def forward(self, x):
        out = self.relu(self.conv1(x))
        out = self.conv2(out)
        out += x
        out = self.relu(out)
        return self.fc(out.mean((2, 3)))


def _state(model):
    return (
        snapshot(model),
        [m.training for m in model.modules()],
        [getattr(m, "inplace", None) for m in model.modules()],
        [type(m) for m in model.modules()],
        [p.requires_grad for p in model.parameters()],
    )


@pytest.mark.parametrize("method", ATTRIBUTION_METHODS)
@pytest.mark.parametrize("kind", ["resnet", "torchvision-like"])
def test_the_model_is_left_exactly_as_found(resnet, image, method, kind):
    model = resnet if kind == "resnet" else TorchvisionLike().eval()
    if kind != "resnet" and method in ("guidedgradcam", "deeplift", "lrp"):
        with pytest.raises(SpecError):
            attribute(model, image, method, target=1, **OPTIONS.get(method, {}))
    else:
        before = _state(model)
        attribute(model, image, method, target=1, **OPTIONS.get(method, {}))
        after = _state(model)
        assert same_state(model, before[0])
        assert before[1:] == after[1:]
    assert hook_count(model) == 0
    assert all(p.grad is None for p in model.parameters())
    assert image.grad is None
    assert not image.requires_grad


def test_guided_backprop_on_a_reused_in_place_relu_matches_captum_on_a_safe_copy():
    model = TorchvisionLike().eval()
    x = torch.randn(1, 3, 8, 8)
    ours = attribute(model, x, "guidedbackprop", target=0)
    theirs = GuidedBackprop(pixel.safe_relu_copy(model)).attribute(x.clone(), target=0)
    np.testing.assert_allclose(ours.raw, theirs[0].numpy(), rtol=1e-5, atol=1e-7)


def test_the_lock_is_held_during_the_work(resnet, image):
    from resnet_viz.runtime.locks import model_lock

    seen = []

    def probe(module, args):
        seen.append(model_lock(resnet).locked())

    handle = resnet.fc.register_forward_pre_hook(probe)
    try:
        attribute(resnet, image, "integratedgradients", target=0, steps=3)
    finally:
        handle.remove()
    assert seen
    assert all(seen)


# --------------------------------------------------------------------------------------------
# Bad input: SpecError before any work
# --------------------------------------------------------------------------------------------

BAD = [
    ("nosuchmethod", {}, "Unknown attribution method"),
    ("integratedgradients", {"steps": 0}, "steps"),
    ("integratedgradients", {"steps": 10**6}, "steps"),
    ("integratedgradients", {"steps": 2.5}, "whole number"),
    ("integratedgradients", {"baseline": "white"}, "baseline"),
    ("smoothgrad", {"samples": 0}, "samples"),
    ("vargrad", {"samples": 10**6}, "samples"),
    ("smoothgrad2", {"noise_level": -0.1}, "noise level"),
    ("smoothgrad", {"noise_level": float("nan")}, "noise level"),
    ("occlusion", {"window": SIDE + 1}, "window"),
    ("occlusion", {"stride": 0}, "stride"),
    ("occlusion", {"window": 0}, "window"),
    ("saliency", {"steps": 10}, "no option steps"),
    ("guidedgradcam", {"layer": "layer9"}, "layer9"),
    ("deeplift", {"batch_size": 4}, "no option batch_size"),
]


@pytest.mark.parametrize(("method", "options", "words"), BAD)
def test_bad_options_are_refused_before_any_work(resnet, image, method, options, words):
    calls = []
    handle = resnet.register_forward_pre_hook(lambda *_: calls.append(1))
    try:
        with pytest.raises(SpecError, match=f"(?i){words}"):
            attribute(resnet, image, method, target=0, **options)
    finally:
        handle.remove()
    assert calls == []


@pytest.mark.parametrize("target", [-1, SPEC.num_classes, 1.0, True])
def test_a_class_out_of_range_is_refused(resnet, image, target):
    with pytest.raises(SpecError, match="class"):
        attribute(resnet, image, "saliency", target=target)


def test_a_class_out_of_range_of_another_model_is_refused():
    with pytest.raises(SpecError, match="from 0 to 3"):
        attribute(linear_model(), torch.randn(1, 3, 6, 6), "saliency", target=4)


def test_bad_models_and_images_are_refused(resnet, image):
    training = copy.deepcopy(resnet).train()
    with pytest.raises(SpecError, match="training mode"):
        attribute(training, image, "saliency", target=0)
    with pytest.raises(SpecError, match="shape"):
        attribute(resnet, image[0], "saliency", target=0)
    with pytest.raises(SpecError, match="float"):
        attribute(resnet, image.long(), "saliency", target=0)


def test_memory_over_the_budget_is_refused(resnet, image, monkeypatch):
    monkeypatch.setattr(pixel, "memory_budget_bytes", lambda device: 10**5)
    with pytest.raises(BudgetError, match="Integrated Gradients"):
        attribute(resnet, image, "integratedgradients", target=0)


def test_the_memory_estimate_grows_with_the_batch():
    size = (3, 224, 224)
    one = pixel.estimate_memory_bytes(ResNetSpec(), size, "integratedgradients", batch_size=1)
    many = pixel.estimate_memory_bytes(ResNetSpec(), size, "integratedgradients", batch_size=16)
    assert many == 16 * one
    small = pixel.estimate_memory_bytes(ResNetSpec(), size, "smoothgrad", samples=4)
    assert small == 4 * one  # the batch never exceeds the samples
    assert pixel.estimate_memory_bytes(ResNetSpec(), size, "occlusion", batch_size=64) > 0
