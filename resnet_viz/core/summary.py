"""Shapes, parameters, MACs, memory and receptive fields of a ResNet, computed from its spec.

No model is built and no forward pass runs, so ``summarize`` is instant at any depth (see
``bench/summary_vs_torchinfo.py``). Tests check every number against torchinfo and against the
built model's parameters and forward hooks, and the receptive field against a brute-force probe.

Conventions:
- one multiply-add = 1 MAC; FLOPs = 2 x MACs;
- MACs are those of the weighted layers, as torchvision's "GFLOPS" metadata counts them: a
  convolution costs (weights + bias) x output positions x batch, the fc (weights + bias) x batch
  (both exactly torchinfo's per-layer "Mult-Adds");
- BatchNorm, ReLU, pooling, the residual addition and zero-padding shortcuts count 0 MACs.
  torchinfo alone adds a nominal 2 per BN channel per sample (its rule for any layer with
  parameters); tests check our total plus exactly that amount equals torchinfo's total;
- parameters are trainable weights only; BatchNorm's running statistics are buffers, not counted;
- activation memory is each layer's output tensor in float32 (batch included); a training step
  keeps roughly all of them for the backward pass;
- receptive field r and effective stride j grow as r += (k - 1) * j, j *= s per layer
  (Araujo et al. 2019, "Computing Receptive Fields of Convolutional Neural Networks"); at a
  residual addition the larger of the two branches' fields wins.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from .layout import BlockPlan, Layer, ShortcutPlan, network_layout, se_parts
from .spec import ResNetSpec, SpecError, default_input_size

BYTES_PER_ACTIVATION = 4  # float32
MAX_INPUT_SIDE = 16_384
MAX_BATCH = 4_096

Shape = tuple[int, ...]


@dataclass(slots=True)
class LayerRow:
    """One executed layer, named as the module in the built model (``layer2.0.conv1``).

    ``kind`` is one of conv, bn, relu, maxpool, pool, se, shortcut (option A zero-padding), add,
    avgpool, fc. ``block`` is the block's index inside its stage, ``None`` in the stem and head.
    """

    name: str
    kind: str
    stage: str
    block: int | None
    input_shape: Shape
    output_shape: Shape
    params: int
    macs: int
    activation_bytes: int
    receptive_field: int
    effective_stride: int
    kernel: int | None = None
    stride: int | None = None


@dataclass(slots=True)
class BlockRow:
    """One residual block (or plain block) with its totals and its kind of shortcut."""

    name: str
    stage: str
    index: int
    input_shape: Shape
    output_shape: Shape
    params: int
    macs: int
    activation_bytes: int
    receptive_field: int
    effective_stride: int
    shortcut: str  # "identity", "projection", "pool-projection", "zero-pad" or "none" (plain)
    shortcut_params: int


@dataclass(slots=True)
class StageRow:
    """The stem, one stage of blocks, or the head, with its totals."""

    name: str  # "stem", "layer1", ..., "head"
    label: str  # "Stem", "Stage 1", ..., "Head"
    paper_name: str  # He et al. 2015 Table 1: conv1, conv2_x, ..., "avg pool, fc"
    blocks: int
    input_shape: Shape
    output_shape: Shape
    params: int
    macs: int
    activation_bytes: int
    receptive_field: int
    effective_stride: int


@dataclass(frozen=True)
class Summary:
    """Everything ``summarize`` computes. Totals equal the sums of the rows."""

    spec: ResNetSpec
    input_size: Shape
    batch_size: int
    layers: tuple[LayerRow, ...]
    blocks: tuple[BlockRow, ...]
    stages: tuple[StageRow, ...]
    total_params: int
    total_macs: int
    total_activation_bytes: int
    output_shape: Shape

    @property
    def depth(self) -> int:
        """Weighted layers as the paper counts them (see ``ResNetSpec.depth``)."""
        return self.spec.depth

    @property
    def total_flops(self) -> int:
        return 2 * self.total_macs

    @property
    def weight_bytes(self) -> int:
        return 4 * self.total_params


class _Walker:
    """Walks the network layer by layer, tracking shape, receptive field and effective stride."""

    def __init__(self, input_size: Shape, batch_size: int) -> None:
        self.batch = batch_size
        self.c, self.h, self.w = input_size
        self.rf, self.jump = 1, 1
        self.rows: list[LayerRow] = []
        self.blocks: list[BlockRow] = []
        self.stages: list[StageRow] = []
        self.stage, self.block = "stem", None
        self._group_start = 0
        self._group_blocks = 0
        self._template_start = self._template_end = 0

    def close_block(self, first_row: int, shortcut: str, shortcut_params: int) -> None:
        """Sum the rows since ``first_row`` into one :class:`BlockRow`."""
        rows = self.rows[first_row:]
        if self.block == 1:  # the template that later blocks of the stage repeat
            self._template_start, self._template_end = first_row, len(self.rows)
        params, macs, memory = _totals(rows)
        self.blocks.append(
            BlockRow(
                f"{self.stage}.{self.block}", self.stage, self.block, rows[0].input_shape,
                rows[-1].output_shape, params, macs, memory, self.rf, self.jump, shortcut,
                shortcut_params,
            )
        )  # fmt: skip
        self._group_blocks += 1

    def close_group(self, name: str) -> None:
        """Sum the rows since the last group into one :class:`StageRow`."""
        rows = self.rows[self._group_start :]
        params, macs, memory = _totals(rows)
        if name in ("stem", "head"):
            label, paper = ("Stem", "conv1") if name == "stem" else ("Head", "avg pool, fc")
        else:
            i = int(name.removeprefix("layer"))
            label, paper = f"Stage {i}", f"conv{i + 1}_x"
        self.stages.append(
            StageRow(
                name, label, paper, self._group_blocks, rows[0].input_shape,
                rows[-1].output_shape, params, macs, memory, self.rf, self.jump,
            )
        )  # fmt: skip
        self._group_start = len(self.rows)
        self._group_blocks = 0

    def repeat_block(self, index: int) -> None:
        """Block ``index`` (>= 2) of the current stage, copied from block 1.

        From the second block of a stage on, every block has stride 1, the same channels and
        the same kind of shortcut, so its rows equal block 1's except for their names and a
        receptive field larger by the same amount per block (the jump no longer changes).
        Copying instead of re-walking makes ResNet-1202's summary about 3x cheaper.
        """
        template = self.blocks[-(index - 1)]  # block 1 of this stage
        growth = template.receptive_field - self.blocks[-index].receptive_field
        shift = (index - 1) * growth
        old_prefix, new_prefix = f"{self.stage}.1.", f"{self.stage}.{index}."
        cut = len(old_prefix)
        template_rows = self.rows[self._template_start : self._template_end]
        self.rows.extend(
            LayerRow(
                new_prefix + row.name[cut:], row.kind, row.stage, index, row.input_shape,
                row.output_shape, row.params, row.macs, row.activation_bytes,
                row.receptive_field + shift, row.effective_stride, row.kernel, row.stride,
            )
            for row in template_rows
        )  # fmt: skip
        self.rf = template.receptive_field + shift
        self.blocks.append(
            BlockRow(
                f"{self.stage}.{index}", self.stage, index, template.input_shape,
                template.output_shape, template.params, template.macs, template.activation_bytes,
                self.rf, self.jump, template.shortcut, template.shortcut_params,
            )
        )  # fmt: skip
        self._group_blocks += 1

    def state(self) -> tuple[int, int, int, int, int]:
        return self.c, self.h, self.w, self.rf, self.jump

    def restore(self, state: tuple[int, int, int, int, int]) -> None:
        self.c, self.h, self.w, self.rf, self.jump = state

    def _emit(
        self,
        name: str,
        kind: str,
        before: Shape,
        params: int,
        macs: int,
        kernel: int | None = None,
        stride: int | None = None,
    ) -> None:
        batch, c, h, w = self.batch, self.c, self.h, self.w
        self.rows.append(
            LayerRow(
                name, kind, self.stage, self.block, before, (batch, c, h, w), params, macs,
                batch * c * h * w * BYTES_PER_ACTIVATION, self.rf, self.jump, kernel, stride,
            )
        )  # fmt: skip

    def _shape(self) -> Shape:
        return (self.batch, self.c, self.h, self.w)

    def _downsample(
        self, kernel: int, stride: int, padding: int, name: str, *, ceil: bool = False
    ) -> None:
        if stride > 1 and (self.h == 1 or self.w == 1):
            sides = [side for side, n in (("height", self.h), ("width", self.w)) if n == 1]
            raise _TooSmallError(name, sides, first=self.jump == 1)
        self.h = _pooled(self.h, kernel, stride, padding, ceil)
        self.w = _pooled(self.w, kernel, stride, padding, ceil)
        self.rf += (kernel - 1) * self.jump
        self.jump *= stride

    def layer(self, layer: Layer, prefix: str = "") -> None:
        """Walk one planned layer; a disabled BatchNorm (network without BN) and an identity
        placeholder leave no row; an SE unit leaves the rows of its modules (:meth:`se`)."""
        name, before = prefix + layer.name, self._shape()
        if (layer.kind == "bn" and not layer.enabled) or layer.kind == "identity":
            return
        if layer.kind == "se":
            self.se(name, layer)
            return
        if layer.kind in ("conv", "maxpool", "pool"):
            ceil = layer.kind == "pool"
            self._downsample(layer.kernel, layer.stride, layer.padding, name, ceil=ceil)
        elif layer.kind == "avgpool":
            # Global pooling: every input position reaches the output.
            self.rf += (max(self.h, self.w) - 1) * self.jump
            self.h = self.w = 1
        self.c = layer.out_channels
        params = layer.params
        macs = params * self.batch * (self.h * self.w if layer.kind == "conv" else 1)
        if layer.kind in ("bn", "relu", "maxpool", "pool", "avgpool"):
            macs = 0
        spatial = layer.kind in ("conv", "maxpool", "pool")
        kernel, stride = (layer.kernel, layer.stride) if spatial else (None, None)
        self._emit(name, layer.kind, before, params, macs, kernel, stride)
        if layer.kind == "fc":
            self.rows[-1].output_shape = (self.batch, layer.out_channels)
            self.rows[-1].activation_bytes = self.batch * layer.out_channels * BYTES_PER_ACTIVATION

    def se(self, name: str, layer: Layer) -> None:
        """Squeeze-and-excitation: the channel means (1x1) through ``fc1``, ReLU and ``fc2``;
        the sigmoid gate then scales the block's tensor, whose shape does not change. Its two
        1x1 convs count MACs like any conv (on a 1x1 map: their parameters); the product, like
        the residual sum, counts 0. The receptive field describes the convolutional path: the
        global mean is left out (with it, every output depends a little on the whole input)."""
        state = self.state()
        self.h = self.w = 1
        for part in se_parts(layer):
            before = self._shape()
            self.c = part.out_channels
            macs = part.params * self.batch
            self._emit(f"{name}.{part.name}", part.kind, before, part.params, macs)
        self.restore(state)

    def zero_pad(self, name: str, shortcut: ShortcutPlan, cout: int) -> None:
        before = self._shape()
        self._downsample(1, shortcut.stride, 0, name)
        self.c = cout
        self._emit(name, "shortcut", before, 0, 0, 1, shortcut.stride)

    def add(self, name: str, shortcut_rf: int) -> None:
        before = self._shape()
        self.rf = max(self.rf, shortcut_rf)
        self._emit(name, "add", before, 0, 0)


def _pooled(n: int, kernel: int, stride: int, padding: int, ceil: bool) -> int:
    """Output side of a conv or pool (PyTorch's formula; with ``ceil_mode`` the last window
    must still start inside the input or its left padding)."""
    span = n + 2 * padding - kernel
    if not ceil:
        return span // stride + 1
    out = -(-span // stride) + 1
    return out - 1 if (out - 1) * stride >= n + padding else out


def _totals(rows: list[LayerRow]) -> tuple[int, int, int]:
    params = macs = memory = 0
    for row in rows:
        params += row.params
        macs += row.macs
        memory += row.activation_bytes
    return params, macs, memory


class _TooSmallError(Exception):
    """A stride-2 layer met a side of 1 pixel (``first``: no layer had reduced it yet)."""

    def __init__(self, layer: str, sides: list[str], *, first: bool) -> None:
        self.layer, self.sides, self.first = layer, sides, first


def summarize(spec: ResNetSpec, input_size: Shape | None = None, batch_size: int = 1) -> Summary:
    """Per-layer, per-block and per-stage facts about ``spec`` at ``input_size`` (C, H, W).

    ``input_size`` defaults to what the network was designed for (224x224 for the ImageNet
    stem, 32x32 for CIFAR). Raises :class:`SpecError` for an input the network cannot take.
    """
    input_size = _check_input(spec, input_size, batch_size)
    try:
        walker = _walk(spec, input_size, batch_size)
    except _TooSmallError as small:
        raise SpecError(_too_small_message(spec, input_size, small)) from None
    layers, stages = tuple(walker.rows), tuple(walker.stages)
    return Summary(
        spec=spec,
        input_size=input_size,
        batch_size=batch_size,
        layers=layers,
        blocks=tuple(walker.blocks),
        stages=stages,
        total_params=sum(s.params for s in stages),
        total_macs=sum(s.macs for s in stages),
        total_activation_bytes=sum(s.activation_bytes for s in stages),
        output_shape=layers[-1].output_shape,
    )


#: How many networks' summaries :func:`shared_summary` keeps: every preset twice over and the
#: custom networks a lecture hall builds at the same time.
SHARED_SUMMARIES = 128


@functools.lru_cache(maxsize=SHARED_SUMMARIES)
def shared_summary(spec: ResNetSpec, input_size: Shape | None = None) -> Summary:
    """``summarize(spec, input_size)`` computed once per network in this process and shared by
    every caller (the architecture page of every browser session: a lecture hall clicking
    through the same presets walks each network once). The result is shared: never change it
    or its rows. A refused network raises each time (errors are not kept)."""
    return summarize(spec, input_size)


def _check_input(spec: ResNetSpec, input_size: Shape | None, batch_size: int) -> Shape:
    if input_size is None:
        return default_input_size(spec)
    if len(input_size) != 3:
        raise SpecError(f"Input size must be (channels, height, width); got {input_size!r}.")
    c, h, w = input_size
    if c != spec.in_channels:
        raise SpecError(
            f"This network takes {spec.in_channels}-channel input, not {c} channels: "
            "change in_channels or the input size."
        )
    for what, side in (("height", h), ("width", w)):
        if not isinstance(side, int) or isinstance(side, bool) or side < 1:
            raise SpecError(f"Input {what} must be a whole number of at least 1; got {side!r}.")
        if side > MAX_INPUT_SIDE:
            raise SpecError(
                f"Input {what} {side:,} is more than this tool allows ({MAX_INPUT_SIDE:,})."
            )
    if not isinstance(batch_size, int) or not 1 <= batch_size <= MAX_BATCH:
        raise SpecError(f"Batch size must be between 1 and {MAX_BATCH:,}; got {batch_size!r}.")
    return (c, h, w)


def minimum_input_side(spec: ResNetSpec) -> int:
    """Smallest input side (height or width) still wider than 1 pixel at every stride.

    Every stride-2 layer of these networks (7x7/2 and 1x1/2 and 3x3/2 convs, the 3x3/2 max-pool,
    all padded by ``kernel // 2``) maps a side of n pixels to ceil(n / 2) and needs n >= 2, so
    k halvings need a side of 2^(k-1) + 1.
    """
    layout = network_layout(spec)
    main_path = [*layout.stem, *(layer for stage in layout.stages for layer in stage.first.branch)]
    halvings = sum(1 for layer in main_path if layer.stride > 1)
    return 2 ** (halvings - 1) + 1 if halvings else 1


def _too_small_message(spec: ResNetSpec, input_size: Shape, small: _TooSmallError) -> str:
    """Say which side is short, where it runs out, and the minimum for that side."""
    _, height, width = input_size
    need = minimum_input_side(spec)
    sides = " and ".join(small.sides)
    if small.first:
        where = f"its {sides} of 1 pixel cannot be halved by {small.layer}."
    else:
        verb = "are" if len(small.sides) == 2 else "is"
        where = f"its {sides} {verb} down to 1 pixel before {small.layer} would halve it again."
    short = [side for side, n in (("height", height), ("width", width)) if n < need]
    if len(short) == 2:
        advice = f"Use at least {need}x{need}."
    else:
        fine = "width" if short == ["height"] else "height"
        advice = f"Use a {short[0]} of at least {need} pixels (the {fine} is fine)."
    return f"An input of {height}x{width} is too small for this network: {where} {advice}"


def _walk(spec: ResNetSpec, input_size: Shape, batch_size: int) -> _Walker:
    layout = network_layout(spec)
    walker = _Walker(input_size, batch_size)
    for layer in layout.stem:
        walker.layer(layer)
    walker.close_group("stem")
    for stage in layout.stages:
        walker.stage = stage.name
        for index in range(stage.blocks):
            walker.block = index
            if index >= 2:
                walker.repeat_block(index)
            else:
                _walk_block(walker, stage.block(index))
        walker.block = None
        walker.close_group(walker.stage)
    walker.stage = "head"
    for layer in layout.head:
        walker.layer(layer)
    walker.close_group("head")
    return walker


def _walk_block(walker: _Walker, block: BlockPlan) -> None:
    """The layers of one block in execution order; the shortcut is walked from the block's
    input (or, for a pre-activation projection, from the pre-activated input)."""
    prefix = block.name + "."
    first_row = len(walker.rows)
    block_input = pre_activated = walker.state()
    for i, layer in enumerate(block.branch):
        walker.layer(layer, prefix)
        if i == 1 and block.preact:  # after the first BN-ReLU
            pre_activated = walker.state()
    shortcut = block.shortcut
    if shortcut.kind != "none":
        residual = walker.state()
        walker.restore(pre_activated if shortcut.reads_preactivated else block_input)
        if shortcut.kind == "zero-pad":
            walker.zero_pad(f"{prefix}downsample", shortcut, block.out_channels)
        for layer in shortcut.layers:
            walker.layer(layer, prefix)
        shortcut_rf = walker.rf
        walker.restore(residual)
        walker.add(f"{prefix}add", shortcut_rf)
    for layer in block.after_add:
        walker.layer(layer, prefix)
    walker.close_block(first_row, shortcut.kind, shortcut.params)
