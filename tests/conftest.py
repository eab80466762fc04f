"""Shared fixtures: a live Streamlit server and a headless Chromium page for browser tests,
the checks every browser test gets (no exception box, no traceback in the server's log), and
the folder where tests leave what a human may look at (screenshots, server logs), outside the
checkout."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis.configuration import set_hypothesis_home_dir

from bench.drivers.browser import (
    CHROMIUM_ARGS,
    find_chromium,
    page_errors,
    streamlit_server,
)
from bench.drivers.browser import error_lines as server_error_lines

#: Set it to keep the browser tests' screenshots and server logs in a folder of your choice;
#: by default they go to this run's pytest temporary folder (pytest keeps the last three runs).
ARTIFACTS_ENV = "RESNET_VIZ_TEST_ARTIFACTS"
_ARTIFACTS_KEY = pytest.StashKey[Path]()

# Hypothesis keeps what it learns (the examples that failed, to try them first next time; the
# constants it found in the code) in .hypothesis/ of the current folder by default: keep that
# outside the checkout too, and across runs.
set_hypothesis_home_dir(
    Path(os.environ.get(ARTIFACTS_ENV) or tempfile.gettempdir()) / "resnet-viz-hypothesis"
)


@pytest.fixture(autouse=True)
def app_test_runs_like_a_warm_server(monkeypatch):
    """AppTest forgets before every run that this app uses st.navigation, so each run would
    start in Streamlit's legacy pages/ mode and take the app-shell guard's rerun (see
    resnet_viz.ui.app_shell.require_app_shell), which drops button clicks. A real server decides
    that once per process; emulate a server past its first request. The first-request path
    itself is covered in a real browser (tests/browser/test_app.py)."""
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
    the browser tests run it, and tests/unit/ui/test_preload.py checks it in fresh interpreters."""
    import resnet_viz.ui.preload

    monkeypatch.setattr(resnet_viz.ui.preload, "preload_in_background", lambda *a, **k: None)


@pytest.fixture(autouse=True)
def the_test_process_stays_unpatched():
    """Fail the test after which gevent has monkey-patched this process (importing Locust does
    that: threading, socket and time become gevent's for every later test, and a later test that
    joins threads can deadlock beyond the reach of pytest-timeout). Load tools run in
    subprocesses (tests/operational/test_lecture_load.py); this names the test that broke it."""
    yield
    monkey = sys.modules.get("gevent.monkey")
    if monkey is not None and monkey.is_module_patched("threading"):
        pytest.fail(
            "gevent monkey-patched the test process (Locust imported in it?): run the load "
            "tool in a subprocess",
            pytrace=False,
        )


def _require_chromium() -> str:
    chromium = find_chromium()
    if chromium:
        return chromium
    if os.environ.get("CI") == "true":
        pytest.fail("CI must run the browser tests, but no Chromium is installed (.ci/run).")
    pytest.skip("no system Chromium: install it (apt-get install chromium) to run browser tests")


@pytest.fixture(scope="session")
def artifacts(request, tmp_path_factory) -> Path:
    """Where tests leave screenshots and server logs: ``$RESNET_VIZ_TEST_ARTIFACTS``, else
    pytest's temporary folder for this run; never the checkout. The run's summary names it."""
    chosen = os.environ.get(ARTIFACTS_ENV)
    folder = Path(chosen) if chosen else tmp_path_factory.getbasetemp() / "artifacts"
    folder.mkdir(parents=True, exist_ok=True)
    request.config.stash[_ARTIFACTS_KEY] = folder
    return folder


def pytest_terminal_summary(terminalreporter, config):
    folder = config.stash.get(_ARTIFACTS_KEY, None)
    if folder is not None:
        terminalreporter.write_line(f"screenshots and server logs: {folder}")


@pytest.fixture(scope="session")
def live_server(artifacts):
    _require_chromium()
    with streamlit_server(artifacts / "logs" / "streamlit-test-server.log") as server:
        yield server


@pytest.fixture
def start_server(artifacts):
    """Start a server of the test's own (a fresh process): ``start_server(name, *args,
    **kwargs)`` takes :func:`bench.drivers.browser.streamlit_server`'s arguments after the log
    path. It runs until the test's checks are done, which read its whole log."""
    with contextlib.ExitStack() as stack:
        started = []

        def start(name: str, *args, **kwargs):
            log = artifacts / "logs" / f"{name}.log"
            server = stack.enter_context(streamlit_server(log, *args, **kwargs))
            started.append(server)
            return server

        start.started = started
        yield start


#: How long the checks after a browser test wait for a page's last script run to end.
_IDLE_AFTER_TEST_MS = 60_000


@pytest.fixture(autouse=True)
def browser_test_shows_no_exception(request):
    """Every test that uses a browser page or a server gets these checks after it ran: each
    page still open (the test's ``page`` and any other in the shared browser), once its last
    run ended, shows no exception box and no traceback; and the server's log (``live_server``
    from where it stood when the test began, a ``start_server`` server's whole log) reports no
    exception. A page's exception box is always in the log too (Streamlit logs a script's
    uncaught exception before drawing it), so the log also covers pages the test left."""
    names = set(request.fixturenames)
    if not names & {"page", "chromium", "live_server", "start_server"}:
        yield
        return
    # Requested here so that they are torn down after these checks.
    for name in ("page", "chromium", "start_server"):
        if name in names:
            request.getfixturevalue(name)
    live = request.getfixturevalue("live_server") if "live_server" in names else None
    start = live.log_size() if live else 0
    yield
    problems = []
    if "chromium" in names:
        for context in request.getfixturevalue("chromium").contexts:
            for page in context.pages:
                problems += page_errors(page, timeout_ms=_IDLE_AFTER_TEST_MS)
    logs = [(live, start)] if live else []
    if "start_server" in names:
        logs += [(server, 0) for server in request.getfixturevalue("start_server").started]
    for server, offset in logs:
        problems += [f"server log: {line}" for line in server_error_lines(server.log_since(offset))]
    assert not problems, "after the test:\n" + "\n".join(problems)


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
def screenshots(artifacts) -> Path:
    """Screenshots for a human to look at (see :func:`artifacts`)."""
    folder = artifacts / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def fresh_streamlit_caches():
    """Empty Streamlit's caches before and after a test, so it loads its models anew: the pages
    keep them per server process (st.cache_resource), and AppTest gives every test the same
    session id, so an uploaded checkpoint cached per session would carry over too."""
    import streamlit as st

    st.cache_resource.clear()
    st.cache_data.clear()
    yield
    st.cache_resource.clear()
    st.cache_data.clear()


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
