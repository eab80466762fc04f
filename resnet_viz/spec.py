"""Describe any ResNet as plain, hashable data.

A :class:`ResNetSpec` says everything needed to build a residual network (or its plain twin)
and to count its shapes, parameters and MACs without building it. Named presets reproduce
torchvision's ImageNet models and the CIFAR-10 networks of He et al. 2015, Section 4.2.

Sources:
- He, Zhang, Ren, Sun 2015, "Deep Residual Learning for Image Recognition" (arXiv:1512.03385):
  Table 1 (ImageNet layouts), Section 3.3 (shortcut options A/B/C), Section 4.2 (CIFAR, 6n+2).
- He, Zhang, Ren, Sun 2016, "Identity Mappings in Deep Residual Networks" (arXiv:1603.05027):
  pre-activation blocks, ResNet-200 = [3, 24, 36, 3].
- torchvision ``models/resnet.py``: V1.5 stride placement, ResNeXt/wide widths.
"""

from __future__ import annotations

import bisect
import dataclasses
from dataclasses import dataclass
from typing import Literal

BlockType = Literal["basic", "bottleneck"]
StemType = Literal["imagenet", "cifar"]
ShortcutOption = Literal["A", "B", "C"]
Family = Literal["imagenet", "cifar"]

BLOCK_TYPES: tuple[str, ...] = ("basic", "bottleneck")
STEM_TYPES: tuple[str, ...] = ("imagenet", "cifar")
SHORTCUT_OPTIONS: tuple[str, ...] = ("A", "B", "C")

#: Output channels of a block = planes * expansion (He et al. 2015, Table 1).
EXPANSION: dict[str, int] = {"basic": 1, "bottleneck": 4}
#: Weighted layers (convolutions) on the residual branch of one block.
CONVS_PER_BLOCK: dict[str, int] = {"basic": 2, "bottleneck": 3}

# Bounds that keep a typo ("widths 6400000") from hanging the app. Real networks sit far below.
MAX_STAGES = 8
MAX_BLOCKS_TOTAL = 5_000  # ResNet-1202 has 600 blocks
MAX_WIDTH = 16_384
MAX_CLASSES = 100_000
MAX_IN_CHANNELS = 64
#: A spec whose float32 weights would exceed this is refused before anything is allocated.
WEIGHT_BUDGET_BYTES = 2 * 1024**3
BYTES_PER_FLOAT32 = 4


class SpecError(ValueError):
    """An impossible or unreasonable ResNet description; the message is meant for the user."""


