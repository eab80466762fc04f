"""resnet_viz.ui.shared_results.SharedResults with plain threads: a key asked for by several
threads at once is computed once, another key is not held up, a failure is not kept, the LRU
bound holds, and a fresh computation waits for one in progress instead of starting another."""

from __future__ import annotations

import threading

import pytest

from resnet_viz.ui.shared_results import SharedResults

#: How long a thread waits for an event that must come; only a broken lock makes it run out.
PATIENCE_S = 30


def started(target, *args) -> threading.Thread:
    thread = threading.Thread(target=target, args=args, daemon=True)
    thread.start()
    return thread


def joined(*threads: threading.Thread) -> None:
    for thread in threads:
        thread.join(PATIENCE_S)
        assert not thread.is_alive(), "a thread is still blocked"


class Waits:
    """A ``waiting`` context that counts the threads that found their key being computed."""

    def __init__(self) -> None:
        self._entered = threading.Semaphore(0)

    def __call__(self):
        return self

    def __enter__(self):
        self._entered.release()

    def __exit__(self, *exc):
        return False

    def one_more(self) -> bool:
        """Wait until one more thread has started waiting."""
        return self._entered.acquire(timeout=PATIENCE_S)


def test_threads_asking_for_the_same_key_share_one_computation():
    results: SharedResults[object] = SharedResults(4)
    release, calls, got, waits = threading.Event(), [], [], Waits()
    value = object()

    def compute():
        calls.append(1)
        assert release.wait(PATIENCE_S)
        return value

    def ask():
        got.append(results.get_or_compute("k", compute, waiting=waits))

    threads = [started(ask)]
    for _ in range(3):
        threads.append(started(ask))
        assert waits.one_more()  # it found "k" in progress
    release.set()
    joined(*threads)
    assert len(calls) == 1
    assert len(got) == 4
    assert all(g is value for g in got)
    assert results.get_or_compute("k", compute) is value  # kept
    assert len(calls) == 1


def test_a_second_key_is_not_held_up_by_a_first_one_in_progress():
    results: SharedResults[str] = SharedResults(4)
    computing, release = threading.Event(), threading.Event()

    def slow():
        computing.set()
        assert release.wait(PATIENCE_S)
        return "slow"

    first = started(lambda: results.get_or_compute("slow", slow))
    assert computing.wait(PATIENCE_S)
    got = []
    fast = started(lambda: got.append(results.get_or_compute("fast", lambda: "fast")))
    joined(fast)  # answered while "slow" is still computing
    assert got == ["fast"]
    assert first.is_alive()
    release.set()
    joined(first)
    assert results.get("slow") == "slow"


def test_a_computation_that_raises_is_not_kept():
    results: SharedResults[int] = SharedResults(4)
    calls = []

    def fails():
        calls.append(1)
        raise ValueError("refused")

    for _ in range(2):
        with pytest.raises(ValueError, match="refused"):
            results.get_or_compute("k", fails)
    assert len(calls) == 2
    assert results.get("k") is None
    assert len(results) == 0
    assert results.get_or_compute("k", lambda: 7) == 7


def test_a_thread_that_waited_on_a_failed_computation_computes_again():
    results: SharedResults[str] = SharedResults(4)
    computing, release, waits, outcomes = threading.Event(), threading.Event(), Waits(), []

    def fails():
        computing.set()
        assert release.wait(PATIENCE_S)
        raise ValueError("refused")

    def first():
        try:
            results.get_or_compute("k", fails)
        except ValueError:
            outcomes.append("raised")

    def second():
        outcomes.append(results.get_or_compute("k", lambda: "second", waiting=waits))

    a = started(first)
    assert computing.wait(PATIENCE_S)
    b = started(second)
    assert waits.one_more()
    release.set()
    joined(a, b)
    assert sorted(outcomes) == ["raised", "second"]
    assert results.get("k") == "second"


def test_the_least_recently_used_result_goes_first():
    results: SharedResults[str] = SharedResults(2)
    results.get_or_compute("a", lambda: "A")
    results.get_or_compute("b", lambda: "B")
    assert results.get("a") == "A"  # "a" is now the most recently used
    results.get_or_compute("c", lambda: "C")
    assert len(results) == 2
    assert results.get("b") is None
    assert results.get("a") == "A"
    assert results.get("c") == "C"


def test_fresh_computes_again_and_no_entries_keeps_nothing():
    results: SharedResults[int] = SharedResults(2)
    assert results.get_or_compute("k", lambda: 1) == 1
    assert results.get_or_compute("k", lambda: 2) == 1
    assert results.get_or_compute("k", lambda: 3, fresh=True) == 3
    assert results.get("k") == 3
    nothing: SharedResults[int] = SharedResults(0)
    assert nothing.get_or_compute("k", lambda: 1) == 1
    assert nothing.get_or_compute("k", lambda: 2) == 2
    assert len(nothing) == 0
    with pytest.raises(ValueError, match="0 or more"):
        SharedResults(-1)


def test_a_fresh_request_during_a_computation_takes_its_result():
    """Two sessions press "Re-run" for the same settings: one run, both show its result."""
    results: SharedResults[str] = SharedResults(0)
    computing, release, waits, calls, got = (
        threading.Event(), threading.Event(), Waits(), [], []
    )  # fmt: skip

    def run():
        calls.append(1)
        computing.set()
        assert release.wait(PATIENCE_S)
        return f"run {len(calls)}"

    def press():
        got.append(results.get_or_compute("k", run, fresh=True, waiting=waits))

    first = started(press)
    assert computing.wait(PATIENCE_S)
    second = started(press)
    assert waits.one_more()
    release.set()
    joined(first, second)
    assert got == ["run 1", "run 1"]
    assert results.get_or_compute("k", run, fresh=True) == "run 2"  # later: a new run


# On a page: a result computed under a progress bar, asked for again -------------------------


@pytest.mark.slow
def test_a_second_live_landscape_with_the_same_depths_reuses_the_trained_networks():
    """The networks are trained under the page's progress bar and kept for the next run; a
    cached function that drew that bar would fail on its first cache hit."""
    from tests.app_support import assert_clean, open_page

    at = open_page("pages/landscape.py", ls_shallow="8", ls_deep="14", ls_res="5")
    at.button[0].click().run()
    assert_clean(at)
    at.select_slider(key="ls_res").set_value(7).run()
    at.button[0].click().run()
    assert_clean(at)
    assert not at.error
    assert any(c.value.startswith("Surfaces: live run, just now") for c in at.caption)
    assert "7×7 grid" in " ".join(c.value for c in at.caption)
