"""summarize: exact agreement with torchinfo, the built model, the paper and a brute-force
receptive-field probe."""

import dataclasses

import pytest
import torch
import torchinfo
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

from resnet_viz import ResNetSpec, SpecError, build_model, preset, summarize
from resnet_viz.core.layout import parameter_count
from resnet_viz.core.presets import PRESETS, Preset
from resnet_viz.core.summary import minimum_input_side
from tests.model_support import positive_probe_model

# torchvision's weights metadata: num_params and GFLOPS (= torchinfo mult-adds, rounded).
TORCHVISION_TABLE = {
    "resnet18": (11_689_512, 1.814),
    "resnet34": (21_797_672, 3.664),
    "resnet50": (25_557_032, 4.089),
    "resnet101": (44_549_160, 7.801),
    "resnet152": (60_192_808, 11.514),
    "resnext50_32x4d": (25_028_904, 4.23),
    "wide_resnet50_2": (68_883_240, 11.398),
}
# He et al. 2015, Table 6, counted exactly: option A (zero-padding) and option B (projection).
CIFAR_OPTION_A = {
    20: 269_722, 32: 464_154, 44: 658_586, 56: 853_018, 110: 1_727_962, 1202: 19_421_274,
}  # fmt: skip
CIFAR_OPTION_B = {20: 272_474, 56: 855_770}


@pytest.mark.parametrize(("name", "reference"), TORCHVISION_TABLE.items())
def test_design_table_from_summary_and_model(name, reference):
    params, gmacs = reference
    s = summarize(preset(name), (3, 224, 224))
    assert s.total_params == params
    assert round(s.total_macs / 1e9, 3) == gmacs
    model = build_model(preset(name), device="meta")
    assert sum(p.numel() for p in model.parameters()) == params


def test_presets_carry_the_same_reference_numbers():
    for name, (params, gmacs) in TORCHVISION_TABLE.items():
        assert (PRESETS[name].reference_params, PRESETS[name].reference_gmacs) == (params, gmacs)


@pytest.mark.parametrize(("depth", "params"), CIFAR_OPTION_A.items())
def test_cifar_option_a_counts(depth, params):
    assert summarize(preset(f"resnet{depth}")).total_params == params
    assert PRESETS[f"resnet{depth}"].reference_params == params


@pytest.mark.parametrize(("depth", "params"), CIFAR_OPTION_B.items())
def test_cifar_option_b_counts(depth, params):
    spec = dataclasses.replace(preset(f"resnet{depth}"), shortcut="B")
    assert summarize(spec).total_params == params
    assert sum(p.numel() for p in build_model(spec).parameters()) == params


def test_resnet50_stage_outputs_at_224():
    stages = {s.name: s for s in summarize(preset("resnet50"), (3, 224, 224)).stages}
    assert stages["stem"].output_shape == (1, 64, 56, 56)
    assert [stages[f"layer{i}"].output_shape[1:] for i in range(1, 5)] == [
        (256, 56, 56),
        (512, 28, 28),
        (1024, 14, 14),
        (2048, 7, 7),
    ]
    assert stages["head"].output_shape == (1, 1000)


def test_resnet101_stage3_at_512():
    """The README's newcomer question: stage 3 of ResNet-101 at 512x512 input."""
    stage3 = summarize(preset("resnet101"), (3, 512, 512)).stages[3]
    assert (stage3.label, stage3.blocks) == ("Stage 3", 23)
    assert stage3.params == 26_090_496
    assert stage3.output_shape == (1, 1024, 32, 32)


def test_totals_are_the_sums_of_the_rows():
    s = summarize(preset("resnet152"), (3, 224, 224), batch_size=2)
    for field in ("params", "macs", "activation_bytes"):
        total = getattr(s, f"total_{field}")
        assert total == sum(getattr(r, field) for r in s.layers)
        assert total == sum(getattr(r, field) for r in s.stages)
        stage_blocks = sum(getattr(r, field) for r in s.blocks)
        assert stage_blocks == sum(getattr(r, field) for r in s.stages[1:-1])


