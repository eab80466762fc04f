"""The first Grad-CAM and the first gradient study on a fresh server: what a lecturer's first
click on those pages costs, PyTorch's import included, and the same page once the server is warm.

Run from the checkout: ``python -m bench.first_heavy_page [--rounds 2]``.

For each page, each round starts a new ``streamlit run app.py``, waits for its health check,
opens the page in a fresh headless Chromium and records, from the request: when the page's
title is on screen, whether the "Loading PyTorch" spinner showed, and when the result is on
screen (the Grad-CAM of the bundled demo image; the gradient study's reading). Then it opens
the same page in a second browser tab on the same (now warm) server and times that too.
A third server is first visited at /architecture, as a lecture starts, and the page opened
``--after`` seconds later: by then app.py's background preload (resnet_viz/ui/preload.py)
has imported the torch pages' code.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bench.cold_start import TARGET as ARCHITECTURE_DONE  # the architecture page is on screen
from bench.drivers.browser import CHROMIUM_ARGS, find_chromium, streamlit_server
from resnet_viz.ui.app_shell import LOADING_TORCH

#: URL path, and a text that is on screen once the page's result is drawn.
PAGES = {
    "Grad-CAM (demo model)": ("/grad_cam", "Explaining “circle”"),
    "Gradient study (ResNet-56 vs plain-56)": ("/gradients", "the plain network's first layer"),
}
TIMEOUT_S = 300


def time_page(browser, url: str, done_text: str) -> dict[str, float | bool]:
    """Seconds from the request to the title and to the result; whether the spinner showed."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    start = time.perf_counter()
    page.goto(url, wait_until="commit")
    marks: dict[str, float | bool] = {"spinner": False}
    title = page.locator("h1")
    spinner = page.get_by_text(LOADING_TORCH)
    result = page.get_by_text(done_text).first
    while True:
        now = time.perf_counter() - start
        if "title" not in marks and title.count():
            marks["title"] = now
        if not marks["spinner"] and spinner.count():
            marks["spinner"] = True
        if result.count() and result.is_visible():
            marks["result"] = now
            break
        if now > TIMEOUT_S:
            raise TimeoutError(f"{url} did not show {done_text!r} within {TIMEOUT_S} s")
        page.wait_for_timeout(25)
    context.close()
    return marks


def median(marks: list[dict[str, float | bool]], key: str) -> float:
    return statistics.median(float(m[key]) for m in marks)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--after", type=float, default=8.0, help="seconds between /architecture and the page"
    )
    args = parser.parse_args(argv)
    chromium = find_chromium()
    if chromium is None:
        print("needs a system Chromium (apt-get install chromium)")
        return 1
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as folder, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        for name, (path, done_text) in PAGES.items():
            cold, warm, later = [], [], []
            for round_ in range(args.rounds):
                log = Path(folder) / f"{path.strip('/')}-{round_}.log"
                with streamlit_server(log) as server:
                    cold.append(time_page(browser, server.url + path, done_text))
                    warm.append(time_page(browser, server.url + path, done_text))
                with streamlit_server(log) as server:
                    time_page(browser, server.url + "/architecture", ARCHITECTURE_DONE)
                    time.sleep(args.after)
                    later.append(time_page(browser, server.url + path, done_text))
                print(
                    f"{name}, round {round_ + 1}: cold title {cold[-1]['title']:.2f} s, "
                    f"result {cold[-1]['result']:.2f} s (spinner shown: {cold[-1]['spinner']}); "
                    f"warm result {warm[-1]['result']:.2f} s; {args.after:g} s after a first "
                    f"page: result {later[-1]['result']:.2f} s"
                )

            print(
                f"{name}: cold server: title after {median(cold, 'title'):.2f} s, result after "
                f"{median(cold, 'result'):.2f} s, spinner shown in "
                f"{sum(bool(m['spinner']) for m in cold)}/{len(cold)}; warm server: result "
                f"after {median(warm, 'result'):.2f} s; opened {args.after:g} s after the "
                f"server's first page: result after {median(later, 'result'):.2f} s"
            )
        browser.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
