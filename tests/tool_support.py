"""Run one of the project's command-line training tools as a user would, in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import resnet_viz

REPO = Path(resnet_viz.__file__).resolve().parents[1]


def run_tool(module: str, out: Path, environment: Mapping[str, str]) -> None:
    """``python -m module --out out`` from the repository root, with ``environment`` added
    (the kernel settings a shipped file records)."""
    subprocess.run(
        [sys.executable, "-m", module, "--out", str(out)],
        cwd=REPO, env={**os.environ, **environment}, check=True, capture_output=True,
        timeout=900,
    )  # fmt: skip