def test_batch_scales_macs_and_memory_not_params():
    one = summarize(preset("resnet50"))
    four = summarize(preset("resnet50"), batch_size=4)
    assert four.total_params == one.total_params
    assert four.total_macs == 4 * one.total_macs
    assert four.total_activation_bytes == 4 * one.total_activation_bytes
    assert four.total_flops == 8 * one.total_macs


def test_resnet50_activation_memory_by_hand():
    conv1 = summarize(preset("resnet50")).layers[0]
    assert (conv1.name, conv1.output_shape) == ("conv1", (1, 64, 112, 112))
    assert conv1.activation_bytes == 64 * 112 * 112 * 4
    assert conv1.macs == 3 * 7 * 7 * 64 * 112 * 112


def test_known_receptive_fields():
    # Araujo et al. 2019, Table 1: ResNet-50 V1.5 at its last stage: 427 px; ResNet-18: 435.
    assert summarize(preset("resnet50")).stages[-2].receptive_field == 427
    assert summarize(preset("resnet18")).stages[-2].receptive_field == 435
    stem = summarize(preset("resnet50")).stages[0]
    assert (stem.receptive_field, stem.effective_stride) == (11, 4)


def test_depth_is_weighted_layers():
    assert summarize(preset("resnet56")).depth == 56
    assert summarize(preset("resnet152")).depth == 152


def test_stage_labels_follow_table_1():
    names = [(s.label, s.paper_name) for s in summarize(preset("resnet18")).stages]
    assert names[1] == ("Stage 1", "conv2_x")
    assert names[4] == ("Stage 4", "conv5_x")


# Agreement with torchinfo and with the built model ---------------------------------------------


def _torchinfo_rows(model: nn.Module, input_size, batch: int):
    stats = torchinfo.summary(model, input_size=(batch, *input_size), verbose=0, device="cpu")
    rows = {}
    for layer in stats.summary_list:
        names, node = [], layer
        while node is not None and node.depth > 0:
            names.append(node.var_name)
            node = node.parent_info
        rows[".".join(reversed(names))] = layer
    return stats, rows


def _hooked_output_shapes(model: nn.Module, input_size, batch: int) -> list[tuple[str, tuple]]:
    seen: list[tuple[str, tuple]] = []
    hooks = [
        module.register_forward_hook(
            lambda _m, _i, out, name=name: seen.append((name, tuple(out.shape)))
        )
        for name, module in model.named_modules()
        if name and not list(module.children()) and not isinstance(module, nn.Identity)
    ]
    try:
        with torch.no_grad():
            model(torch.randn(batch, *input_size))
    finally:
        for hook in hooks:
            hook.remove()
    return seen


def assert_agrees_with_reality(spec: ResNetSpec, input_size, batch: int = 1) -> None:
    s = summarize(spec, input_size, batch_size=batch)
    model = build_model(spec)
    # The forward pass runs exactly the summary's layers, in its order, with its shapes.
    assert _hooked_output_shapes(model, input_size, batch) == [
        (r.name, r.output_shape) for r in s.layers
    ]
    assert s.total_params == sum(p.numel() for p in model.parameters())
    assert s.total_params == parameter_count(spec)
    stats, rows = _torchinfo_rows(model, input_size, batch)
    assert s.total_params == stats.total_params
    # torchinfo also counts a nominal MAC per BN parameter per sample; we count BN as 0.
    bn_params = sum(r.params for r in s.layers if r.kind == "bn")
    assert s.total_macs + batch * bn_params == stats.total_mult_adds
    for row in s.layers:
        if row.kind in ("conv", "bn", "fc"):
            info = rows[row.name]
            assert info.num_params == row.params, row.name
            assert tuple(info.output_size) == row.output_shape, row.name
        if row.kind in ("conv", "fc"):
            assert rows[row.name].macs == row.macs, row.name


@pytest.mark.parametrize("name", [n for n in PRESETS if n != "resnet1202"])
def test_every_preset_agrees_with_torchinfo_and_the_model(name):
    p: Preset = PRESETS[name]
    input_size = p.input_size if p.spec.stem == "cifar" else (3, 96, 96)
    assert_agrees_with_reality(p.spec, input_size)


