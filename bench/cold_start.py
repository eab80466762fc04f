"""Cold start: from a fresh server's health check to the architecture page showing ResNet-50's
25,557,032 parameters, against bare Streamlit pages showing the same number, same machine,
same run.

Run from the checkout: ``python -m bench.cold_start [--rounds 3]``.

Each round starts a new ``streamlit run`` server for each contender (reversing the order every
other round), waits for ``/_stcore/health``, opens a fresh headless Chromium page at the URL and
stops the clock when the number is visible. Also recorded: whether the legacy page list (Streamlit's
``pages/`` discovery, before ``st.navigation`` runs) was on screen, and for how long. Prints the
median of each contender and the ratio of the medians. The floors:

- the same-work floor: bench/app_latency.py's SAME_ELEMENTS_APP, a bare page that draws the
  elements of the architecture page's Stages tab (sidebar included) with their content, and no
  resnet_viz code: what those elements cost a first visit, apart from the app. The goal: the app's
  first page at most 1.5x this floor, so that a first visit costs little more than Streamlit's
  own drawing of what the page shows.
- the one-metric page at ``/`` (BARE_PAGE), and the same page as one page of a two-page
  st.navigation app opened at /architecture, which shows what any multipage Streamlit app pays
  for a deep link (see BARE_DEEP_LINK). Printed for reference.

``--without-server-extras`` also times the app and the bare page with uvloop and httptools
hidden from the server (what ``streamlit[performance]`` in requirements.txt adds; Streamlit and
uvicorn fall back to asyncio's loop and the pure-Python h11 parser): what those extras are worth.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bench.app_latency import SAME_ELEMENTS_APP, same_elements_content, verdict
from bench.drivers.browser import CHROMIUM_ARGS, REPO, find_chromium, streamlit_server

TARGET = "25,557,032"
BARE_PAGE = f"""
import streamlit as st

st.set_page_config(page_title="bare", layout="wide")
st.title("Architecture explorer")
st.metric("Parameters", "{TARGET}")
"""
# The same bare page as one page of a st.navigation app, opened at its own URL, as the
# architecture page is: Streamlit's frontend first looks for the server under a deep link's
# path (/architecture/_stcore/health, a 404) and retries at the root 100 ms later, so every
# multipage app pays that on a shared link. Printed beside the plain floor, not instead of it.
BARE_DEEP_LINK = f"""
import streamlit as st

def architecture():
    st.title("Architecture explorer")
    st.metric("Parameters", "{TARGET}")

