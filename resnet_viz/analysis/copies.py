"""Private working copies of a shared model.

A model cached for every Streamlit session must stay exactly as it was: parameters, buffers,
train/eval mode, ``requires_grad`` flags and hooks. Analyses that need to change any of these
(perturb the weights, stop gradients into them) work on a copy made here.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

#: Per-module hook registries (torch.nn.Module attributes) cleared on the copy: deepcopy copies
#: them, and another session's Grad-CAM hook would otherwise fire, or record, during our work.
HOOK_DICTS = (
    "_forward_hooks",
    "_forward_hooks_with_kwargs",
    "_forward_hooks_always_called",
    "_forward_pre_hooks",
    "_forward_pre_hooks_with_kwargs",
    "_backward_hooks",
    "_backward_pre_hooks",
)


def private_eval_copy(model: nn.Module, *, frozen: bool = True) -> nn.Module:
    """A deep copy of ``model`` in eval mode, without hooks; ``frozen`` also switches off
    ``requires_grad`` on its parameters (no autograd work for the weights, no ``.grad``)."""
    with torch.no_grad():
        work = copy.deepcopy(model).eval()
    for module in work.modules():
        for attr in HOOK_DICTS:
            registry = getattr(module, attr, None)
            if registry is not None:
                registry.clear()
    if frozen:
        work.requires_grad_(False)
    return work


def hook_count(model: nn.Module) -> int:
    """How many hooks are registered on ``model`` and its modules (tests check it stays 0)."""
    return sum(len(getattr(m, attr, {})) for m in model.modules() for attr in HOOK_DICTS)


def snapshot(model: nn.Module) -> dict[str, torch.Tensor]:
    """Every parameter and buffer, cloned: compare with :func:`same_state` afterwards."""
    return {k: v.detach().clone() for k, v in model.state_dict(keep_vars=False).items()}


def same_state(model: nn.Module, before: dict[str, torch.Tensor]) -> bool:
    """True when every tensor of ``model`` is bit-identical to ``before``."""
    now = model.state_dict()
    return now.keys() == before.keys() and all(
        now[k].dtype == v.dtype and torch.equal(now[k], v) for k, v in before.items()
    )
