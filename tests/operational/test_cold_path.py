"""The home and architecture pages never import torch (or torchvision, captum, timm, the CAM
library): the architecture is analytic, and importing torch costs seconds on a cold server.
The home page and the architecture page's default tab (what a first visitor sees) do not import
pandas either (~0.3 s; only the Layers and Compare tabs' data grids need it).
Checked in a fresh interpreter, since this test process has imported torch long ago."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HEAVY = ("torch", "torchvision", "captum", "pytorch_grad_cam", "timm")

SCRIPT = f"""
import sys
from streamlit.testing.v1 import AppTest
from tests.app_support import APP, open_page

at = AppTest.from_file(APP, default_timeout=120).run()
assert not at.exception, at.exception
at = open_page("pages/architecture.py", preset="ResNet-152")
assert not at.exception, at.exception
print("pandas" in sys.modules)
for tab in ("Stages", "Layers", "Diagram", "Compare", "Code"):
    at.query_params["tab"] = tab
    at.run()
    assert not at.exception, (tab, at.exception)
    assert any(m.value == "60,192,808" for m in at.metric), tab
print(sorted(m for m in {HEAVY!r} if m in sys.modules))
"""


def test_home_and_architecture_pages_import_no_torch():
    # The pages' own imports, without app.py's background preload (tests/unit/ui/test_preload.py).
    env = {**os.environ, "RESNET_VIZ_PRELOAD": "0"}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=REPO, capture_output=True, text=True, timeout=300,
        env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    *_, pandas_on_first_pages, heavy = done.stdout.strip().splitlines()
    assert pandas_on_first_pages == "False"
    assert heavy == "[]"
