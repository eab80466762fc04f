"""resnet_viz.runtime.workload.HeavyWorkQueue with plain threads: strict arrival order under
contention, places that go down as the queue drains, the estimate from measured durations, a
cancelled or failing waiter dropped without holding up the next, and no slot leaked."""

from __future__ import annotations

import threading
import time

import pytest

from resnet_viz.runtime.workload import HeavyWorkCancelledError, HeavyWorkQueue, QueuePlace

#: How long a thread or a check waits for something that must happen; only a bug runs it out.
PATIENCE_S = 30


def started(target, *args) -> threading.Thread:
    thread = threading.Thread(target=target, args=args, daemon=True)
    thread.start()
    return thread


def joined(*threads: threading.Thread) -> None:
    for thread in threads:
        thread.join(PATIENCE_S)
        assert not thread.is_alive(), "a thread is still blocked"


def eventually(predicate) -> bool:
    deadline = time.monotonic() + PATIENCE_S
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.002)
    return True


def holder(queue: HeavyWorkQueue, kind: str = "hold", on_wait=None):
    """A thread that takes a slot (waiting its turn) and holds it until the returned event is
    set; the second event is set once it holds the slot."""
    release, inside = threading.Event(), threading.Event()

    def hold():
        with queue.slot(kind, on_wait):
            inside.set()
            assert release.wait(PATIENCE_S)

    return release, inside, started(hold)


def held(queue: HeavyWorkQueue, kind: str = "hold"):
    """A thread holding one slot (free now) until the returned event is set."""
    release, inside, thread = holder(queue, kind)
    assert inside.wait(PATIENCE_S)
    return release, thread


def test_twenty_threads_are_served_in_their_order_of_arrival():
    queue = HeavyWorkQueue(1, poll_s=0.01)
    release, holding = held(queue)
    served: list[int] = []

    def work(i: int):
        with queue.slot():
            served.append(i)

    threads = []
    for i in range(20):
        threads.append(started(work, i))
        assert eventually(lambda n=i + 1: queue.waiting() == n)  # i is in line before i + 1 comes
    release.set()
    joined(holding, *threads)
    assert served == list(range(20))
    assert queue.running() == 0
    assert queue.waiting() == 0


def test_two_slots_run_two_jobs_at_once_and_the_third_waits_first_in_line():
    queue = HeavyWorkQueue(2, poll_s=0.01)
    first, one = held(queue)
    second, two = held(queue)
    assert queue.running() == 2
    places: list[QueuePlace] = []
    third, inside, thread = holder(queue, on_wait=places.append)
    assert eventually(lambda: places)
    assert places[0] == QueuePlace(place=1, slots=2, estimate_s=None)  # nothing measured yet
    first.set()
    assert inside.wait(PATIENCE_S)  # the third took the freed slot
    assert queue.running() == 2
    second.set()
    third.set()
    joined(one, two, thread)


