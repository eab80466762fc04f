"""A lecture hall on one server: N students at once, each in its own browser session.

Run from the checkout:  python -m bench.load_test --users 10
It starts `streamlit run app.py` on a free localhost port and drives N concurrent users
(Playwright browser contexts on the system Chromium). Each opens the architecture page with its
own preset and checks the parameter count, then uploads its own image on the Grad-CAM page and
waits for the result, downloads the overlay and compares it with a direct grad_cam call (a
different user's image or class would not match: cross-talk). It counts tracebacks in the
server log, measures the server's RSS before and after, and ends with one line:
users=N ok=K failed=F p50=...s p95=...s rss_growth=...MB
(p50/p95: seconds from a user's upload to its Grad-CAM on screen).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bench.drivers.browser import REPO, find_chromium, streamlit_server
from bench.drivers.load import (
    count_tracebacks,
    machine_cpu_seconds,
    process_cpu_seconds,
    run_load,
    server_rss_mb,
    summary_line,
)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10)
    args = parser.parse_args(argv)
    chromium = find_chromium()
    if chromium is None:
        sys.exit("needs a system Chromium (apt-get install chromium)")
    log = REPO / "artifacts" / "logs" / f"load-test-{args.users}.log"
    with streamlit_server(log) as server, tempfile.TemporaryDirectory() as folder:
        # Warm up: one user first, so "before" includes the loaded demo model and imports.
        asyncio.run(run_load(server.url, 1, chromium, Path(folder) / "warmup"))
        # One user alone on the warm server: the yardstick the p95 under load is read against.
        alone = asyncio.run(run_load(server.url, 1, chromium, Path(folder) / "alone"))[0]
        pid = server.process.pid
        before = server_rss_mb(pid)
        cpu_server, cpu_machine, start = (
            process_cpu_seconds(pid),
            machine_cpu_seconds(),
            time.time(),
        )
        results = asyncio.run(run_load(server.url, args.users, chromium, Path(folder)))
        wall = time.time() - start
        cpu_server = process_cpu_seconds(pid) - cpu_server
        cpu_machine = machine_cpu_seconds() - cpu_machine
        after = server_rss_mb(pid)
        tracebacks = count_tracebacks(server.log())
    for result in results:
        if not result.ok:
            print(f"user {result.user} failed: {result.error}")
    print(f"one user alone: upload to Grad-CAM on screen in {alone.cam_seconds:.1f}s")
    print(
        f"all {args.users} users took {wall:.1f}s wall; CPU used meanwhile: server "
        f"{cpu_server:.1f}s ({cpu_server / args.users:.2f}s per user), everything else on the "
        f"machine (the browsers, this driver) {cpu_machine - cpu_server:.1f}s, "
        f"on {os.cpu_count()} cores"
    )
    print(
        f"server RSS before {before:.0f} MB, after {after:.0f} MB; tracebacks in log: {tracebacks}"
    )
    print(summary_line(results, after - before))
    return 0 if all(result.ok for result in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