st.set_page_config(page_title="bare", layout="wide")
st.navigation([
    st.Page(lambda: st.title("Home"), title="Home", url_path="home", default=True),
    st.Page(architecture, title="Architecture", url_path="architecture"),
]).run()
"""
LEGACY_NAV = "[data-testid='stSidebarNav'] >> text=lesion"
#: Who is timed: the script to serve and the URL path to open.
CONTENDERS = {
    "app": ("app.py", "/architecture"),
    "bare, same elements": ("same_elements.py", "/"),
    "bare": ("bare.py", "/"),
    "bare deep link": ("bare_deep_link.py", "/architecture"),
}
#: With --without-server-extras: the same, served without uvloop and httptools.
WITHOUT_EXTRAS = {
    "app, no server extras": CONTENDERS["app"],
    "bare, no server extras": CONTENDERS["bare"],
}
SERVER_EXTRAS = ("uvloop", "httptools")


def hide_server_extras(folder: Path) -> dict[str, str]:
    """Environment for a server that cannot import :data:`SERVER_EXTRAS`: a package of each
    name that raises ModuleNotFoundError, first on PYTHONPATH (both Streamlit and uvicorn
    catch that and use their defaults)."""
    for name in SERVER_EXTRAS:
        package = folder / name
        package.mkdir(parents=True, exist_ok=True)
        (package / "__init__.py").write_text(f"raise ModuleNotFoundError({name!r})\n")
    return {"PYTHONPATH": str(folder)}


def time_first_page(browser, url: str, *, legacy_check: bool) -> tuple[float, float]:
    """Seconds from the request to the number on screen, and how long (seconds, as polled
    every 25 ms) the legacy page list was on screen before that."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    start = time.perf_counter()
    page.goto(url, wait_until="commit")
    first_seen = last_seen = None
    metric = page.get_by_test_id("stMetricValue").filter(has_text=TARGET)
    while True:
        if metric.count() and metric.first.is_visible():
            break
        if legacy_check and page.locator(LEGACY_NAV).count():
            last_seen = time.perf_counter() - start
            first_seen = first_seen if first_seen is not None else last_seen
        if time.perf_counter() - start > 180:
            raise TimeoutError(f"{url} did not show {TARGET} within 180 s")
        page.wait_for_timeout(25)
    elapsed = time.perf_counter() - start
    context.close()
    return elapsed, 0.0 if first_seen is None else last_seen - first_seen + 0.025


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--without-server-extras",
        action="store_true",
        help="also time the app and the bare page without uvloop and httptools",
    )
    args = parser.parse_args(argv)
    contenders = {**CONTENDERS, **(WITHOUT_EXTRAS if args.without_server_extras else {})}
    chromium = find_chromium()
    if chromium is None:
        print("needs a system Chromium (apt-get install chromium)")
        return 1
    from playwright.sync_api import sync_playwright

    times: dict[str, list[float]] = {who: [] for who in contenders}
    legacy: list[float] = []
    with tempfile.TemporaryDirectory() as folder, sync_playwright() as p:
        (Path(folder) / "bare.py").write_text(BARE_PAGE)
        (Path(folder) / "bare_deep_link.py").write_text(BARE_DEEP_LINK)
        (Path(folder) / "same_elements.py").write_text(SAME_ELEMENTS_APP)
        content = json.dumps(same_elements_content())
        (Path(folder) / "same_elements.json").write_text(content)
        no_extras = hide_server_extras(Path(folder) / "no_extras")
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        for round_ in range(args.rounds):
            order = list(contenders) if round_ % 2 == 0 else list(contenders)[::-1]
            for who in order:
                name, path = contenders[who]
                script = REPO / name if name == "app.py" else Path(folder) / name
                env = no_extras if who in WITHOUT_EXTRAS else None
                log = Path(folder) / f"{who.replace(' ', '_').replace(',', '')}-{round_}.log"
                with streamlit_server(log, script=script, env=env) as server:
                    seconds, seen = time_first_page(
                        browser, server.url + path, legacy_check=name == "app.py"
                    )
                times[who].append(seconds)
                if name == "app.py":
                    legacy.append(seen)
                print(f"round {round_ + 1} {who}: {seconds:.2f} s")
        browser.close()
    app, same = statistics.median(times["app"]), statistics.median(times["bare, same elements"])
    floor, deep = statistics.median(times["bare"]), statistics.median(times["bare deep link"])
    print(f"architecture page: median {app:.2f} s")
    print(
        f"same-work floor (the page's elements, no app code) at /: median {same:.2f} s; "
        f"ratio {app / same:.2f}x (goal: at most 1.5x, {verdict(app <= 1.5 * same)})"
    )
    print(f"one-metric page at /: median {floor:.2f} s; ratio {app / floor:.2f}x")
    print(f"one-metric multipage app at /architecture: {deep:.2f} s; ratio {app / deep:.2f}x")
    if args.without_server_extras:
        slow_app = statistics.median(times["app, no server extras"])
        slow_floor = statistics.median(times["bare, no server extras"])
        print(
            f"without uvloop and httptools: architecture page {slow_app:.2f} s, bare page "
            f"{slow_floor:.2f} s; ratio {slow_app / slow_floor:.2f}x"
        )
    shown = max(legacy)
    print(
        "legacy page list: never on screen"
        if shown == 0
        else f"legacy page list: on screen for up to {shown:.2f} s (goal: never, or under 0.5 s)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
