"""The app in a real browser: a `streamlit run` server driven by headless Chromium.

Screenshots of every page land in the ``screenshots`` folder (tests/conftest.py: the run's
summary names it) for a human to look at. After every test, tests/conftest.py checks that no
page shows an exception box and the server logged no traceback.
"""

import dataclasses
import re

import pytest
from playwright.sync_api import expect

from bench.drivers.browser import (
    error_lines,
    page_errors,
    streamlit_server,
    wait_until_idle,
)
from resnet_viz import preset, summarize
from resnet_viz.present.tables import layer_table
from resnet_viz.ui.site import ARCHITECTURE

pytestmark = pytest.mark.browser


def metric_value(page, text: str):
    return page.get_by_test_id("stMetricValue").filter(has_text=text)


def full_screenshot(page, path) -> None:
    """Streamlit scrolls inside its own container: grow the viewport to the content first."""
    height = page.evaluate(
        "() => document.querySelector('[data-testid=stMain]')?.scrollHeight || 1000"
    )
    page.set_viewport_size({"width": 1400, "height": max(1000, min(int(height) + 40, 12000))})
    page.wait_for_timeout(300)
    page.screenshot(path=path)


def test_home_page(live_server, page, screenshots):
    page.goto(live_server.url)
    wait_until_idle(page)
    expect(page.get_by_role("heading", name="Residual networks, explained")).to_be_visible()
    expect(page.get_by_text("Compute device")).to_be_visible()
    full_screenshot(page, screenshots / "home.png")


def test_a_home_page_link_opens_its_page(live_server, page):
    """The home page's links are the page table's (resnet_viz/ui/site.py): a click on the
    architecture explorer's opens that page at its URL path."""
    page.goto(live_server.url)
    wait_until_idle(page)
    name = re.compile(f"^{re.escape(ARCHITECTURE.home_name)}: ")
    page.get_by_test_id("stMain").get_by_role("link", name=name).click()
    expect(metric_value(page, "25,557,032")).to_be_visible(timeout=30_000)
    assert page.url.endswith(f"/{ARCHITECTURE.url_path}")


def test_architecture_depth_change_updates_parameters(live_server, page, screenshots):
    page.goto(f"{live_server.url}/architecture")
    wait_until_idle(page)
    expect(metric_value(page, "25,557,032")).to_be_visible(timeout=30_000)
    full_screenshot(page, screenshots / "architecture.png")

    page.get_by_role("radio", name="Depth", exact=True).click()
    depth = page.locator("input[aria-label='Depth (weighted layers)']")
    expect(depth).to_be_visible()
    depth.fill("101")
    depth.press("Enter")
    expect(metric_value(page, "44,549,160")).to_be_visible(timeout=30_000)
    assert re.search(r"depth=101", page.url)


def test_a_preset_change_resends_only_what_it_changes(live_server, page):
    """The architecture page's controls and all they change are one fragment
    (pages/architecture.py): a change sends the browser the new network, not the app's sidebar
    and the page's title again (bench/README.md, "Architecture page latency"). Every run's
    session message names the pages, so the menu's own labels cannot tell."""
    frames: list[bytes] = []  # Streamlit's messages: binary protobuf frames
    page.on(
        "websocket",
        lambda websocket: websocket.on("framereceived", lambda frame: frames.append(frame)),
    )
    page.goto(f"{live_server.url}/architecture")
    wait_until_idle(page)
    expect(metric_value(page, "25,557,032")).to_be_visible(timeout=30_000)
    first_page = b"".join(frames)
    assert b"Lecture mode" in first_page
    assert b"Architecture explorer" in first_page

    frames.clear()
    page.get_by_test_id("stSidebar").get_by_test_id("stSelectbox").first.click()
    page.get_by_role("option", name="ResNet-18", exact=True).click()
    expect(metric_value(page, "11,689,512")).to_be_visible(timeout=30_000)
    wait_until_idle(page)
    change = b"".join(frames)
    assert b"11,689,512" in change
    assert b"Lecture mode" not in change  # the sidebar's toggle below the menu, from app.py
    assert b"Architecture explorer" not in change  # the title


