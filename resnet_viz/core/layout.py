"""The one place where a :class:`~resnet_viz.core.spec.ResNetSpec` becomes layers.

:func:`network_layout` turns a spec into the ordered plan of the network: the stem, every
stage's blocks with their layers in execution order (kind, channels, kernel, stride, padding,
groups, bias, where BatchNorm and ReLU go) and each block's shortcut, then the head.
:func:`~resnet_viz.core.build.build_model` makes modules from it, :func:`~resnet_viz.core.summary.
summarize` walks it for shapes, MACs and receptive fields, and :func:`parameter_count` sums it;
none of them re-derives a width or a stride. Teaching a new variant means teaching this module.

Facts encoded here, with their sources:

- output channels of a block = planes x expansion (1 basic, 4 bottleneck; He et al. 2015,
  "Deep Residual Learning for Image Recognition", arXiv:1512.03385, Table 1);
- a bottleneck's 3x3 has ``int(planes * width_per_group / 64) * groups`` channels
  (torchvision ``models/resnet.py``; ResNeXt and wide ResNets);
- a stage's first block carries its stride: on the first 1x1 for V1 (the paper, Caffe), on the
  3x3 for V1.5 (torchvision's default, "known as ResNet V1.5");
- post-activation blocks run conv-BN-ReLU ... conv-BN, add, ReLU (He et al. 2015, Fig. 5);
  pre-activation blocks run BN-ReLU-conv ... BN-ReLU-conv, add, and a projection shortcut reads
  the pre-activated input (He et al. 2016, "Identity Mappings in Deep Residual Networks",
  arXiv:1603.05027, Fig. 4e);
- shortcuts (He et al. 2015, Sec. 3.3): option A is a parameter-free zero-padding identity,
  B projects (1x1 conv + BN) where the shape changes, C projects on every block;
- without BatchNorm every convolution carries a bias.

From a stage's second block on, every block has the same channels, stride 1 and the same kind
of shortcut, so a stage is its first block, a template for the others and a count
(:class:`StagePlan`). Consumers that only need totals (the parameter count, the summary's
repeated blocks) use the count instead of walking hundreds of identical blocks.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Literal

from .spec import BYTES_PER_FLOAT32, WEIGHT_BUDGET_BYTES, ResNetSpec, SpecError

LayerKind = Literal["conv", "bn", "relu", "maxpool", "pool", "identity", "se", "avgpool", "fc"]
ShortcutKind = Literal["none", "identity", "projection", "pool-projection", "zero-pad"]

#: Squeeze-and-excitation (Hu et al. 2018, Sec. 3): reduction ratio r = 16; timm rounds the
#: squeezed width to a multiple of 8 (``make_divisible(channels / 16, 8, round_limit=0)``).
SE_REDUCTION = 16
SE_DIVISOR = 8

#: The ImageNet stem (He et al. 2015, Table 1): 7x7/2 conv, then a 3x3/2 max-pool.
IMAGENET_STEM_CONV = (7, 2)
IMAGENET_STEM_POOL = (3, 2, 1)  # kernel, stride, padding
#: The CIFAR stem (He et al. 2015, Sec. 4.2): one 3x3/1 conv, no pooling.
CIFAR_STEM_CONV = (3, 1)


@dataclass(frozen=True, slots=True)
class Layer:
    """One layer as it runs: a convolution, a BatchNorm, a ReLU, a pooling or the classifier.

    ``name`` is relative to the block for block layers (``"conv1"``, ``"downsample.0"``) and the
    module's own name in the stem and head (``"conv1"``, ``"fc"``). ``enabled`` is False for a
    BatchNorm of a network without BatchNorm: the module is an ``nn.Identity`` and does nothing.
    Kinds beyond the obvious: ``"pool"`` is a local average pool (2x2, ``ceil_mode``, padding not
    counted: timm's ``avg_down`` shortcut), ``"identity"`` a placeholder that keeps module
    indices aligned, ``"avgpool"`` the global pool of the head, and ``"se"`` a whole
    squeeze-and-excitation unit (global mean, 1x1 conv to ``reduced`` channels, ReLU, 1x1 conv
    back, sigmoid gate multiplying the input).
    """

    name: str
    kind: LayerKind
    in_channels: int
    out_channels: int
    kernel: int = 1
    stride: int = 1
    padding: int = 0
    groups: int = 1
    bias: bool = False
    enabled: bool = True
    reduced: int = 0  # squeezed channels of an "se" layer

    @property
    def params(self) -> int:
        """Trainable parameters (BatchNorm's running statistics are buffers, not counted)."""
        if self.kind == "conv":
            weights = self.in_channels // self.groups * self.kernel**2 * self.out_channels
            return weights + (self.out_channels if self.bias else 0)
        if self.kind == "bn":
            return 2 * self.out_channels if self.enabled else 0
        if self.kind == "fc":
            return self.in_channels * self.out_channels + self.out_channels
        if self.kind == "se":
            return sum(part.params for part in se_parts(self))
        return 0


@dataclass(frozen=True, slots=True)
class ShortcutPlan:
    """The identity path of one block.

    ``layers`` are the projection's conv (and BatchNorm, post-activation only) for
    ``"projection"``, the average pool (or its stride-1 placeholder), conv and BatchNorm for
    ``"pool-projection"``; empty otherwise. A ``"zero-pad"`` shortcut subsamples by ``stride`` and
    appends ``extra_channels`` zero channels. ``reads_preactivated``: a pre-activation block's
    projection reads the input after the first BN-ReLU (the identity reads x itself).
    """

    kind: ShortcutKind
    stride: int = 1
    extra_channels: int = 0
    layers: tuple[Layer, ...] = ()
    reads_preactivated: bool = False

    @property
    def params(self) -> int:
        return sum(layer.params for layer in self.layers)


@dataclass(frozen=True, slots=True)
class BlockPlan:
    """One residual block (or plain block): its branch, its shortcut and what follows the add.

    ``branch`` holds the residual branch's layers in execution order up to the addition;
    ``after_add`` what runs after it (the final ReLU of a post-activation block). In a
    pre-activation block the pre-activated input is the output of ``branch[:2]`` (BN, ReLU).
    """

    stage: int  # 0-based
    index: int  # 0-based, inside the stage
    in_channels: int
    out_channels: int
    stride: int
    branch: tuple[Layer, ...]
    shortcut: ShortcutPlan
    after_add: tuple[Layer, ...]
    preact: bool

    @property
    def name(self) -> str:
        """The module's name in the built model, torchvision's: ``"layer2.0"``."""
        return f"layer{self.stage + 1}.{self.index}"

    @property
    def convs(self) -> tuple[Layer, ...]:
        """The branch's convolutions, in order (2 basic, 3 bottleneck)."""
        return tuple(layer for layer in self.branch if layer.kind == "conv")

    @property
    def layers(self) -> tuple[Layer, ...]:
        """Every layer with parameters or a name in the model, in registration order."""
        return self.branch + self.shortcut.layers + self.after_add

    @property
    def params(self) -> int:
        return sum(layer.params for layer in self.branch) + self.shortcut.params

    def renumbered(self, index: int) -> BlockPlan:
        """This block as block ``index`` of the same stage (valid for a stage's template)."""
        return replace(self, index=index)


@dataclass(frozen=True, slots=True)
class StagePlan:
    """A stage: its first block, and (from the second block on) one block repeated."""

    index: int  # 0-based
    blocks: int
    first: BlockPlan
    repeated: BlockPlan | None  # block 1, the template of blocks 1 .. blocks - 1

    @property
    def name(self) -> str:
        return f"layer{self.index + 1}"

    @property
    def out_channels(self) -> int:
        return self.first.out_channels

    def block(self, index: int) -> BlockPlan:
        """Block ``index`` (0-based) of this stage."""
        if not 0 <= index < self.blocks:
            raise IndexError(f"{self.name} has {self.blocks} blocks; no block {index}.")
        if index == 0:
            return self.first
        assert self.repeated is not None
        return self.repeated if index == 1 else self.repeated.renumbered(index)

    def all_blocks(self) -> list[BlockPlan]:
        return [self.block(i) for i in range(self.blocks)]

    @property
    def params(self) -> int:
        repeated = self.repeated.params * (self.blocks - 1) if self.repeated else 0
        return self.first.params + repeated


@dataclass(frozen=True, slots=True)
class NetworkLayout:
    """The whole network: stem layers, stages, head layers (named as the model's modules)."""

    spec: ResNetSpec
    stem: tuple[Layer, ...]
    stages: tuple[StagePlan, ...]
    head: tuple[Layer, ...]

    @property
    def params(self) -> int:
        stem = sum(layer.params for layer in self.stem)
        head = sum(layer.params for layer in self.head)
        return stem + sum(stage.params for stage in self.stages) + head

    def block(self, stage: int, index: int) -> BlockPlan:
        return self.stages[stage].block(index)


# --------------------------------------------------------------------------------------------
# Building the plan
# --------------------------------------------------------------------------------------------


def _conv(name: str, cin: int, cout: int, kernel: int, stride: int, groups: int, spec) -> Layer:
    return Layer(
        name, "conv", cin, cout, kernel, stride, kernel // 2, groups, bias=not spec.batch_norm
    )


def _bn(name: str, channels: int, spec: ResNetSpec) -> Layer:
    return Layer(name, "bn", channels, channels, enabled=spec.batch_norm)


def _relu(name: str, channels: int) -> Layer:
    return Layer(name, "relu", channels, channels)


def shape_changes(spec: ResNetSpec, stage: int, block: int) -> bool:
    """Whether block ``block`` of ``stage`` changes the tensor shape (stride or channels)."""
    if block > 0:
        return False
    cin = spec.stem_channels if stage == 0 else spec.out_channels[stage - 1]
    return spec.stage_strides[stage] != 1 or cin != spec.out_channels[stage]


def shortcut_kind(spec: ResNetSpec, stage: int, block: int) -> ShortcutKind:
    """``"none"`` (plain net), ``"identity"``, ``"projection"`` or ``"zero-pad"``."""
    if not spec.skip:
        return "none"
    changes = shape_changes(spec, stage, block)
    if spec.shortcut == "C" or (spec.shortcut == "B" and changes):
        return "pool-projection" if spec.avg_down else "projection"
    if spec.shortcut == "A" and changes:
        return "zero-pad"
    return "identity"


def _branch(spec: ResNetSpec, stage: int, cin: int, stride: int) -> tuple[Layer, ...]:
    """The residual branch's layers in execution order, up to the addition."""
    planes, out = spec.widths[stage], spec.out_channels[stage]
    if spec.block == "basic":
        shapes = [(cin, planes, 3, stride, 1), (planes, planes, 3, 1, 1)]
    else:
        mid = spec.bottleneck_width(stage)
        # V1 strides on the first 1x1 (the paper, Caffe); V1.5 on the 3x3 (torchvision).
        s1, s3 = (stride, 1) if spec.stride_in_1x1 else (1, stride)
        shapes = [(cin, mid, 1, s1, 1), (mid, mid, 3, s3, spec.groups), (mid, out, 1, 1, 1)]
    layers: list[Layer] = []
    for i, (c_in, c_out, kernel, s, groups) in enumerate(shapes, start=1):
        conv = _conv(f"conv{i}", c_in, c_out, kernel, s, groups, spec)
        if spec.preact:
            layers += [_bn(f"bn{i}", c_in, spec), _relu(f"relu{i}", c_in), conv]
        else:
            layers += [conv, _bn(f"bn{i}", c_out, spec)]
            if i < len(shapes):
                layers.append(_relu(f"relu{i}", c_out))
    return tuple(layers)


def _shortcut(spec: ResNetSpec, stage: int, index: int, cin: int, stride: int) -> ShortcutPlan:
    kind = shortcut_kind(spec, stage, index)
    out = spec.out_channels[stage]
    if kind in ("projection", "pool-projection"):
        layers: list[Layer] = []
        if kind == "pool-projection":
            # timm's downsample_avg: AvgPool2d(2, stride, ceil_mode=True,
            # count_include_pad=False), or nn.Identity at stride 1, then a stride-1 1x1 conv.
            pool = Layer("downsample.0", "pool", cin, cin, 2, stride) if stride > 1 else None
            layers.append(pool or Layer("downsample.0", "identity", cin, cin))
            stride_of_conv, at = 1, len(layers)
        else:
            stride_of_conv, at = stride, 0
        layers.append(_conv(f"downsample.{at}", cin, out, 1, stride_of_conv, 1, spec))
        if not spec.preact and spec.batch_norm:
            layers.append(_bn(f"downsample.{at + 1}", out, spec))
        return ShortcutPlan(kind, stride, 0, tuple(layers), reads_preactivated=spec.preact)
    if kind == "zero-pad":
        return ShortcutPlan(kind, stride, out - cin)
    return ShortcutPlan(kind)


def se_parts(layer: Layer) -> tuple[Layer, Layer, Layer]:
    """The modules of an SE unit, named as timm's ``SEModule``: ``fc1`` (1x1 conv with bias to
    the squeezed width), ``relu``, ``fc2`` (1x1 conv with bias back). They run on the channel
    means (a 1x1 map); a sigmoid of ``fc2``'s output then gates the unit's input."""
    channels, reduced = layer.out_channels, layer.reduced
    return (
        Layer("fc1", "conv", channels, reduced, bias=True),
        Layer("relu", "relu", reduced, reduced),
        Layer("fc2", "conv", reduced, channels, bias=True),
    )


def se_width(channels: int) -> int:
    """Squeezed channels of an SE unit on ``channels`` (timm's ``make_divisible(channels / 16,
    8, round_limit=0)``: the nearest multiple of 8, at least 8)."""
    value = channels / SE_REDUCTION
    return max(SE_DIVISOR, int(value + SE_DIVISOR / 2) // SE_DIVISOR * SE_DIVISOR)


def _block(spec: ResNetSpec, stage: int, index: int, cin: int) -> BlockPlan:
    stride = spec.stage_strides[stage] if index == 0 else 1
    branch = _branch(spec, stage, cin, stride)
    out = spec.out_channels[stage]
    if spec.se:  # on the branch's output, before the addition (Hu et al. 2018, Fig. 3)
        branch += (Layer("se", "se", out, out, reduced=se_width(out)),)
    n = sum(1 for layer in branch if layer.kind == "conv")
    after_add = () if spec.preact else (_relu(f"relu{n}", out),)
    shortcut = _shortcut(spec, stage, index, cin, stride)
    return BlockPlan(stage, index, cin, out, stride, branch, shortcut, after_add, spec.preact)


def _stem(spec: ResNetSpec) -> tuple[Layer, ...]:
    c = spec.stem_channels
    if spec.stem == "deep":
        # The ResNet-C stem (He et al. 2019, Sec. 4.1) as timm names it: conv1 is a Sequential
        # of three 3x3 convs (the first with stride 2) with BN-ReLU between them.
        half = c // 2
        layers = [
            _conv("conv1.0", spec.in_channels, half, 3, 2, 1, spec),
            _bn("conv1.1", half, spec),
            _relu("conv1.2", half),
            _conv("conv1.3", half, half, 3, 1, 1, spec),
            _bn("conv1.4", half, spec),
            _relu("conv1.5", half),
            _conv("conv1.6", half, c, 3, 1, 1, spec),
        ]
    else:
        kernel, stride = IMAGENET_STEM_CONV if spec.stem == "imagenet" else CIFAR_STEM_CONV
        layers = [_conv("conv1", spec.in_channels, c, kernel, stride, 1, spec)]
    layers += [_bn("bn1", c, spec), _relu("relu", c)]
    if spec.stem != "cifar":
        k, s, p = IMAGENET_STEM_POOL
        layers.append(Layer("maxpool", "maxpool", c, c, k, s, p))
    return tuple(layers)


def _head(spec: ResNetSpec, channels: int) -> tuple[Layer, ...]:
    layers: list[Layer] = []
    if spec.preact:
        # Pre-activation nets end with BN-ReLU before pooling (He et al. 2016, Sec. 4).
        layers += [_bn("final_bn", channels, spec), _relu("final_relu", channels)]
    layers.append(Layer("avgpool", "avgpool", channels, channels))
    layers.append(Layer("fc", "fc", channels, spec.num_classes, bias=True))
    return tuple(layers)


@lru_cache(maxsize=256)
def network_layout(spec: ResNetSpec) -> NetworkLayout:
    """The plan of ``spec``: stem, stages (first block, repeated block, count) and head.

    Cached per spec (specs are frozen and hashable, plans are immutable), so the build, the
    summary and the parameter count of one network share one plan.
    """
    stages = []
    channels = spec.stem_channels
    for stage, count in enumerate(spec.layers):
        first = _block(spec, stage, 0, channels)
        repeated = _block(spec, stage, 1, first.out_channels) if count > 1 else None
        stages.append(StagePlan(stage, count, first, repeated))
        channels = first.out_channels
    return NetworkLayout(spec, _stem(spec), tuple(stages), _head(spec, channels))


def parameter_count(spec: ResNetSpec) -> int:
    """Trainable parameters of ``spec``'s network, from its layout (no model is built).

    Tests check it against the built model's ``parameters()`` and the summary's total."""
    return network_layout(spec).params


def check_weight_budget(spec: ResNetSpec, budget_bytes: int = WEIGHT_BUDGET_BYTES) -> None:
    """Refuse, before any allocation, a spec whose float32 weights exceed ``budget_bytes``."""
    needed = parameter_count(spec) * BYTES_PER_FLOAT32
    if needed > budget_bytes:
        raise SpecError(
            f"This network has {needed // BYTES_PER_FLOAT32:,} parameters: its weights alone would "
            f"take {needed / 1024**3:.1f} GiB, more than the {budget_bytes / 1024**3:.0f} GiB this "
            "app allows. Use fewer blocks or narrower stages."
        )