@pytest.mark.slow
def test_resnet1202_agrees_with_the_model():
    spec = preset("resnet1202")
    s = summarize(spec)
    model = build_model(spec)
    assert s.total_params == sum(p.numel() for p in model.parameters())
    assert _hooked_output_shapes(model, (3, 32, 32), 1) == [
        (r.name, r.output_shape) for r in s.layers
    ]


@st.composite
def small_specs(draw):
    """Random small networks over every option the spec offers."""
    stages = draw(st.integers(1, 4))
    block = draw(st.sampled_from(["basic", "bottleneck"]))
    preact = draw(st.booleans())
    kwargs = {}
    if block == "bottleneck":
        kwargs["stride_in_1x1"] = draw(st.booleans())
        kwargs["groups"] = draw(st.sampled_from([1, 2, 4]))
        kwargs["width_per_group"] = draw(st.sampled_from([16, 32, 64]))
    widths = tuple(sorted(draw(st.lists(st.sampled_from([4, 8, 12, 16]), min_size=stages,
                                        max_size=stages))))  # fmt: skip
    shortcut = draw(st.sampled_from(["A", "B", "C"]))
    if shortcut != "A":
        kwargs["avg_down"] = draw(st.booleans())
    return ResNetSpec(
        block=block,
        layers=tuple(draw(st.lists(st.integers(1, 3), min_size=stages, max_size=stages))),
        widths=widths,
        stem=draw(st.sampled_from(["imagenet", "deep", "cifar"])),
        shortcut=shortcut,
        se=draw(st.booleans()),
        preact=preact,
        skip=draw(st.booleans()),
        batch_norm=draw(st.booleans()),
        num_classes=draw(st.integers(1, 20)),
        in_channels=draw(st.sampled_from([1, 3, 4])),
        stem_width=draw(st.sampled_from([None, 4])),
        **kwargs,
    )


