"""spec_from_state_dict: every torchvision and timm ResNet round-trips from its weights alone
(spec, exact parameter count, strict load, identical logits); wrappers and prefixes; hostile
and non-ResNet state_dicts get a SpecError that says what was expected."""

from __future__ import annotations

import dataclasses

import pytest
import timm
import torch
import torchvision

from resnet_viz import SpecError, build_model, preset, summarize
from resnet_viz.core.from_weights import read_state_dict, spec_from_state_dict
from resnet_viz.core.presets import PRESETS

TORCHVISION = [name for name, p in PRESETS.items() if p.torchvision_builder]
TIMM = [name for name, p in PRESETS.items() if p.timm_name]


def assert_round_trip(reference: torch.nn.Module, state_dict: object, expected_spec=None):
    """The read spec builds a model that loads the weights strictly and gives the same logits."""
    spec = spec_from_state_dict(state_dict)
    if expected_spec is not None:
        assert spec == expected_spec
    reference_params = sum(p.numel() for p in reference.parameters())
    assert summarize(spec).total_params == reference_params
    model = build_model(spec)
    model.load_state_dict(reference.state_dict(), strict=True)
    x = torch.randn(2, spec.in_channels, 64, 64, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(model(x), reference.eval()(x))
    return spec


def test_timm_and_torchvision_presets_are_all_tested():
    assert len(TORCHVISION) == 7
    assert TIMM == ["resnet18d", "resnet26d", "resnet50d", "seresnet50", "seresnext50_32x4d"]


@pytest.mark.parametrize("name", TORCHVISION)
def test_every_torchvision_resnet_round_trips(name):
    torch.manual_seed(0)
    reference = getattr(torchvision.models, name)(weights=None)
    assert_round_trip(reference, reference.state_dict(), PRESETS[name].spec)


@pytest.mark.parametrize("name", TIMM)
def test_every_timm_variant_round_trips(name):
    torch.manual_seed(0)
    reference = timm.create_model(name, pretrained=False)
    assert_round_trip(reference, reference.state_dict(), PRESETS[name].spec)
    assert summarize(PRESETS[name].spec).total_params == PRESETS[name].reference_params


@pytest.mark.parametrize(
    "spec",
    [
        preset("resnet56"),
        dataclasses.replace(preset("resnet20"), shortcut="C", num_classes=7),
        dataclasses.replace(preset("resnet50"), preact=True, in_channels=1),
        dataclasses.replace(preset("resnet34"), batch_norm=False, stem_width=32),
        dataclasses.replace(preset("resnet26d"), se=True, groups=4, width_per_group=16),
        dataclasses.replace(preset("resnet18"), stem="deep", shortcut="C", avg_down=True),
    ],
    ids=["cifar-A", "cifar-C", "preact", "no-bn", "d-se-grouped", "deep-C-avg"],
)
def test_this_apps_own_networks_round_trip(spec):
    model = build_model(spec)
    assert_round_trip(model, model.state_dict(), spec)


def test_wrappers_and_data_parallel_prefix():
    model = build_model(preset("resnet20"))
    sd = model.state_dict()
    prefixed = {f"module.{k}": v for k, v in sd.items()}
    for wrapped in ({"state_dict": sd}, {"model": prefixed}, {"model_state_dict": sd, "epoch": 3}):
        assert spec_from_state_dict(wrapped) == preset("resnet20")
    reading = read_state_dict({"model": prefixed})
    assert set(reading.state_dict) == set(sd)


def test_what_the_weights_cannot_tell_is_said():
    v1 = dataclasses.replace(preset("resnet50"), stride_in_1x1=True)
    reading = read_state_dict(build_model(v1).state_dict())
    assert reading.spec == preset("resnet50")  # V1.5 assumed
    assert any("V1.5 is assumed" in a for a in reading.assumptions)
    plain = read_state_dict(build_model(preset("resnet20").plain_twin()).state_dict())
    assert plain.spec == preset("resnet20")
    assert any("ResNet with option A" in a for a in plain.assumptions)
    no_bn = dataclasses.replace(preset("resnet18"), batch_norm=False, preact=True)
    assert any(
        "post-activation" in a for a in read_state_dict(build_model(no_bn).state_dict()).assumptions
    )
    assert read_state_dict(torchvision.models.resnet18().state_dict()).assumptions == ()


def _resnet18_without(prefix: str) -> dict:
    sd = torchvision.models.resnet18().state_dict()
    return {k: v for k, v in sd.items() if not k.startswith(prefix)}


@pytest.mark.parametrize(
    ("state_dict", "message"),
    [
        ({}, "holds no tensors .* top-level keys are nothing"),
        ([1, 2], "holds a list, not a state_dict"),
        ({"conv1.weight": torch.ones(1), "fc.weight": "x"}, "fc.weight holds a str, not a tensor"),
        (lambda: torchvision.models.vgg11().state_dict(), "expected residual stages.*features"),
        (lambda: _resnet18_without("layer2."), "layer2 is missing"),
        (lambda: _resnet18_without("layer3.0."), "layer3.0 is missing"),
        (lambda: _resnet18_without("fc."), "expected a weight named 'fc.weight'"),
        (lambda: _resnet18_without("layer1.0.bn2"), "no 'layer1.0.bn2.weight'"),
        (
            lambda: {**torchvision.models.resnet18().state_dict(), "extra.weight": torch.ones(1)},
            "unexpected 'extra.weight'",
        ),
        (
            lambda: {
                **torchvision.models.resnet18().state_dict(),
                "layer1.0.conv2.weight": torch.ones(64, 64, 5, 5),
            },
            r"layer1.0.conv2.weight should have shape \(64, 64, 3, 3\)",
        ),
    ],
    ids=["empty", "list", "non-tensor", "vgg", "stage", "block", "fc", "bn", "extra", "shape"],
)
def test_non_resnets_and_broken_state_dicts_raise_spec_error(state_dict, message):
    if callable(state_dict):
        state_dict = state_dict()
    with pytest.raises(SpecError, match=message):
        spec_from_state_dict(state_dict)
