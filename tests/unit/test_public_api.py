"""The public API says everything it offers: every name README.md documents is a top-level export,
every export imports, and the lazy table, ``__all__`` and the static-checker imports agree."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

import resnet_viz

ROOT = Path(__file__).resolve().parents[2]
INIT = ROOT / "resnet_viz" / "__init__.py"


def _readme_python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)


def _imported(code: str) -> list[ast.ImportFrom]:
    return [node for node in ast.walk(ast.parse(code)) if isinstance(node, ast.ImportFrom)]


@pytest.mark.parametrize("name", resnet_viz.__all__)
def test_every_exported_name_imports(name):
    namespace: dict = {}
    exec(f"from resnet_viz import {name}", namespace)  # the user's own spelling
    assert namespace[name] is getattr(resnet_viz, name)


def test_all_is_the_lazy_table_and_the_static_imports():
    tree = ast.parse(INIT.read_text())
    table = next(
        ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign | ast.AnnAssign)
        and getattr(node.targets[0] if isinstance(node, ast.Assign) else node.target, "id", "")
        == "_EXPORTS"
    )
    checking = next(node for node in tree.body if isinstance(node, ast.If))
    static = {
        alias.name: "." + node.module
        for node in checking.body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    assert sorted(resnet_viz.__all__) == sorted(table) == sorted(static)
    assert static == table  # each name from the same module in both


def test_the_readme_documents_only_top_level_names():
    blocks = _readme_python_blocks()
    assert len(blocks) >= 3
    used = set()
    for code in blocks:
        for node in _imported(code):
            assert node.module == "resnet_viz", f"README imports from {node.module}"
            used |= {alias.name for alias in node.names}
    assert used <= set(resnet_viz.__all__)
    for name in ("loss_landscape", "effective_receptive_field", "block_anatomy"):
        assert name in used


def test_the_top_level_import_stays_light():
    code = "import sys, resnet_viz; print(sorted({'torch', 'streamlit'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
