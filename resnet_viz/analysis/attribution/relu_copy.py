"""A private copy of a model on which hook-based attributions are safe: every ``nn.ReLU`` distinct
and not in place.

captum's Guided Backprop and DeepLift change how ReLUs backpropagate through module hooks, and
DeepLift keeps each ReLU's input and output on the module, so a ReLU module called twice in one
forward (torchvision's ``BasicBlock`` reuses ``self.relu``) or in place gives wrong answers.
The shared model is never touched: the copy is
:func:`~resnet_viz.analysis.copies.private_eval_copy`'s.
"""

from __future__ import annotations

import torch
from torch import nn

from ...core.build import ResNet
from ..copies import private_eval_copy


def safe_relu_copy(model: nn.Module) -> nn.Module:
    """A private eval copy of ``model`` (frozen, without hooks) in which every ``nn.ReLU`` is
    a new, not-in-place module of its own: captum's Guided Backprop and DeepLift hook each
    ReLU module, which in-place ReLUs and one module registered under several names break.
    The given model is not changed."""
    work = private_eval_copy(model)
    for parent in list(work.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, nn.ReLU):
                setattr(parent, name, nn.ReLU(inplace=False))
    return work


def _reused_relus(model: nn.Module, image: torch.Tensor) -> list[str]:
    """The ReLU modules of ``model`` (a private copy) that one forward pass calls more than once.
    The app's ResNet calls each once by construction, so it is not run for it."""
    if type(model) is ResNet:
        return []
    calls: dict[str, int] = {}
    handles = [
        module.register_forward_hook(
            lambda *_, name=name: calls.__setitem__(name, calls.get(name, 0) + 1)
        )
        for name, module in model.named_modules()
        if isinstance(module, nn.ReLU)
    ]
    try:
        with torch.no_grad():
            model(image)
    finally:
        for handle in handles:
            handle.remove()
    return [name for name, count in calls.items() if count > 1]
