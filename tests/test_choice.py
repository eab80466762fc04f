"""From control values to a network: resolve, parse, and start-custom-from-current."""

import dataclasses

import pytest

from resnet_viz import SpecError, preset, spec_for_depth
from resnet_viz.present.choice import NetworkChoice, custom_fields, parse_int_list, resolve


def test_default_choice_is_resnet50_at_224():
    assert resolve(NetworkChoice()) == (preset("resnet50"), (3, 224, 224))


def test_depth_mode_uses_spec_for_depth_and_the_familys_input():
    spec, size = resolve(NetworkChoice(mode="depth", family="cifar", depth=110))
    assert spec == preset("resnet110")
    assert size == (3, 32, 32)


def test_overrides_apply_in_every_mode():
    choice = NetworkChoice(preset="resnet152", height=512, width=512, skip=False, classes=10)
    spec, size = resolve(choice)
    assert spec == dataclasses.replace(preset("resnet152"), skip=False, num_classes=10)
    assert size == (3, 512, 512)
    spec, size = resolve(NetworkChoice(channels=1))
    assert (spec.in_channels, size) == (1, (1, 224, 224))


def test_custom_fields_round_trip_every_preset_shape():
    for spec in (preset("resnext50_32x4d"), preset("resnet56"), spec_for_depth(26)):
        choice = NetworkChoice(mode="custom", **custom_fields(spec))
        resolved, _ = resolve(dataclasses.replace(choice, classes=spec.num_classes))
        assert resolved == spec


def test_custom_v1_sets_the_stride_on_the_1x1():
    spec, _ = resolve(NetworkChoice(mode="custom", version="V1"))
    assert spec.stride_in_1x1
    basic, _ = resolve(NetworkChoice(mode="custom", block="basic", version="V1", groups=32))
    assert (basic.stride_in_1x1, basic.groups) == (False, 1)  # bottleneck-only knobs ignored


@pytest.mark.parametrize(
    ("text", "expected"), [("3, 4, 6, 3", (3, 4, 6, 3)), ("3 4 6", (3, 4, 6)), (" 2,2 ", (2, 2))]
)
def test_parse_int_list(text, expected):
    assert parse_int_list(text, "Blocks") == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [("", "give one whole number per stage"), ("3, x, 2", "'x' is not a whole number")],
)
def test_parse_int_list_errors(text, message):
    with pytest.raises(SpecError, match=message):
        parse_int_list(text, "Blocks per stage")


@pytest.mark.parametrize(
    ("choice", "message"),
    [
        (NetworkChoice(mode="depth", depth=51), "Nearest valid depths: 50 or 53"),
        (NetworkChoice(mode="custom", layers="3, 0, 2, 2"), "Stage 2 has 0 blocks"),
        (NetworkChoice(mode="custom", version="V2"), "Version must be V1 or V1.5"),
        (NetworkChoice(mode="teleport"), "Unknown mode"),
        (NetworkChoice(preset="resnet9000"), "Unknown preset"),
    ],
)
def test_impossible_choices_raise_spec_errors(choice, message):
    with pytest.raises(SpecError, match=message):
        resolve(choice)
