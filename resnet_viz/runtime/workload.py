"""Bound the heavy work one server does at once, so a lecture hall cannot exhaust its memory,
and queue the rest in arrival order with a place and an estimate for each waiter.

Every browser session runs in its own thread of the same server process. Thirty students
starting a gradient study at once would each allocate up to the per-job memory budget; a small
pool of slots makes the others wait their turn instead. Light work, such as the analytic
architecture summary, never takes a slot.

A plain semaphore would bound the work too, but it serves waiters in no particular order (a
student who came last may go first) and tells a waiter nothing. :class:`HeavyWorkQueue` gives
each waiter a ticket, serves tickets strictly in arrival order, and lets the waiting thread
itself (a Streamlit script thread, which may draw on its page) learn its place and an estimate
of its wait while it waits, and leave the queue when its session is gone.
"""

from __future__ import annotations

import itertools
import os
import statistics
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from ..errors import UserError

#: Concurrent heavy jobs (gradient studies, Grad-CAM runs) per server process; override with
#: the environment variable RESNET_VIZ_HEAVY_JOBS. The default, two, is one job per core of the
#: two-core servers the app is sized for: more jobs on the same cores only multiply peak memory.
HEAVY_JOBS = max(1, int(os.environ.get("RESNET_VIZ_HEAVY_JOBS", "2")))

#: How many recent durations of each kind of work the estimate is taken from (their median).
RECENT_JOBS = 20

#: How often a waiter looks at the queue (and calls its ``on_wait``) when nothing wakes it
#: sooner; a slot released or a waiter leaving wakes every waiter at once.
POLL_S = 0.5

#: The kind of work a caller that names none does.
DEFAULT_KIND = "heavy work"


class HeavyWorkCancelledError(UserError, RuntimeError):
    """A queued job whose caller went away (``cancelled()`` said so) left the queue before its
    turn; its work never started. Usually nobody is left to read it; where someone is (a
    stopped training run), the message says what happened."""


@dataclass(frozen=True)
class QueuePlace:
    """What a waiter is told: its ``place`` in the queue (1: served next), the server's number
    of ``slots`` and ``estimate_s``, the seconds it should still wait (None until some job has
    been measured; see :meth:`HeavyWorkQueue.estimate`)."""

    place: int
    slots: int
    estimate_s: float | None


@dataclass(eq=False)
class _Ticket:
    kind: str
    number: int
    started: float | None = field(default=None)


