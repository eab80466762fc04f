"""The queue notice states the waiter's place, the slots and the estimate it was given, over
their whole range."""

from __future__ import annotations

import math
import re

from hypothesis import given
from hypothesis import strategies as st

from resnet_viz.present.queue import SECONDS_UP_TO, queue_notice, wait_phrase
from resnet_viz.runtime.workload import QueuePlace


def test_the_notice_reads_as_the_page_shows_it():
    assert queue_notice(QueuePlace(1, 2, 12.2)) == (
        "You are number 1 in the queue for the heavy-work slots (2 at once on this server); "
        "about 13 s."
    )
    assert wait_phrase(0.0) == "about 1 s"
    assert wait_phrase(120.0) == "about 120 s"
    assert wait_phrase(121.0) == "about 3 min"
    assert "no run has finished" in wait_phrase(None)


@given(
    place=st.integers(1, 10_000),
    slots=st.integers(1, 64),
    estimate=st.none() | st.floats(0, 1e6, allow_nan=False),
)
def test_the_notice_never_contradicts_its_numbers(place, slots, estimate):
    notice = queue_notice(QueuePlace(place, slots, estimate))
    assert f"number {place} in the queue" in notice
    assert f"({slots} at once" in notice
    if estimate is None:
        assert not re.search(r"\d+ (s|min)\b", notice)
        return
    amount, unit = re.search(r"about (\d+) (s|min)\.$", notice).groups()
    stated_s = int(amount) * (60 if unit == "min" else 1)
    assert stated_s >= estimate  # never promised shorter
    assert stated_s - estimate < (60 if unit == "min" else 1) or estimate < 1
    assert (unit == "s") == (math.ceil(estimate) <= SECONDS_UP_TO)
