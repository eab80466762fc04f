"""The memory budget: its one definition, the check against it and the error it raises."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

from resnet_viz.runtime import device, memory
from resnet_viz.runtime.memory import (
    CPU_MEMORY_BUDGET_BYTES,
    BudgetError,
    memory_budget_bytes,
    refuse_over_budget,
)

PACKAGE = Path(memory.__file__).resolve().parents[1]


def test_the_cpu_budget_and_the_cuda_share(monkeypatch):
    assert memory_budget_bytes() == memory_budget_bytes("cpu") == CPU_MEMORY_BUDGET_BYTES
    assert CPU_MEMORY_BUDGET_BYTES == 3 * 1024**3
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda _device: (10 * 1024**3, 80 * 1024**3))
    assert memory_budget_bytes("cuda") == int(0.9 * 10 * 1024**3)


def test_refusal_above_the_budget_only_with_the_numbers_and_the_advice():
    refuse_over_budget(1024**3, 1024**3, "This", "Shrink it.")  # exactly the budget: allowed
    with pytest.raises(BudgetError) as refused:
        refuse_over_budget(1024**3 + 1, 1024**3, "A 21×21 landscape", "Use fewer images.")
    assert str(refused.value) == (
        "A 21×21 landscape needs about 1.0 GiB, more than the 1.0 GiB available here. "
        "Use fewer images."
    )
    with pytest.raises(BudgetError, match=r"^Score-CAM needs 3\.0 of 1\.5: \{braces\} stay$"):
        refuse_over_budget(
            3 * 1024**3, 1024**3 * 3 // 2, "Score-CAM", "{braces} stay",
            wording="{doing} needs {needed:.1f} of {budget:.1f}: {advice}",
        )  # fmt: skip


def test_the_budget_is_defined_in_runtime_memory_only():
    """One owner: no other module defines the budget, asks CUDA for its free memory or raises
    the refusal itself (as runtime/device.py and ui/attention.py once did), and every module
    that reads the budget refuses through :func:`refuse_over_budget`."""
    assert not hasattr(device, "memory_budget_bytes")
    assert not hasattr(device, "CPU_MEMORY_BUDGET_BYTES")
    owner = PACKAGE / "runtime" / "memory.py"
    definition = re.compile(
        r"^\s*(CPU_MEMORY_BUDGET_BYTES\s*=|def memory_budget_bytes\b|def refuse_over_budget\b"
        r"|class BudgetError\b)|mem_get_info|raise BudgetError\b",
        re.MULTILINE,
    )

    def found(path: Path) -> set[str]:
        return {m.group(0).strip() for m in definition.finditer(path.read_text())}

    modules = [path for path in PACKAGE.rglob("*.py") if path != owner]
    assert {str(p.relative_to(PACKAGE)): found(p) for p in modules if found(p)} == {}
    assert found(owner) == {
        "CPU_MEMORY_BUDGET_BYTES =", "def memory_budget_bytes", "def refuse_over_budget",
        "class BudgetError", "mem_get_info", "raise BudgetError",
    }  # fmt: skip
    readers = [p for p in modules if "memory_budget_bytes(" in p.read_text()]
    assert len(readers) >= 5  # landscape, receptive field, gradients, anatomy, CAM
    assert [
        str(p.relative_to(PACKAGE)) for p in readers if "refuse_over_budget(" not in p.read_text()
    ] == []
