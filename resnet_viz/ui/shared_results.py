"""Heavy results computed once and shared by every session, with the page's progress bar.

A computation that draws nothing while it runs is cached with Streamlit's own
``st.cache_data`` / ``st.cache_resource``: they keep one result per key within a bound, hold a
lock per key (two sessions asking for the same key compute it once, a second key is not held
up) and do not keep a call that raised. They cannot run a computation that draws a live
progress bar: Streamlit records every element a cached function draws, to replay it on each
later cache hit (streamlit 1.67). A progress callback passed in (as an unhashed ``_progress``
argument) draws on a bar created outside the function, and the first cache hit then fails with
CacheReplayClosureError ("a streamlit element is called on some layout block created outside
the function"); a bar created inside the function is replayed, every one of its progress
messages again, on every rerun that hits the cache.

:class:`SharedResults` is what those caches do, without Streamlit (an LRU bound, a lock per
key, an exception never kept), and :func:`computed_once` runs the computation outside any
cached function, under its key's lock, with a progress bar in the page: a session that finds
another one computing the same key waits with a spinner and takes that result.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import streamlit as st

from ..runtime.workload import DEFAULT_KIND
from .common import heavy_work_in_page, heavy_work_with_progress

T = TypeVar("T")
Progress = Callable[[float, str], None]
_MISSING = object()


@dataclass
class _Flight:
    """One key being computed: its lock, how many callers hold or wait for it, and the value
    the holder computed (for the callers that waited)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    callers: int = 0
    value: object = _MISSING


class SharedResults(Generic[T]):
    """Results by key, computed once however many threads ask at the same time.

    The ``max_entries`` most recently used results are kept (0: none; only a computation in
    progress is shared). Each key has its own lock while it is being computed, so a thread
    asking for a key that is being computed waits for that result, and a thread asking for
    another key is not held up. A computation that raises keeps nothing: the next caller (one
    that waited, too) computes again. Values are shared as they are: never mutate one.
    """

    def __init__(self, max_entries: int) -> None:
        if max_entries < 0:
            raise ValueError(f"max_entries must be 0 or more; got {max_entries}")
        self.max_entries = max_entries
        self._lock = threading.Lock()  # guards the two dicts, never held while computing
        self._results: OrderedDict[Hashable, T] = OrderedDict()
        self._flights: dict[Hashable, _Flight] = {}

    def __len__(self) -> int:
        with self._lock:
            return len(self._results)

    def get(self, key: Hashable, default=None):
        """The kept result of ``key`` (now the most recently used), or ``default``."""
        with self._lock:
            return self._kept(key, default)

    def get_or_compute(
        self,
        key: Hashable,
        compute: Callable[[], T],
        *,
        fresh: bool = False,
        waiting: Callable[[], AbstractContextManager] | None = None,
    ) -> T:
        """The result of ``key``: the kept one, the one another thread is computing now (waited
        for inside ``waiting()``, e.g. a spinner), or ``compute()``'s, kept.

        ``fresh`` computes again even when a result is kept (a "re-run" button); a computation
        of the key already in progress is still waited for and shared.
        """
        with self._lock:
            found = _MISSING if fresh else self._kept(key, _MISSING)
            if found is not _MISSING:
                return found
            flight = self._flights.setdefault(key, _Flight())
            flight.callers += 1
        try:
            if not flight.lock.acquire(blocking=False):
                with waiting() if waiting is not None else nullcontext():
                    flight.lock.acquire()
            try:
                with self._lock:
                    found = flight.value
                    if found is _MISSING and not fresh:
                        found = self._kept(key, _MISSING)
                if found is not _MISSING:
                    return found
                value = compute()
                with self._lock:
                    flight.value = value
                    self._keep(key, value)
                return value
            finally:
                flight.lock.release()
        finally:
            with self._lock:
                flight.callers -= 1
                if flight.callers == 0:
                    del self._flights[key]

    def _kept(self, key: Hashable, default):
        if key not in self._results:
            return default
        self._results.move_to_end(key)
        return self._results[key]

    def _keep(self, key: Hashable, value: T) -> None:
        if self.max_entries == 0:
            return
        self._results[key] = value
        self._results.move_to_end(key)
        while len(self._results) > self.max_entries:
            self._results.popitem(last=False)


@st.cache_resource(show_spinner=False)
def shared_results(name: str, max_entries: int) -> SharedResults:
    """The server's store called ``name``, one per kind of result, shared by every session
    (``st.cache_resource.clear()`` starts it afresh)."""
    return SharedResults(max_entries)


def computed_once(
    results: SharedResults[T],
    key: Hashable,
    compute: Callable[[Progress], T],
    progress_text: str | None = "Starting…",
    *,
    waiting_text: str = "Another session is computing this same result…",
    fresh: bool = False,
    kind: str = DEFAULT_KIND,
) -> T:
    """``key``'s result from ``results``, or ``compute(progress)`` now in one of the server's
    heavy-work slots, with a progress bar that starts at ``progress_text`` (no bar when it is
    None: ``progress`` then draws nothing). While it waits for a slot, the bar (or a notice)
    says its place in the queue and the estimated wait, from the recent jobs of ``kind``. A
    session that finds the same key being computed shows ``waiting_text`` until that result is
    there. ``fresh``: see :meth:`SharedResults.get_or_compute`."""

    def run() -> T:
        if progress_text is None:
            with heavy_work_in_page(kind):
                return compute(_no_progress)
        with heavy_work_with_progress(progress_text, kind) as progress:
            return compute(progress)

    return results.get_or_compute(key, run, fresh=fresh, waiting=lambda: st.spinner(waiting_text))


def _no_progress(fraction: float, message: str) -> None:
    pass
