"""What opening each lecture page costs a warm server: CPU milliseconds per visit.

Run from the checkout:  python -m bench.page_cpu [--opens 30] [--rounds 2]

In a lecture every student opens the same pages (the home page, the gradient study, Grad-CAM on
the bundled samples, a lab page), and every session's page runs share the server process's one
core (the GIL), so a page's server CPU per visit is what a hall of students queues for
(bench/README.md, "Lecture hall, protocol level"). This starts the app and bench/app_latency.py's
one-metric floor (a bare Streamlit page with one selectbox and one metric) on free ports, opens
every page once so that its results are computed and kept, then opens each page ``--opens``
times in a new session at Streamlit's protocol level (bench/drivers/streamlit_protocol.py),
reading the server's CPU time from /proc, with one other session kept open throughout (with
none, Streamlit drops its compiled scripts). Prints, per page, the median over ``--rounds`` of
the CPU milliseconds per visit and its ratio to the floor's.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from bench.app_latency import FLOOR_APP
from bench.drivers.browser import streamlit_server
from bench.drivers.load import process_cpu_seconds
from bench.drivers.streamlit_protocol import StreamlitSession

#: The pages a lecture's students open (bench/lecture_load.py's ``lecture`` script), by URL path.
PAGES = ("", "architecture", "gradients", "grad_cam", "degradation")
FLOOR = "one-metric floor"


def visit_cost_ms(url: str, pid: int, page: str, opens: int) -> float:
    """Server CPU milliseconds per visit of ``page`` (each a new session), averaged."""
    before = process_cpu_seconds(pid)
    for _ in range(opens):
        with StreamlitSession(url, timeout=300) as session:
            session.open(page)
    return (process_cpu_seconds(pid) - before) * 1000 / opens


def measure(opens: int, rounds: int) -> dict[str, list[float]]:
    with tempfile.TemporaryDirectory() as folder, contextlib.ExitStack() as stack:
        floor = Path(folder) / "one_metric.py"
        floor.write_text(FLOOR_APP)
        app = stack.enter_context(streamlit_server(Path(folder) / "app.log"))
        bare = stack.enter_context(streamlit_server(Path(folder) / "floor.log", script=floor))
        servers = {page or "home": (app, page) for page in PAGES} | {FLOOR: (bare, "")}
        for server, page in servers.values():  # computed once, kept for every session
            stack.enter_context(StreamlitSession(server.url, timeout=300)).open(page)
        figures: dict[str, list[float]] = {name: [] for name in servers}
        for _ in range(rounds):
            for name, (server, page) in servers.items():
                cost = visit_cost_ms(server.url, server.process.pid, page, opens)
                figures[name].append(cost)
    return figures


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--opens", type=int, default=30, help="visits per page and round")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv)
    figures = measure(args.opens, args.rounds)
    floor = statistics.median(figures[FLOOR])
    print(f"server CPU per visit, median of {args.rounds} rounds of {args.opens}:")
    for name, values in figures.items():
        median = statistics.median(values)
        spread = ", ".join(f"{value:.1f}" for value in values)
        print(f"  /{name:16} {median:6.1f} ms  {median / floor:5.1f}x the floor   ({spread})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
