"""Device choice and the out-of-memory fallback."""

import pytest
import torch

from resnet_viz.runtime.device import (
    device_label,
    is_out_of_memory,
    pick_device,
    run_with_cpu_fallback,
)


def test_pick_device_prefers_cuda_then_mps_then_cpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert pick_device().type == "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert pick_device().type == "mps"
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert pick_device().type == "cpu"
    assert pick_device("cpu").type == "cpu"


def test_device_labels(monkeypatch):
    assert device_label("cpu").startswith("CPU (")
    assert device_label("mps") == "Apple GPU (MPS)"
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda _d=None: "NVIDIA H100 80GB HBM3")
    assert device_label("cuda") == "CUDA GPU: NVIDIA H100 80GB HBM3"


def test_out_of_memory_detection():
    assert is_out_of_memory(torch.OutOfMemoryError("CUDA out of memory. Tried to allocate"))
    assert is_out_of_memory(RuntimeError("MPS backend out of memory"))
    assert not is_out_of_memory(RuntimeError("shape mismatch"))


def test_fallback_retries_on_cpu_after_an_accelerator_oom(monkeypatch):
    monkeypatch.setattr(torch.cuda, "empty_cache", lambda: None)
    seen = []

    def work(device):
        seen.append(device.type)
        if device.type == "cuda":
            raise torch.OutOfMemoryError("CUDA out of memory")
        return 42

    run = run_with_cpu_fallback(work, "cuda")
    assert (run.value, run.device.type, run.fell_back) == (42, "cpu", True)
    assert seen == ["cuda", "cpu"]


def test_other_errors_are_not_swallowed():
    def work(device):
        raise ValueError("bad input")

    with pytest.raises(ValueError, match="bad input"):
        run_with_cpu_fallback(work, "cpu")
    with pytest.raises(ValueError, match="bad input"):
        run_with_cpu_fallback(work, "cuda")
