"""Three students at once on one server, in CI: no failure, no cross-talk, no traceback."""

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest

from bench.drivers.browser import find_chromium
from bench.drivers.load import count_tracebacks, run_load

pytestmark = pytest.mark.browser


def run_in_own_thread(coroutine):
    """Run an asyncio coroutine to completion on a fresh thread.

    The session's shared sync Playwright browser keeps an event loop running on
    the main thread, and asyncio.run() refuses to start inside a running loop.
    """
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def test_three_concurrent_users(live_server, tmp_path):
    results = run_in_own_thread(run_load(live_server.url, 3, find_chromium(), tmp_path))
    failures = [f"user {r.user}: {r.error}" for r in results if not r.ok]
    assert not failures, failures
    assert count_tracebacks(live_server.log()) == 0
