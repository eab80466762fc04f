"""The lecture tour: its steps, and that arriving at a step shows that step whatever came before.

A run after ``switch_page`` is what a click on a tour link does, with more left over: AppTest
sends back every widget value of the page it last drew, where the browser sends only app.py's
(the lecture toggle) on a page change. What the browser adds to the link's parameters, the
current page's bound ones (so ``lecture=true`` twice), :func:`follow` adds too.
tests/browser/test_tour.py walks the same tour in a real browser.
"""

from __future__ import annotations

import itertools

import pytest
from streamlit.testing.v1 import AppTest

from resnet_viz.core.presets import PRESETS
from resnet_viz.core.summary import summarize
from resnet_viz.ui.tour import LEAVE, STEPS, leaving, lecture_requested, step_on_page
from tests.app_support import assert_clean, metric, open_page


def follow(at: AppTest, number: int, *, carried: dict[str, str] | None = None) -> AppTest:
    """Click the tour's link to step ``number``: its page, its query, and before it whatever
    bound parameters the browser carries from the page on screen (a parameter in both is sent
    twice, as the browser sends it)."""
    target = STEPS[number - 1]
    query: dict[str, str | list[str]] = dict(carried or {})
    for key, value in target.query(number).items():
        query[key] = [query[key], value] if key in query else value
    at.switch_page(target.page)
    at.query_params.clear()
    at.query_params.update(query)
    return at.run()


def open_step(number: int) -> AppTest:
    """A step opened cold from its link."""
    current = STEPS[number - 1]
    return open_page(current.page, **current.query(number))


def assert_url_is_one_value_per_key(at: AppTest) -> None:
    repeated = {k: v for k, v in at.query_params.items() if isinstance(v, list)}
    assert not repeated, repeated


# --- the steps, as data -------------------------------------------------------------------


def test_step_on_page_needs_the_steps_own_page():
    # (tests/pages/test_degradation_and_lesion.py checks each step's page and link)
    for number, current in enumerate(STEPS, start=1):
        assert step_on_page(current.query(number), current.url_path) == number
    assert step_on_page({"tour": "4"}, "gradients") == 4
    assert step_on_page({"tour": "4"}, "lesion") is None  # a hand-made link
    assert step_on_page({"tour": "0"}, "degradation") is None
    assert step_on_page({"tour": "9"}, "block_anatomy") is None
    assert step_on_page({"tour": "four"}, "gradients") is None
    assert step_on_page({}, "gradients") is None


def test_lecture_requested_by_the_url_except_when_leaving():
    assert lecture_requested({"lecture": "true", "tour": "3"})
    assert not lecture_requested({"lecture": "false"})
    assert not lecture_requested({})
    assert leaving({"tour": LEAVE})
    assert not lecture_requested({"lecture": "true", "tour": LEAVE})