@dataclass(frozen=True)
class ResNetSpec:
    """Everything that defines a ResNet. Frozen and hashable, so it can key caches and URLs.

    The defaults describe torchvision's ResNet-18.

    Attributes:
        block: ``"basic"`` (two 3x3 convs) or ``"bottleneck"`` (1x1, 3x3, 1x1 with 4x expansion).
        layers: blocks per stage, e.g. ``(3, 4, 6, 3)`` for ResNet-50. Any number of stages.
        widths: "planes" per stage; a stage outputs ``widths[i] * expansion`` channels.
        stem: ``"imagenet"`` (7x7/2 conv + 3x3/2 max-pool) or ``"cifar"`` (3x3/1 conv, no pool).
        shortcut: ``"A"`` zero-padding identity (parameter-free), ``"B"`` 1x1 projection where
            the shape changes, ``"C"`` projection on every block (He et al. 2015, Sec. 3.3).
        stride_in_1x1: put a bottleneck's stride on its first 1x1 conv (the paper's V1, as
            Caffe and Detectron's ``STRIDE_1X1``) instead of on the 3x3 (V1.5, torchvision's
            default, about 0.5 % more accurate on ImageNet per NVIDIA's model card).
        preact: pre-activation blocks, BN-ReLU-conv (He et al. 2016).
        groups, width_per_group: ResNeXt cardinality and wide-ResNet widening (bottleneck only;
            the 3x3 conv has ``int(planes * width_per_group / 64) * groups`` channels).
        skip: ``False`` gives the paper's plain network: the same layers, no identity path and
            no shortcut projections.
        batch_norm: ``False`` removes every BatchNorm (convs then get a bias).
        num_classes, in_channels: classifier outputs and input channels.
        stem_width: channels out of the stem; ``None`` means ``widths[0]``.
    """

    block: BlockType = "basic"
    layers: tuple[int, ...] = (2, 2, 2, 2)
    widths: tuple[int, ...] = (64, 128, 256, 512)
    stem: StemType = "imagenet"
    shortcut: ShortcutOption = "B"
    stride_in_1x1: bool = False
    preact: bool = False
    groups: int = 1
    width_per_group: int = 64
    skip: bool = True
    batch_norm: bool = True
    num_classes: int = 1000
    in_channels: int = 3
    stem_width: int | None = None

    def __post_init__(self) -> None:
        # Lists arrive from JSON, URLs and widgets; store tuples so the spec stays hashable.
        for name in ("layers", "widths"):
            value = getattr(self, name)
            if isinstance(value, int) or not _is_sequence(value):
                raise SpecError(f"{name} must be a list of whole numbers, one per stage.")
            object.__setattr__(self, name, tuple(value))
        validate(self)

    # Derived facts, computed from the fields (never stored, so they cannot disagree).

    @property
    def expansion(self) -> int:
        return EXPANSION[self.block]

    @property
    def num_stages(self) -> int:
        return len(self.layers)

    @property
    def stem_channels(self) -> int:
        return self.widths[0] if self.stem_width is None else self.stem_width

    @property
    def stage_strides(self) -> tuple[int, ...]:
        """Stage 1 keeps the resolution (the stem reduced it already); later stages halve it."""
        return tuple(1 if i == 0 else 2 for i in range(self.num_stages))

    @property
    def out_channels(self) -> tuple[int, ...]:
        """Channels leaving each stage."""
        return tuple(w * self.expansion for w in self.widths)

    @property
    def depth(self) -> int:
        """Depth as the paper counts it: weighted layers on the main path (stem conv, every
        conv of every residual branch, the fc). Shortcut projections do not count."""
        return 1 + CONVS_PER_BLOCK[self.block] * sum(self.layers) + 1

    def bottleneck_width(self, stage: int) -> int:
        """Channels inside a bottleneck block of ``stage`` (torchvision's formula)."""
        return int(self.widths[stage] * (self.width_per_group / 64.0)) * self.groups

    def plain_twin(self) -> ResNetSpec:
        """The same network without skip connections."""
        return dataclasses.replace(self, skip=False)


def _is_sequence(value: object) -> bool:
    return isinstance(value, (tuple, list))


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def validate(spec: ResNetSpec) -> None:
    """Raise :class:`SpecError` with a human message if ``spec`` cannot be a network."""
    _check_choice("block", spec.block, BLOCK_TYPES)
    _check_choice("stem", spec.stem, STEM_TYPES)
    _check_choice("shortcut", spec.shortcut, SHORTCUT_OPTIONS)
    for name in ("stride_in_1x1", "preact", "skip", "batch_norm"):
        if not isinstance(getattr(spec, name), bool):
            raise SpecError(f"{name} must be true or false.")

    if not spec.layers:
        raise SpecError("A ResNet needs at least one stage: layers is empty.")
    if len(spec.layers) > MAX_STAGES:
        raise SpecError(f"{len(spec.layers)} stages is more than this tool allows ({MAX_STAGES}).")
    if len(spec.widths) != len(spec.layers):
        raise SpecError(
            f"layers has {len(spec.layers)} stages but widths has {len(spec.widths)}: "
            "give one width per stage."
        )
    for i, n in enumerate(spec.layers, start=1):
        if not _is_int(n) or n < 1:
            raise SpecError(f"Stage {i} has {n!r} blocks; every stage needs at least 1 block.")
    if sum(spec.layers) > MAX_BLOCKS_TOTAL:
        raise SpecError(
            f"{sum(spec.layers):,} blocks in total is more than this tool builds "
            f"({MAX_BLOCKS_TOTAL:,}; ResNet-1202 has 600)."
        )
    for i, w in enumerate(spec.widths, start=1):
        _check_positive(f"Stage {i} width", w, MAX_WIDTH)
    if spec.stem_width is not None:
        _check_positive("Stem width", spec.stem_width, MAX_WIDTH)
    _check_positive("num_classes", spec.num_classes, MAX_CLASSES)
    _check_positive("in_channels", spec.in_channels, MAX_IN_CHANNELS)
    _check_positive("groups", spec.groups, MAX_WIDTH)
    _check_positive("width_per_group", spec.width_per_group, MAX_WIDTH)

    if spec.block == "basic":
        if spec.groups != 1 or spec.width_per_group != 64:
            raise SpecError(
                "groups and width_per_group apply to bottleneck blocks only (as in torchvision); "
                "to widen a basic-block network, raise its widths (Zagoruyko & Komodakis 2016)."
            )
    else:
        for i in range(spec.num_stages):
            if spec.bottleneck_width(i) < 1:
                raise SpecError(
                    f"Stage {i + 1}: width {spec.widths[i]} x width_per_group "
                    f"{spec.width_per_group}/64 leaves no channel per group; raise the width "
                    "or width_per_group."
                )
    if spec.stride_in_1x1 and spec.block != "bottleneck":
        raise SpecError(
            "V1 vs V1.5 (where the stride sits) only differs for bottleneck blocks; "
            "a basic block strides on its first 3x3 conv either way."
        )
    if spec.shortcut == "A" and spec.skip:
        _check_zero_padding_fits(spec)


