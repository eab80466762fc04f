"""The architecture page's wide tables on a projector: they fit the main column at 1280x720 and
1400x1000 in lecture mode (1.3x type). The Stages table at 512 px input, where its shapes and
MAC counts are widest; the Compare table for ResNet-152 against its plain twin and against
Wide ResNet-50-2 (long labels in every header, eleven-digit MAC counts)."""

from urllib.parse import urlencode

import pytest
from playwright.sync_api import expect

from bench.drivers.browser import wait_until_idle

pytestmark = pytest.mark.browser

_FIT = """(selector) => {
  const table = document.querySelector(selector);
  const box = table.parentElement;
  const main = document.querySelector('[data-testid=stMainBlockContainer]');
  return {table: table.getBoundingClientRect().right, box: box.getBoundingClientRect().right,
          main: main.getBoundingClientRect().right, viewport: window.innerWidth,
          scrolls: box.scrollWidth > box.clientWidth};
}"""

#: name: (the table's class, the link's parameters besides lecture mode)
TABLES = {
    "stages": ("stage-table", {"preset": "ResNet-152", "h": "512", "w": "512"}),
    "compare-twin": ("compare-table", {"preset": "ResNet-152", "tab": "Compare"}),
    "compare-wide": (
        "compare-table",
        {"preset": "ResNet-152", "tab": "Compare", "vs": "Wide ResNet-50-2"},
    ),
}


@pytest.mark.parametrize("table", list(TABLES))
@pytest.mark.parametrize("size", [(1280, 720), (1400, 1000)], ids=["1280x720", "1400x1000"])
def test_wide_tables_fit_in_lecture_mode(live_server, chromium, screenshots, size, table):
    css_class, query = TABLES[table]
    width, height = size
    context = chromium.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    try:
        page.goto(
            f"{live_server.url}/architecture?{urlencode({**query, 'lecture': 'true'})}",
            timeout=120_000,
        )
        wait_until_idle(page, 120_000)
        expect(page.get_by_test_id("stException")).to_have_count(0)
        selector = f"table.{css_class}"
        expect(page.locator(selector)).to_be_visible()
        # Widgets load their code on first use and stand as placeholders until then.
        expect(page.get_by_test_id("stSkeleton")).to_have_count(0)
        if table == "compare-wide":
            expect(page.locator(selector)).to_contain_text("Params Wide ResNet-50-2")
        page.locator(selector).scroll_into_view_if_needed()
        page.screenshot(path=screenshots / f"{table}-table-lecture-{width}x{height}.png")
        fit = page.evaluate(_FIT, selector)
        assert not fit["scrolls"], fit
        assert fit["table"] <= fit["box"] <= fit["main"] <= fit["viewport"], fit
    finally:
        context.close()
