"""A private copy of a model on which hook-based attributions are safe: every ``nn.ReLU`` distinct
and not in place.

captum's Guided Backprop and DeepLift change how ReLUs backpropagate through module hooks, and
DeepLift keeps each ReLU's input and output on the module, so a ReLU module called twice in one
forward (torchvision's ``BasicBlock`` reuses ``self.relu``) or in place gives wrong answers.
The shared model's modules are never touched: the copy has modules of its own (its hooks go
there) but shares the model's parameter and buffer tensors, which it only reads.
"""

from __future__ import annotations

import copy
import itertools

import torch
from torch import nn

from ...core.build import ResNet
from ..copies import HOOK_DICTS


def safe_relu_copy(model: nn.Module) -> nn.Module:
    """A private copy of ``model`` (an eval-mode model; without hooks) in which every
    ``nn.ReLU`` is a new, not-in-place module of its own: captum's Guided Backprop and DeepLift
    hook each ReLU module, which in-place ReLUs and one module registered under several names
    break. The given model is not changed.

    The copy's modules are its own, its parameters and buffers the model's very tensors (a
    deep copy whose memo maps each to itself): copying ResNet-50's 100 MB of weights cost more
    than a tenth of the Guided Backprop call it served (``bench/pixel_bench.py``). Sharing them
    is safe because nothing writes to them: the model is in eval mode (BatchNorm reads its
    statistics), captum differentiates with respect to the input only
    (``torch.autograd.grad``, no ``.grad``), and the copy's ``requires_grad`` flags are left as
    the model's (switching them off would switch off the model's)."""
    shared = {id(t): t for t in itertools.chain(model.parameters(), model.buffers())}
    with torch.no_grad():
        work = copy.deepcopy(model, memo=shared)
    for module in work.modules():
        for attr in HOOK_DICTS:
            registry = getattr(module, attr, None)
            if registry is not None:
                registry.clear()
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
