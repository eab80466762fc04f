"""The memory budget heavy work is checked against before it starts: the one place that
defines it, the check, and the error a refusal raises.

Every analysis that allocates in proportion to its inputs (a loss landscape, an effective
receptive field, a block's feature maps, the gradient study, a per-channel CAM) estimates its
peak first and refuses above the budget with a message that says what to shrink, so a page
never starts work the machine cannot hold.
"""

from __future__ import annotations

import torch

from ..errors import UserError

__all__ = [
    "CPU_MEMORY_BUDGET_BYTES",
    "CUDA_FREE_SHARE",
    "GIB",
    "REFUSAL",
    "BudgetError",
    "memory_budget_bytes",
    "refuse_over_budget",
]

#: Heavy work refused above this estimate on the CPU: the 2-core, 24 GiB machines the app is
#: served from run two heavy jobs at once (:data:`~resnet_viz.runtime.workload.HEAVY_JOBS`)
#: next to the models themselves.
CPU_MEMORY_BUDGET_BYTES = 3 * 1024**3
#: Share of the memory CUDA reports free that one heavy job may plan to use.
CUDA_FREE_SHARE = 0.9
GIB = 1024**3
#: How a refusal reads; ``needed`` and ``budget`` are in GiB.
REFUSAL = (
    "{doing} needs about {needed:.1f} GiB, more than the {budget:.1f} GiB available here. {advice}"
)


class BudgetError(UserError, ValueError):
    """Work whose memory estimate exceeds the budget, refused before it starts.

    A ``ValueError`` (the inputs asked for are too large for this machine); ``str(error)`` says
    how much was needed, how much is available and what to make smaller.
    """


def memory_budget_bytes(device: torch.device | str | None = None) -> int:
    """How much memory one heavy job may plan to use on ``device`` (the CPU when None):
    :data:`CUDA_FREE_SHARE` of what CUDA reports free, or :data:`CPU_MEMORY_BUDGET_BYTES`
    elsewhere."""
    device = torch.device(device or "cpu")
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(CUDA_FREE_SHARE * free)
    return CPU_MEMORY_BUDGET_BYTES


def refuse_over_budget(
    needed: int, budget: int, doing: str, advice: str, *, wording: str = REFUSAL
) -> None:
    """Raise :class:`BudgetError` (a message for the user) when ``needed`` exceeds ``budget``.

    ``doing`` completes "… needs about X GiB" (e.g. "A 21×21 landscape of ResNet-56 on 512
    images"); ``advice`` says what to make smaller. ``wording`` is the message's template
    (fields ``doing``, ``needed``, ``budget``, ``advice``; the sizes in GiB), for a page whose
    refusal reads differently from :data:`REFUSAL`.
    """
    if needed > budget:
        raise BudgetError(
            wording.format(doing=doing, needed=needed / GIB, budget=budget / GIB, advice=advice)
        )
