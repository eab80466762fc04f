"""Shared fixtures: a live Streamlit server and a headless Chromium page for browser tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bench.drivers.browser import CHROMIUM_ARGS, REPO, find_chromium, streamlit_server

ARTIFACTS = REPO / "artifacts"


@pytest.fixture(autouse=True)
def app_test_runs_like_a_warm_server(monkeypatch):
    """AppTest forgets before every run that this app uses st.navigation, so each run would
    start in Streamlit's legacy pages/ mode and take the app-shell guard's rerun (see
    resnet_viz.ui.app_shell.require_app_shell), which drops button clicks. A real server decides
    that once per process; emulate a server past its first request. The first-request path
    itself is covered in a real browser (tests/test_browser.py)."""
    from streamlit.runtime.pages_manager import PagesManager

    original = PagesManager.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    monkeypatch.setattr(PagesManager, "__init__", init)


@pytest.fixture(autouse=True)
def no_background_preload_in_the_test_process(monkeypatch):
    """app.py starts a thread that imports the torch pages once the server is idle, then
    freezes every live object out of the garbage collector's view (resnet_viz/ui/preload.py).
    In this process that would make whatever a test holds at that moment immortal (a test that
    checks a model is collected would fail by chance), so AppTest runs skip it; the servers of
    the browser tests run it, and tests/test_preload.py checks it in fresh interpreters."""
    import resnet_viz.ui.preload

    monkeypatch.setattr(resnet_viz.ui.preload, "preload_in_background", lambda *a, **k: None)


def _require_chromium() -> str:
    chromium = find_chromium()
    if chromium:
        return chromium
    if os.environ.get("CI") == "true":
        pytest.fail("CI must run the browser tests, but no Chromium is installed (.ci/run).")
    pytest.skip("no system Chromium: install it (apt-get install chromium) to run browser tests")


@pytest.fixture(scope="session")
def live_server():
    _require_chromium()
    with streamlit_server(ARTIFACTS / "logs" / "streamlit-test-server.log") as server:
        yield server


@pytest.fixture(scope="session")
def chromium():
    executable = _require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium):
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    folder = ARTIFACTS / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def one_intra_op_thread():
    """One intra-op thread while a test runs. On a busy shared 2-core machine, OpenMP's
    two-thread barriers cost about 20 ms per operator (a 3->4 channel conv: 23 ms with two
    threads, 0.2 ms with one), which made tiny models slower than ResNet-50. Results do not
    depend on it: every comparison is between runs under the same setting."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
