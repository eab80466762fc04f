"""The background preload of the torch pages' code: it imports them off the request path,
once per process, freezes what it loaded out of the garbage collector's view, and can be
switched off. Run in fresh interpreters: this test process imported torch long ago."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

SCRIPT = """
import gc, sys
from resnet_viz.ui.preload import preload_in_background
assert "torch" not in sys.modules
frozen_before = gc.get_freeze_count()
thread = preload_in_background(modules=("resnet_viz.ui.gradients",), idle_s=0)
thread.join(timeout=240)
print("torch" in sys.modules, gc.get_freeze_count() > frozen_before + 100_000)
print(preload_in_background() is None)
"""

SWITCHED_OFF = """
import sys, time
from resnet_viz.ui.preload import preload_in_background
print(preload_in_background(idle_s=0) is None, "torch" in sys.modules)
"""


def _run(script: str, **env: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=300,
        env={**os.environ, **env},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.split()


def test_preload_imports_torch_in_the_background_once_and_freezes_it():
    assert _run(SCRIPT, RESNET_VIZ_PRELOAD="1") == ["True", "True", "True"]


def test_preload_can_be_switched_off():
    assert _run(SWITCHED_OFF, RESNET_VIZ_PRELOAD="0") == ["True", "False"]
