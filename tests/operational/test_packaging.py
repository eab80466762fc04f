"""The distribution: it installs the app's library and nothing else (no top-level ``bench``),
every console script names an importable ``main``, every benchmark runs from the checkout as
``python -m bench.<module>``, and the runtime pins are written once, in requirements.txt."""

import ast
import importlib
import tomllib
from pathlib import Path

import pytest
from setuptools import find_namespace_packages, find_packages

REPO = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
SCRIPTS = PYPROJECT["project"]["scripts"]


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_console_script_names_a_main(name):
    module, _, attribute = SCRIPTS[name].partition(":")
    assert callable(getattr(importlib.import_module(module), attribute))


def test_the_distribution_holds_only_resnet_viz():
    find = PYPROJECT["tool"]["setuptools"]["packages"]["find"]
    for finder in (find_packages, find_namespace_packages):
        packages = finder(str(REPO), include=find["include"])
        assert "resnet_viz" in packages
        assert {name.partition(".")[0] for name in packages} == {"resnet_viz"}, packages
    assert not [target for target in SCRIPTS.values() if target.startswith("bench.")]


def _calls_main_when_run(path: Path) -> bool:
    """Whether the module ends in ``if __name__ == "__main__":`` with a call to ``main()``."""
    for node in ast.parse(path.read_text()).body:
        if not isinstance(node, ast.If):
            continue
        test = node.test
        if (
            isinstance(test, ast.Compare)
            and isinstance(test.left, ast.Name)
            and test.left.id == "__name__"
            and [c.value for c in test.comparators if isinstance(c, ast.Constant)] == ["__main__"]
        ):
            calls = [n for n in ast.walk(node) if isinstance(n, ast.Call)]
            return any(isinstance(c.func, ast.Name) and c.func.id == "main" for c in calls)
    return False


BENCHMARKS = sorted(path for path in (REPO / "bench").glob("*.py") if path.stem != "__init__")


@pytest.mark.parametrize("path", BENCHMARKS, ids=lambda path: path.stem)
def test_every_benchmark_runs_as_a_module_of_the_checkout(path):
    module = importlib.import_module(f"bench.{path.stem}")
    assert Path(module.__file__).resolve() == path.resolve()
    assert callable(module.main)
    assert _calls_main_when_run(path), path.name


def test_there_are_benchmarks():
    assert BENCHMARKS


def test_dependencies_are_read_from_requirements_txt():
    assert PYPROJECT["project"]["dynamic"] == ["dependencies"]
    assert "dependencies" not in PYPROJECT["project"]
    dynamic = PYPROJECT["tool"]["setuptools"]["dynamic"]["dependencies"]
    assert dynamic == {"file": ["requirements.txt"]}


def test_the_dev_requirements_install_the_project_itself():
    lines = (REPO / "requirements-dev.txt").read_text().splitlines()
    assert "-r requirements.txt" in lines
    assert "-e ." in lines