def test_shared_link_reopens_resnet152_at_512(live_server, page, screenshots):
    """Each tab shows its own content for the network of the link, with the library's numbers
    for it (resnet_viz.summarize at 3x512x512, the layer table's row count, the plain twin)."""
    summary = summarize(preset("resnet152"), (3, 512, 512))
    twin = summarize(dataclasses.replace(summary.spec, skip=False), (3, 512, 512))
    page.goto(f"{live_server.url}/architecture?preset=ResNet-152&h=512&w=512")
    wait_until_idle(page)
    expect(metric_value(page, f"{summary.total_params:,}")).to_be_visible(timeout=30_000)
    expect(page.get_by_text("ResNet-152 at 3×512×512").first).to_be_visible()
    stage_4 = next(s for s in summary.stages if s.name == "layer4").output_shape[1:]
    stages_tab = page.locator(".stage-table").get_by_text("×".join(map(str, stage_4)))
    expect(stages_tab.first).to_be_visible()  # the first tab, open on arrival
    content = {
        "Layers": page.get_by_text(f"{len(layer_table(summary, level=3)):,} rows."),
        "Diagram": page.locator("[data-testid='stGraphVizChart'] svg").first,
        "Compare": metric_value(page, f"{twin.total_params:,}"),
        "Code": page.get_by_test_id("stCode").filter(has_text='spec = preset("resnet152")'),
    }
    for tab, shown in content.items():
        page.get_by_role("tab", name=tab).click()
        wait_until_idle(page)
        expect(shown).to_be_visible(timeout=30_000)
        page.wait_for_timeout(1000)
        full_screenshot(page, screenshots / f"architecture-{tab.lower()}.png")


# Set before the app's first byte: notes whether Streamlit's legacy list of pages/ files (its
# sidebar navigation; the app's own menu is made of page links) ever reached the screen.
LEGACY_LIST_WATCH = """
window.__legacyListSeen = false;
new MutationObserver(() => {
  if (document.querySelector("[data-testid='stSidebarNav']")) window.__legacyListSeen = true;
}).observe(document, { subtree: true, childList: true });
"""


def test_deep_link_on_a_fresh_server_gets_the_full_app(page, start_server):
    """The first request a server sees is a shared link: it must still go through app.py
    (the menu, the device badge), not Streamlit's v1 pages/ discovery (see app.py), and the
    visitor never sees the legacy list of page files while the run is rerouted."""
    page.add_init_script(LEGACY_LIST_WATCH)
    fresh = start_server("streamlit-fresh-server")
    page.goto(f"{fresh.url}/architecture?preset=ResNet-101")
    wait_until_idle(page)
    expect(metric_value(page, "44,549,160")).to_be_visible(timeout=30_000)
    menu = page.get_by_test_id("stSidebar")
    expect(menu.get_by_role("link", name="Gradient flow")).to_be_visible()
    expect(page.get_by_text("Compute device")).to_be_visible()
    expect(page.get_by_text("Page not found")).to_have_count(0)
    assert page.evaluate("window.__legacyListSeen") is False
    menu.get_by_role("link", name="Lesion study").click()
    expect(page.get_by_text("Why: a ResNet is many paths")).to_be_visible(timeout=60_000)
    assert page.url.endswith("/lesion")


CRASHING_PAGE = """
import streamlit as st

st.write("before the crash")
raise RuntimeError("a deliberate crash")
"""


