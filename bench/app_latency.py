"""How long the architecture page takes to re-render after a control change, in a real browser.

Run from the checkout:  python -m bench.app_latency [--rounds 2] [--tab all]
It starts `streamlit run app.py` on a free port, opens the architecture page in headless
Chromium on each tab in turn (Stages, the default, first) and, for every preset (ResNet-1202
included), picks it in the preset selectbox and times, inside the page, from the click until
the script has finished, the page shows that network's parameter count and the browser has
painted it, once the server has preloaded the torch pages (a one-off import that would
otherwise land in the middle of the clicks). Prints each tab's median, p95 and max beside the
same figures for two bare Streamlit pages measured in the same run:

- the same-work floor: a bare Streamlit page that draws what the app's Stages tab draws (the
  same kinds and numbers of elements, in the sidebar and the page, with the same table, figure,
  metrics and captions for each preset, computed by this script beforehand and read from a
  file; no resnet_viz code runs in it), with its controls and content in a fragment as the app
  has them. What those elements cost in Streamlit, apart from the app's own work.
- the one-metric floor: one selectbox and one metric, Streamlit's bare round trip.

Goals: on the default tab, a median at most 2x the same-work floor's (the app's own work
small beside what Streamlit's drawing of the page costs); p95 under 0.4 s on every tab, so a
click feels immediate. The ratio to the one-metric floor is printed too.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import textwrap
import time
from collections.abc import Sequence
from pathlib import Path

from playwright.sync_api import sync_playwright

from bench.drivers.browser import (
    APP_IDLE,
    CHROMIUM_ARGS,
    REPO,
    find_chromium,
    streamlit_server,
    wait_until_idle,
)
from resnet_viz import summarize
from resnet_viz.core.presets import PRESETS
from resnet_viz.ui.common import DEVICE_NOT_CHOSEN_YET

#: The architecture page's tabs, the default first (pages/architecture.py).
TABS = ("Stages", "Layers", "Diagram", "Compare", "Code")

FLOOR_APP = textwrap.dedent(
    """
    import streamlit as st
    choice = st.selectbox("Preset", [f"option {i}" for i in range(13)], key="preset")
    st.metric("Parameters", choice.replace("option", "value"))
    """
)

# The Stages tab's elements without the app: SAME_ELEMENTS_APP reads, per preset label, what
# same_elements_content() computed (see the module docstring).
SAME_ELEMENTS_APP = textwrap.dedent(
    """
    import json
    from pathlib import Path

    import streamlit as st

    CONTENT = json.loads(Path(__file__).with_suffix(".json").read_text())
    LABELS = list(CONTENT["presets"])
    st.set_page_config(layout="wide")
    with st.sidebar:
        for i in range(CONTENT["pages"]):  # the app's menu: a link per page
            st.page_link(f"https://example.org/{i}", label=f"Page {i}")
        st.divider()
        st.caption("Compute device: chosen with the first computation")
        st.toggle("Lecture mode")
        st.header("Network")
    st.title("Architecture explorer")


    @st.fragment
    def explorer():
        with st.sidebar:
            modes = ["Preset", "Depth", "Custom", "Checkpoint"]
            st.segmented_control("Choose a network by", modes, default="Preset")
            label = st.selectbox(
                "Preset", LABELS, index=LABELS.index("ResNet-50"), key="preset"
            )
            st.toggle("Skip connections", value=True)
            with st.expander("Input and classes"):
                for name in ("Input channels", "Height", "Width", "Classes"):
                    st.number_input(name, value=None, placeholder="default")
        page = CONTENT["presets"][label]
        row = st.container(horizontal=True)
        for name, value, help in page["metrics"]:
            row.metric(name, value, help=help)
        st.caption(page["caption"])
        st.success(page["check"])
        stages = st.tabs(CONTENT["tabs"])[0]
        with stages:
            st.markdown(page["table"], unsafe_allow_html=True)
            buttons = st.container(horizontal=True)
            buttons.download_button("Download CSV", lambda: page["table"], on_click="ignore")
            buttons.download_button("Download SVG", lambda: page["figure"], on_click="ignore")
            st.markdown(page["figure"], unsafe_allow_html=True)
            st.caption("Hover a bar or a point for its exact value.")


    explorer()
    """
)


def same_elements_content() -> dict[str, object]:
    """How many pages the app's menu links to, the page's tabs, and per preset label what the
    app's headline and Stages tab show for it."""
    from resnet_viz.present.formats import format_bytes, format_count, format_si
    from resnet_viz.present.reference import check_reference
    from resnet_viz.present.stage_figure import stage_figure_svg
    from resnet_viz.present.stage_table import stage_table_html

    presets = {}
    for preset in PRESETS.values():
        summary = summarize(preset.spec, preset.input_size)
        check = check_reference(summary)
        presets[preset.label] = {
            "metrics": [
                ("Depth", f"{summary.depth} layers", "Weighted layers on the main path."),
                ("Parameters", format_count(summary.total_params), "Trainable weights."),
                ("MACs", format_si(summary.total_macs), "Multiply-accumulates."),
                ("Activation memory", format_bytes(summary.total_activation_bytes), "float32."),
            ],
            "caption": f"{preset.label} at {summary.input_size}: FLOPs = 2 x MACs.",
            "check": check.message if check else "No reference for this network.",
            "table": stage_table_html(summary),
            "figure": f'<div style="overflow-x:auto">{stage_figure_svg(summary)}</div>',
        }
    return {
        "pages": len(list((REPO / "pages").glob("*.py"))),
        "tabs": list(TABS),
        "presets": presets,
    }


