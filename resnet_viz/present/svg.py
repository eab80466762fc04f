"""Graphviz DOT rendered to SVG on the server, for the diagrams' download buttons.

The page draws DOT in the browser (Streamlit's ``graphviz_chart``); a lecturer's slides want a
file. A system Graphviz ``dot`` is used when there is one; otherwise ``graphviz-pure`` (a
self-contained port of Graphviz 16.1 installed from PyPI with the app's requirements, so the
download works after a plain ``pip install``). Without either, :func:`render_svg` returns None
and the page offers the DOT source only.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

#: A diagram of ResNet-1202 renders in well under a second; a hung renderer is cut off.
RENDER_TIMEOUT_S = 20.0


def svg_renderer() -> str | None:
    """The Graphviz program to run: ``dot`` on the PATH, else ``graphviz-pure`` (beside this
    Python, for a virtual environment that is not activated, or on the PATH)."""
    beside_python = Path(sys.executable).parent / "graphviz-pure"
    for candidate in (shutil.which("dot"), str(beside_python), shutil.which("graphviz-pure")):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


def render_svg(dot: str) -> bytes | None:
    """``dot`` laid out and drawn as SVG, or None when no renderer is installed or it fails."""
    program = svg_renderer()
    if program is None:
        return None
    try:
        done = subprocess.run(
            [program, "-Tsvg"],
            input=dot.encode("utf-8"),
            capture_output=True,
            timeout=RENDER_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0 or not done.stdout.lstrip().startswith(b"<?xml"):
        return None
    return done.stdout
