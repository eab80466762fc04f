"""The memory budget heavy work is checked against before it starts.

Every analysis that allocates in proportion to its inputs (a loss landscape, an effective
receptive field, a block's feature maps) estimates its peak first and refuses above the budget
with a message that says what to shrink, so a page never starts work the machine cannot hold.
"""

from __future__ import annotations

import torch

from ..core.spec import SpecError

#: Work refused above this estimate on the CPU (the gradient study's budget too).
CPU_MEMORY_BUDGET_BYTES = 3 * 1024**3
GIB = 1024**3


def memory_budget_bytes(device: torch.device | str | None = None) -> int:
    """3 GiB on the CPU; 90 % of the free memory on a CUDA device."""
    device = torch.device(device or "cpu")
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(0.9 * free)
    return CPU_MEMORY_BUDGET_BYTES


def refuse_over_budget(needed: int, budget: int, doing: str, advice: str) -> None:
    """Raise :class:`SpecError` (a message for the user) when ``needed`` exceeds ``budget``.

    ``doing`` completes "… needs about X GiB" (e.g. "A 21×21 landscape of ResNet-56 on 512
    images"); ``advice`` says what to make smaller.
    """
    if needed > budget:
        raise SpecError(
            f"{doing} needs about {needed / GIB:.1f} GiB, more than the {budget / GIB:.1f} GiB "
            f"available here. {advice}"
        )