def test_each_waiter_sees_its_place_go_down_as_the_queue_drains():
    queue = HeavyWorkQueue(1, poll_s=0.01)
    release, holding = held(queue)
    seen: dict[int, list[int]] = {i: [] for i in range(3)}
    go = [threading.Event() for _ in range(3)]

    def work(i: int):
        with queue.slot(on_wait=lambda p: seen[i].append(p.place)):
            assert go[i].wait(PATIENCE_S)

    threads = []
    for i in range(3):
        threads.append(started(work, i))
        assert eventually(lambda mine=seen[i]: mine)
    assert [seen[i][0] for i in range(3)] == [1, 2, 3]
    release.set()
    assert eventually(lambda: seen[2][-1] == 2)  # the first waiter now runs
    go[0].set()
    assert eventually(lambda: seen[2][-1] == 1)
    go[1].set()
    go[2].set()
    joined(holding, *threads)
    for places in seen.values():
        assert places == sorted(places, reverse=True)  # never up
    assert sorted(set(seen[2]), reverse=True) == [3, 2, 1]
    assert set(seen[0]) == {1}


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_estimate_is_the_work_ahead_from_the_measured_durations_over_the_slots():
    clock = Clock()
    queue = HeavyWorkQueue(1, clock=clock)
    assert queue.typical_s("cam") is None
    for seconds in (10.0, 30.0, 26.0):  # median 26
        with queue.slot("cam"):
            clock.now += seconds
    with queue.slot("study"):
        clock.now += 100.0
    assert queue.typical_s("cam") == 26.0
    assert queue.typical_s("study") == 100.0
    assert queue.typical_s("never run") == 28.0  # median of 10, 26, 30, 100

    clock.now = 1000.0
    release, cam = held(queue, "cam")  # started at 1000
    clock.now = 1006.0  # 20 s of its 26 left
    assert queue.estimate(1) == 20.0
    places: list[QueuePlace] = []
    study, _, waiter = holder(queue, "study", on_wait=places.append)
    assert eventually(lambda: places)
    assert places[0] == QueuePlace(1, 1, 20.0)
    assert queue.estimate(2) == 20.0 + 100.0  # behind the study
    clock.now = 1000.0 + 40.0  # past the median of 26: taken to be half done
    assert queue.estimate(1) == 40.0
    release.set()
    study.set()
    joined(cam, waiter)


def test_two_slots_share_the_work_ahead():
    clock = Clock()
    queue = HeavyWorkQueue(2, clock=clock)
    with queue.slot("cam"):
        clock.now += 8.0
    one, a = held(queue, "cam")
    two, b = held(queue, "cam")
    clock.now += 2.0  # each has 6 s left
    assert queue.estimate(1) == (6.0 + 6.0) / 2
    one.set()
    two.set()
    joined(a, b)


def test_a_cancelled_waiter_leaves_the_queue_and_the_next_one_is_served():
    queue = HeavyWorkQueue(1, poll_s=0.01)
    release, holding = held(queue)
    gone, ran, outcome = threading.Event(), [], []

    def abandoned():
        try:
            with queue.slot(cancelled=gone.is_set):
                ran.append("abandoned")
        except HeavyWorkCancelledError as error:
            outcome.append(error)

    behind_places: list[int] = []

    def behind():
        with queue.slot(on_wait=lambda p: behind_places.append(p.place)):
            ran.append("behind")

    first = started(abandoned)
    assert eventually(lambda: queue.waiting() == 1)
    second = started(behind)
    assert eventually(lambda: behind_places and behind_places[-1] == 2)
    gone.set()
    joined(first)
    assert len(outcome) == 1
    assert queue.waiting() == 1
    assert eventually(lambda: behind_places[-1] == 1)  # moved up while the slot is still held
    release.set()
    joined(holding, second)
    assert ran == ["behind"]


class SessionGone(BaseException):
    """Stands for Streamlit's StopException, raised by a page update when the session ended."""


def test_an_exception_from_on_wait_drops_the_ticket():
    queue = HeavyWorkQueue(1, poll_s=0.01)
    release, holding = held(queue)
    outcome = []

    def page_update(place: QueuePlace) -> None:
        raise SessionGone

    def waiter():
        try:
            with queue.slot(on_wait=page_update):
                outcome.append("ran")
        except SessionGone:
            outcome.append("gone")

    joined(started(waiter))
    assert outcome == ["gone"]
    assert queue.waiting() == 0
    release.set()
    joined(holding)
    assert queue.running() == 0


def test_a_job_that_raises_gives_its_slot_back():
    queue = HeavyWorkQueue(1)
    with pytest.raises(ZeroDivisionError), queue.slot():
        raise ZeroDivisionError
    assert queue.running() == 0
    waited = []
    with queue.slot(on_wait=waited.append):  # free at once: no wait
        assert queue.running() == 1
    assert waited == []


def test_slots_must_be_positive():
    with pytest.raises(ValueError, match="slots"):
        HeavyWorkQueue(0)
