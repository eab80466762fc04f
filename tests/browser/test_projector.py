"""Every page in lecture mode at a projector's 1280x720 and at 1400x1000: full-page screenshots
for a human to look at, and the layout facts a screenshot shows checked in the browser: no chart
or table runs past the right edge of the page's main column, and no exception box.

Screenshots go to the folder named by ``RESNET_VIZ_SCREENSHOTS`` (to keep and look at them), else
to pytest's per-test temporary folder; never into the checkout.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlencode

import pytest
from playwright.sync_api import expect

from bench.drivers.browser import wait_until_idle

pytestmark = [pytest.mark.browser, pytest.mark.slow]

#: A projector's 720p, and the size the other browser tests use.
SIZES = {"720p": (1280, 720), "large": (1400, 1000)}
#: The architecture page's tabs (pages/architecture.py; ``?tab=`` opens one).
ARCHITECTURE_TABS = ("Stages", "Layers", "Diagram", "Compare", "Code")
#: name -> (URL path and query, the least number of Plotly charts the page draws).
PAGES = {
    "home": ("/", 0),
    **{f"architecture-{t.lower()}": (f"/architecture?tab={t}", 0) for t in ARCHITECTURE_TABS},
    "gradients": ("/gradients", 2),
    "grad_cam": ("/grad_cam", 1),
    "degradation": ("/degradation", 1),
    "lesion": ("/lesion", 2),
    "landscape": ("/landscape", 1),
    "landscape-surface": ("/landscape?ls_view=3-D+surface", 1),
    "receptive_field": ("/receptive_field", 1),
    "block_anatomy": ("/block_anatomy", 2),
}
#: The faithfulness chart needs a click: several methods on the Grad-CAM page, then "Measure".
FAITHFULNESS_METHODS = ("Grad-CAM", "Grad-CAM++", "XGrad-CAM", "LayerCAM")
#: What must stay inside the main column.
WIDE_THINGS = ".js-plotly-plot, [data-testid='stTable'], [data-testid='stDataFrame'], table"
#: Lecture mode scales the root font (resnet_viz/ui/lecture.py).
LECTURE_ON = "() => getComputedStyle(document.documentElement).fontSize !== '16px'"
#: Sub-pixel rounding of the layout, in CSS pixels.
SLACK_PX = 1

OVERFLOW = """
([selector, slack]) => {
  const main = document.querySelector("[data-testid='stMainBlockContainer']");
  const edge = main.getBoundingClientRect().right;
  const out = [];
  for (const el of document.querySelectorAll(selector)) {
    if (!main.contains(el)) continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0) continue;  // in a tab that is not shown
    if (r.right > edge + slack) {
      const id = el.closest("[data-testid]")?.getAttribute("data-testid") || el.tagName;
      const what = `${el.className || el.tagName} in ${id}`;
      out.push(`${what}: right ${r.right.toFixed(0)} > ${edge.toFixed(0)}`);
    }
  }
  return out;
}
"""


@pytest.fixture
def screenshot_folder(tmp_path) -> Path:
    chosen = os.environ.get("RESNET_VIZ_SCREENSHOTS")
    folder = Path(chosen) if chosen else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def full_page_screenshot(page, path: Path, width: int, height: int) -> None:
    """Streamlit scrolls inside its own container: grow the viewport to the content, shoot,
    and restore the size."""
    content = page.evaluate(
        "() => document.querySelector('[data-testid=stMain]')?.scrollHeight || 0"
    )
    page.set_viewport_size({"width": width, "height": max(height, min(int(content) + 40, 12000))})
    page.wait_for_timeout(500)
    page.screenshot(path=path)
    page.set_viewport_size({"width": width, "height": height})


def check_layout(page, server, log_start: int) -> None:
    expect(page.get_by_test_id("stException")).to_have_count(0)
    assert page.evaluate(OVERFLOW, [WIDE_THINGS, SLACK_PX]) == []
    assert "Traceback" not in server.log()[log_start:]


def open_in_lecture_mode(page, url: str) -> None:
    joiner = "&" if "?" in url else "?"
    page.goto(f"{url}{joiner}lecture=true")
    wait_until_idle(page, timeout_ms=180_000)
    page.wait_for_timeout(1000)  # Plotly draws after the script run ends


def at_size(page, size: str) -> tuple[int, int]:
    """Resize the window to ``size`` and let the page lay itself out again (Plotly redraws
    its charts on the resize)."""
    width, height = SIZES[size]
    page.set_viewport_size({"width": width, "height": height})
    page.wait_for_timeout(1000)
    return width, height


@pytest.mark.parametrize("name", list(PAGES))
def test_page_fits_a_projector(live_server, chromium, screenshot_folder, name):
    """Each page opened once, then checked and shot at every size (the window resized, as a
    lecturer moving to the projector does): half the page runs of one load per size."""
    path, charts = PAGES[name]
    log_start = len(live_server.log())
    width, height = SIZES["720p"]
    context = chromium.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    try:
        open_in_lecture_mode(page, f"{live_server.url}{path}")
        if charts:
            expect(page.locator(".js-plotly-plot .main-svg").nth(charts - 1)).to_be_attached(
                timeout=60_000
            )
        for size in SIZES:
            width, height = at_size(page, size)
            check_layout(page, live_server, log_start)
            full_page_screenshot(page, screenshot_folder / f"{name}-{size}.png", width, height)
        # Last, so that a page whose lecture mode stays off still gets looked at.
        page.wait_for_function(LECTURE_ON, timeout=15_000)
    finally:
        context.close()


@pytest.mark.parametrize("size", list(SIZES))
def test_faithfulness_chart_fits_a_projector(live_server, chromium, screenshot_folder, size):
    width, height = SIZES[size]
    log_start = len(live_server.log())
    context = chromium.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    try:
        methods = urlencode([("methods", m) for m in FAITHFULNESS_METHODS])  # "+" is a space
        open_in_lecture_mode(page, f"{live_server.url}/grad_cam?{methods}")
        section = page.locator("[class*='st-key-cam-']").first
        button = section.get_by_role("button", name="Measure faithfulness")
        expect(button).to_be_visible(timeout=180_000)  # after four maps on a busy CPU
        button.click()
        wait_until_idle(page, timeout_ms=180_000)
        chart = section.get_by_test_id("stPlotlyChart").filter(has_text="Deletion").first
        chart.locator(".main-svg").first.wait_for(timeout=60_000)
        chart.scroll_into_view_if_needed()
        page.wait_for_timeout(800)
        check_layout(page, live_server, log_start)
        chart.screenshot(path=screenshot_folder / f"faithfulness-{size}.png")
        full_page_screenshot(page, screenshot_folder / f"grad_cam-faithfulness-{size}.png",
                             width, height)  # fmt: skip
    finally:
        context.close()