class HeavyWorkQueue:
    """``slots`` heavy jobs at once; the others wait in a first-come, first-served queue.

    :meth:`slot` is the only way in. A waiter's place and estimate come from the queue's own
    state under one lock; the waiter polls it from its own thread (every ``poll_s`` seconds, and
    whenever a slot is released or a waiter leaves), so ``on_wait`` runs in the caller's thread
    and may raise to abandon the wait (Streamlit's StopException does) without leaking a ticket
    or a slot. ``clock`` is injectable for tests of the estimate.
    """

    def __init__(
        self,
        slots: int,
        *,
        recent: int = RECENT_JOBS,
        poll_s: float = POLL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if slots < 1:
            raise ValueError(f"slots must be 1 or more; got {slots}")
        self.slots = slots
        self.poll_s = poll_s
        self._clock = clock
        self._recent = recent
        self._changed = threading.Condition()  # guards everything below
        self._waiting: deque[_Ticket] = deque()
        self._running: list[_Ticket] = []
        self._durations: dict[str, deque[float]] = {}
        self._numbers = itertools.count()

    # -- state, for the page and for tests ---------------------------------------------------

    def waiting(self) -> int:
        """How many callers wait for a slot now."""
        with self._changed:
            return len(self._waiting)

    def running(self) -> int:
        """How many slots are taken now."""
        with self._changed:
            return len(self._running)

    def typical_s(self, kind: str) -> float | None:
        """The median duration of the last :data:`RECENT_JOBS` jobs of ``kind`` that finished;
        for a kind never measured, the median of every kind's recent jobs; None before any."""
        with self._changed:
            return self._typical(kind)

    def estimate(self, place: int) -> float | None:
        """The seconds the waiter at ``place`` should still wait: the work ahead of it spread
        over the slots, ``(sum over running jobs of their remaining time + sum over the place -
        1 waiters ahead of their typical duration) / slots``, where a job's typical duration is
        :meth:`typical_s` of its kind and a running job's remaining time is ``typical -
        elapsed`` while that is positive. A job that has run past its kind's median is bigger
        than the recent ones (another network, a larger batch): it is taken to be half done,
        its remaining time as long as it has run so far. None while some job ahead has no
        measured duration to go by. It assumes the slots share the work ahead evenly."""
        with self._changed:
            return self._estimate(place)

    # -- the way in --------------------------------------------------------------------------

    @contextmanager
    def slot(
        self,
        kind: str = DEFAULT_KIND,
        on_wait: Callable[[QueuePlace], None] | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> Iterator[None]:
        """Hold a slot for the block, after every caller that came earlier got one.

        While it waits, the calling thread calls ``on_wait(place)`` at each look at the queue
        (never when a slot is free at once) and ``cancelled()`` before it: when that says True,
        the ticket leaves the queue and :class:`HeavyWorkCancelledError` is raised. Any
        exception raised while waiting (``on_wait``'s included) removes the ticket; the block's
        own exception releases the slot. The block's duration is recorded under ``kind`` for
        the estimates.
        """
        ticket = _Ticket(kind, next(self._numbers))
        with self._changed:
            self._waiting.append(ticket)
        try:
            self._wait_for_turn(ticket, on_wait, cancelled)
        except BaseException:
            with self._changed:
                if ticket in self._waiting:
                    self._waiting.remove(ticket)
                    self._changed.notify_all()  # the ones behind it moved up
            raise
        try:
            yield
        finally:
            with self._changed:
                self._running.remove(ticket)
                assert ticket.started is not None
                self._durations.setdefault(kind, deque(maxlen=self._recent)).append(
                    self._clock() - ticket.started
                )
                self._changed.notify_all()

    def _wait_for_turn(
        self,
        ticket: _Ticket,
        on_wait: Callable[[QueuePlace], None] | None,
        cancelled: Callable[[], bool] | None,
    ) -> None:
        looked = False
        while True:
            with self._changed:
                if looked and not self._my_turn(ticket):
                    self._changed.wait(self.poll_s)
                looked = True
                if self._my_turn(ticket):
                    self._waiting.popleft()
                    ticket.started = self._clock()
                    self._running.append(ticket)
                    self._changed.notify_all()  # a next slot may be free for the next one
                    return
                place = self._waiting.index(ticket) + 1
                seen = QueuePlace(place, self.slots, self._estimate(place))
            # Outside the lock: both may take long or raise, and must not hold up the others.
            if cancelled is not None and cancelled():
                raise HeavyWorkCancelledError(
                    f"Stopped while waiting for a heavy-work slot (place {place} in the queue): "
                    "nothing was computed."
                )
            if on_wait is not None:
                on_wait(seen)

    def _my_turn(self, ticket: _Ticket) -> bool:
        return self._waiting[0] is ticket and len(self._running) < self.slots

    def _typical(self, kind: str) -> float | None:
        mine = self._durations.get(kind)
        if mine:
            return statistics.median(mine)
        every = [d for durations in self._durations.values() for d in durations]
        return statistics.median(every) if every else None

    def _estimate(self, place: int) -> float | None:
        now = self._clock()
        ahead = 0.0
        for job in self._running:
            typical = self._typical(job.kind)
            if typical is None:
                return None
            elapsed = now - job.started
            ahead += typical - elapsed if elapsed < typical else elapsed
        for job in itertools.islice(self._waiting, place - 1):
            typical = self._typical(job.kind)
            if typical is None:
                return None
            ahead += typical
        return ahead / self.slots


#: The server's queue, shared by every session of this process.
HEAVY_WORK = HeavyWorkQueue(HEAVY_JOBS)


def heavy_work_slot(
    on_wait: Callable[[QueuePlace], None] | None = None,
    *,
    kind: str = DEFAULT_KIND,
    cancelled: Callable[[], bool] | None = None,
):
    """Hold one of the server's heavy-work slots for the duration of the block, in arrival
    order (:meth:`HeavyWorkQueue.slot` of :data:`HEAVY_WORK`)."""
    return HEAVY_WORK.slot(kind, on_wait, cancelled)
