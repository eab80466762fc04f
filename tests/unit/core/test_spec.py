"""ResNetSpec, presets, spec_for_depth and every SpecError path."""

import dataclasses
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from resnet_viz import ResNetSpec, SpecError, preset, spec_for_depth
from resnet_viz.core.layout import check_weight_budget, parameter_count, shortcut_kind
from resnet_viz.core.presets import PRESETS, preset_for, valid_depths
from resnet_viz.core.spec import WEIGHT_BUDGET_BYTES

# torchvision's resnet.py builders: (block, layers) per model.
TORCHVISION_LAYOUTS = {
    "resnet18": ("basic", (2, 2, 2, 2)),
    "resnet34": ("basic", (3, 4, 6, 3)),
    "resnet50": ("bottleneck", (3, 4, 6, 3)),
    "resnet101": ("bottleneck", (3, 4, 23, 3)),
    "resnet152": ("bottleneck", (3, 8, 36, 3)),
}


def test_default_spec_is_resnet18():
    assert ResNetSpec() == preset("resnet18")


def test_spec_is_frozen_and_hashable():
    spec = preset("resnet50")
    assert hash(spec) == hash(preset("resnet50"))
    assert {spec: 1}[dataclasses.replace(spec)] == 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.block = "basic"  # type: ignore[misc]


def test_lists_become_tuples_so_specs_from_json_are_hashable():
    spec = ResNetSpec(layers=[2, 2, 2, 2], widths=[64, 128, 256, 512])
    assert spec.layers == (2, 2, 2, 2)
    assert spec == preset("resnet18")
    hash(spec)


@pytest.mark.parametrize(("name", "layout"), TORCHVISION_LAYOUTS.items())
def test_torchvision_presets_have_torchvisions_layouts(name, layout):
    spec = preset(name)
    assert (spec.block, spec.layers, spec.widths) == (*layout, (64, 128, 256, 512))
    assert (spec.stem, spec.shortcut, spec.stride_in_1x1) == ("imagenet", "B", False)
    assert spec.depth == int(name.removeprefix("resnet"))


def test_resnext_and_wide_presets():
    assert (preset("resnext50_32x4d").groups, preset("resnext50_32x4d").width_per_group) == (32, 4)
    assert preset("resnext50_32x4d").bottleneck_width(0) == 128  # 32 groups x 4 channels
    assert preset("wide_resnet50_2").width_per_group == 128
    assert preset("wide_resnet50_2").bottleneck_width(3) == 1024  # 2 x ResNet-50's 512


@pytest.mark.parametrize("depth", [20, 32, 44, 56, 110, 1202])
def test_cifar_presets_follow_the_paper(depth):
    spec = preset(f"resnet{depth}")
    n = (depth - 2) // 6
    assert spec.layers == (n, n, n)
    assert spec.widths == (16, 32, 64)
    assert (spec.stem, spec.shortcut, spec.num_classes) == ("cifar", "A", 10)
    assert spec.depth == depth
    assert spec_for_depth(depth, "cifar") == spec


def test_every_preset_has_a_label_and_reference():
    for name, p in PRESETS.items():
        assert p.name == name
        assert p.label.startswith(("ResNet", "ResNeXt", "Wide ResNet", "SE-ResNet", "SE-ResNeXt"))
        assert p.reference_params > 0
        assert p.reference
        assert preset_for(p.spec) is p


def test_preset_for_a_custom_spec_is_none():
    assert preset_for(dataclasses.replace(preset("resnet50"), skip=False)) is None


def test_unknown_preset_lists_the_known_ones():
    with pytest.raises(SpecError, match=r"Unknown preset 'resnet51'.*resnet50, resnet101"):
        preset("resnet51")


@pytest.mark.parametrize("depth", [18, 34, 50, 101, 152])
def test_known_imagenet_depths_are_the_presets(depth):
    assert spec_for_depth(depth) == preset(f"resnet{depth}")


def test_resnet200_follows_identity_mappings_paper():
    spec = spec_for_depth(200)
    assert (spec.block, spec.layers) == ("bottleneck", (3, 24, 36, 3))