# Installed in the page before each change: a MutationObserver notes the moment the page is
# done (the script has finished and the metric shows the expected text), measured from the
# click on the option, and then waits for the next paint. Timing inside the browser avoids
# Playwright's polling back-off (20, 100, 100, 500 ms), which would round latencies up.
OBSERVER_JS = """
(expected) => {
  window.__latency = null;
  let start = null;
  document.addEventListener("click", () => { start = performance.now(); },
                            { capture: true, once: true });
  const done = () => {
    const app = document.querySelector("[data-testid='stApp']");
    if (start === null || !app) return false;
    if (app.getAttribute("data-test-script-state") !== "notRunning") return false;
    return [...document.querySelectorAll("[data-testid='stMetricValue']")]
      .some((metric) => metric.textContent.includes(expected));
  };
  const observer = new MutationObserver(() => {
    if (!done()) return;
    observer.disconnect();
    // rAF runs just before the next paint; a task queued from it runs just after.
    requestAnimationFrame(() => setTimeout(() => {
      window.__latency = (performance.now() - start) / 1000;
    }, 0));
  });
  observer.observe(document.body, { subtree: true, childList: true, attributes: true,
                                    characterData: true });
}
"""


def time_change(page, label: str, expected: str, where: str = "stApp") -> float:
    """Seconds from the click on ``label`` in the open preset list to the updated page painted.
    The list is the first selectbox in ``where`` (a test id: the app's is in its sidebar; the
    Layers tab has selectboxes of its own)."""
    page.get_by_test_id(where).get_by_test_id("stSelectbox").first.click()
    page.evaluate(OBSERVER_JS, expected)
    page.get_by_role("option", name=label, exact=True).click()
    page.wait_for_function("window.__latency !== null", timeout=60_000)
    latency = page.evaluate("window.__latency")
    page.wait_for_selector(APP_IDLE, timeout=60_000)
    return latency


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def wait_for_preload(browser, url: str, timeout_s: float = 120) -> None:
    """Wait until app.py's background preload of the torch pages (resnet_viz/ui/preload.py)
    has run, so that it does not land in the middle of the timed clicks: the sidebar's device
    badge names the device once torch is imported."""
    page = browser.new_page()
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        page.goto(f"{url}/architecture")
        wait_until_idle(page)
        if (
            page.get_by_text("Compute device:").count()
            and not page.get_by_text(DEVICE_NOT_CHOSEN_YET).count()
        ):
            break
        page.wait_for_timeout(2000)  # idle, so the preload can start
    page.close()


def measure_tab(server, browser, rounds: int, tab: str) -> dict[str, list[float]]:
    """Every preset change on one tab, in a fresh browser page."""
    times: dict[str, list[float]] = {name: [] for name in PRESETS}
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{server.url}/architecture?tab={tab}")
    wait_until_idle(page)
    previous = "resnet50"
    for _ in range(rounds):
        for name, preset in PRESETS.items():
            if name == previous:  # selecting the shown preset changes nothing
                continue
            params = f"{summarize(preset.spec, preset.input_size).total_params:,}"
            times[name].append(time_change(page, preset.label, params, where="stSidebar"))
            previous = name
    page.close()
    return times


