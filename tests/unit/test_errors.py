"""User-facing errors: one base class, found by walking the package, and shown by the pages."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import subprocess
import sys
import textwrap

import pytest
from streamlit.testing.v1 import AppTest

import resnet_viz
from resnet_viz.errors import UserError


def _defined_exceptions() -> dict[str, type[BaseException]]:
    """Every public exception class a module of resnet_viz defines, by qualified name."""
    found = {}
    for info in pkgutil.walk_packages(resnet_viz.__path__, "resnet_viz."):
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseException)
                and value.__module__ == info.name
                and not name.startswith("_")
            ):
                found[f"{info.name}.{name}"] = value
    return found


@pytest.fixture(scope="module")
def exceptions() -> dict[str, type[BaseException]]:
    return _defined_exceptions()


def test_every_public_exception_of_the_package_is_a_user_error(exceptions):
    """The package's own exceptions carry a message for the user (a bug raises a built-in
    error), so pages catch them all with one ``except UserError``."""
    assert {
        "resnet_viz.core.spec.SpecError",
        "resnet_viz.errors.ImageError",
        "resnet_viz.errors.WeightsError",
        "resnet_viz.errors.WeightsUnavailable",
        "resnet_viz.errors.CheckpointError",
        "resnet_viz.runtime.memory.BudgetError",
    } <= set(exceptions)
    assert [name for name, cls in exceptions.items() if not issubclass(cls, UserError)] == []


def test_user_errors_keep_their_built_in_bases(exceptions):
    """``except ValueError`` / ``except RuntimeError`` still catch what they caught before."""
    for name in ("core.spec.SpecError", "errors.ImageError", "errors.CheckpointError"):
        assert issubclass(exceptions[f"resnet_viz.{name}"], ValueError), name
    assert issubclass(exceptions["resnet_viz.runtime.memory.BudgetError"], ValueError)
    assert issubclass(exceptions["resnet_viz.errors.WeightsUnavailable"], RuntimeError)


def test_the_error_module_keeps_the_spec_layer_free_of_torch():
    """core.spec imports UserError from resnet_viz.errors: that must not pull in torch, or the
    architecture page and ``from resnet_viz import summarize`` would pay for it."""
    code = "import sys, resnet_viz.core.summary; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def _page(body: str) -> AppTest:
    script = "from resnet_viz.ui.common import shown_errors\nimport streamlit as st\n"
    return AppTest.from_string(script + textwrap.dedent(body), default_timeout=60).run()


def test_shown_errors_shows_a_budget_refusal_as_its_message():
    at = _page(
        """
        from resnet_viz.runtime.memory import refuse_over_budget
        with shown_errors("mapping the landscape"):
            refuse_over_budget(2 * 1024**3, 1024**3, "This map", "Use fewer images.")
        st.write("the rest of the page")
        """
    )
    assert not at.exception
    assert [e.value for e in at.error] == [
        "This map needs about 2.0 GiB, more than the 1.0 GiB available here. Use fewer images."
    ]
    assert [m.value for m in at.markdown] == ["the rest of the page"]


def test_shown_errors_hides_a_bug_behind_a_general_message():
    at = _page(
        """
        with shown_errors("mapping the landscape"):
            raise RuntimeError("index 7 is out of bounds")
        st.write("the rest of the page")
        """
    )
    assert not at.exception
    assert [e.value for e in at.error] == [
        "Something went wrong while mapping the landscape. The rest of the page still works; "
        "the details are in the server log."
    ]
    assert [m.value for m in at.markdown] == ["the rest of the page"]