@pytest.mark.parametrize(
    ("depth", "block", "layers"),
    [
        (10, "basic", (1, 1, 1, 1)),
        (16, "basic", (1, 2, 3, 1)),
        (26, "basic", (2, 3, 5, 2)),
        (48, "basic", (4, 6, 9, 4)),
        (53, "bottleneck", (3, 4, 7, 3)),
        (1001, "bottleneck", (3, 4, 323, 3)),
    ],
)
def test_other_imagenet_depths_follow_the_documented_rule(depth, block, layers):
    spec = spec_for_depth(depth)
    assert (spec.block, spec.layers, spec.depth) == (block, layers, depth)


def test_every_listed_depth_builds_a_spec_of_that_depth():
    for family in ("imagenet", "cifar"):
        for depth in valid_depths(family, limit=400):
            assert spec_for_depth(depth, family).depth == depth


@pytest.mark.parametrize(
    ("depth", "family", "nearest"),
    [
        (11, "imagenet", "10 or 12"),
        (49, "imagenet", "48 or 50"),
        (51, "imagenet", "50 or 53"),
        (3, "imagenet", "10"),
        (-5, "imagenet", "10"),
        (21, "cifar", "20 or 26"),
        (57, "cifar", "56 or 62"),
        (2, "cifar", "8"),
    ],
)
def test_impossible_depths_name_the_nearest_valid_ones(depth, family, nearest):
    with pytest.raises(SpecError, match=f"depth {depth}:.*Nearest valid depths?: {nearest}\\.$"):
        spec_for_depth(depth, family)


# What each clause of a depth message claims, checked here without the rules' own code: a
# clause may appear only when the depth really breaks what it says.
_CLAIMS = {
    "imagenet": {
        "the shallowest has 10 layers": lambda d: d < 10,
        "2 x blocks + 2 is even": lambda d: 10 <= d < 50 and d % 2 == 1,
        "3 x blocks + 2": lambda d: d >= 50 and (d - 2) % 3 != 0,
        "deeper than 15,002 layers has more than 5,000 blocks": lambda d: d > 15_002,
    },
    "cifar": {
        "the shallowest has 8 layers": lambda d: d < 8,
        "6n + 2": lambda d: d >= 8 and (d - 2) % 6 != 0,
        "deeper than 9,998 layers has more than 5,000 blocks": lambda d: d > 9_998,
    },
}
_VALID = {family: valid_depths(family) for family in ("imagenet", "cifar")}


@settings(max_examples=400, deadline=None)
@given(
    depth=st.one_of(
        st.integers(-20, 120), st.integers(9_990, 10_010), st.integers(14_990, 20_010),
        st.integers(-10**6, 10**6),
    ),
    family=st.sampled_from(["imagenet", "cifar"]),
)  # fmt: skip
def test_depth_messages_name_only_broken_rules_and_offer_depths_that_build(depth, family):
    """Every clause names a rule the depth breaks (20000 = 3 x 6666 + 2 must not be told the
    3 x blocks + 2 rule), at least one clause is there, and every depth offered builds and is
    the nearest valid one on its side."""
    try:
        spec = spec_for_depth(depth, family)
    except SpecError as error:
        message = str(error)
    else:
        assert depth in _VALID[family]
        assert spec.depth == depth
        return
    assert depth not in _VALID[family]
    claimed = [phrase for phrase in _CLAIMS[family] if phrase in message]
    assert claimed, message
    for phrase in claimed:
        assert _CLAIMS[family][phrase](depth), (phrase, message)
    if depth > max(_VALID[family]):
        assert "a cap that keeps a typo from hanging the app" in message
    offered = [int(d) for d in re.search(r"Nearest valid depths?: ([\d or]+)\.$", message)
               .group(1).split(" or ")]  # fmt: skip
    below = [d for d in _VALID[family] if d < depth]
    above = [d for d in _VALID[family] if d > depth]
    assert offered == [d for d in (max(below, default=None), min(above, default=None)) if d]
    for d in offered:
        assert spec_for_depth(d, family).depth == d


