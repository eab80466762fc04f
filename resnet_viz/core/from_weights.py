"""Read a :class:`~resnet_viz.core.spec.ResNetSpec` back from a checkpoint's keys and shapes.

Practitioners bring their own ResNet as a ``state_dict``: torchvision's, timm's, one saved by
this app, or one from a training script (wrapped as ``{"state_dict": ...}``, ``{"model": ...}``,
``{"model_state_dict": ...}`` and the like, with DataParallel's ``module.`` or torch.compile's
``_orig_mod.`` prefix). Module names follow
torchvision (and timm, which uses the same names for ResNets), so the keys say which modules
exist and the shapes say their widths:

- stem: ``conv1.weight`` 7x7 (ImageNet), 3x3 (CIFAR), or ``conv1.0/3/6.weight`` (deep stem);
- stages and blocks: ``layer{s}.{b}.conv1.weight``; a third conv makes a bottleneck;
- widths: a basic block's ``conv1`` outputs the stage's planes, a bottleneck's ``conv3`` outputs
  planes x 4; groups = the 3x3's channels over its input channels per group;
- shortcuts: ``downsample.0.weight`` a projection (option B, or C when blocks after the first
  have one too), ``downsample.1.weight`` 4-D an average pool before it (ResNet-D);
- pre-activation: a ``final_bn`` before the classifier (He et al. 2016); BatchNorm at all: any
  ``running_mean``;
- SE blocks: ``se.fc1.weight``; classes and input channels: ``fc.weight`` and the stem conv.

Some choices leave no trace in the weights, and :func:`read_state_dict` says which it assumed:
V1 and V1.5 (stride on the 1x1 or the 3x3) have identical shapes (V1.5, torchvision's, is
assumed); with option A shortcuts a ResNet and its plain twin have identical weights (a ResNet
is assumed); without BatchNorm, pre-activation leaves no trace (post-activation is assumed).
The result is checked by building the network and comparing every key and shape, so a spec is
returned only when ``build_model(spec).load_state_dict(state_dict, strict=True)`` works.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from .layout import network_layout
from .spec import ResNetSpec, SpecError

#: Keys under which training scripts commonly nest the state_dict.
NESTED_KEYS = ("state_dict", "model", "model_state_dict", "net", "network")
#: Prefixes added by wrappers: nn.DataParallel/DistributedDataParallel, torch.compile.
WRAPPER_PREFIXES = ("module.", "_orig_mod.")
#: How many keys a message lists at most.
LIST_LIMIT = 10
_BLOCK_KEY = re.compile(r"^layer(\d+)\.(\d+)\.")


@dataclass(frozen=True)
class SpecReading:
    """A spec read from weights, the normalised state_dict it was read from, and what the
    weights could not tell (each a sentence for the user)."""

    spec: ResNetSpec
    state_dict: dict
    assumptions: tuple[str, ...]


def unwrap_state_dict(checkpoint: object) -> dict:
    """The state_dict in ``checkpoint``: itself, or nested under a usual key (other entries such
    as ``"epoch"`` or ``"optimizer"`` are ignored); wrapper prefixes stripped.

    Raises:
        SpecError: when it is not a mapping of names to tensors, saying what it holds.
    """
    import torch

    if not isinstance(checkpoint, Mapping):
        raise SpecError(
            f"This checkpoint holds a {type(checkpoint).__name__}, not a state_dict (a dict of "
            "tensors)."
        )
    if not any(isinstance(v, torch.Tensor) for v in checkpoint.values()):
        nested = next(
            (checkpoint[k] for k in NESTED_KEYS if isinstance(checkpoint.get(k), Mapping)), None
        )
        if nested is None:
            keys = ", ".join(repr(k) for k in list(checkpoint)[:LIST_LIMIT]) or "nothing"
            raise SpecError(
                f"This checkpoint holds no tensors and no state_dict under "
                f"{', '.join(repr(k) for k in NESTED_KEYS)}; its top-level keys are {keys}."
            )
        checkpoint = nested
    state = {}
    for key, value in checkpoint.items():
        if not isinstance(key, str):
            raise SpecError(f"State_dict keys must be names; found {key!r}.")
        if not isinstance(value, torch.Tensor):
            raise SpecError(
                f"{key} holds a {type(value).__name__}, not a tensor: a state_dict holds only "
                "tensors."
            )
        state[key] = value
    for prefix in WRAPPER_PREFIXES:
        if state and all(k.startswith(prefix) for k in state):
            state = {k.removeprefix(prefix): v for k, v in state.items()}
    return state


def spec_from_state_dict(state_dict: object) -> ResNetSpec:
    """The :class:`ResNetSpec` whose :func:`~resnet_viz.build_model` network loads
    ``state_dict`` with ``strict=True`` (see :func:`read_state_dict` for what is assumed).

    Raises:
        SpecError: for anything this project cannot build, saying what was expected.
    """
    return read_state_dict(state_dict).spec


def read_state_dict(state_dict: object) -> SpecReading:
    """Infer the spec from keys and shapes alone, and say what had to be assumed."""
    sd = unwrap_state_dict(state_dict)
    shapes = {k: tuple(v.shape) for k, v in sd.items()}
    assumptions: list[str] = []

    layers = _stages(shapes)
    stem, in_channels, stem_channels = _stem(shapes)
    block = "bottleneck" if "layer1.0.conv3.weight" in shapes else "basic"
    batch_norm = any(k.endswith("running_mean") for k in shapes)
    last = "conv3" if block == "bottleneck" else "conv2"
    out_channels = [
        _need(shapes, f"layer{s}.0.{last}.weight")[0] for s in range(1, len(layers) + 1)
    ]
    expansion = 4 if block == "bottleneck" else 1
    widths = tuple(c // expansion for c in out_channels)
    groups, width_per_group = _groups(shapes, block, widths)
    preact = "final_bn.weight" in shapes
    projections = [k for k in shapes if re.match(r"^layer\d+\.\d+\.downsample\.\d+\.weight$", k)]
    later = [k for k in projections if not re.match(r"^layer\d+\.0\.", k)]
    avg_down = any(len(shapes[k]) == 4 and k.endswith("downsample.1.weight") for k in projections)
    shortcut = "C" if later else ("B" if projections else "A")
    fc = _need(shapes, "fc.weight")
    spec = _make_spec(
        block=block, layers=layers, widths=widths, stem=stem, shortcut=shortcut, preact=preact,
        groups=groups, width_per_group=width_per_group, batch_norm=batch_norm,
        num_classes=fc[0], in_channels=in_channels, avg_down=avg_down,
        se="layer1.0.se.fc1.weight" in shapes,
        stem_width=None if stem_channels == widths[0] else stem_channels,
    )  # fmt: skip

    if block == "bottleneck":
        assumptions.append(
            "V1 (stride on the first 1x1) and V1.5 (stride on the 3x3, torchvision's) have "
            "identical weights: V1.5 is assumed."
        )
    if shortcut == "A" and _any_shape_change(spec):
        assumptions.append(
            "Option A (zero-padding) shortcuts have no weights, so a ResNet and its plain twin "
            "look the same: a ResNet with option A shortcuts is assumed."
        )
    if not batch_norm:
        assumptions.append(
            "Without BatchNorm, pre-activation leaves no trace in the weights: "
            "post-activation blocks are assumed."
        )
    _check_keys(spec, shapes)
    return SpecReading(spec, sd, tuple(assumptions))


def _need(shapes: dict[str, tuple[int, ...]], key: str) -> tuple[int, ...]:
    if key not in shapes:
        raise SpecError(f"Not a ResNet this app can build: expected a weight named {key!r}.")
    return shapes[key]


def _stem(shapes: dict[str, tuple[int, ...]]) -> tuple[str, int, int]:
    """(stem kind, input channels, channels out of the stem)."""
    if "conv1.0.weight" in shapes:
        first, last = _need(shapes, "conv1.0.weight"), _need(shapes, "conv1.6.weight")
        return "deep", first[1], last[0]
    conv = _need(shapes, "conv1.weight")
    if len(conv) != 4 or conv[2] != conv[3] or conv[2] not in (3, 7):
        raise SpecError(
            f"Expected the stem conv1 to be a 7x7 (ImageNet) or 3x3 (CIFAR) convolution; its "
            f"weight has shape {conv}."
        )
    return ("imagenet" if conv[2] == 7 else "cifar"), conv[1], conv[0]


def _stages(shapes: dict[str, tuple[int, ...]]) -> tuple[int, ...]:
    blocks: dict[int, set[int]] = {}
    for key in shapes:
        match = _BLOCK_KEY.match(key)
        if match:
            blocks.setdefault(int(match[1]), set()).add(int(match[2]))
    if not blocks:
        first = next(iter(shapes))
        raise SpecError(
            "Not a ResNet this app can build: expected residual stages named layer1, layer2, "
            f"... (torchvision's and timm's names) and found none (first key: {first!r})."
        )
    stages = sorted(blocks)
    missing = [s for s in range(1, stages[-1] + 1) if s not in blocks]
    if missing:
        raise SpecError(
            f"Expected stages layer1 to layer{stages[-1]}; layer{missing[0]} is missing."
        )
    for stage in stages:
        indices = sorted(blocks[stage])
        if indices != list(range(len(indices))):
            gap = next(i for i in range(len(indices) + 1) if i not in blocks[stage])
            raise SpecError(
                f"Expected blocks layer{stage}.0 onwards; layer{stage}.{gap} is missing."
            )
    return tuple(len(blocks[s]) for s in stages)


def _groups(
    shapes: dict[str, tuple[int, ...]], block: str, widths: tuple[int, ...]
) -> tuple[int, int]:
    if block == "basic":
        return 1, 64
    out, per_group = _need(shapes, "layer1.0.conv2.weight")[:2]
    groups = out // per_group
    return groups, out // groups * 64 // widths[0]


def _make_spec(**fields: object) -> ResNetSpec:
    try:
        return ResNetSpec(**fields)  # type: ignore[arg-type]
    except SpecError as error:
        raise SpecError(
            f"These weights describe a network this app cannot build: {error}"
        ) from None


def _any_shape_change(spec: ResNetSpec) -> bool:
    return any(stage.first.shortcut.kind == "zero-pad" for stage in network_layout(spec).stages)


def _check_keys(spec: ResNetSpec, shapes: dict[str, tuple[int, ...]]) -> None:
    """Build weightless and compare every key and shape, naming the first difference."""
    from .build import build_model

    expected = {k: tuple(v.shape) for k, v in build_model(spec, device="meta").state_dict().items()}
    missing = [k for k in expected if k not in shapes]
    unexpected = [k for k in shapes if k not in expected]
    if missing or unexpected:
        what = f"it has no {missing[0]!r}" if missing else f"it has an unexpected {unexpected[0]!r}"
        raise SpecError(
            f"These weights are not a ResNet this app can build: read as {_describe(spec)}, "
            f"{what} ({len(missing)} missing, {len(unexpected)} unexpected keys)."
        )
    for key, shape in expected.items():
        if shapes[key] != shape:
            raise SpecError(
                f"These weights are not a ResNet this app can build: read as {_describe(spec)}, "
                f"{key} should have shape {shape} but has {shapes[key]}."
            )


def _describe(spec: ResNetSpec) -> str:
    return f"{spec.block} blocks {list(spec.layers)}, widths {list(spec.widths)}, {spec.stem} stem"
