"""Time a piece of work warm, so that the times of several methods can be compared.

The first run of a network on a device pays one-time costs that later runs do not: PyTorch's
lazy initialisation of autograd and of the CPU/GPU kernels for these shapes, the allocator
growing its pools. In the attention workbench the first method computed carried all of it
(Grad-CAM "337 ms" beside Grad-CAM++ "7 ms" on the same image, while the call itself takes
about 5 ms), so the times ranked the order of the clicks, not the methods.

:class:`WarmTimer` runs an untimed warm-up once per key (the page uses the model, its device
and the layer) before it times anything, and reports the median of ``repeats`` timed runs.
The clock is injectable, so tests drive it without the wall clock.

This module does not import streamlit.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")

__all__ = ["Timed", "WarmTimer"]


@dataclass(frozen=True)
class Timed(Generic[T]):
    """The last timed run's result, and the median of the timed runs in seconds (warm)."""

    value: T
    seconds: float
    runs: int


class WarmTimer:
    """Times work after one untimed warm-up per key (thread-safe; share one per server).

    Args:
        clock: seconds as a float, monotonic (``time.perf_counter`` by default).
    """

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self._clock = clock
        self._warm: set[Hashable] = set()
        self._guard = threading.Lock()

    def is_warm(self, key: Hashable) -> bool:
        with self._guard:
            return key in self._warm

    def time(
        self,
        key: Hashable,
        work: Callable[[], T],
        *,
        warm_up: Callable[[], object] | None = None,
        repeats: int = 1,
    ) -> Timed[T]:
        """Run ``work`` ``repeats`` times and time each run; the first time ``key`` is seen,
        run ``warm_up`` (``work`` itself by default) once, untimed, before.

        Two threads meeting a cold key may both warm up: harmless, it only costs a run.
        """
        if repeats < 1:
            raise ValueError(f"repeats must be at least 1, not {repeats}.")
        if not self.is_warm(key):
            (warm_up or work)()
            with self._guard:
                self._warm.add(key)
        seconds = []
        value = None
        for _ in range(repeats):
            start = self._clock()
            value = work()
            seconds.append(self._clock() - start)
        return Timed(value, statistics.median(seconds), repeats)
