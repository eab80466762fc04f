"""The Stages table on a projector: it fits the main column at 1280x720 and 1400x1000 in lecture
mode (1.3x type), at 512 px input where its shapes and MAC counts are widest."""

import pytest
from playwright.sync_api import expect

from bench.drivers.browser import wait_until_idle

pytestmark = pytest.mark.browser

_FIT = """() => {
  const table = document.querySelector('table.stage-table');
  const box = table.parentElement;
  const main = document.querySelector('[data-testid=stMainBlockContainer]');
  return {table: table.getBoundingClientRect().right, box: box.getBoundingClientRect().right,
          main: main.getBoundingClientRect().right, viewport: window.innerWidth,
          scrolls: box.scrollWidth > box.clientWidth};
}"""


@pytest.mark.parametrize("size", [(1280, 720), (1400, 1000)], ids=["1280x720", "1400x1000"])
def test_stage_table_fits_in_lecture_mode(live_server, chromium, screenshots, size):
    width, height = size
    context = chromium.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    try:
        page.goto(
            f"{live_server.url}/architecture?preset=ResNet-152&h=512&w=512&lecture=true",
            timeout=120_000,
        )
        wait_until_idle(page, 120_000)
        expect(page.get_by_test_id("stException")).to_have_count(0)
        expect(page.locator("table.stage-table")).to_be_visible()
        page.locator("table.stage-table").scroll_into_view_if_needed()
        page.screenshot(path=screenshots / f"stage-table-lecture-{width}x{height}.png")
        fit = page.evaluate(_FIT)
        assert not fit["scrolls"], fit
        assert fit["table"] <= fit["box"] <= fit["main"] <= fit["viewport"], fit
    finally:
        context.close()