def measure_floor(browser, rounds: int) -> list[float]:
    with tempfile.TemporaryDirectory() as folder:
        app = Path(folder) / "floor.py"
        app.write_text(FLOOR_APP)
        times = []
        with streamlit_server(Path(folder) / "floor.log", script=app) as server:
            page = browser.new_page()
            page.goto(server.url)
            wait_until_idle(page)
            for _ in range(rounds):
                for i in range(1, 13):
                    times.append(time_change(page, f"option {i}", f"value {i}"))
                times.append(time_change(page, "option 0", "value 0"))
    return times


def measure_same_elements(browser, rounds: int) -> list[float]:
    """Every preset change on SAME_ELEMENTS_APP (Stages tab), timed as for the app."""
    with tempfile.TemporaryDirectory() as folder:
        app = Path(folder) / "same_elements.py"
        app.write_text(SAME_ELEMENTS_APP)
        app.with_suffix(".json").write_text(json.dumps(same_elements_content()))
        times = []
        with streamlit_server(Path(folder) / "same_elements.log", script=app) as server:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(server.url)
            wait_until_idle(page)
            previous = "resnet50"
            for _ in range(rounds):
                for name, preset in PRESETS.items():
                    if name == previous:
                        continue
                    params = f"{summarize(preset.spec, preset.input_size).total_params:,}"
                    times.append(time_change(page, preset.label, params, where="stSidebar"))
                    previous = name
    return times


def verdict(met: bool) -> str:
    """How the benches print a goal's outcome."""
    return "met" if met else "NOT met"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2, help="passes over all presets")
    parser.add_argument(
        "--tab", default="all", choices=("all", *TABS), help="one tab, or all in turn"
    )
    parser.add_argument("--per-preset", action="store_true", help="print every preset's times")
    args = parser.parse_args(argv)
    chromium = find_chromium()
    if chromium is None:
        sys.exit("needs a system Chromium (apt-get install chromium)")
    tabs = TABS if args.tab == "all" else (args.tab,)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        floor = measure_floor(browser, args.rounds)
        same = measure_same_elements(browser, args.rounds)
        log = REPO / "artifacts" / "logs" / "bench-app-latency.log"
        with streamlit_server(log) as server:
            wait_for_preload(browser, server.url)
            results = {tab: measure_tab(server, browser, args.rounds, tab) for tab in tabs}
        browser.close()
    floor_median, same_median = statistics.median(floor), statistics.median(same)
    print(
        f"one-metric floor: {len(floor)} changes, median {floor_median:.3f} s, "
        f"p95 {p95(floor):.3f} s"
    )
    print(
        f"same-work floor (the Stages tab's elements, no app code): {len(same)} changes, "
        f"median {same_median:.3f} s, p95 {p95(same):.3f} s"
    )
    print(
        f"{'architecture tab':<18}{'changes':>8}{'median':>9}{'p95':>9}{'max':>9}"
        f"{'/ same work':>13}{'/ one metric':>14}"
    )
    medians, p95s = {}, {}
    for tab, times in results.items():
        everything = [t for values in times.values() for t in values]
        medians[tab], p95s[tab] = statistics.median(everything), p95(everything)
        print(
            f"{tab:<18}{len(everything):>8}{medians[tab]:>8.3f}s{p95s[tab]:>8.3f}s"
            f"{max(everything):>8.3f}s{medians[tab] / same_median:>12.2f}x"
            f"{medians[tab] / floor_median:>13.1f}x"
        )
        if args.per_preset:
            for name, values in times.items():
                if values:
                    print(f"  {PRESETS[name].label:<22}{statistics.median(values):>8.3f}s")
    if "Stages" in medians:
        ratio = medians["Stages"] / same_median
        print(f"goal: default tab's median at most 2x the same-work floor's: {ratio:.2f}x, "
              f"{verdict(ratio <= 2)}")  # fmt: skip
    worst = max(p95s.values())
    print(f"goal: p95 under 0.4 s on every tab measured: worst {worst:.3f} s, "
          f"{verdict(worst < 0.4)}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
