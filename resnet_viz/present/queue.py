"""What a student waiting for a heavy-work slot reads: its place, the server's slots, and the
estimated wait (:class:`resnet_viz.runtime.workload.QueuePlace`). Pure: no Streamlit."""

from __future__ import annotations

import math

from ..runtime.workload import QueuePlace

#: Waits up to this many seconds are written in seconds, longer ones in whole minutes.
SECONDS_UP_TO = 120


def wait_phrase(estimate_s: float | None) -> str:
    """``estimate_s`` as the notice writes it, rounded up (a wait is not promised shorter than
    estimated): "about 7 s", "about 3 min", or why there is no figure yet."""
    if estimate_s is None:
        return "no run has finished on this server yet to estimate the wait"
    seconds = max(1, math.ceil(estimate_s))
    if seconds <= SECONDS_UP_TO:
        return f"about {seconds} s"
    return f"about {math.ceil(seconds / 60)} min"


def queue_notice(seen: QueuePlace) -> str:
    """The live notice: "You are number 2 in the queue for the heavy-work slots (2 at once on
    this server); about 40 s"."""
    return (
        f"You are number {seen.place} in the queue for the heavy-work slots "
        f"({seen.slots} at once on this server); {wait_phrase(seen.estimate_s)}."
    )
