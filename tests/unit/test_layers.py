"""The package's layers: every import in ``resnet_viz/`` points down the stack, never up or across.

From the bottom: errors and assets; the analytic core; runtime and data; weights; analysis (the
measurements); training (the loop, the demo model); experiments (what is trained and shipped);
present (figures, tables, readings); ui (the only Streamlit code). A module may import its own
subpackage and any lower layer. So no two subpackages import each other, analysis never imports
training, and nothing below ``ui`` imports it. Imports inside functions count too: a lazy import
is still a dependency. The top-level ``resnet_viz/__init__.py`` is the public facade over all
layers and is not checked.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "resnet_viz"

#: Subpackage (or top-level module) -> its layer, bottom first. Equal numbers are peers, which
#: must not import each other.
LAYERS = {
    "errors": 0,
    "assets": 0,
    "core": 1,
    "runtime": 2,
    "data": 2,
    "weights": 3,
    "analysis": 4,
    "training": 5,
    "experiments": 6,
    "present": 7,
    "ui": 8,
}


def _part(module: str) -> str:
    """``resnet_viz.analysis.attribution.cam`` -> ``analysis``."""
    return module.split(".")[1]


def imports_between_parts(package: Path = PACKAGE) -> set[tuple[str, str, str]]:
    """Every ``(importer module, importer part, imported part)`` across parts of the package."""
    found = set()
    for path in sorted(package.rglob("*.py")):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts = parts[:-1]
        if len(parts) == 1:  # resnet_viz/__init__.py: the facade
            continue
        module = ".".join(parts)
        here = parts if is_package else parts[:-1]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = here[: len(here) - node.level + 1]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                targets = (
                    [f"{target}.{alias.name}" for alias in node.names]
                    if target == "resnet_viz"
                    else [target]
                )
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                continue
            for name in targets:
                if name.startswith("resnet_viz.") and _part(name) != _part(module):
                    found.add((module, _part(module), _part(name)))
    return found


def violations(edges: set[tuple[str, str, str]]) -> list[str]:
    """The imports that go up a layer or across to a peer, as sentences."""
    bad = []
    for module, source, target in sorted(edges):
        if source not in LAYERS or target not in LAYERS:
            bad.append(f"{module} -> {target}: a part without a layer (add it to LAYERS)")
        elif LAYERS[target] >= LAYERS[source]:
            bad.append(f"{module} imports {target} (layer {LAYERS[target]} >= {LAYERS[source]})")
    return bad


def test_every_import_points_down_the_layers():
    edges = imports_between_parts()
    assert edges, "no imports found: the walk is broken"
    assert violations(edges) == []


def test_every_part_of_the_package_has_a_layer():
    parts = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    parts |= {p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    parts.discard("__pycache__")
    assert parts == set(LAYERS)


@pytest.mark.parametrize(
    ("edge", "why"),
    [
        (("resnet_viz.analysis.lesion", "analysis", "training"), "up"),
        (("resnet_viz.present.cam", "present", "ui"), "up"),
        (("resnet_viz.data.images", "data", "runtime"), "across"),
        (("resnet_viz.core.spec", "core", "core2"), "unknown"),
    ],
)
def test_the_check_catches_upward_cross_and_unknown_imports(edge, why):
    assert len(violations({edge})) == 1, why


def test_the_walk_reads_relative_lazy_and_absolute_imports(tmp_path):
    pkg = tmp_path / "resnet_viz"
    for sub in ("analysis", "training", "ui"):
        (pkg / sub).mkdir(parents=True)
        (pkg / sub / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("from .ui import x\n")  # the facade: not checked
    (pkg / "analysis" / "a.py").write_text("def f():\n    from ..training import loop\n")
    (pkg / "training" / "loop.py").write_text("import resnet_viz.ui.page\n")
    (pkg / "ui" / "page.py").write_text("from resnet_viz import analysis\n")
    assert imports_between_parts(pkg) == {
        ("resnet_viz.analysis.a", "analysis", "training"),
        ("resnet_viz.training.loop", "training", "ui"),
        ("resnet_viz.ui.page", "ui", "analysis"),
    }
