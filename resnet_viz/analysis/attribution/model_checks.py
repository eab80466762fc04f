"""Checks every attribution call makes (model, image, class, device), and the CPU copy of a
model for the out-of-memory fallback. Shared by Grad-CAM and its methods, the faithfulness
curves and the sanity check; nothing here changes the model it is given.

This module does not import streamlit.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from ...core.build import ResNet, build_model

__all__ = [
    "as_normal_tensor",
    "check_class",
    "check_device",
    "check_eval_mode",
    "check_image",
    "check_top_k",
    "cpu_copy",
    "model_device",
    "model_dtype",
    "spec_of",
]


def spec_of(model: nn.Module):
    if not isinstance(model, ResNet):
        raise TypeError(
            f"Grad-CAM here needs a resnet_viz ResNet (from build_model or the weights loaders), "
            f"got {type(model).__name__}."
        )
    return model.spec


def check_eval_mode(model: nn.Module) -> None:
    """Refuse a model in training mode rather than switch it: its BatchNorm layers would use
    this one image's statistics and overwrite their running averages."""
    training = [name or "the model" for name, m in model.named_modules() if m.training]
    if training:
        raise ValueError(
            f"The model is in training mode ({training[0]} and {len(training) - 1} more "
            "modules): Grad-CAM explains a model in eval mode, and calling it would update "
            "BatchNorm statistics. Call model.eval() once when the model is loaded."
        )


def check_image(image: object, channels: int) -> None:
    if not isinstance(image, torch.Tensor):
        raise ValueError(f"image must be a torch.Tensor, got {type(image).__name__}.")
    if image.dim() != 4 or image.shape[0] != 1 or image.shape[1] != channels:
        raise ValueError(
            f"image must have shape (1, {channels}, H, W) (one preprocessed image); "
            f"got {tuple(image.shape)}."
        )
    if not image.is_floating_point():
        raise ValueError(f"image must be a float tensor (preprocessed), got {image.dtype}.")


def check_class(target: object, num_classes: int) -> None:
    if target is None:
        return
    if not isinstance(target, int) or isinstance(target, bool) or not 0 <= target < num_classes:
        raise ValueError(
            f"target_class must be a class index from 0 to {num_classes - 1}; got {target!r}."
        )


def check_top_k(top_k: object, num_classes: int) -> int:
    if not isinstance(top_k, int) or isinstance(top_k, bool) or top_k < 1:
        raise ValueError(f"top_k must be a whole number of at least 1; got {top_k!r}.")
    return min(top_k, num_classes)


def model_device(model: nn.Module) -> torch.device:
    for tensor in model.parameters():
        return tensor.device
    return torch.device("cpu")


def model_dtype(model: nn.Module) -> torch.dtype:
    for tensor in model.parameters():
        return tensor.dtype
    return torch.float32


def same_device(a: torch.device, b: torch.device) -> bool:
    if a.type != b.type:
        return False
    return a.index is None or b.index is None or a.index == b.index


def check_device(device: torch.device | str | None, home: torch.device) -> None:
    if device is not None and not same_device(torch.device(device), home):
        raise ValueError(
            f"The model is on {home}, not {torch.device(device)}: Grad-CAM runs where the model "
            "is and never moves a shared model. Pass device=None, or load the model there."
        )


def as_normal_tensor(image: torch.Tensor) -> torch.Tensor:
    """Inference-mode tensors cannot enter an autograd graph; copy one into a normal tensor."""
    return image.clone() if image.is_inference() else image


def cpu_copy(model: ResNet) -> ResNet:
    """A CPU copy of ``model`` for the out-of-memory fallback; the shared model is untouched.

    Built weightless on the meta device and filled from the state dict, so no memory is
    allocated on the accelerator that just ran out (``copy.deepcopy`` would clone every
    weight there first). Any other module is deep-copied.
    """
    if type(model) is not ResNet:
        return copy.deepcopy(model).to("cpu")
    state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
    twin = build_model(model.spec, device="meta")
    twin.load_state_dict(state, strict=True, assign=True)
    return twin.eval()