def _check_choice(name: str, value: object, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise SpecError(f"{name} must be one of {', '.join(choices)}; got {value!r}.")


def _check_positive(name: str, value: object, maximum: int) -> None:
    if not _is_int(value) or value < 1:
        raise SpecError(f"{name} must be a whole number of at least 1; got {value!r}.")
    if value > maximum:
        raise SpecError(f"{name} of {value:,} is more than this tool allows ({maximum:,}).")


def _check_zero_padding_fits(spec: ResNetSpec) -> None:
    """Option A pads new channels with zeros, so it cannot shrink the channel count."""
    channels = spec.stem_channels
    for i, out in enumerate(spec.out_channels, start=1):
        if out < channels:
            raise SpecError(
                f"Shortcut option A (zero-padding) cannot go from {channels} to {out} channels "
                f"at stage {i}: padding only adds channels. Use option B or C."
            )
        channels = out


def parameter_count(spec: ResNetSpec) -> int:
    """Trainable parameters, in closed form per stage (used by the memory guard; the layer-by-
    layer count lives in :mod:`resnet_viz.summary` and tests check that the two agree)."""
    bias = 0 if spec.batch_norm else 1
    bn = 2 if spec.batch_norm else 0

    def conv(cin: int, cout: int, k: int, groups: int = 1) -> int:
        return cin // groups * k * k * cout + bias * cout

    total = conv(spec.in_channels, spec.stem_channels, 7 if spec.stem == "imagenet" else 3)
    total += bn * spec.stem_channels
    channels = spec.stem_channels
    for i, (blocks, planes) in enumerate(zip(spec.layers, spec.widths, strict=True)):
        out = planes * spec.expansion
        for b in range(blocks):
            cin = channels if b == 0 else out
            if spec.block == "basic":
                branch = conv(cin, planes, 3) + conv(planes, planes, 3)
                branch += bn * (planes + planes) if not spec.preact else bn * (cin + planes)
            else:
                mid = spec.bottleneck_width(i)
                branch = conv(cin, mid, 1) + conv(mid, mid, 3, spec.groups) + conv(mid, out, 1)
                branch += bn * (mid + mid + out) if not spec.preact else bn * (cin + mid + mid)
            total += branch
            if has_projection(spec, i, b):
                total += conv(cin, out, 1) + (0 if spec.preact else bn * out)
        channels = out
    if spec.preact:
        total += bn * channels  # the final BN before pooling (He et al. 2016)
    total += channels * spec.num_classes + spec.num_classes
    return total


def shape_changes(spec: ResNetSpec, stage: int, block: int) -> bool:
    """Whether block ``block`` of ``stage`` changes the tensor shape (stride or channels)."""
    if block > 0:
        return False
    cin = spec.stem_channels if stage == 0 else spec.out_channels[stage - 1]
    return spec.stage_strides[stage] != 1 or cin != spec.out_channels[stage]


def has_projection(spec: ResNetSpec, stage: int, block: int) -> bool:
    """Whether this block's shortcut is a 1x1 convolution (options B and C)."""
    if not spec.skip or spec.shortcut == "A":
        return False
    return spec.shortcut == "C" or shape_changes(spec, stage, block)


def shortcut_kind(spec: ResNetSpec, stage: int, block: int) -> str:
    """``"none"`` (plain net), ``"identity"``, ``"projection"`` or ``"zero-pad"``."""
    if not spec.skip:
        return "none"
    if has_projection(spec, stage, block):
        return "projection"
    if spec.shortcut == "A" and shape_changes(spec, stage, block):
        return "zero-pad"
    return "identity"


def check_weight_budget(spec: ResNetSpec, budget_bytes: int = WEIGHT_BUDGET_BYTES) -> None:
    """Refuse, before any allocation, a spec whose float32 weights exceed ``budget_bytes``."""
    needed = parameter_count(spec) * BYTES_PER_FLOAT32
    if needed > budget_bytes:
        raise SpecError(
            f"This network has {needed // BYTES_PER_FLOAT32:,} parameters: its weights alone would "
            f"take {needed / 1024**3:.1f} GiB, more than the {budget_bytes / 1024**3:.0f} GiB this "
            "app allows. Use fewer blocks or narrower stages."
        )


# Presets ---------------------------------------------------------------------------------------

_IMAGENET_WIDTHS = (64, 128, 256, 512)
_CIFAR_WIDTHS = (16, 32, 64)


@dataclass(frozen=True)
class Preset:
    """A named network with the numbers published for it.

    ``reference_params``/``reference_gmacs`` come from ``reference`` (torchvision's weight
    metadata ``num_params`` and ``_ops``, or the paper's Table 6); tests check them against
    both the analytic summary and the built model.
    """

    name: str
    label: str
    spec: ResNetSpec
    reference_params: int
    reference: str
    reference_gmacs: float | None = None
    torchvision_builder: str | None = None
    input_size: tuple[int, int, int] = (3, 224, 224)


def _imagenet(block: BlockType, layers: tuple[int, ...], **kw: int) -> ResNetSpec:
    return ResNetSpec(block=block, layers=layers, widths=_IMAGENET_WIDTHS, **kw)


def _cifar(n: int) -> ResNetSpec:
    return ResNetSpec(
        block="basic", layers=(n, n, n), widths=_CIFAR_WIDTHS, stem="cifar", shortcut="A",
        num_classes=10,
    )  # fmt: skip


def _torchvision(name: str, label: str, spec: ResNetSpec, params: int, gmacs: float) -> Preset:
    return Preset(
        name=name,
        label=label,
        spec=spec,
        reference_params=params,
        reference_gmacs=gmacs,
        reference=f"torchvision {name} weights metadata (num_params, GFLOPS)",
        torchvision_builder=f"torchvision.models.{name}",
    )


def _paper_cifar(depth: int, params: int) -> Preset:
    return Preset(
        name=f"resnet{depth}",
        label=f"ResNet-{depth} (CIFAR)",
        spec=_cifar((depth - 2) // 6),
        reference_params=params,
        reference="He et al. 2015, Table 6 (CIFAR-10, option A shortcuts)",
        input_size=(3, 32, 32),
    )


#: Every named network, in the order the app lists them.
PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        _torchvision("resnet18", "ResNet-18", _imagenet("basic", (2, 2, 2, 2)), 11_689_512, 1.814),
        _torchvision("resnet34", "ResNet-34", _imagenet("basic", (3, 4, 6, 3)), 21_797_672, 3.664),
        _torchvision(
            "resnet50", "ResNet-50", _imagenet("bottleneck", (3, 4, 6, 3)), 25_557_032, 4.089
        ),
        _torchvision(
            "resnet101", "ResNet-101", _imagenet("bottleneck", (3, 4, 23, 3)), 44_549_160, 7.801
        ),
        _torchvision(
            "resnet152", "ResNet-152", _imagenet("bottleneck", (3, 8, 36, 3)), 60_192_808, 11.514
        ),
        _torchvision(
            "wide_resnet50_2",
            "Wide ResNet-50-2",
            _imagenet("bottleneck", (3, 4, 6, 3), width_per_group=128),
            68_883_240,
            11.398,
        ),
        _torchvision(
            "resnext50_32x4d",
            "ResNeXt-50 (32x4d)",
            _imagenet("bottleneck", (3, 4, 6, 3), groups=32, width_per_group=4),
            25_028_904,
            4.23,
        ),
        _paper_cifar(20, 269_722),
        _paper_cifar(32, 464_154),
        _paper_cifar(44, 658_586),
        _paper_cifar(56, 853_018),
        _paper_cifar(110, 1_727_962),
        _paper_cifar(1202, 19_421_274),
    )
}


