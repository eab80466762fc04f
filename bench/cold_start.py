"""Cold start: from a fresh server's health check to the architecture page showing ResNet-50's
25,557,032 parameters, against a bare Streamlit page showing the same number, same machine,
same run.

Run: ``python -m bench.cold_start [--rounds 3]`` (or ``resnet-viz-bench-cold-start``).

Each round starts a new ``streamlit run`` server for each contender (alternating which goes
first), waits for ``/_stcore/health``, opens a fresh headless Chromium page at the URL and stops
the clock when the number is visible. Also recorded: whether the legacy page list (Streamlit's
``pages/`` discovery, before ``st.navigation`` runs) was on screen, and for how long. Prints the
median of each contender and the ratio of the medians.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bench.drivers.browser import CHROMIUM_ARGS, REPO, find_chromium, streamlit_server

TARGET = "25,557,032"
BARE_PAGE = f"""
import streamlit as st

st.set_page_config(page_title="bare", layout="wide")
st.title("Architecture explorer")
st.metric("Parameters", "{TARGET}")
"""
LEGACY_NAV = "[data-testid='stSidebarNav'] >> text=lesion"


def time_first_page(browser, url: str, *, legacy_check: bool) -> tuple[float, float]:
    """Seconds from the request to the number on screen, and seconds the legacy list showed."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    start = time.perf_counter()
    page.goto(url, wait_until="commit")
    legacy_seen = 0.0
    metric = page.get_by_test_id("stMetricValue").filter(has_text=TARGET)
    while True:
        if metric.count() and metric.first.is_visible():
            break
        if legacy_check and page.locator(LEGACY_NAV).count():
            legacy_seen = time.perf_counter() - start
        if time.perf_counter() - start > 180:
            raise TimeoutError(f"{url} did not show {TARGET} within 180 s")
        page.wait_for_timeout(25)
    elapsed = time.perf_counter() - start
    context.close()
    return elapsed, legacy_seen


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    chromium = find_chromium()
    if chromium is None:
        print("needs a system Chromium (apt-get install chromium)")
        return 1
    from playwright.sync_api import sync_playwright

    times: dict[str, list[float]] = {"app": [], "bare": []}
    legacy: list[float] = []
    with tempfile.TemporaryDirectory() as folder, sync_playwright() as p:
        bare = Path(folder) / "bare.py"
        bare.write_text(BARE_PAGE)
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        for round_ in range(args.rounds):
            order = ["app", "bare"] if round_ % 2 == 0 else ["bare", "app"]
            for who in order:
                script = REPO / "app.py" if who == "app" else bare
                path = "/architecture" if who == "app" else "/"
                log = Path(folder) / f"{who}-{round_}.log"
                with streamlit_server(log, script=script) as server:
                    seconds, seen = time_first_page(
                        browser, server.url + path, legacy_check=who == "app"
                    )
                times[who].append(seconds)
                if who == "app":
                    legacy.append(seen)
                print(f"round {round_ + 1} {who}: {seconds:.2f} s")
        browser.close()
    app, floor = statistics.median(times["app"]), statistics.median(times["bare"])
    print(f"architecture page: median {app:.2f} s; bare page: median {floor:.2f} s")
    print(f"ratio {app / floor:.2f}x (goal: at most 1.5x)")
    print(f"legacy page list last seen after: {max(legacy):.2f} s (0 = never)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
