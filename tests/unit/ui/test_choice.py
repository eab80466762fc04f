"""From control values to a network: resolve, parse, and start-custom-from-current."""

import dataclasses

import pytest

from resnet_viz import SpecError, preset, spec_for_depth
from resnet_viz.core.presets import PRESETS
from resnet_viz.ui.choice import NetworkChoice, custom_fields, parse_int_list, resolve


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


# Links with values the controls cannot use ------------------------------------------------------

from resnet_viz.ui.choice import (  # noqa: E402
    NUMBER_PARAMS,
    TOGGLE_PARAMS,
    dropped_keys,
    ignored_link_values,
)

TABS = {"tab": ["Stages", "Layers", "Diagram", "Compare", "Code"]}


def test_a_link_with_bad_values_says_what_was_ignored_and_what_is_shown():
    params = {"preset": "resnet9999", "h": "-5"}
    notes = ignored_link_values(params)
    assert notes == {
        "preset": "preset 'resnet9999' is not a preset this app knows; showing ResNet-50.",
        "h": "height -5 is below 1, the least this app takes; the network's own input height "
        "is used.",
    }
    assert dropped_keys(notes, params) == ["preset", "h"]


@pytest.mark.parametrize(
    ("params", "key", "note"),
    [
        ({"mode": "warp"}, "mode", "mode 'warp' is not one of Preset, Depth, Custom, Checkpoint; "
         "showing Preset."),
        ({"preset": "vgg16"}, "preset", "showing ResNet-50."),
        ({"mode": "Depth", "family": "mnist"}, "family", "showing ImageNet (4 stages, 224 px)."),
        ({"mode": "Depth", "depth": "abc"}, "depth", "depth 'abc' is not a number; depth 50 is "
         "used."),
        ({"mode": "Depth", "depth": "30000"}, "depth", "depth 30000 is above 20,000, the most"),
        ({"h": "inf"}, "h", "height 'inf' is not a finite number"),
        ({"w": "0.9"}, "w", "width 0.9 is below 1"),  # the widget cuts it to 0
        ({"channels": "100"}, "channels", "input channels 100 is above 64"),
        ({"classes": "0"}, "classes", "the network's own number of classes is used."),
        ({"skip": "maybe"}, "skip", "skip connections 'maybe' is neither true nor false; left on."),
        ({"tab": "compare"}, "tab", "tab 'compare' is not one of Stages, Layers, Diagram, "
         "Compare, Code; showing Stages."),
        ({"mode": "Custom", "block": "triple"}, "block", "showing bottleneck."),
        ({"mode": "Custom", "stem": "tiny"}, "stem", "stem 'tiny' is not one of imagenet"),
        ({"mode": "Custom", "shortcut": "D"}, "shortcut", "shortcut option 'D' is not one of A:"),
        ({"mode": "Custom", "version": "V2"}, "version", "showing V1.5."),
        ({"mode": "Custom", "groups": "0"}, "groups", "groups 1 is used."),
        ({"mode": "Custom", "wpg": "5000"}, "wpg", "width per group 64 is used."),
        ({"mode": "Custom", "preact": "2"}, "preact", "left off."),
        ({"mode": "Custom", "bn": "x"}, "bn", "left on."),
        ({"mode": "Custom", "avgdown": "x"}, "avgdown", "left off."),
        ({"mode": "Custom", "se": "x"}, "se", "left off."),
    ],
)  # fmt: skip
def test_every_bound_control_names_a_value_it_drops(params, key, note):
    notes = ignored_link_values(params, page_options=TABS)
    assert list(notes) == [key]
    assert note in notes[key]
    assert dropped_keys(notes, params) == [key]


def test_every_bound_parameter_is_covered():
    covered = {"mode", "preset", "family", "block", "stem", "shortcut", "version", "tab"}
    assert set(NUMBER_PARAMS) | set(TOGGLE_PARAMS) | covered == {
        "mode", "preset", "family", "depth", "h", "w", "channels", "classes", "tab", "skip",
        "block", "stem", "shortcut", "version", "groups", "wpg", "preact", "bn", "avgdown", "se",
    }  # fmt: skip


def test_a_fraction_is_cut_not_dropped():
    params = {"h": "50.5", "w": "64"}
    notes = ignored_link_values(params)
    assert notes == {"h": "height 50.5 is not a whole number; 50 is used."}
    assert dropped_keys(notes, params) == []


def test_values_the_controls_read_give_no_notes():
    from resnet_viz.ui.network_controls import url_params_for

    for name, p in PRESETS.items():
        params = url_params_for(p.spec, p.input_size)
        assert ignored_link_values(params, page_options=TABS) == {}, name
    typed = {"mode": "depth", "family": "cifar", "depth": "1202", "skip": "False", "h": " 64",
             "w": "1e2", "classes": "", "tab": "Code"}  # fmt: skip
    assert ignored_link_values(typed, page_options=TABS) == {}


def test_controls_the_mode_does_not_draw_are_left_alone():
    assert ignored_link_values({"mode": "Preset", "depth": "abc", "block": "triple"}) == {}
    assert ignored_link_values({"mode": "Depth", "preset": "vgg16"}) == {}
    assert ignored_link_values({"skip": "maybe"}, show_skip=False) == {}
    # an unknown mode falls back to Preset, whose preset menu is drawn
    assert list(ignored_link_values({"mode": "warp", "preset": "vgg16"})) == ["mode", "preset"]


def test_page_defaults_are_what_is_shown_instead():
    gradients = NetworkChoice(preset="resnet56", family="cifar", depth=56)
    assert ignored_link_values({"preset": "x"}, gradients)["preset"].endswith(
        "showing ResNet-56 (CIFAR)."
    )


def test_unknown_menu_values_are_named_with_the_choices_and_what_is_shown():
    from resnet_viz.ui.choice import LISTED_CHOICES, unknown_menu_value

    assert unknown_menu_value("a depth", "56", [8, 20, 56], 20) is None  # the URL holds text
    assert unknown_menu_value("a view", "Contour", ["Contour", "3-D surface"], "Contour") is None
    few = list(range(LISTED_CHOICES))
    assert unknown_menu_value("a depth", "9", few, 0) == (
        "The link asks for a depth “9”, which is not one of the choices here (0, 1, 2, 3): "
        "showing 0."
    )
    many = list(range(LISTED_CHOICES + 1))
    assert unknown_menu_value("a depth", "9", many, 0) == (
        "The link asks for a depth “9”, which is not one of the choices here (0 to 4): showing 0."
    )
