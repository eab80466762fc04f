"""The latency benchmarks' "same elements" floor (bench/app_latency.py, SAME_ELEMENTS_APP)
draws what the architecture page's Stages tab draws, so that comparing the two measures the
app's own work and nothing else. If the page gains or loses elements, this test says so."""

import json
from collections import Counter

from streamlit.testing.v1 import AppTest

from bench.app_latency import SAME_ELEMENTS_APP, TABS, same_elements_content
from resnet_viz.ui.site import PAGES
from tests.app_support import metric, open_page

#: Element kinds both pages must have as many of (in the sidebar and the page).
KINDS = ("metric", "download_button", "number_input", "toggle", "selectbox", "tab", "page_link")


def element_counts(at: AppTest) -> Counter:
    return Counter({kind: len(at.get(kind)) for kind in KINDS})


def open_floor(tmp_path) -> AppTest:
    script = tmp_path / "same_elements.py"
    script.write_text(SAME_ELEMENTS_APP)
    script.with_suffix(".json").write_text(json.dumps(same_elements_content()))
    return AppTest.from_file(str(script), default_timeout=60).run()


def test_the_floor_shows_each_presets_numbers(tmp_path):
    floor = open_floor(tmp_path)
    assert not floor.exception
    assert metric(floor, "Parameters") == "25,557,032"  # ResNet-50, as the app opens
    floor.selectbox[0].select("ResNet-18").run()
    assert metric(floor, "Parameters") == "11,689,512"


def test_the_floor_draws_the_same_elements_as_the_stages_tab(tmp_path):
    app = open_page("pages/architecture.py")
    counts = element_counts(open_floor(tmp_path))
    assert counts == element_counts(app)
    assert counts["metric"] == 4
    assert counts["page_link"] == len(PAGES)  # one per page of app.py's menu


def test_the_floor_and_the_benchmark_name_the_pages_tabs(tmp_path):
    app = open_page("pages/architecture.py")
    assert tuple(tab.label for tab in app.tabs) == TABS  # bench/app_latency.py times each
    assert [tab.label for tab in open_floor(tmp_path).tabs] == list(TABS)
