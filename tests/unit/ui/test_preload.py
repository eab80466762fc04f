"""The background preload of the torch pages' code: it imports them off the request path,
once per process, freezes what it loaded out of the garbage collector's view, and can be
switched off. Run in fresh interpreters: this test process imported torch long ago."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]

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


def _imported_under_loading_torch(page: Path) -> set[str]:
    """The modules a page file imports inside ``with loading_torch():``."""
    names = set()
    for node in ast.walk(ast.parse(page.read_text())):
        if isinstance(node, ast.With) and any(
            isinstance(item.context_expr, ast.Call)
            and getattr(item.context_expr.func, "id", None) == "loading_torch"
            for item in node.items
        ):
            for statement in node.body:
                if isinstance(statement, ast.ImportFrom):
                    names |= {f"{statement.module}.{alias.name}" for alias in statement.names}
    return names


def test_preload_covers_exactly_the_modules_the_torch_pages_load():
    """PAGE_MODULES names what the pages import under their "Loading PyTorch" spinner: a new
    torch page must be added to it, or its first visit waits for torch again."""
    from resnet_viz.ui.preload import PAGE_MODULES

    pages = sorted((REPO / "pages").glob("*.py"))
    loaded = set().union(*(_imported_under_loading_torch(page) for page in pages))
    assert loaded == set(PAGE_MODULES)


def test_each_page_preloads_what_it_loads_under_its_spinner():
    """The page table's ``preloads`` (PAGE_MODULES' source) says what each page file imports
    under ``loading_torch``, page by page; the pages that load no torch list nothing."""
    from resnet_viz.ui.site import PAGES

    for page in PAGES:
        assert _imported_under_loading_torch(REPO / page.file) == set(page.preloads), page.file
    assert not any(page.preloads for page in PAGES if page.name in ("home", "architecture"))


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
