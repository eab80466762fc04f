"""A real `streamlit run app.py` server and a headless system Chromium, for browser tests and
the benchmarks that measure the app as a user sees it (bench/app_latency.py, bench/load_test.py).

Playwright drives the Debian ``chromium`` package (its own browser download does not work on
the project's machines). :data:`CHROMIUM_ARGS` keeps that Chromium off the network (no background
networking, component updates, sync or first-run pages), so a test only talks to the local
server, and lets it run headless in a container (no sandbox, no GPU).

The server runs the repository's ``app.py``, so these helpers run from a checkout: ``bench`` is
not installed with the app (the tests find it through pytest's ``pythonpath``, the benchmarks
run as ``python -m bench.<module>`` from the repository root).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


def _find_repo() -> Path:
    """The checkout holding app.py: the folder above this package, else the current folder."""
    above = Path(__file__).resolve().parents[2]
    for candidate in (above, Path.cwd()):
        if (candidate / "app.py").is_file():
            return candidate
    return above


REPO = _find_repo()
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
#: The app finished a run: no script running, nothing stale.
APP_IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"


def find_chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class StreamlitServer:
    url: str
    process: subprocess.Popen
    log_path: Path

    @property
    def port(self) -> int:
        """The localhost port it listens on (the end of :attr:`url`)."""
        return int(self.url.rsplit(":", 1)[1])

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def log_size(self) -> int:
        """Bytes the log holds now: pass it to :meth:`log_since` to read what comes after."""
        return self.log_path.stat().st_size

    def log_since(self, offset: int) -> str:
        """What the server logged after ``offset`` bytes (a :meth:`log_size`)."""
        with self.log_path.open("rb") as log:
            log.seek(offset)
            return log.read().decode(errors="replace")


#: What a log line holds when the server met an exception: Python's traceback header, a logged
#: exception's name, and Streamlit's line for an exception raised by a page's script (it logs
#: that with the traceback and shows the page an exception box, ``APP_EXCEPTION``).
ERROR_MARKS = ("Traceback", "Exception", "Uncaught app")
#: The box Streamlit draws in place of a script's uncaught exception.
APP_EXCEPTION = "[data-testid='stException']"


def error_lines(log: str) -> list[str]:
    """The lines of a server log that report an exception (:data:`ERROR_MARKS`)."""
    return [line for line in log.splitlines() if any(mark in line for mark in ERROR_MARKS)]


@contextlib.contextmanager
def streamlit_server(
    log_path: Path,
    *extra_args: str,
    script: Path = REPO / "app.py",
    env: dict[str, str] | None = None,
) -> Iterator[StreamlitServer]:
    """Start ``streamlit run <script>`` (the app by default) on a free localhost port, with the
    repository's .streamlit/config.toml and ``env`` added to this process's environment; stop
    it afterwards."""
    port = free_port()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = log_path.open("w")
    command = [
        sys.executable, "-m", "streamlit", "run", str(script),
        "--server.headless", "true", "--server.port", str(port),
        "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false", *extra_args,
    ]  # fmt: skip
    environment = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    process = subprocess.Popen(
        command, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, env=environment
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, process, timeout=90)
        yield StreamlitServer(url, process, log_path)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def _wait_healthy(url: str, process: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"streamlit did not become healthy at {url} within {timeout} s")


def wait_until_idle(page, timeout_ms: float = 60_000) -> None:
    """Wait until the app's script has finished and the page shows its result."""
    page.wait_for_selector(APP_IDLE, timeout=timeout_ms)


def page_errors(page, timeout_ms: float = 60_000) -> list[str]:
    """What is wrong on a page of the app, once its last run ended: an exception box
    (:data:`APP_EXCEPTION`), a traceback, or a run that did not end within ``timeout_ms``.
    Empty for a page that never opened a URL."""
    if not page.url.startswith("http"):
        return []
    try:
        wait_until_idle(page, timeout_ms)
    except Exception as error:  # Playwright's TimeoutError, or the page went away
        return [f"{page.url}: the app did not finish its run ({type(error).__name__})"]
    problems = []
    boxes = page.locator(APP_EXCEPTION)
    if boxes.count():
        problems.append(f"{page.url}: exception box: {' | '.join(boxes.all_inner_texts())}")
    if page.get_by_text("Traceback (most recent call last)").count():
        problems.append(f"{page.url}: a traceback on the page")
    return problems
