"""Bound the heavy work one server does at once, so a lecture hall cannot exhaust its memory.

Every browser session runs in its own thread of the same server process. Thirty students
starting a gradient study at once would each allocate up to the per-job memory budget; a small
pool of slots makes the others wait their turn instead (and the page says so). Light work, such
as the analytic architecture summary, never takes a slot.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

#: Concurrent heavy jobs (gradient studies, Grad-CAM runs) per server process; override with
#: the environment variable RESNET_VIZ_HEAVY_JOBS. The default, two, is one job per core of the
#: two-core servers the app is sized for: more jobs on the same cores only multiply peak memory.
HEAVY_JOBS = max(1, int(os.environ.get("RESNET_VIZ_HEAVY_JOBS", "2")))
_SLOTS = threading.BoundedSemaphore(HEAVY_JOBS)


@contextmanager
def heavy_work_slot(on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold one of the server's heavy-work slots for the duration of the block.

    ``on_wait`` is called once if the caller has to queue (the page shows a notice).
    """
    if not _SLOTS.acquire(blocking=False):
        if on_wait is not None:
            on_wait()
        _SLOTS.acquire()
    try:
        yield
    finally:
        _SLOTS.release()
