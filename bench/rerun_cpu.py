"""What one click on the architecture page costs the server: CPU seconds per preset change.

Run from the checkout:  python -m bench.rerun_cpu [--rounds 5] [--clicks 100]

A lecture hall's limit is the server process's one core (Streamlit runs every session's script
in one Python process: the GIL), so the server CPU a click costs decides how many students one
process holds (bench/README.md, "Lecture hall, protocol level"). This starts three servers on
free ports and, at Streamlit's protocol level (bench/drivers/streamlit_protocol.py: no browser,
so nothing else competes for the cores), changes the preset ``--clicks`` times on each in turn,
``--rounds`` times, reading each server's CPU time from /proc before and after:

- the app's architecture page (Stages tab, the default), its background preload off so that
  only the clicks are counted;
- the same-work floor: bench/app_latency.py's SAME_ELEMENTS_APP, a bare Streamlit page drawing
  the same elements with the same table, figure and numbers, precomputed (no resnet_viz code);
- the one-metric floor: a selectbox and one metric (bench/app_latency.py's FLOOR_APP).

Prints the median milliseconds of server CPU per click of each, and the app's ratio to each
floor: the app's own work is the part above the same-work floor; the same-work floor's part
above the one-metric floor is what Streamlit's drawing of those elements costs.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import statistics
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from bench.app_latency import FLOOR_APP, SAME_ELEMENTS_APP, same_elements_content
from bench.drivers.browser import streamlit_server
from bench.drivers.load import process_cpu_seconds
from bench.drivers.streamlit_protocol import StreamlitSession
from resnet_viz.core.presets import PRESETS

#: The app's own preset menu, in its order; the same-work floor offers the same labels.
PRESET_LABELS = [preset.label for preset in PRESETS.values()]
#: The one-metric floor's options (FLOOR_APP).
FLOOR_OPTIONS = [f"option {i}" for i in range(13)]


def clicks_cost_ms(url: str, pid: int, page: str, options: list[str], clicks: int) -> float:
    """Open ``page`` in a new session, pick every option once (warm), then ``clicks`` more
    changes in turn: the server's CPU milliseconds per change."""
    with StreamlitSession(url) as session:
        session.open(page)
        for option in options:
            session.set_widget("preset", string_value=option)
        before = process_cpu_seconds(pid)
        for option in itertools.islice(itertools.cycle(options[1:] + options[:1]), clicks):
            session.set_widget("preset", string_value=option)
        return (process_cpu_seconds(pid) - before) * 1000 / clicks


def measure(rounds: int, clicks: int) -> dict[str, list[float]]:
    """Milliseconds of server CPU per click, one figure per round, for each of the three."""
    with tempfile.TemporaryDirectory() as folder, contextlib.ExitStack() as stack:
        same = Path(folder) / "same_elements.py"
        same.write_text(SAME_ELEMENTS_APP)
        same.with_suffix(".json").write_text(json.dumps(same_elements_content()))
        floor = Path(folder) / "one_metric.py"
        floor.write_text(FLOOR_APP)
        log = Path(folder)
        servers = {
            "architecture page": (
                stack.enter_context(
                    streamlit_server(log / "app.log", env={"RESNET_VIZ_PRELOAD": "0"})
                ),
                "architecture",
                PRESET_LABELS,
            ),
            "same-work floor": (
                stack.enter_context(streamlit_server(log / "same.log", script=same)),
                "",
                PRESET_LABELS,
            ),
            "one-metric floor": (
                stack.enter_context(streamlit_server(log / "floor.log", script=floor)),
                "",
                FLOOR_OPTIONS,
            ),
        }
        figures: dict[str, list[float]] = {name: [] for name in servers}
        for _ in range(rounds):
            for name, (server, page, options) in servers.items():
                cost = clicks_cost_ms(server.url, server.process.pid, page, options, clicks)
                figures[name].append(cost)
    return figures


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--clicks", type=int, default=100, help="preset changes per round")
    args = parser.parse_args(argv)
    figures = measure(args.rounds, args.clicks)
    medians = {name: statistics.median(values) for name, values in figures.items()}
    print(f"server CPU per preset change, median of {args.rounds} rounds of {args.clicks}:")
    for name, values in figures.items():
        spread = ", ".join(f"{value:.2f}" for value in values)
        print(f"  {name:18} {medians[name]:6.2f} ms   ({spread})")
    app = medians["architecture page"]
    print(f"architecture page / same-work floor: {app / medians['same-work floor']:.2f}x")
    print(f"architecture page / one-metric floor: {app / medians['one-metric floor']:.2f}x")
    print(f"clicks per second one server process can answer: ~{1000 / app:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
