"""The distribution: it installs the app's library and nothing else (no top-level ``bench``),
every console script names an importable ``main``, every benchmark runs from the checkout as
``python -m bench.<module>``, and the runtime pins are written once, in requirements.txt."""

import ast
import importlib
import json
import subprocess
import sys
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

#: Imports every benchmark in a fresh interpreter and prints, per module, its file and whether
#: its ``main`` is callable. Not in this process: a benchmark may change the interpreter it is
#: imported into (bench/lecture_load.py imports Locust, whose gevent monkey-patches threading,
#: socket and time for the whole process; in the test process that deadlocked later tests).
_IMPORT_EVERY_BENCHMARK = """
import importlib, json, sys
found = {}
for stem in sys.argv[1:]:
    module = importlib.import_module("bench." + stem)
    found[stem] = [module.__file__, callable(getattr(module, "main", None))]
print(json.dumps(found))
"""


@pytest.fixture(scope="module")
def imported_benchmarks() -> dict[str, list]:
    stems = [path.stem for path in BENCHMARKS]
    done = subprocess.run(
        [sys.executable, "-c", _IMPORT_EVERY_BENCHMARK, *stems],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("path", BENCHMARKS, ids=lambda path: path.stem)
def test_every_benchmark_runs_as_a_module_of_the_checkout(path, imported_benchmarks):
    file, has_main = imported_benchmarks[path.stem]
    assert Path(file).resolve() == path.resolve()
    assert has_main
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