def test_the_checks_after_each_test_see_a_crash(chromium, tmp_path):
    """What tests/conftest.py checks after every browser test fails on a page whose script
    raises: the page's exception box and the server log's traceback are both seen. (This
    test's own server and page are gone before those checks run.)"""
    script = tmp_path / "crash.py"
    script.write_text(CRASHING_PAGE)
    context = chromium.new_context()
    try:
        with streamlit_server(tmp_path / "crash.log", script=script) as server:
            page = context.new_page()
            page.goto(server.url)
            expect(page.get_by_text("before the crash")).to_be_visible(timeout=30_000)
            problems = page_errors(page)
            logged = error_lines(server.log())
    finally:
        context.close()
    assert len(problems) == 1, problems
    assert "exception box" in problems[0], problems
    assert any("Traceback" in line for line in logged), logged
    assert any("Uncaught app" in line for line in logged), logged


def test_gradient_page(live_server, page, screenshots):
    page.goto(f"{live_server.url}/gradients?preset=ResNet-56+(CIFAR)&batch=8")
    wait_until_idle(page, timeout_ms=180_000)
    expect(page.get_by_text("the plain network's first layer gets")).to_be_visible(timeout=180_000)
    # The chart's title: plotly draws after the script ends, slowly on a busy machine.
    expect(page.get_by_text("Gradient norm per layer")).to_be_visible(timeout=60_000)
    full_screenshot(page, screenshots / "gradients.png")


def test_grad_cam_page_with_the_demo_model(live_server, page, screenshots):
    page.goto(f"{live_server.url}/grad_cam")
    wait_until_idle(page, timeout_ms=180_000)
    expect(page.get_by_text("Explaining “circle”")).to_be_visible(timeout=180_000)
    page.get_by_text("The same class at every stage").first.click()
    expect(page.get_by_text("Early stages have fine maps").first).to_be_visible()
    page.wait_for_timeout(1000)
    full_screenshot(page, screenshots / "grad_cam.png")


def test_teaching_lab_pages(live_server, page, screenshots):
    page.goto(f"{live_server.url}/degradation")
    wait_until_idle(page, timeout_ms=120_000)
    expect(page.get_by_text("that is degradation, not overfitting")).to_be_visible(timeout=60_000)
    full_screenshot(page, screenshots / "degradation.png")
    page.goto(f"{live_server.url}/lesion")
    wait_until_idle(page, timeout_ms=120_000)
    expect(page.get_by_text("Why: a ResNet is many paths")).to_be_visible(timeout=60_000)
    full_screenshot(page, screenshots / "lesion.png")


def test_teaching_lab_ii_pages(live_server, page, screenshots):
    checks = {
        "landscape": "the 56-layer surface is rougher",
        "landscape?ls_view=3-D+surface": "the 56-layer surface is rougher",
        "receptive_field": "With skip connections the field is smaller",
        "block_anatomy": "‖F(x)‖ / ‖x‖ =",
        "block_anatomy?an_block=layer1.1&lecture=true": "The shortcut is the identity",
    }
    for path, sentence in checks.items():
        page.goto(f"{live_server.url}/{path}")
        wait_until_idle(page, timeout_ms=180_000)
        expect(page.get_by_text(sentence).first).to_be_visible(timeout=60_000)
        expect(page.get_by_test_id("stException")).to_have_count(0)
        page.wait_for_timeout(1500)  # plotly draws after the script ends
        name = path.replace("?", "-").replace("&", "-").replace("=", "-").replace("+", "-")
        full_screenshot(page, screenshots / f"{name}.png")


def test_lecture_tour_step_in_lecture_mode(live_server, page, screenshots):
    page.goto(f"{live_server.url}/architecture?preset=ResNet-18&tab=Diagram&tour=2&lecture=true")
    wait_until_idle(page)
    expect(page.get_by_text("Tour, step 2 of 8: The residual block")).to_be_visible()
    expect(page.get_by_test_id("stSidebar")).to_have_attribute("data-collapsed", "true")
    expect(metric_value(page, "11,689,512")).to_be_visible(timeout=30_000)
    page.locator("[data-testid='stGraphVizChart'] svg").first.wait_for(timeout=30_000)
    full_screenshot(page, screenshots / "tour-step-2-lecture.png")
    page.get_by_role("link", name="Shapes and parameters →").click()
    expect(page.get_by_text("Tour, step 3 of 8: Shapes and parameters")).to_be_visible()
    expect(metric_value(page, "60,192,808")).to_be_visible(timeout=30_000)


