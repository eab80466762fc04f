"""The lecture tour in a real browser, on a projector-sized window: from the home page's button
through all eight steps and back, after the network was changed on one step; and each step
opened cold from its link. Every step must show its own chart, no error, lecture mode on, one
value per URL parameter, and tour links that are not cut off.

The browser is what AppTest cannot be here: on a page change it sends the server only app.py's
widget values and appends the page's bound URL parameters to the link's (see
resnet_viz.ui.lecture.let_the_url_decide); tests/pages/test_tour.py covers the same rules in
AppTest.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from bench.drivers.browser import wait_until_idle
from resnet_viz.ui.tour import STEPS

pytestmark = pytest.mark.browser

PROJECTOR = {"width": 1280, "height": 720}
#: What shows that each step drew its chart (by step number).
CHARTS = {
    1: "[data-testid='stPlotlyChart']",
    2: "[data-testid='stGraphVizChart'] svg",
    3: "[data-testid='stMarkdown'] svg:has(rect.bar)",  # the stage figure (plain SVG)
    4: "[data-testid='stPlotlyChart']",
    5: "[data-testid='stPlotlyChart']",
    6: "[data-testid='stImage'] img",
    7: "[data-testid='stPlotlyChart']",
    8: "[data-testid='stPlotlyChart']",
}
#: The Parameters metric of the architecture steps' own networks (ResNet-18, ResNet-152).
PARAMETERS = {2: "11,689,512", 3: "60,192,808"}
ERRORS = "[data-testid='stException'], [data-testid='stAlertContentError']"
# Any element of a link whose text is wider than its box (an ellipsis, or text cut off).
CUT_OFF = """link => [link, ...link.querySelectorAll('*')].some(
    e => e.clientWidth > 0 && e.scrollWidth > e.clientWidth + 1)"""
TOUR_LINK = re.compile("→|←|Back to the start of the tour|Leave the tour")
TIMEOUT_MS = 240_000  # a cold server imports torch and trains nothing, but loads models


def bar_title(number: int) -> str:
    return f"Tour, step {number} of {len(STEPS)}: {STEPS[number - 1].title}"


def check_step(page, number: int, *, sidebar_collapsed: bool = True) -> None:
    """The page shows step ``number`` as the tour promises it."""
    expect(page.get_by_text(bar_title(number))).to_be_visible(timeout=TIMEOUT_MS)
    wait_until_idle(page, timeout_ms=TIMEOUT_MS)
    page.locator(CHARTS[number]).first.wait_for(timeout=TIMEOUT_MS)
    wait_until_idle(page, timeout_ms=TIMEOUT_MS)
    errors = page.locator(ERRORS)
    assert errors.count() == 0, (number, errors.all_inner_texts())
    if number in PARAMETERS:
        metric = page.get_by_test_id("stMetricValue").filter(has_text=PARAMETERS[number])
        expect(metric).to_be_visible()

    query = parse_qs(urlsplit(page.url).query)
    repeated = {key: values for key, values in query.items() if len(values) > 1}
    assert not repeated, (number, page.url)
    assert query.get("tour") == [str(number)], page.url
    assert query.get("lecture") == ["true"], page.url
    assert page.get_by_role("switch", name="Lecture mode").is_checked(), number
    if sidebar_collapsed:
        expect(page.get_by_test_id("stSidebar")).to_have_attribute("data-collapsed", "true")

    for link in tour_links(page):
        assert not link.evaluate(CUT_OFF), (number, link.inner_text())


def tour_links(page):
    """The tour bar's links (the menu's links have no arrows)."""
    return page.locator("[data-testid='stPageLink'] a").filter(has_text=TOUR_LINK).all()


def go(page, label: str) -> None:
    page.get_by_role("link", name=label).click()


def new_log(server, start: int) -> str:
    return server.log()[start:]


def change_the_network_on_step_3(page) -> None:
    """What a student might do: open the sidebar, pick another preset, close the sidebar."""
    page.get_by_test_id("stExpandSidebarButton").click()
    expect(page.get_by_test_id("stSidebar")).to_have_attribute("data-collapsed", "false")
    preset_menu = page.get_by_test_id("stSidebar").get_by_test_id("stSelectbox").first
    option = page.get_by_role("option", name="ResNet-101", exact=True)
    # The click scrolls the sidebar to the menu, and a scroll closes an open menu: click again
    # until the list is up (at most three times).
    for _ in range(3):
        preset_menu.click()
        try:
            option.wait_for(state="visible", timeout=5_000)
            break
        except PlaywrightTimeout:
            continue
    option.click()
    expect(page.get_by_test_id("stMetricValue").filter(has_text="44,549,160")).to_be_visible(
        timeout=TIMEOUT_MS
    )
    wait_until_idle(page, timeout_ms=TIMEOUT_MS)
    page.get_by_test_id("stSidebarCollapseButton").click()
    expect(page.get_by_test_id("stSidebar")).to_have_attribute("data-collapsed", "true")


def test_tour_forward_and_back_from_the_home_page(live_server, page):
    start = len(live_server.log())
    page.set_viewport_size(PROJECTOR)
    page.goto(live_server.url)
    wait_until_idle(page, timeout_ms=TIMEOUT_MS)
    assert not page.get_by_role("switch", name="Lecture mode").is_checked()
    go(page, "Start the tour")
    check_step(page, 1)

    for number in range(2, len(STEPS) + 1):
        go(page, f"{STEPS[number - 1].title} →")
        check_step(page, number)
        if number == 3:
            change_the_network_on_step_3(page)
    for number in range(len(STEPS) - 1, 0, -1):
        go(page, f"← {STEPS[number - 1].title}")
        check_step(page, number)

    # The last step's way back to the start, then out of the tour: home, lecture mode off.
    page.goto(f"{live_server.url}{STEPS[-1].url(len(STEPS))}")
    check_step(page, len(STEPS))
    go(page, "Back to the start of the tour")
    check_step(page, 1)
    page.goto(f"{live_server.url}{STEPS[-1].url(len(STEPS))}")
    check_step(page, len(STEPS))
    go(page, "Leave the tour")
    expect(page.get_by_role("heading", name="Residual networks, explained")).to_be_visible()
    wait_until_idle(page, timeout_ms=TIMEOUT_MS)
    assert not page.get_by_role("switch", name="Lecture mode").is_checked()
    assert urlsplit(page.url).query == "", page.url
    assert "Traceback" not in new_log(live_server, start)


def test_each_step_opened_cold_from_its_link(live_server, page):
    start = len(live_server.log())
    page.set_viewport_size(PROJECTOR)
    for number, current in enumerate(STEPS, start=1):
        page.goto(f"{live_server.url}{current.url(number)}")
        check_step(page, number)
    assert "Traceback" not in new_log(live_server, start)