def test_step_3_states_its_networks_numbers():
    """Step 3's second point quotes ResNet-152's parameters and blocks: the summary's, and the
    first point's rule (each stage after the first halves the size, doubles the channels)."""
    summary = summarize(PRESETS["resnet152"].spec, (3, 224, 224))
    stages = [s for s in summary.stages if s.label.startswith("Stage")]
    blocks = [s.blocks for s in stages]
    point = STEPS[2].points[1]
    assert f"{summary.total_params / 1e6:.1f} M parameters" in point
    assert f"{max(blocks)} of its {sum(blocks)} bottleneck blocks" in point
    assert f"in stage {blocks.index(max(blocks)) + 1}" in point
    for before, after in itertools.pairwise(stages):
        (_, c0, h0, w0), (_, c1, h1, w1) = before.output_shape, after.output_shape
        assert (c1, h1, w1) == (2 * c0, h0 // 2, w0 // 2), (before.label, after.label)


# --- arriving at a step -------------------------------------------------------------------


def test_a_steps_link_opened_cold_shows_the_step():
    at = open_step(3)
    assert_clean(at)
    assert at.markdown[0].value == "**Tour, step 3 of 8: Shapes and parameters**"
    assert at.toggle(key="lecture").value is True
    assert metric(at, "Parameters") == "60,192,808"


def test_no_tour_bar_for_a_step_of_another_page():
    at = open_page("pages/architecture.py", tour="4", lecture="true")
    assert_clean(at)
    assert not any(m.value.startswith("**Tour, step") for m in at.markdown)


def test_start_the_tour_turns_lecture_mode_on():
    """Home is drawn with lecture mode off; its "Start the tour" link must turn it on, although
    the browser sends the toggle's value (off) with the click."""
    at = open_page("pages/home.py")
    assert at.toggle(key="lecture").value is False
    link = next(p for p in at.get("page_link") if p.proto.label == "Start the tour")
    assert link.proto.query_string == "tour=1&lecture=true"
    at.switch_page(STEPS[0].page)
    at.query_params.clear()
    at.query_params.update(STEPS[0].query(1))
    at.run(timeout=300)
    assert_clean(at)
    assert at.toggle(key="lecture").value is True
    assert at.query_params == {"tour": "1", "lecture": "true"}


def test_next_and_previous_reset_what_was_changed_on_the_step_before():
    """Step 2 and step 3 are the same page: what the lecturer changed on step 3 (the network,
    the input size, the tab) must not survive Previous, nor the way back with Next; the
    widgets keep their ids across these runs, so only a reset can change them."""
    at = open_step(2)
    assert metric(at, "Parameters") == "11,689,512"  # ResNet-18
    at = follow(at, 3, carried={"lecture": "true", "preset": "ResNet-18", "tab": "Diagram"})
    assert_clean(at)
    assert at.selectbox(key="preset").value == "resnet152"
    assert metric(at, "Parameters") == "60,192,808"

    at.selectbox(key="preset").set_value("resnet101").run()
    at.number_input(key="h").set_value(512).run()
    assert at.selectbox(key="preset").value == "resnet101"  # a change on the step stays
    assert at.number_input(key="h").value == 512
    assert at.query_params["tour"] == "3"

    at = follow(at, 2)  # Previous (same page: the browser carries nothing)
    assert_clean(at)
    assert at.selectbox(key="preset").value == "resnet18"
    assert at.number_input(key="h").value is None
    assert metric(at, "Parameters") == "11,689,512"
    assert at.query_params == {
        "preset": "ResNet-18",
        "tab": "Diagram",
        "tour": "2",
        "lecture": "true",
    }

    at = follow(at, 3)  # Next again
    assert at.selectbox(key="preset").value == "resnet152"
    assert at.number_input(key="h").value is None
    assert metric(at, "Parameters") == "60,192,808"
    assert_url_is_one_value_per_key(at)
    assert at.toggle(key="lecture").value is True


def test_a_reload_keeps_what_was_changed_on_the_step():
    """A session's first run is Streamlit's own "the URL decides": a step's link shows the
    step (test_a_steps_link_opened_cold_shows_the_step), and a changed step's URL, reloaded,
    shows the change."""
    at = open_page("pages/architecture.py", preset="ResNet-101", tour="3", lecture="true")
    assert_clean(at)
    assert at.selectbox(key="preset").value == "resnet101"
    assert at.markdown[0].value == "**Tour, step 3 of 8: Shapes and parameters**"
    at.run()
    assert at.selectbox(key="preset").value == "resnet101"


def test_leaving_the_tour_turns_lecture_mode_off():
    at = open_step(2)
    at.switch_page("pages/home.py")
    at.query_params.clear()
    at.query_params.update({"lecture": "true", "tour": LEAVE})  # lecture: carried by the browser
    at.run()
    assert_clean(at)
    assert at.toggle(key="lecture").value is False
    assert at.query_params == {}


def test_the_last_step_offers_the_start_and_the_way_out():
    at = open_step(len(STEPS))
    links = {p.proto.label: p.proto.query_string for p in at.get("page_link")}
    assert links["Back to the start of the tour"] == "tour=1&lecture=true"
    assert links["Leave the tour"] == f"tour={LEAVE}"
    assert not any(label.endswith("→") for label in links)


@pytest.mark.slow
def test_step_4_after_resnet152_on_step_3_shows_its_own_network():
    """A lecture's case: ResNet-152 on step 3, Next: step 4 showed "needs about 10.8 GiB" (the
    gradient study of ResNet-152 at 224) instead of its ResNet-56 chart."""
    at = open_step(3)
    at.number_input(key="h").set_value(512).run()
    at = follow(at, 4, carried={"lecture": "true", "preset": "ResNet-152", "h": "512"})
    assert_clean(at)
    assert not at.error, [e.value for e in at.error]
    assert at.selectbox(key="preset").value == "resnet56"
    assert at.number_input(key="h").value is None
    assert at.toggle(key="lecture").value is True
    assert at.query_params == {"tour": "4", "lecture": "true"}
    assert any("Gradient norm per layer" in str(c.proto.spec) for c in at.get("plotly_chart"))
