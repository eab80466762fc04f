"""Describe any ResNet as plain, hashable data.

A :class:`ResNetSpec` says everything needed to build a residual network (or its plain twin)
and to count its shapes, parameters and MACs without building it; :func:`validate` refuses, with
a message meant for the user, a description that cannot be a network. How a spec becomes layers
is :mod:`resnet_viz.core.layout`'s job; named networks live in :mod:`resnet_viz.core.presets`.

Sources:
- He, Zhang, Ren, Sun 2015, "Deep Residual Learning for Image Recognition" (arXiv:1512.03385):
  Table 1 (ImageNet layouts), Section 3.3 (shortcut options A/B/C), Section 4.2 (CIFAR, 6n+2).
- He, Zhang, Ren, Sun 2016, "Identity Mappings in Deep Residual Networks" (arXiv:1603.05027):
  pre-activation blocks.
- torchvision ``models/resnet.py``: V1.5 stride placement, ResNeXt/wide widths.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

from ..errors import UserError

BlockType = Literal["basic", "bottleneck"]
StemType = Literal["imagenet", "cifar", "deep"]
ShortcutOption = Literal["A", "B", "C"]
Family = Literal["imagenet", "cifar"]

BLOCK_TYPES: tuple[str, ...] = ("basic", "bottleneck")
STEM_TYPES: tuple[str, ...] = ("imagenet", "cifar", "deep")
SHORTCUT_OPTIONS: tuple[str, ...] = ("A", "B", "C")

#: Output channels of a block = planes * expansion (He et al. 2015, Table 1).
EXPANSION: dict[str, int] = {"basic": 1, "bottleneck": 4}
#: Weighted layers (convolutions) on the residual branch of one block.
CONVS_PER_BLOCK: dict[str, int] = {"basic": 2, "bottleneck": 3}

# Bounds that keep a typo ("widths 6400000") from hanging the app. Real networks sit far below.
MAX_STAGES = 8
MAX_BLOCKS_TOTAL = 5_000
#: Why the block cap exists, as messages quote it.
BLOCK_CAP_REASON = (
    f"this tool builds at most {MAX_BLOCKS_TOTAL:,} blocks, a cap that keeps a typo from "
    "hanging the app (ResNet-1202 has 600)"
)
MAX_WIDTH = 16_384
MAX_CLASSES = 100_000
MAX_IN_CHANNELS = 64
#: A spec whose float32 weights would exceed this is refused before anything is allocated.
WEIGHT_BUDGET_BYTES = 2 * 1024**3
BYTES_PER_FLOAT32 = 4


class SpecError(UserError, ValueError):
    """An impossible or unreasonable ResNet description; the message is meant for the user."""


@dataclass(frozen=True)
class ResNetSpec:
    """Everything that defines a ResNet. Frozen and hashable, so it can key caches and URLs.

    The defaults describe torchvision's ResNet-18.

    Attributes:
        block: ``"basic"`` (two 3x3 convs) or ``"bottleneck"`` (1x1, 3x3, 1x1 with 4x expansion).
        layers: blocks per stage, e.g. ``(3, 4, 6, 3)`` for ResNet-50. Any number of stages.
        widths: "planes" per stage; a stage outputs ``widths[i] * expansion`` channels.
        stem: ``"imagenet"`` (7x7/2 conv + 3x3/2 max-pool), ``"deep"`` (three 3x3 convs, the
            first with stride 2, then the max-pool: the ResNet-C stem of He et al. 2019, "Bag of
            Tricks for Image Classification with CNNs", arXiv:1812.01187, timm's ``resnet*c``
            and ``resnet*d``) or ``"cifar"`` (3x3/1 conv, no pool).
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
        stem_width: channels out of the stem; ``None`` means ``widths[0]``. A deep stem's
            first two convs have half as many (timm: ``stem_width=32`` gives 32, 32, 64).
        avg_down: projection shortcuts average-pool (2x2, stride 2) before a stride-1 1x1
            conv instead of striding the conv, so no activation is skipped (ResNet-D, He et al.
            2019, Sec. 4.1; timm's ``avg_down``).
        se: squeeze-and-excitation on every block's branch before the addition (Hu, Shen, Sun
            2018, arXiv:1709.01507), reduction 16 rounded as timm does.
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
    avg_down: bool = False
    se: bool = False

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
    for name in ("stride_in_1x1", "preact", "skip", "batch_norm", "avg_down", "se"):
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
        raise SpecError(f"{sum(spec.layers):,} blocks in total is too many: {BLOCK_CAP_REASON}.")
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
    if spec.avg_down and spec.shortcut == "A":
        raise SpecError(
            "Average-pool shortcuts (avg_down) pool before a projection; option A has no "
            "projection. Use option B or C."
        )
    if spec.stem == "deep" and spec.stem_channels % 2:
        raise SpecError(
            f"A deep stem halves its width in the first two convs; stem width "
            f"{spec.stem_channels} is odd."
        )


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


def default_input_size(spec: ResNetSpec) -> tuple[int, int, int]:
    """(C, H, W) the network was designed for: 224x224 for the ImageNet stem, 32x32 for CIFAR."""
    side = 32 if spec.stem == "cifar" else 224
    return (spec.in_channels, side, side)
