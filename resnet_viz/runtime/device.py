"""Which device runs the heavy work, and what to do when it runs out of memory.

Preference: a CUDA GPU, then Apple's MPS, then the CPU. Grad-CAM and the gradient study use
this; the architecture explorer needs no device at all (it is analytic). How much memory a job
may plan to use on a device is :mod:`resnet_viz.runtime.memory`'s.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

import torch

T = TypeVar("T")


def pick_device(preferred: str | torch.device | None = None) -> torch.device:
    """``preferred`` if given, else CUDA when available, then MPS, then CPU."""
    if preferred is not None:
        return torch.device(preferred)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def device_label(device: str | torch.device) -> str:
    """A human name for the sidebar: "CUDA GPU: NVIDIA H100 80GB HBM3", "Apple GPU (MPS)", "CPU"."""
    device = torch.device(device)
    if device.type == "cuda":
        return f"CUDA GPU: {torch.cuda.get_device_name(device)}"
    if device.type == "mps":
        return "Apple GPU (MPS)"
    return f"CPU ({torch.get_num_threads()} threads)"


def is_out_of_memory(error: BaseException) -> bool:
    """True for CUDA/MPS out-of-memory errors (torch raises several types for them)."""
    if isinstance(error, torch.OutOfMemoryError):
        return True
    return isinstance(error, RuntimeError) and "out of memory" in str(error).lower()


@dataclass(frozen=True)
class DeviceRun(Generic[T]):
    """A result, the device that produced it, and whether we fell back to the CPU."""

    value: T
    device: torch.device
    fell_back: bool = False


def run_with_cpu_fallback(
    work: Callable[[torch.device], T], device: torch.device | str | None = None
) -> DeviceRun[T]:
    """Run ``work(device)``; on an accelerator out-of-memory error, free the cache and retry on
    the CPU, reporting that it did so (the page tells the user)."""
    device = pick_device(device)
    try:
        return DeviceRun(work(device), device)
    except Exception as error:
        if device.type == "cpu" or not is_out_of_memory(error):
            raise
    if device.type == "cuda":
        torch.cuda.empty_cache()
    cpu = torch.device("cpu")
    return DeviceRun(work(cpu), cpu, fell_back=True)