def test_collapsed_resnet152_diagram_for_slides(live_server, page, screenshots):
    page.goto(f"{live_server.url}/architecture?preset=resnet152&tab=Diagram&collapse=true")
    wait_until_idle(page)
    expect(metric_value(page, "60,192,808")).to_be_visible(timeout=30_000)
    page.locator("[data-testid='stGraphVizChart'] svg").first.wait_for(timeout=30_000)
    expect(page.get_by_text("× 35").first).to_be_visible()
    expect(page.get_by_role("button", name="Download SVG").first).to_be_enabled()
    full_screenshot(page, screenshots / "architecture-diagram-collapsed-resnet152.png")


def test_timm_model_opened_from_a_checkpoint(live_server, page, screenshots, tmp_path):
    import timm
    import torch

    path = tmp_path / "seresnet50.pth"
    torch.save({"state_dict": timm.create_model("seresnet50").state_dict()}, path)
    page.goto(f"{live_server.url}/architecture?mode=checkpoint&tab=Diagram")
    wait_until_idle(page)
    page.locator(
        "[data-testid=stSidebar] [data-testid=stFileUploaderDropzoneInput]"
    ).set_input_files(str(path))
    expect(metric_value(page, "28,088,024")).to_be_visible(timeout=60_000)
    expect(page.get_by_text("Open: seresnet50.pth").first).to_be_visible()
    page.locator("[data-testid='stGraphVizChart'] svg").first.wait_for(timeout=30_000)
    wait_until_idle(page)
    full_screenshot(page, screenshots / "architecture-checkpoint-timm.png")


def element_screenshot(page, locator, path) -> None:
    """A screenshot of one element, scrolled into view (Streamlit scrolls its own container)."""
    locator.scroll_into_view_if_needed()
    page.wait_for_timeout(800)
    locator.screenshot(path=path)


def test_attention_workbench(live_server, page, screenshots):
    """Three methods side by side, then faithfulness and the sanity check on the first image."""
    page.set_viewport_size({"width": 1400, "height": 1100})
    methods = "&".join(f"methods={m}" for m in ("Grad-CAM", "LayerCAM", "Score-CAM", "Eigen-CAM"))
    page.goto(f"{live_server.url}/grad_cam?{methods}")
    wait_until_idle(page, timeout_ms=180_000)
    section = page.locator("[class*='st-key-cam-']").first
    expect(section.get_by_text("LayerCAM: ", exact=False).first).to_be_visible(timeout=180_000)
    grid = section.get_by_test_id("stHorizontalBlock").filter(has_text="Score-CAM: ").first
    element_screenshot(page, grid, screenshots / "attention-methods.png")

    section.get_by_role("button", name="Measure faithfulness").click()
    wait_until_idle(page, timeout_ms=180_000)
    verdict = re.compile("Most faithful on this image|No one map wins on this image")
    expect(section.get_by_text(verdict)).to_be_visible(timeout=180_000)
    chart = section.get_by_test_id("stPlotlyChart").nth(1)
    chart.locator(".main-svg").first.wait_for(timeout=30_000)
    element_screenshot(page, chart, screenshots / "attention-faithfulness.png")

    section.get_by_role("button", name="Run the sanity check").click()
    wait_until_idle(page, timeout_ms=180_000)
    expect(section.get_by_text("is not explaining the model")).to_be_visible(timeout=180_000)
    chart = section.get_by_test_id("stPlotlyChart").nth(2)
    chart.locator(".main-svg").first.wait_for(timeout=30_000)
    element_screenshot(page, chart, screenshots / "attention-sanity.png")

    section.get_by_text("What does one cell of the map see?").click()
    expect(section.get_by_text("Receptive field of cell (").first).to_be_visible()
    page.wait_for_timeout(1000)
    full_screenshot(page, screenshots / "attention-page.png")
