"""Cut a built ResNet at a named layer: the part before it and the part after it.

Grad-CAM needs the activation of one layer and the gradient of a class score with respect to
it. The gradient only flows through what comes *after* that layer, so the part before it can
run under ``torch.no_grad()`` (no autograd graph, no saved tensors) and only the rest is
recorded. :func:`split_at` gives the two halves as plain callables built from the model's own
modules: nothing is copied, wrapped, hooked or mutated, so the shared, cached model is left
exactly as it was and ``after(before(x))`` is ``model(x)`` bit for bit (tests check this for
every kind of spec).

The cut points are the outputs of the stages (``"layer3"``) and of the residual blocks
(``"layer2.1"``), named as the modules of :class:`resnet_viz.core.build.ResNet` (torchvision's
names). A stage's output is its last block's output: ``"layer4"`` and ``"layer4.2"`` are the
same tensor in ResNet-50.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from .build import ResNet
from .spec import ResNetSpec, SpecError, default_input_size
from .summary import shared_summary

Step = Callable[[torch.Tensor], torch.Tensor]


class LayerNameError(SpecError):
    """A target layer name that the network does not have; the message lists valid names."""


def target_layers(spec: ResNetSpec) -> list[str]:
    """Every layer Grad-CAM can explain, in forward order: each stage, followed by its blocks.

    ``["layer1", "layer1.0", "layer1.1", "layer2", ...]`` for ResNet-18: the order of
    ``model.named_modules()``, which is also the order a menu groups them in.
    """
    names: list[str] = []
    for stage, blocks in enumerate(spec.layers, start=1):
        names.append(f"layer{stage}")
        names.extend(f"layer{stage}.{b}" for b in range(blocks))
    return names


def check_layer(spec: ResNetSpec, name: str) -> tuple[int, int]:
    """``(stage, block)`` indices (0-based) of the block whose output ``name`` is.

    Raises:
        LayerNameError: for a name that is not in :func:`target_layers`.
    """
    if not isinstance(name, str) or name not in target_layers(spec):
        stages = ", ".join(f"layer{i}" for i in range(1, spec.num_stages + 1))
        raise LayerNameError(
            f"This network has no layer {name!r}. Grad-CAM can use a stage ({stages}) or a "
            f"block such as 'layer{spec.num_stages}.0' (stage {spec.num_stages} has "
            f"{spec.layers[-1]} {'block' if spec.layers[-1] == 1 else 'blocks'}, numbered from 0)."
        )
    stage_text, _, block_text = name.removeprefix("layer").partition(".")
    stage = int(stage_text) - 1
    block = int(block_text) if block_text else spec.layers[stage] - 1
    return stage, block


def layer_label(spec: ResNetSpec, name: str, input_size: Sequence[int] | None = None) -> str:
    """A human label for a menu: ``"Stage 4 (layer4, 7×7 at 224 px)"``,
    ``"Stage 2, block 2 of 4 (layer2.1, 28×28 at 224 px)"``.

    The map size is what :func:`resnet_viz.summarize` computes for ``input_size`` (C, H, W),
    by default the size the network was designed for (224 px ImageNet, 32 px CIFAR). It tells
    the student how coarse the heatmap is before it is upsampled to the image. Sizes read
    height × width, as tensors do.
    """
    stage, block = check_layer(spec, name)
    size = tuple(input_size) if input_size is not None else default_input_size(spec)
    summary = shared_summary(spec, size)  # type: ignore[arg-type]
    row = next(b for b in summary.blocks if b.name == f"layer{stage + 1}.{block}")
    _, _, height, width = row.output_shape
    at = f"{size[1]} px" if size[1] == size[2] else f"{size[1]}×{size[2]} px"
    where = f"{name}, {height}×{width} at {at}"
    if "." not in name:
        return f"Stage {stage + 1} ({where})"
    return f"Stage {stage + 1}, block {block + 1} of {spec.layers[stage]} ({where})"


@dataclass(frozen=True)
class Split:
    """A model cut after one layer: ``after(before(x)) == model(x)``.

    ``before`` maps the input batch to the layer's output; ``after`` maps that activation to
    the logits. Both call the model's own modules in the order ``ResNet.forward`` does.
    """

    layer: str
    before: Step
    after: Step


def forward_steps(model: ResNet) -> list[tuple[str, Step]]:
    """``ResNet.forward`` as a list of named steps: the stem, every block, the head.

    Each step is one of the model's own modules (a block) or one of its own methods (``stem``
    and ``head``), so running the list is running the model. The names of the block
    steps are their catalogue names (``"layer2.1"``); the others are ``"stem"`` and ``"head"``.
    """
    if not isinstance(model, ResNet):
        raise TypeError(
            f"Expected a resnet_viz ResNet (from build_model), got {type(model).__name__}."
        )
    steps: list[tuple[str, Step]] = [("stem", model.stem)]
    for s, stage in enumerate(model.stages, start=1):
        steps.extend((f"layer{s}.{b}", block) for b, block in enumerate(stage))
    steps.append(("head", model.head))
    return steps


def run_steps(steps: Sequence[tuple[str, Step]], x: torch.Tensor) -> torch.Tensor:
    """Apply ``steps`` in order."""
    for _, step in steps:
        x = step(x)
    return x


def step_index(model: ResNet, name: str) -> int:
    """Position in :func:`forward_steps` of the step whose output is layer ``name``."""
    stage, block = check_layer(model.spec, name)
    return 1 + sum(model.spec.layers[:stage]) + block


def split_at(model: ResNet, name: str) -> Split:
    """Cut ``model`` right after layer ``name`` (a stage or a block, see :func:`target_layers`).

    Nothing is copied or changed: the halves close over the model's modules.

    Raises:
        LayerNameError: for an unknown layer name.
        TypeError: if ``model`` is not a :class:`resnet_viz.core.build.ResNet`.
    """
    steps = forward_steps(model)
    cut = step_index(model, name) + 1
    head, tail = steps[:cut], steps[cut:]
    return Split(name, lambda x: run_steps(head, x), lambda x: run_steps(tail, x))


def forward_from(model: ResNet, name: str, activation: torch.Tensor) -> torch.Tensor:
    """The logits, computed from the output of layer ``name`` onwards."""
    return split_at(model, name).after(activation)
