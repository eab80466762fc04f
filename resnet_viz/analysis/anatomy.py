"""A residual block opened: its input x, its branch F(x), its shortcut and its output, from
the network's real forward pass on one image.

He et al. 2015 (Fig. 2): y = ReLU(F(x) + x), or F(x) + W_s x where the shape changes (a
projection, their option B/C) or the zero-padded, subsampled x (option A). In a pre-activation
block (He et al. 2016) the block's output is the sum itself. A plain block (``skip=False``) has
no shortcut: its output is ReLU(F(x)).

How the tensors are read: forward hooks on the block (its input and output), on its
:class:`~resnet_viz.core.build.Add` module (the two summands: F(x) and the shortcut) or, in a
plain block, on the last module of its branch (F(x)), and on every other block for the
per-block ratios, during one forward pass of the whole network under ``no_grad``. The hooks
are removed in ``finally``, the work holds the model's lock
(:func:`~resnet_viz.runtime.locks.model_lock`: Grad-CAM and this never hook the same model at
once), and each hook records only calls made by the thread that registered it, so another
session's forward pass on the same shared model can never leak into the result. The model's
parameters, buffers, mode and hooks are left as they were.

Ratios: ``branch_ratio`` is ||F(x)|| / ||x|| over the whole block (x its input); the gradient
page's ratio divides by the shortcut instead, which differs only where the shape changes.
``channel_ratio[c]`` is ||F(x)_c|| / ||s_c||, s the shortcut (x itself in an identity block),
per output channel; channels the zero-padding shortcut adds are NaN (nothing to compare with).
A plain block compares with x where the shapes match, otherwise it has no per-channel ratio.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import torch

from ..core.build import ResidualBlock, ResNet
from ..core.spec import SpecError
from ..core.split import LayerNameError
from ..core.summary import summarize
from ..runtime.locks import model_lock


@dataclass(frozen=True, eq=False)
class BlockAnatomy:
    """One block's tensors (1 x C x H x W, float32, on the CPU, detached) and ratios.

    Attributes:
        block: ``"layer2.0"``.
        input: x, the block's input.
        branch: F(x), the residual branch's output, before the addition.
        shortcut: what is added to F(x): x, the projection W_s x, or the zero-padded x; None
            in a plain block.
        output: the block's output (after its final ReLU; the sum in a pre-activation block).
        shortcut_kind: ``"identity"``, ``"projection"``, ``"pool-projection"``,
            ``"zero-pad"`` or ``"none"``.
        branch_ratio: ||F(x)|| / ||x||.
        channel_ratio: per output channel ||F(x)_c|| / ||s_c|| (see the module docstring), or
            None.
        block_ratios: ||F(x)|| / ||x|| of every block of the network, in forward order.
        logits: the network's output for the image.
    """

    block: str
    input: torch.Tensor
    branch: torch.Tensor
    shortcut: torch.Tensor | None
    output: torch.Tensor
    shortcut_kind: str
    branch_ratio: float
    channel_ratio: np.ndarray | None
    block_ratios: dict[str, float]
    logits: torch.Tensor


def block_names(model: ResNet) -> list[str]:
    """Every block of ``model``, in forward order: ``["layer1.0", "layer1.1", ...]``."""
    return [f"layer{s}.{b}" for s, n in enumerate(model.spec.layers, start=1) for b in range(n)]


def block_anatomy(model: ResNet, image: torch.Tensor, block: str = "layer2.0") -> BlockAnatomy:
    """Open ``block`` of ``model`` on ``image`` (1 x C x H x W, preprocessed).

    Raises:
        SpecError: an unknown block (the message lists valid names) or a malformed image.
        ValueError: a model in training mode (its BatchNorm statistics would change).
    """
    if not isinstance(model, ResNet):
        raise TypeError(f"Expected a resnet_viz ResNet, got {type(model).__name__}.")
    names = block_names(model)
    if block not in names:
        if block in {f"layer{s}" for s in range(1, model.spec.num_stages + 1)}:
            raise SpecError(f"{block!r} is a stage; open one of its blocks, e.g. '{block}.0'.")
        raise LayerNameError(
            f"This network has no block {block!r}; its blocks are {names[0]} … {names[-1]} "
            f"(stage s, block b from 0: 'layer2.0')."
        )
    if any(m.training for m in model.modules()):
        raise ValueError("The model is in training mode; call model.eval() once when loading.")
    param = next(model.parameters())
    x = _check_image(image, model.spec.in_channels).to(param.device, param.dtype)
    row = next(
        r for r in summarize(model.spec, tuple(x.shape[1:])).blocks if r.name == block
    )  # SpecError for an image too small
    seen, logits = _hooked_forward(model, x, block)
    inputs, branch, output = seen["input"], seen["branch"], seen["output"]
    shortcut = seen.get("shortcut")
    return BlockAnatomy(
        block=block,
        input=inputs,
        branch=branch,
        shortcut=shortcut,
        output=output,
        shortcut_kind=row.shortcut,
        branch_ratio=_ratio(branch, inputs),
        channel_ratio=_channel_ratio(branch, shortcut if shortcut is not None else inputs),
        block_ratios=seen["ratios"],
        logits=logits,
    )


def _hooked_forward(model: ResNet, x: torch.Tensor, chosen: str) -> tuple[dict, torch.Tensor]:
    owner = threading.get_ident()
    seen: dict = {"ratios": {}}
    branches: dict[str, torch.Tensor] = {}

    def mine() -> bool:
        return threading.get_ident() == owner

    def on_block(name: str):
        def hook(_module, inputs, output):
            if not mine():
                return
            seen["ratios"][name] = _ratio(branches.pop(name), inputs[0])
            if name == chosen:
                seen["input"], seen["output"] = _keep(inputs[0]), _keep(output)

        return hook

    def on_add(name: str):
        def hook(_module, inputs, _output):
            if mine():
                branches[name] = inputs[0]
                if name == chosen:
                    seen["branch"], seen["shortcut"] = _keep(inputs[0]), _keep(inputs[1])

        return hook

    def on_branch_end(name: str):
        def hook(_module, _inputs, output):
            if mine():
                branches[name] = output
                if name == chosen:
                    seen["branch"] = _keep(output)

        return hook

    with model_lock(model), torch.inference_mode(False), torch.no_grad():
        handles = []
        try:
            for name, block in zip(block_names(model), _blocks(model), strict=True):
                if block.skip:
                    handles.append(block.add.register_forward_hook(on_add(name)))
                else:
                    last = getattr(block, block._branch[-1])
                    handles.append(last.register_forward_hook(on_branch_end(name)))
                handles.append(block.register_forward_hook(on_block(name)))
            logits = _keep(model(x))
        finally:
            for handle in handles:
                handle.remove()
    return seen, logits


def _blocks(model: ResNet) -> list[ResidualBlock]:
    return [block for stage in model.stages for block in stage]


def _keep(t: torch.Tensor) -> torch.Tensor:
    return t.detach().to("cpu", torch.float32, copy=True)


def _ratio(branch: torch.Tensor, base: torch.Tensor) -> float:
    denominator = float(torch.linalg.vector_norm(base.double()))
    numerator = float(torch.linalg.vector_norm(branch.double()))
    return numerator / denominator if denominator > 0 else float("inf")


def _channel_ratio(branch: torch.Tensor, base: torch.Tensor) -> np.ndarray | None:
    if branch.shape != base.shape:
        return None
    top = torch.linalg.vector_norm(branch[0].double().flatten(1), dim=1).numpy()
    bottom = torch.linalg.vector_norm(base[0].double().flatten(1), dim=1).numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(bottom > 0, top / np.where(bottom > 0, bottom, 1.0), np.nan)
    ratio.setflags(write=False)
    return ratio


def _check_image(image: object, channels: int) -> torch.Tensor:
    if not isinstance(image, torch.Tensor) or image.dim() != 4 or not image.is_floating_point():
        raise SpecError("The image must be a float tensor of shape (1, channels, height, width).")
    if image.shape[0] != 1 or image.shape[1] != channels:
        raise SpecError(f"Give one image with {channels} channels; got shape {tuple(image.shape)}.")
    return image.detach().clone()
