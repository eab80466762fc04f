"""The distribution: every console script names an importable ``main``, every benchmark has a
console script, and the runtime pins are written once, in requirements.txt."""

import importlib
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
SCRIPTS = PYPROJECT["project"]["scripts"]


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_console_script_names_a_main(name):
    module, _, attribute = SCRIPTS[name].partition(":")
    assert callable(getattr(importlib.import_module(module), attribute))


def test_every_benchmark_has_a_console_script():
    modules = {target.partition(":")[0] for target in SCRIPTS.values()}
    scripts = [path for path in (REPO / "bench").glob("*.py") if path.stem != "__init__"]
    assert scripts
    for path in scripts:
        assert f"bench.{path.stem}" in modules, path.name


def test_dependencies_are_read_from_requirements_txt():
    assert PYPROJECT["project"]["dynamic"] == ["dependencies"]
    assert "dependencies" not in PYPROJECT["project"]
    dynamic = PYPROJECT["tool"]["setuptools"]["dynamic"]["dependencies"]
    assert dynamic == {"file": ["requirements.txt"]}


def test_the_dev_requirements_install_the_project_itself():
    lines = (REPO / "requirements-dev.txt").read_text().splitlines()
    assert "-r requirements.txt" in lines
    assert "-e ." in lines
