"""Named networks and networks of any depth, as :class:`~resnet_viz.core.spec.ResNetSpec` data.

Presets reproduce torchvision's ImageNet models and the CIFAR-10 networks of He et al. 2015,
Section 4.2, with the parameter and MAC counts published for them (tests check both against the
analytic summary and the built model). :func:`spec_for_depth` gives a network of any valid depth.

Sources:
- He, Zhang, Ren, Sun 2015, "Deep Residual Learning for Image Recognition" (arXiv:1512.03385):
  Table 1 (ImageNet layouts), Table 6 (CIFAR parameter counts), Section 4.2 (CIFAR, 6n+2).
- He, Zhang, Ren, Sun 2016, "Identity Mappings in Deep Residual Networks" (arXiv:1603.05027):
  ResNet-200 = [3, 24, 36, 3].
- torchvision ``models/resnet.py`` and its weights' metadata (``num_params``, ``_ops``).
"""

from __future__ import annotations

import bisect
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from .spec import (
    BLOCK_CAP_REASON,
    CONVS_PER_BLOCK,
    MAX_BLOCKS_TOTAL,
    BlockType,
    Family,
    ResNetSpec,
    SpecError,
    _is_int,
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
    timm_name: str | None = None
    input_size: tuple[int, int, int] = (3, 224, 224)


def _imagenet(block: BlockType, layers: tuple[int, ...], **kw: object) -> ResNetSpec:
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


def _timm(name: str, label: str, spec: ResNetSpec, params: int) -> Preset:
    return Preset(
        name=name,
        label=label,
        spec=spec,
        reference_params=params,
        reference=f"timm 1.0.31 {name} (pretrained=False), parameter count",
        timm_name=name,
    )


def _resnet_d(block: BlockType, layers: tuple[int, ...], **kw) -> ResNetSpec:
    """timm's ResNet-D: deep stem of width 32, 32, 64 and average-pool shortcuts."""
    return _imagenet(block, layers, stem="deep", avg_down=True, **kw)


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
        _timm("resnet18d", "ResNet-18-D (timm)", _resnet_d("basic", (2, 2, 2, 2)), 11_708_744),
        _timm("resnet26d", "ResNet-26-D (timm)", _resnet_d("bottleneck", (2, 2, 2, 2)), 16_014_408),
        _timm("resnet50d", "ResNet-50-D (timm)", _resnet_d("bottleneck", (3, 4, 6, 3)), 25_576_264),
        _timm(
            "seresnet50",
            "SE-ResNet-50 (timm)",
            _imagenet("bottleneck", (3, 4, 6, 3), se=True),
            28_088_024,
        ),
        _timm(
            "seresnext50_32x4d",
            "SE-ResNeXt-50 (32x4d, timm)",
            _imagenet("bottleneck", (3, 4, 6, 3), groups=32, width_per_group=4, se=True),
            27_559_896,
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
    Either family stops at ``MAX_DEPTH``, where its blocks reach ``MAX_BLOCKS_TOTAL``.

    Raises:
        SpecError: when no layout has that depth, naming each rule in ``DEPTH_RULES`` the depth
            breaks and the nearest depths that work.
    """
    if not _is_int(depth):
        raise SpecError(f"Depth must be a whole number; got {depth!r}.")
    if family not in ("imagenet", "cifar"):
        raise SpecError(f"family must be 'imagenet' or 'cifar'; got {family!r}.")
    broken = broken_depth_rules(depth, family)
    if broken:
        raise SpecError(_no_layout_message(depth, family, broken))
    if family == "cifar":
        return _cifar((depth - 2) // 6)
    if depth in KNOWN_IMAGENET_LAYOUTS:
        block, layers = KNOWN_IMAGENET_LAYOUTS[depth]
        return _imagenet(block, layers)
    if depth < BOTTLENECK_FROM_DEPTH:
        return _imagenet("basic", _spread((depth - 2) // 2, BASIC_PROPORTIONS))
    extra = (depth - 2) // 3 - sum(BOTTLENECK_BASE)
    a, b, c, d = BOTTLENECK_BASE
    return _imagenet("bottleneck", (a, b, c + extra, d))


@dataclass(frozen=True)
class DepthRule:
    """One condition every depth of a family meets: ``breaks(depth)`` says whether ``depth``
    fails it, ``says(depth)`` is the clause a message gives for that failure."""

    name: str
    breaks: Callable[[int], bool]
    says: Callable[[int], str]


_SHALLOWEST = {"imagenet": 10, "cifar": 8}  # one basic block per stage: 2 x 4 + 2, 6 x 1 + 2
_CAP_RULE = {
    family: DepthRule(
        "block cap",
        lambda d, f=family: d > MAX_DEPTH[f],
        lambda d, f=family: (
            f"a{'n ImageNet' if f == 'imagenet' else ' CIFAR'} ResNet deeper than "
            f"{MAX_DEPTH[f]:,} layers has more than {MAX_BLOCKS_TOTAL:,} blocks, and "
            f"{BLOCK_CAP_REASON}"
        ),
    )
    for family in ("imagenet", "cifar")
}
#: Every rule a depth must meet, per family: a depth builds exactly when it breaks none.
DEPTH_RULES: dict[str, tuple[DepthRule, ...]] = {
    "imagenet": (
        DepthRule(
            "shallowest",
            lambda d: d < _SHALLOWEST["imagenet"],
            lambda d: (
                "the shallowest has 10 layers (one basic block in each of 4 stages: 2 x 4 + 2)"
            ),
        ),
        DepthRule(
            "basic blocks",
            lambda d: _SHALLOWEST["imagenet"] <= d < BOTTLENECK_FROM_DEPTH and d % 2 == 1,
            lambda d: (
                f"below {BOTTLENECK_FROM_DEPTH} they use basic blocks of 2 convs, so "
                f"depth = 2 x blocks + 2 is even, and {d} is odd"
            ),
        ),
        DepthRule(
            "bottleneck blocks",
            lambda d: d >= BOTTLENECK_FROM_DEPTH and (d - 2) % 3 != 0,
            lambda d: (
                f"from {BOTTLENECK_FROM_DEPTH} they use bottleneck blocks of 3 convs, so "
                f"depth = 3 x blocks + 2, and {d} - 2 = {d - 2} is not a multiple of 3"
            ),
        ),
        _CAP_RULE["imagenet"],
    ),
    "cifar": (
        DepthRule(
            "shallowest",
            lambda d: d < _SHALLOWEST["cifar"],
            lambda d: (
                "the shallowest has 8 layers (one basic block in each of 3 stages: 6 x 1 + 2)"
            ),
        ),
        DepthRule(
            "6n + 2",
            lambda d: d >= _SHALLOWEST["cifar"] and (d - 2) % 6 != 0,
            lambda d: (
                f"depth = 6n + 2 (3 stages of n basic blocks of 2 convs), and "
                f"{d} - 2 = {d - 2} is not a multiple of 6"
            ),
        ),
        _CAP_RULE["cifar"],
    ),
}


def broken_depth_rules(depth: int, family: Family = "imagenet") -> list[DepthRule]:
    """The rules of ``DEPTH_RULES[family]`` that ``depth`` breaks (empty: it builds)."""
    return [rule for rule in DEPTH_RULES[family] if rule.breaks(depth)]


def _spread(total: int, proportions: tuple[int, ...]) -> tuple[int, ...]:
    """Split ``total`` blocks over stages in ``proportions`` (largest remainder, >= 1 each)."""
    weight = sum(proportions)
    exact = [total * p / weight for p in proportions]
    counts = [max(1, int(x)) for x in exact]
    by_remainder = sorted(range(len(exact)), key=lambda i: (counts[i] - exact[i], i))
    for i in by_remainder[: total - sum(counts)]:
        counts[i] += 1
    return tuple(counts)


def _no_layout_message(depth: int, family: str, broken: list[DepthRule]) -> str:
    depths = valid_depths(family)  # type: ignore[arg-type]
    at = bisect.bisect_left(depths, depth)
    near = sorted({depths[i] for i in (at - 1, at) if 0 <= i < len(depths)})
    nearest = " or ".join(str(d) for d in near)
    style = {"imagenet": "ImageNet-style", "cifar": "CIFAR-style"}[family]
    which = "this tool builds " if _CAP_RULE[family] in broken else ""
    rules = "; ".join(rule.says(depth) for rule in broken)
    plural = "s" if len(near) > 1 else ""
    return (
        f"No {style} ResNet {which}has depth {depth}: {rules}. "
        f"Nearest valid depth{plural}: {nearest}."
    )


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
