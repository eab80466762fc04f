"""The "Train on your images" page in a real browser, on the demo model and the bundled shapes:
the curves drawn while it trains, then the confusion matrix and the feature space before and
after, each saved as a screenshot for a human to look at."""

import re

import pytest
from playwright.sync_api import expect

from bench.drivers.browser import wait_until_idle
from tests.browser.test_app import element_screenshot, full_screenshot

pytestmark = pytest.mark.browser

TRAINING_MS = 240_000


def test_live_curves_confusion_and_feature_space(live_server, page, screenshots):
    page.set_viewport_size({"width": 1400, "height": 1000})
    page.goto(f"{live_server.url}/transfer?tl_mode=Full+fine-tune&tl_epochs_full=6&tl_compare=true")
    wait_until_idle(page, timeout_ms=120_000)
    expect(page.get_by_text(re.compile(r"\d+ images in 7 classes"))).to_be_visible(timeout=60_000)
    page.get_by_role("button", name="Train", exact=True).click()
    live = page.get_by_text(re.compile(r"Full fine-tune: epoch [2-5] of 6"))
    expect(live).to_be_visible(timeout=TRAINING_MS)
    page.get_by_test_id("stPlotlyChart").first.locator(".main-svg").first.wait_for()
    # The live chart is redrawn every half second: the whole view, not the (replaced) element.
    page.screenshot(path=screenshots / "transfer-live-curves.png")

    expect(page.get_by_text("What it gets right and wrong")).to_be_visible(timeout=TRAINING_MS)
    wait_until_idle(page, timeout_ms=TRAINING_MS)
    expect(page.get_by_text(re.compile("pretraining|a tie|from scratch")).first).to_be_visible()
    charts = page.get_by_test_id("stPlotlyChart")
    confusion = charts.filter(has_text="predicted").first
    element_screenshot(page, confusion, screenshots / "transfer-confusion.png")
    space = page.locator(".st-key-tl_embedding")
    element_screenshot(page, space, screenshots / "transfer-feature-space.png")
    full_screenshot(page, screenshots / "transfer-page.png")
