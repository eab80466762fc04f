"""The page side of the heavy-work queue, with a fake Streamlit: a waiting student's progress
bar says its place and the estimate, live, then shows the work's progress; a session that ends
while it waits (Streamlit raises StopException at its next drawing) leaves the queue and the
next student is served."""

from __future__ import annotations

import threading

import pytest
from streamlit.runtime.scriptrunner_utils.exceptions import StopException

import resnet_viz.ui.common as common
from resnet_viz.runtime.workload import HeavyWorkQueue, QueuePlace
from tests.unit.runtime.test_workload import eventually, held, joined, started


class FakeBar:
    """What st.progress / st.empty return: records each text drawn; ``gone`` makes the next
    drawing raise StopException, as Streamlit does once the session was asked to stop."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.emptied = False
        self.gone = threading.Event()

    def _draw(self, text: str) -> None:
        if self.gone.is_set():
            raise StopException()
        self.texts.append(text)

    def progress(self, fraction: float, text: str) -> None:
        self._draw(text)

    def info(self, text: str, icon=None) -> None:
        self._draw(text)

    def empty(self) -> None:
        self.emptied = True


class FakeSt:
    def __init__(self) -> None:
        self.bars: list[FakeBar] = []

    def _new(self, fraction: float = 0.0, text: str | None = None) -> FakeBar:
        self.bars.append(FakeBar())
        if text is not None:  # st.progress(0.0, text=...) draws its first text
            self.bars[-1].texts.append(text)
        return self.bars[-1]

    progress = empty = _new


@pytest.fixture
def page(monkeypatch):
    """A fake st in ui.common and a one-slot queue of the test's own behind heavy_work_slot."""
    fake, queue = FakeSt(), HeavyWorkQueue(1, poll_s=0.01)
    monkeypatch.setattr(common, "st", fake)
    monkeypatch.setattr(
        common,
        "heavy_work_slot",
        lambda on_wait=None, *, kind, cancelled=None: queue.slot(kind, on_wait, cancelled),
    )
    return fake, queue


def test_the_bar_says_the_place_in_the_queue_then_the_progress(page):
    fake, queue = page
    release, holding = held(queue)
    outcome = []

    def student():
        with common.heavy_work_with_progress("Starting…") as progress:
            progress(0.5, "half way")
        outcome.append("done")

    waiter = started(student)
    queued = (
        "You are number 1 in the queue for the heavy-work slots (1 at once on this server); "
        "no run has finished on this server yet to estimate the wait."
    )
    assert eventually(lambda: fake.bars and queued in fake.bars[0].texts[1:])
    release.set()
    joined(holding, waiter)
    bar = fake.bars[0]
    assert bar.texts[0] == "Starting…"
    assert bar.texts[-2:] == ["Starting…", "half way"]
    assert set(bar.texts[1:-2]) == {queued}
    assert bar.emptied
    assert outcome == ["done"]


def test_a_session_that_ends_while_queued_leaves_the_queue_and_never_runs(page):
    fake, queue = page
    release, holding = held(queue)
    ran, outcome = [], []

    def student(name: str):
        try:
            with common.heavy_work_in_page():
                ran.append(name)
        except StopException:
            outcome.append(name)

    first = started(student, "abandoned")
    assert eventually(lambda: fake.bars and fake.bars[0].texts)
    second = started(student, "next")
    assert eventually(lambda: len(fake.bars) == 2 and fake.bars[1].texts)
    assert "number 2 in the queue" in fake.bars[1].texts[-1]
    fake.bars[0].gone.set()  # the first student closed the tab
    joined(first)  # within REDRAW_S: the notice is drawn again even when unchanged
    assert outcome == ["abandoned"]
    assert queue.waiting() == 1
    assert eventually(lambda: "number 1 in the queue" in fake.bars[1].texts[-1])
    release.set()
    joined(holding, second)
    assert ran == ["next"]
    assert fake.bars[1].emptied


def test_the_notice_is_drawn_when_it_changes_and_again_after_redraw_s():
    now = [0.0]
    drawn: list[str] = []
    on_wait = common.redrawn(drawn.append, clock=lambda: now[0])
    on_wait(QueuePlace(2, 1, 10.0))
    on_wait(QueuePlace(2, 1, 10.0))  # same text, too soon
    assert len(drawn) == 1
    on_wait(QueuePlace(1, 1, 5.0))  # changed
    now[0] = common.REDRAW_S
    on_wait(QueuePlace(1, 1, 5.0))  # same text, but REDRAW_S later
    assert drawn == [
        drawn[0],
        drawn[1],
        drawn[1],
    ]
    assert "number 2" in drawn[0]
    assert "about 10 s" in drawn[0]
    assert "number 1" in drawn[1]
    assert "about 5 s" in drawn[1]