def preset(name: str) -> ResNetSpec:
    """The spec of a named network, e.g. ``preset("resnet50")`` or ``preset("resnet56")``."""
    try:
        return PRESETS[name].spec
    except KeyError:
        raise SpecError(f"Unknown preset {name!r}. Known presets: {', '.join(PRESETS)}.") from None


def preset_for(spec: ResNetSpec) -> Preset | None:
    """The preset this spec is exactly, if any (ignoring nothing: a changed field is custom)."""
    return next((p for p in PRESETS.values() if p.spec == spec), None)


def default_input_size(spec: ResNetSpec) -> tuple[int, int, int]:
    """(C, H, W) the network was designed for: 224x224 for the ImageNet stem, 32x32 for CIFAR."""
    side = 224 if spec.stem == "imagenet" else 32
    return (spec.in_channels, side, side)


# Any depth ------------------------------------------------------------------------------------

#: ImageNet depths with a published layout: He et al. 2015 Table 1, and He et al. 2016 (200).
KNOWN_IMAGENET_LAYOUTS: dict[int, tuple[BlockType, tuple[int, ...]]] = {
    18: ("basic", (2, 2, 2, 2)),
    34: ("basic", (3, 4, 6, 3)),
    50: ("bottleneck", (3, 4, 6, 3)),
    101: ("bottleneck", (3, 4, 23, 3)),
    152: ("bottleneck", (3, 8, 36, 3)),
    200: ("bottleneck", (3, 24, 36, 3)),
}
#: The paper switches to bottleneck blocks from ResNet-50 on (Table 1).
BOTTLENECK_FROM_DEPTH = 50
#: ResNet-34's layout: the proportions used to spread basic blocks over four stages.
BASIC_PROPORTIONS = (3, 4, 6, 3)
#: ResNet-50's layout: deeper bottleneck nets add blocks to stage 3, as ResNet-101 does.
BOTTLENECK_BASE = (3, 4, 6, 3)
#: The deepest network each family can reach within MAX_BLOCKS_TOTAL.
MAX_DEPTH: dict[str, int] = {
    "imagenet": CONVS_PER_BLOCK["bottleneck"] * MAX_BLOCKS_TOTAL + 2,
    "cifar": 6 * (MAX_BLOCKS_TOTAL // 3) + 2,
}


def valid_depths(family: Family = "imagenet", *, limit: int | None = None) -> list[int]:
    """Every depth :func:`spec_for_depth` accepts for ``family``, up to ``limit``."""
    limit = MAX_DEPTH[family] if limit is None else min(limit, MAX_DEPTH[family])
    if family == "cifar":
        return list(range(8, limit + 1, 6))
    basic = list(range(10, BOTTLENECK_FROM_DEPTH, 2))
    bottleneck = [d for d in range(BOTTLENECK_FROM_DEPTH, limit + 1) if (d - 2) % 3 == 0]
    return sorted(set(basic + bottleneck + [d for d in KNOWN_IMAGENET_LAYOUTS if d <= limit]))


def spec_for_depth(depth: int, family: Family = "imagenet") -> ResNetSpec:
    """A ResNet of exactly ``depth`` weighted layers (counted as the paper counts).

    ImageNet family (4 stages, widths 64-512, option B):
      - 18/34/50/101/152 are torchvision's presets, 200 is He et al. 2016's [3, 24, 36, 3];
      - other depths below 50 use basic blocks: depth = 2 * blocks + 2 (any even depth >= 10),
        spread over the stages in ResNet-34's proportions 3:4:6:3 (largest remainder, >= 1 each);
      - other depths from 50 use bottleneck blocks: depth = 3 * blocks + 2, starting from
        ResNet-50's [3, 4, 6, 3] and adding every extra block to stage 3, which is how the paper
        goes from ResNet-50 to ResNet-101.
    CIFAR family (He et al. 2015, Sec. 4.2): depth = 6n + 2, three stages of n basic blocks with
    16/32/64 filters and option A shortcuts; 20, 32, 44, 56, 110 and 1202 are the paper's nets.

    Raises:
        SpecError: when no layout has that depth, naming the nearest depths that work.
    """
    if not _is_int(depth):
        raise SpecError(f"Depth must be a whole number; got {depth!r}.")
    if family not in ("imagenet", "cifar"):
        raise SpecError(f"family must be 'imagenet' or 'cifar'; got {family!r}.")
    if family == "cifar":
        if 8 <= depth <= MAX_DEPTH["cifar"] and (depth - 2) % 6 == 0:
            return _cifar((depth - 2) // 6)
        raise SpecError(_no_layout_message(depth, family, "CIFAR ResNets have depth 6n + 2"))

    if depth in KNOWN_IMAGENET_LAYOUTS:
        block, layers = KNOWN_IMAGENET_LAYOUTS[depth]
        return _imagenet(block, layers)
    if 10 <= depth < BOTTLENECK_FROM_DEPTH and depth % 2 == 0:
        return _imagenet("basic", _spread((depth - 2) // 2, BASIC_PROPORTIONS))
    if BOTTLENECK_FROM_DEPTH <= depth <= MAX_DEPTH["imagenet"] and (depth - 2) % 3 == 0:
        extra = (depth - 2) // 3 - sum(BOTTLENECK_BASE)
        a, b, c, d = BOTTLENECK_BASE
        return _imagenet("bottleneck", (a, b, c + extra, d))
    raise SpecError(
        _no_layout_message(
            depth,
            family,
            "ImageNet ResNets have depth 2 x blocks + 2 below 50 (basic blocks) and "
            "3 x blocks + 2 from 50 (bottleneck blocks)",
        )
    )


def _spread(total: int, proportions: tuple[int, ...]) -> tuple[int, ...]:
    """Split ``total`` blocks over stages in ``proportions`` (largest remainder, >= 1 each)."""
    weight = sum(proportions)
    exact = [total * p / weight for p in proportions]
    counts = [max(1, int(x)) for x in exact]
    by_remainder = sorted(range(len(exact)), key=lambda i: (counts[i] - exact[i], i))
    for i in by_remainder[: total - sum(counts)]:
        counts[i] += 1
    return tuple(counts)


def _no_layout_message(depth: int, family: str, rule: str) -> str:
    depths = valid_depths(family)  # type: ignore[arg-type]
    at = bisect.bisect_left(depths, depth)
    near = sorted({depths[i] for i in (at - 1, at) if 0 <= i < len(depths)})
    nearest = " or ".join(str(d) for d in near)
    style = {"imagenet": "ImageNet-style", "cifar": "CIFAR-style"}[family]
    return f"No {style} ResNet has depth {depth}: {rule}. Nearest valid depths: {nearest}."


def spec_label(spec: ResNetSpec) -> str:
    """A short human name: "ResNet-101", "Plain-56 (CIFAR)", "ResNet-200", "ResNet-26 (custom)".

    Plain networks are named as in the paper ("plain-34"); a spec that is neither a preset nor
    the :func:`spec_for_depth` layout of its depth (or their plain or pre-activation variants)
    is marked custom.
    """
    exact = preset_for(spec)
    if exact is not None:
        return exact.label
    name = ("Pre-act " if spec.preact else "") + ("ResNet" if spec.skip else "Plain")
    name = f"{name}-{spec.depth}"
    family: Family = "cifar" if spec.stem == "cifar" else "imagenet"
    try:
        reference = spec_for_depth(spec.depth, family)
    except SpecError:
        reference = None
    if reference is not None and dataclasses.replace(spec, skip=True, preact=False) == reference:
        return f"{name} (CIFAR)" if family == "cifar" else name
    return f"{name} (custom)"
