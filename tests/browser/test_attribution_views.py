"""The attribution toolkit's views in a real browser, on the demo model: the pixel-method grid,
the scorecard table, the sanity-check lesson and the torchinfo view, each saved as a screenshot
in the ``screenshots`` folder for a human to look at, with what each must show checked first."""

import re

import pytest
from playwright.sync_api import expect

from bench.drivers.browser import wait_until_idle
from tests.browser.test_app import element_screenshot, full_screenshot

pytestmark = pytest.mark.browser

PIXEL = ("Saliency", "Integrated Gradients", "Guided Backprop", "LRP")
SLOW_MS = 240_000


def test_pixel_grid_scorecard_and_sanity_lesson(live_server, page, screenshots):
    page.set_viewport_size({"width": 1400, "height": 1100})
    methods = "&".join(f"pixel={m}" for m in PIXEL)
    page.goto(f"{live_server.url}/grad_cam?methods=Grad-CAM&{methods}&px_steps=16")
    wait_until_idle(page, timeout_ms=SLOW_MS)
    section = page.locator("[class*='st-key-cam-']").first
    for label in PIXEL:
        expect(section.get_by_text(f"{label}: ", exact=False).first).to_be_visible(timeout=SLOW_MS)
    expect(section.get_by_text(re.compile("sum of attributions .* delta")).first).to_be_visible()
    grid = section.get_by_test_id("stHorizontalBlock").filter(has_text="Guided Backprop: ").first
    element_screenshot(page, grid, screenshots / "attention-pixel-methods.png")

    section.get_by_role("button", name="Run the sanity-check lesson").click()
    wait_until_idle(page, timeout_ms=SLOW_MS)
    expect(section.get_by_text("survives deepest").first).to_be_visible(timeout=SLOW_MS)
    lesson = section.get_by_test_id("stPlotlyChart").last
    lesson.locator(".main-svg").first.wait_for(timeout=30_000)
    element_screenshot(page, lesson, screenshots / "attention-sanity-lesson.png")

    section.get_by_role("button", name="Score every map").click()
    wait_until_idle(page, timeout_ms=SLOW_MS)
    download = section.get_by_role("button", name="Download the scorecard (CSV)")
    expect(download).to_be_visible(timeout=SLOW_MS)
    table = section.get_by_test_id("stDataFrame").last  # a canvas grid: its cells are not text
    expect(table).to_be_visible()
    element_screenshot(page, table, screenshots / "attention-scorecard.png")
    full_screenshot(page, screenshots / "attention-toolkit-page.png")


def test_torchinfo_view(live_server, page, screenshots):
    page.set_viewport_size({"width": 1400, "height": 1100})
    page.goto(f"{live_server.url}/architecture?preset=ResNet-50")
    wait_until_idle(page)
    page.get_by_role("tab", name="Layers").click()
    wait_until_idle(page)
    page.get_by_role("button", name="Run torchinfo").click()
    wait_until_idle(page, timeout_ms=120_000)
    verdict = page.get_by_text(re.compile("[Mm]atches torchinfo")).first
    expect(verdict).to_be_visible(timeout=120_000)
    report = page.get_by_test_id("stCode").filter(has_text="Total params").first
    expect(report).to_be_visible()
    element_screenshot(page, report, screenshots / "architecture-torchinfo.png")
    full_screenshot(page, screenshots / "architecture-layers-torchinfo.png")
