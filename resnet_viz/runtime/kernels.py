"""Which kernels compute a result: the intra-op thread count and the CPU's instruction sets.

Both change the last bits of a float sum. :func:`intra_op_threads` fixes the thread count for a
block of work (the thread count changes how convolutions split their sums), safely when several
Streamlit sessions overlap. Kernels are chosen per machine: ATen's vectorised ops by the CPU
capability torch detects (AVX2 or AVX512 on x86; ``ATEN_CPU_CAPABILITY`` lowers it), oneDNN's
convolutions by the instruction sets the CPU has (``ONEDNN_MAX_CPU_ISA`` caps them). AVX-512
kernels give other last bits than AVX2 ones, and training amplifies them into other curves
(``docs/experiments.md``). :func:`machine_description` and :func:`kernel_environment` name all
of that, so a shipped result can say where it is reproducible bit for bit.
"""

from __future__ import annotations

import contextlib
import os
import platform
import threading
from collections.abc import Iterator
from pathlib import Path

import torch

__all__ = ["KERNEL_ENVIRONMENT", "intra_op_threads", "kernel_environment", "machine_description"]

_THREADS_LOCK = threading.Lock()
_threads_users = 0
_threads_before = 0


@contextlib.contextmanager
def intra_op_threads(n: int) -> Iterator[None]:
    """Run the block with ``n`` intra-op threads, then restore the caller's setting.

    ``torch.set_num_threads`` is process-wide and Streamlit runs each session in its own
    thread, so a plain save/set/restore would race (A saves 2 and sets 1, B saves 1, A restores
    2, B restores 1: the process is left at 1). Overlapping users are counted: the first saves
    the setting, the last restores it."""
    global _threads_users, _threads_before
    with _THREADS_LOCK:
        if _threads_users == 0:
            _threads_before = torch.get_num_threads()
        _threads_users += 1
        torch.set_num_threads(n)
    try:
        yield
    finally:
        with _THREADS_LOCK:
            _threads_users -= 1
            if _threads_users == 0:
                torch.set_num_threads(_threads_before)


#: Environment variables that change which CPU kernels torch runs (and so the last bits).
KERNEL_ENVIRONMENT = ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA")


def kernel_environment() -> dict[str, str]:
    """The :data:`KERNEL_ENVIRONMENT` variables set in this process, with their values."""
    return {name: os.environ[name] for name in KERNEL_ENVIRONMENT if name in os.environ}


def machine_description() -> str:
    """``"x86_64, 2 CPUs, AMD EPYC, AVX512"``: architecture, CPU count, CPU model, the CPU
    capability torch's kernels use (``torch.backends.cpu.get_cpu_capability()``) and a oneDNN
    instruction-set cap if one is set (``", oneDNN max AVX2"``). Results trained with the same
    description and torch build are bitwise reproducible; the model name alone is not enough
    (two machines both called "AMD EPYC" may or may not have AVX-512)."""
    parts = [
        platform.machine(),
        f"{os.cpu_count()} CPUs",
        _cpu_model(),
        torch.backends.cpu.get_cpu_capability(),
    ]
    isa = os.environ.get("ONEDNN_MAX_CPU_ISA") or os.environ.get("DNNL_MAX_CPU_ISA")
    if isa:
        parts.append(f"oneDNN max {isa}")
    return ", ".join(part for part in parts if part)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()