@settings(
    max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(spec=small_specs(), side=st.integers(17, 70), aspect=st.sampled_from([1.0, 0.75]),
       batch=st.integers(1, 3))  # fmt: skip
def test_random_specs_agree_with_torchinfo_and_the_model(spec, side, aspect, batch):
    input_size = (spec.in_channels, side, max(17, int(side * aspect)))
    assert_agrees_with_reality(spec, input_size, batch)


# Receptive field, brute force ------------------------------------------------------------------


def _brute_force_receptive_field(spec: ResNetSpec, side: int) -> tuple[int, int]:
    """Which input pixels along the centre row can change the centre output pixel of the last
    stage: every conv weight positive and BN the identity, so a large bump at any pixel inside
    the receptive field reaches the output through every path (max-pool included)."""
    model = positive_probe_model(spec)
    captured = []
    model.stages[-1].register_forward_hook(lambda _m, _i, out: captured.append(out))
    x = torch.zeros(side, spec.in_channels, side, side, dtype=torch.float64)
    for i in range(side):
        x[i, :, side // 2, i] = 100.0  # one bumped pixel per image, along the centre row
    with torch.no_grad():
        model(x)
    out = captured[0].abs().sum(dim=1)  # (side, H', W')
    h, w = out.shape[1:]
    cols = []
    for ox in (w // 2, w // 2 + 1):
        hit = (out[:, h // 2, ox] > 0).nonzero().flatten()
        cols.append((hit.min().item(), hit.max().item()))
    (lo, hi), (lo_next, _) = cols
    return hi - lo + 1, lo_next - lo


@pytest.mark.parametrize(
    "spec",
    [
        ResNetSpec(layers=(1, 1), widths=(4, 8), stem="cifar", num_classes=2),
        ResNetSpec(layers=(1, 1), widths=(4, 8), stem="cifar", shortcut="A", num_classes=2),
        ResNetSpec(block="bottleneck", layers=(1, 2), widths=(2, 4), stem="cifar", num_classes=2),
        ResNetSpec(
            block="bottleneck",
            layers=(1, 1),
            widths=(2, 4),
            stem="cifar",
            stride_in_1x1=True,
            num_classes=2,
        ),
        ResNetSpec(layers=(1, 1), widths=(4, 4), stem="imagenet", num_classes=2, skip=False),
        ResNetSpec(layers=(1, 1), widths=(4, 8), preact=True, stem="imagenet", num_classes=2),
        # Three and four blocks per stage: blocks from the third on are copied from the second.
        ResNetSpec(layers=(3, 4), widths=(4, 8), stem="cifar", shortcut="C", num_classes=2),
        ResNetSpec(block="bottleneck", layers=(4, 1), widths=(2, 4), stem="cifar", skip=False),
    ],
    ids=[
        "basic-cifar",
        "option-A",
        "bottleneck",
        "bottleneck-V1",
        "plain-imagenet",
        "preact",
        "repeated-blocks-C",
        "repeated-plain-bottleneck",
    ],
)
def test_receptive_field_matches_brute_force(spec):
    side = 128
    s = summarize(spec, (spec.in_channels, side, side))
    last_stage = s.stages[-2]
    assert last_stage.receptive_field < side // 2  # the probe must not hit the borders
    assert _brute_force_receptive_field(spec, side) == (
        last_stage.receptive_field,
        last_stage.effective_stride,
    )


# Inputs the network cannot take ----------------------------------------------------------------


def test_too_small_input_names_the_minimum():
    assert minimum_input_side(preset("resnet50")) == 17
    assert minimum_input_side(preset("resnet56")) == 3
    summarize(preset("resnet50"), (3, 17, 17))
    with pytest.raises(SpecError, match=r"16x16 is too small.*layer4\.0\.conv2.*at least 17x17"):
        summarize(preset("resnet50"), (3, 16, 16))
    with pytest.raises(SpecError, match="at least 3x3"):
        summarize(preset("resnet56"), (3, 2, 2))


@pytest.mark.parametrize(
    ("input_size", "batch", "message"),
    [
        ((1, 224, 224), 1, "takes 3-channel input, not 1 channels"),
        ((3, 224), 1, "must be \\(channels, height, width\\)"),
        ((3, 0, 224), 1, "height must be a whole number of at least 1"),
        ((3, 224, 10**6), 1, "width 1,000,000 is more than"),
        ((3, 224, 224), 0, "Batch size must be between 1 and"),
    ],
)
def test_bad_input_sizes(input_size, batch, message):
    with pytest.raises(SpecError, match=message):
        summarize(preset("resnet50"), input_size, batch_size=batch)


def test_default_input_size_follows_the_stem():
    assert summarize(preset("resnet50")).input_size == (3, 224, 224)
    assert summarize(preset("resnet20")).input_size == (3, 32, 32)


@pytest.mark.parametrize(
    ("size", "message"),
    [
        ((3, 1, 1), "1x1 is too small.*height and width of 1 pixel cannot be halved by conv1.*"
         "Use at least 17x17"),
        ((3, 16, 301), "16x301.*its height is down to 1 pixel before layer4.0.conv2.*"
         "Use a height of at least 17 pixels \\(the width is fine\\)"),
        ((3, 301, 9), "301x9.*its width is down to 1 pixel.*"
         "Use a width of at least 17 pixels \\(the height is fine\\)"),
    ],
)  # fmt: skip
def test_too_small_input_says_which_side_and_its_minimum(size, message):
    with pytest.raises(SpecError, match=message):
        summarize(preset("resnet50"), size)


def test_shared_summary_is_summarize_computed_once_per_network():
    """The architecture page's summaries are shared by every session: the same object for the
    same network, equal to a fresh summarize; a refused network raises every time."""
    from resnet_viz.core.summary import shared_summary

    spec = preset("resnet50")
    first = shared_summary(spec, (3, 224, 224))
    assert shared_summary(spec, (3, 224, 224)) is first
    assert first == summarize(spec, (3, 224, 224))
    assert first.total_params == 25_557_032  # torchvision's resnet50
    assert shared_summary(spec, (3, 160, 160)) is not first
    for _ in range(2):
        with pytest.raises(SpecError, match="too small for this network"):
            shared_summary(spec, (3, 1, 1))
