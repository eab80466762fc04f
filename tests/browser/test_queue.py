"""A student who finds the server's heavy-work slot taken sees its place in the queue and the
estimated wait, live, then its own result: a dedicated server with one slot
(RESNET_VIZ_HEAVY_JOBS=1), a long gradient study holding it in one browser page, a second
page asking for another study. The queued page is saved as a screenshot."""

import pytest
from playwright.sync_api import expect

from bench.drivers.browser import wait_until_idle
from tests.browser.test_app import full_screenshot

pytestmark = pytest.mark.browser

SLOW_MS = 240_000
#: The result sentence of a gradient study (see tests/browser/test_app.py).
STUDY_DONE = "the plain network's first layer gets"


def test_a_queued_student_sees_its_place_and_then_its_result(start_server, chromium, screenshots):
    server = start_server("streamlit-one-slot", env={"RESNET_VIZ_HEAVY_JOBS": "1"})
    first = chromium.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    second = chromium.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    study = f"{server.url}/gradients?preset=ResNet-56+(CIFAR)"

    # A short study first, so that the server has a measured duration to estimate from.
    first.goto(f"{study}&batch=4")
    wait_until_idle(first, timeout_ms=SLOW_MS)
    expect(first.get_by_text(STUDY_DONE)).to_be_visible(timeout=SLOW_MS)

    # A long one holds the only slot ...
    first.goto(f"{study}&batch=32&steps=3")
    expect(first.get_by_test_id("stProgress")).to_be_visible(timeout=SLOW_MS)
    # ... and the second student waits its turn, told where it stands.
    second.goto(f"{study}&batch=6")
    notice = second.get_by_text("You are number 1 in the queue for the heavy-work slots")
    expect(notice).to_be_visible(timeout=SLOW_MS)
    expect(second.get_by_text("(1 at once on this server); about")).to_be_visible()
    full_screenshot(second, screenshots / "queued-student.png")

    expect(second.get_by_text(STUDY_DONE)).to_be_visible(timeout=SLOW_MS)
    expect(notice).to_have_count(0)
    expect(first.get_by_text(STUDY_DONE)).to_be_visible(timeout=SLOW_MS)
