"""Three students at once on one server, in CI: no failure, no cross-talk, no traceback."""

import asyncio

import pytest

from tests.browser_support import find_chromium
from tests.load_driver import count_tracebacks, run_load

pytestmark = pytest.mark.browser


def test_three_concurrent_users(live_server, tmp_path):
    results = asyncio.run(run_load(live_server.url, 3, find_chromium(), tmp_path))
    failures = [f"user {r.user}: {r.error}" for r in results if not r.ok]
    assert not failures, failures
    assert count_tracebacks(live_server.log()) == 0
