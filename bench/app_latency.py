"""How long the architecture page takes to re-render after a control change, in a real browser.

Run:  resnet-viz-bench-app-latency [--rounds 2] [--tab Stages]   (or python -m bench.app_latency)
It starts `streamlit run app.py` on a free port, opens the architecture page in headless
Chromium and, for every preset (ResNet-1202 included), picks it in the preset selectbox and
times, inside the page, from the click until the script has finished, the page shows that
network's parameter count and the browser has painted it. Prints per-preset times, the median
and p95 over all changes, and the same for a bare Streamlit page with one selectbox and one
metric (the floor: Streamlit's own round trip).
Goal: under 0.5 s for every preset, so that trying networks feels immediate.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import textwrap
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

FLOOR_APP = textwrap.dedent(
    """
    import streamlit as st
    choice = st.selectbox("Preset", [f"option {i}" for i in range(13)], key="preset")
    st.metric("Parameters", choice.replace("option", "value"))
    """
)


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


def time_change(page, label: str, expected: str) -> float:
    """Seconds from the click on ``label`` in the open preset list to the updated page painted."""
    page.get_by_test_id("stSelectbox").first.click()
    page.evaluate(OBSERVER_JS, expected)
    page.get_by_role("option", name=label, exact=True).click()
    page.wait_for_function("window.__latency !== null", timeout=60_000)
    latency = page.evaluate("window.__latency")
    page.wait_for_selector(APP_IDLE, timeout=60_000)
    return latency


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def measure_app(browser, rounds: int, tab: str) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {name: [] for name in PRESETS}
    with streamlit_server(REPO / "artifacts" / "logs" / "bench-app-latency.log") as server:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{server.url}/architecture?tab={tab}")
        wait_until_idle(page)
        previous = "resnet50"
        for _ in range(rounds):
            for name, preset in PRESETS.items():
                if name == previous:  # selecting the shown preset changes nothing
                    continue
                params = f"{summarize(preset.spec, preset.input_size).total_params:,}"
                times[name].append(time_change(page, preset.label, params))
                previous = name
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


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2, help="passes over all presets")
    parser.add_argument("--tab", default="Stages", help="the open tab (Stages is the default)")
    args = parser.parse_args(argv)
    chromium = find_chromium()
    if chromium is None:
        sys.exit("needs a system Chromium (apt-get install chromium)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        times = measure_app(browser, args.rounds, args.tab)
        floor = measure_floor(browser, args.rounds)
        browser.close()
    everything = [t for values in times.values() for t in values]
    print(f"{'preset':<20}{'median':>10}{'max':>10}")
    for name, values in times.items():
        if values:
            print(
                f"{PRESETS[name].label:<20}{statistics.median(values):>9.3f}s{max(values):>9.3f}s"
            )
    print(
        f"architecture page: {len(everything)} changes, median {statistics.median(everything):.3f}"
        f" s, p95 {p95(everything):.3f} s, max {max(everything):.3f} s"
    )
    print(
        f"bare Streamlit page (floor): {len(floor)} changes, median {statistics.median(floor):.3f}"
        f" s, p95 {p95(floor):.3f} s"
    )
    ratio = statistics.median(everything) / statistics.median(floor)
    print(f"ratio of medians (page / floor): {ratio:.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