def test_the_deepest_depth_of_each_family_builds_and_the_next_one_names_the_block_cap():
    assert spec_for_depth(15_002).layers == (3, 4, 4_990, 3)
    assert sum(spec_for_depth(9_998, "cifar").layers) == 4_998
    with pytest.raises(SpecError) as error:
        spec_for_depth(20_000)
    message = str(error.value)
    assert "3 x blocks + 2" not in message  # 20000 = 3 x 6666 + 2
    assert "at most 5,000 blocks, a cap that keeps a typo from hanging the app" in message
    assert message.endswith("Nearest valid depth: 15002.")


def test_depth_must_be_an_integer_and_family_known():
    with pytest.raises(SpecError, match="whole number"):
        spec_for_depth(50.0)  # type: ignore[arg-type]
    with pytest.raises(SpecError, match="family must be"):
        spec_for_depth(50, "mnist")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"block": "triple"}, "block must be one of basic, bottleneck"),
        ({"stem": "tiny"}, "stem must be one of imagenet, cifar"),
        ({"shortcut": "D"}, "shortcut must be one of A, B, C"),
        ({"skip": "yes"}, "skip must be true or false"),
        ({"layers": (), "widths": ()}, "at least one stage"),
        ({"layers": 3}, "layers must be a list"),
        ({"layers": (2, 0, 2, 2)}, "Stage 2 has 0 blocks"),
        ({"layers": (2, -1, 2, 2)}, "Stage 2 has -1 blocks"),
        ({"layers": (2, 2, 2)}, "layers has 3 stages but widths has 4"),
        ({"widths": (64, 0, 256, 512)}, "Stage 2 width must be a whole number of at least 1"),
        ({"widths": (64, 128, 256, 10**9)}, "Stage 4 width of 1,000,000,000 is more than"),
        ({"layers": (1,) * 9, "widths": (8,) * 9}, "9 stages is more than this tool allows"),
        (
            {"layers": (3000, 3000), "widths": (8, 8)},
            "6,000 blocks in total is too many: this tool builds at most 5,000",
        ),
        ({"num_classes": 0}, "num_classes must be a whole number of at least 1"),
        ({"in_channels": 0}, "in_channels must be"),
        ({"stem_width": -1}, "Stem width must be"),
        ({"groups": 32}, "groups and width_per_group apply to bottleneck blocks only"),
        ({"stride_in_1x1": True}, "only differs for bottleneck blocks"),
        ({"shortcut": "A", "widths": (64, 32, 256, 512)}, "cannot go from 64 to 32 channels"),
    ],
)
def test_impossible_specs_raise_a_human_message(fields, message):
    with pytest.raises(SpecError, match=message):
        ResNetSpec(**fields)


def test_bottleneck_with_no_channel_per_group_is_refused():
    with pytest.raises(SpecError, match="leaves no channel per group"):
        ResNetSpec(block="bottleneck", widths=(1, 2, 4, 8), width_per_group=16)


def test_spec_error_is_a_value_error():
    assert issubclass(SpecError, ValueError)


def test_plain_twin_allows_shrinking_channels_with_option_a():
    # Without a skip there is no zero-padding shortcut, so any widths work.
    spec = ResNetSpec(shortcut="A", widths=(64, 32, 256, 512), skip=False)
    assert spec.plain_twin() == spec


def test_shortcut_kinds_per_option():
    b = preset("resnet50")
    assert [shortcut_kind(b, 0, i) for i in range(3)] == ["projection", "identity", "identity"]
    a = preset("resnet20")
    assert [shortcut_kind(a, s, 0) for s in range(3)] == ["identity", "zero-pad", "zero-pad"]
    c = dataclasses.replace(a, shortcut="C")
    assert shortcut_kind(c, 0, 1) == "projection"
    assert shortcut_kind(a.plain_twin(), 1, 0) == "none"


def test_memory_guard_refuses_before_allocating():
    huge = ResNetSpec(block="bottleneck", layers=(3, 4, 2000, 3))  # about 2.2 billion parameters
    assert parameter_count(huge) * 4 > WEIGHT_BUDGET_BYTES
    with pytest.raises(SpecError, match=r"weights alone would take 8\.\d GiB, more than the 2 GiB"):
        check_weight_budget(huge)
    check_weight_budget(preset("resnet1202"))  # 19 M parameters: fine
