"""experiments: the shipped digits, the recipe's pieces, determinism of a short run, the shipped
curves (settings, ordering with margins) and, slow, the full default run against them."""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import os
import threading

import numpy as np
import pytest
import torch

from resnet_viz import SpecError
from resnet_viz.core.presets import preset
from resnet_viz.data.digits import DIGITS_COUNT, DIGITS_MEAN, DIGITS_PATH, DIGITS_STD, load_digits
from resnet_viz.experiments.degradation import (
    CURVES_FORMAT,
    DEFAULTS,
    curve_names,
    degradation_curves,
    degradation_record,
    digits_spec,
    train_curves,
    write_degradation_curves,
)
from resnet_viz.runtime.kernels import (
    KERNEL_ENVIRONMENT,
    intra_op_threads,
    kernel_environment,
    machine_description,
)
from resnet_viz.training.loop import WarmupCosine, learning_rate
from tests.tool_support import run_tool

# Settings of the short run: small enough for a fast test, with two depths as the page has.
SHORT = {"depths": (8, 14), "epochs": 2, "train_images": 128, "eval_images": 64, "batch_size": 32}
DEFAULT_NAMES = ["plain-20", "plain-56", "resnet-20", "resnet-56"]


# --------------------------------------------------------------------------- the data


def test_digits_file_holds_the_uci_test_set():
    with np.load(DIGITS_PATH) as data:
        images, labels = data["images"], data["labels"]
    assert images.shape == (DIGITS_COUNT, 8, 8)
    assert images.dtype == np.uint8
    assert labels.shape == (DIGITS_COUNT,)
    assert labels.dtype == np.uint8
    assert images.max() == 16
    assert images.min() == 0
    # The UCI test set's class counts (scikit-learn's DESCR: 1797 instances, about 180 each).
    assert np.bincount(labels).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]


def test_digits_file_equals_scikit_learns_copy():
    datasets = pytest.importorskip("sklearn.datasets")
    reference = datasets.load_digits()
    with np.load(DIGITS_PATH) as data:
        assert np.array_equal(data["images"], reference.images)
        assert np.array_equal(data["labels"], reference.target)


def test_normalisation_constants_match_the_data():
    with np.load(DIGITS_PATH) as data:
        pixels = data["images"].astype(np.float64) / 16
    assert pytest.approx(pixels.mean(), abs=1e-5) == DIGITS_MEAN
    assert pytest.approx(pixels.std(), abs=1e-5) == DIGITS_STD
    x, y = load_digits()
    assert x.shape == (DIGITS_COUNT, 1, 8, 8)
    assert x.dtype == torch.float32
    assert y.dtype == torch.int64
    assert float(x.mean()) == pytest.approx(0, abs=1e-4)
    assert float(x.std()) == pytest.approx(1, abs=1e-3)


def test_upsampling_repeats_each_pixel():
    x8, y8 = load_digits(5)
    x16, y16 = load_digits(5, image_size=16)
    assert x16.shape == (5, 1, 16, 16)
    assert torch.equal(x16, x8.repeat_interleave(2, 2).repeat_interleave(2, 3))
    assert torch.equal(y8, y16)


# --------------------------------------------------------------------------- the recipe


def test_digits_spec_is_the_papers_cifar_network_with_one_input_channel():
    spec = digits_spec(56)
    assert dataclasses.replace(spec, in_channels=3) == preset("resnet56")
    assert spec.in_channels == 1
    assert spec.num_classes == 10
    assert spec.depth == 56
    assert digits_spec(20, skip=False) == dataclasses.replace(digits_spec(20), skip=False)
    with pytest.raises(SpecError, match="6n"):
        digits_spec(21)


def test_learning_rate_warms_up_linearly_then_decays_to_zero():
    total, warm = 160, 32
    rates = [learning_rate(s, total, warm, 0.1) for s in range(total)]
    # During warm-up: (s + 1) / warm of the cosine's value.
    for s in (0, 10, 31):
        cosine = 0.5 * (1 + math.cos(math.pi * s / total))
        assert rates[s] == pytest.approx(0.1 * (s + 1) / warm * cosine)
    assert max(rates) == pytest.approx(rates[31])
    assert max(rates) < 0.1
    assert all(a >= b for a, b in itertools.pairwise(rates[31:]))
    assert rates[-1] < 1e-4
    assert learning_rate(0, total, 0, 0.1) == pytest.approx(0.1)


def old_learning_rate(step: int, total_steps: int, warmup_steps: int, lr: float) -> float:
    """The schedule the shipped curves and the lesion pair were trained with, as it was written
    when they were made (set by hand on every parameter group before each step)."""
    warm = min(1.0, (step + 1) / warmup_steps) if warmup_steps > 0 else 1.0
    return lr * warm * 0.5 * (1.0 + math.cos(math.pi * step / total_steps))


def scheduled_rates(total: int, warmup: int, lr: float, groups: int = 2) -> list[list[float]]:
    """The rate of every parameter group at each of ``total`` optimiser steps."""
    params = [torch.nn.Parameter(torch.zeros(1)) for _ in range(groups)]
    optimizer = torch.optim.SGD([{"params": [p]} for p in params], lr=lr, momentum=0.9)
    schedule = WarmupCosine(optimizer, total, warmup)
    rates = []
    for _ in range(total):
        rates.append([group["lr"] for group in optimizer.param_groups])
        optimizer.step()
        schedule.step()
    return rates


@pytest.mark.parametrize(
    ("total", "warmup", "lr"),
    [
        (160, 32, 0.1),  # the shipped curves: 10 epochs of 16 steps, 2 of warm-up
        (315, 42, 0.1),  # the lesion pair: 15 epochs of 21 steps, 2 of warm-up
        (160, 0, 0.1),  # the page's run without warm-up
        (2, 4, 0.1),  # warm-up longer than the run (a short test run)
        (37, 5, 0.0371),
    ],
)
def test_scheduler_gives_exactly_the_old_rate_at_every_step(total, warmup, lr):
    rates = scheduled_rates(total, warmup, lr)
    for step, per_group in enumerate(rates):
        expected = old_learning_rate(step, total, warmup, lr)
        assert per_group == [expected, expected], step  # bit for bit, not approximately
        assert learning_rate(step, total, warmup, lr) == expected


def test_scheduler_refuses_a_run_without_steps():
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    with pytest.raises(ValueError, match="total_steps"):
        WarmupCosine(optimizer, 0, 0)
    with pytest.raises(ValueError, match="warmup_steps"):
        WarmupCosine(optimizer, 10, -1)


def test_machine_description_names_the_cpu_kernels(monkeypatch):
    capability = torch.backends.cpu.get_cpu_capability()
    for name in KERNEL_ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    description = machine_description()
    assert description.endswith(f", {capability}")
    assert f"{os.cpu_count()} CPUs" in description
    assert kernel_environment() == {}
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    assert machine_description() == f"{description}, oneDNN max AVX2"
    assert kernel_environment() == {"ONEDNN_MAX_CPU_ISA": "AVX2"}


def test_curve_names_order():
    assert curve_names((20, 56)) == DEFAULT_NAMES
    assert curve_names((32,)) == ["plain-32", "resnet-32"]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"depths": (21,)}, "6n"),
        ({"depths": ()}, "at least one"),
        ({"depths": (20, 20)}, "once"),
        ({"epochs": 0}, "epochs"),
        ({"train_images": DIGITS_COUNT + 1}, "train_images"),
        ({"eval_images": 200, "train_images": 100}, "eval_images"),
        ({"image_size": 4}, "image_size"),
        ({"lr": float("nan")}, "lr"),
        ({"warmup_epochs": 5, "epochs": 2}, "warmup_epochs"),
    ],
)
def test_bad_settings_are_refused(kwargs, match):
    with pytest.raises(SpecError, match=match):
        train_curves(**kwargs)


# --------------------------------------------------------------------------- a short run


@pytest.fixture(scope="module")
def short_run():
    calls, fractions = [], []
    curves = train_curves(
        **SHORT,
        on_epoch=lambda name, epoch, error: calls.append((name, epoch, error)),
        progress=lambda fraction, message: fractions.append((fraction, message)),
    )
    return curves, calls, fractions


def test_short_run_shape_and_values(short_run):
    curves, _, _ = short_run
    assert list(curves) == ["plain-8", "plain-14", "resnet-8", "resnet-14"]
    for values in curves.values():
        assert len(values) == SHORT["epochs"]
        for v in values:  # a fraction of the 64 evaluated images
            assert 0 <= v <= 1
            assert (v * SHORT["eval_images"]).is_integer()


def test_short_run_is_reproducible(short_run):
    curves, _, _ = short_run
    assert train_curves(**SHORT) == curves
    assert train_curves(**{**SHORT, "seed": 1}) != curves


def test_callbacks_stream_the_curves_in_lockstep(short_run):
    curves, calls, fractions = short_run
    names = list(curves)
    expected = [(n, e, curves[n][e - 1]) for e in (1, 2) for n in names]
    assert calls == expected
    values = [f for f, _ in fractions]
    assert values[0] == 0
    assert values[-1] == pytest.approx(1)
    assert values == sorted(values)
    assert "Epoch 2/2: resnet-14" in fractions[-1][1]


def test_the_callers_rng_and_threads_are_untouched():
    threads = torch.get_num_threads()
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    train_curves(**{**SHORT, "depths": (8,), "epochs": 1, "warmup_epochs": 1})
    assert torch.equal(torch.rand(3), expected)
    assert torch.get_num_threads() == threads


def test_overlapping_thread_users_restore_the_setting():
    """Two sessions overlapping (A enters, B enters, A leaves, B leaves) leave the process at
    its original thread count, which a plain save/restore would not."""
    original = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()

        def a():
            with intra_op_threads(1):
                a_in.set()
                b_in.wait(5)
            a_out.set()

        def b():
            a_in.wait(5)
            with intra_op_threads(1):
                b_in.set()
                a_out.wait(5)

        threads = [threading.Thread(target=a), threading.Thread(target=b)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(original)


# --------------------------------------------------------------------------- the shipped curves


def test_shipped_record_was_made_with_the_defaults():
    record = degradation_record()
    assert record["format"] == CURVES_FORMAT
    settings = {**dataclasses.asdict(DEFAULTS), "depths": list(DEFAULTS.depths)}
    assert record["settings"] == settings
    assert list(record["curves"]) == DEFAULT_NAMES
    for values in record["curves"].values():
        assert len(values) == DEFAULTS.epochs
        assert all((v * DEFAULTS.eval_images).is_integer() for v in values)
    assert record["threads"] == 1
    assert record["wall_seconds"] > 0
    for key in ("date", "machine", "load_average", "torch"):
        assert record[key]
    assert degradation_curves() == record["curves"]


def assert_degradation(curves: dict[str, list[float]]) -> None:
    """He et al. 2015, Fig. 6 at the end of training: the deeper plain network trains worse
    than the shallower one; the deeper ResNet does not, and beats the deeper plain one."""
    final = {name: values[-1] for name, values in curves.items()}
    assert final["plain-56"] > final["plain-20"] + 0.3, final
    assert final["resnet-56"] <= final["resnet-20"] + 0.02, final
    assert final["resnet-56"] < final["plain-56"] - 0.3, final
    assert final["plain-20"] < 0.05, final  # both shallow networks learned
    assert final["resnet-20"] < 0.05, final


def test_shipped_record_says_which_kernels_computed_it():
    record = degradation_record()
    assert set(record["environment"]) <= set(KERNEL_ENVIRONMENT)
    capabilities = {"DEFAULT", "AVX2", "AVX512", "ZVECTOR", "VSX", "SVE128", "SVE256"}
    assert capabilities & set(record["machine"].split(", ")), record["machine"]


def test_writer_stores_the_record_the_readers_read(tmp_path, monkeypatch):
    """The writer with a tiny stand-in for the training: format, settings, provenance."""
    from resnet_viz.experiments import degradation as writer

    curves = {name: [0.5] * DEFAULTS.epochs for name in DEFAULT_NAMES}
    monkeypatch.setattr(writer, "train_curves", lambda **kwargs: curves)
    monkeypatch.setenv("ATEN_CPU_CAPABILITY", "default")
    path = tmp_path / "sub" / "curves.json"
    record = write_degradation_curves(path, quiet=True)
    assert degradation_record(path) == record
    assert degradation_curves(path) == curves
    assert record["settings"] == degradation_record()["settings"]
    assert record["environment"] == {"ATEN_CPU_CAPABILITY": "default"}
    assert record["machine"] == machine_description()
    assert record["torch"] == torch.__version__


def test_shipped_curves_show_the_degradation():
    assert_degradation(degradation_curves())


def test_shipped_record_is_plain_json(tmp_path):
    record = degradation_record()
    path = tmp_path / "curves.json"
    path.write_text(json.dumps(record))
    assert degradation_curves(path) == record["curves"]
    path.write_text(json.dumps({**record, "format": "other/1"}))
    with pytest.raises(ValueError, match=CURVES_FORMAT):
        degradation_curves(path)


def kernel_differences(recorded: dict, fresh: dict) -> list[str]:
    """What differs between two records' kernel settings: the parts of their machine
    descriptions (architecture, CPU count, CPU model, torch's CPU capability, a oneDNN cap) that
    only one has, and their torch builds."""
    ours, theirs = recorded["machine"].split(", "), fresh["machine"].split(", ")
    differences = []
    if ours != theirs:
        only_recorded = ", ".join(p for p in ours if p not in theirs) or "-"
        only_here = ", ".join(p for p in theirs if p not in ours) or "-"
        differences.append(f"machine: recorded {only_recorded}, this run {only_here}")
    if recorded["torch"] != fresh["torch"]:
        differences.append(f"torch: recorded {recorded['torch']}, this run {fresh['torch']}")
    return differences


def test_kernel_differences_name_each_differing_setting():
    recorded = {"machine": "x86_64, 2 CPUs, AMD EPYC, AVX2, oneDNN max AVX2", "torch": "2.1"}
    assert kernel_differences(recorded, recorded) == []
    fresh = {"machine": "x86_64, 16 CPUs, Intel Xeon, AVX2, oneDNN max AVX2", "torch": "2.2"}
    assert kernel_differences(recorded, fresh) == [
        "machine: recorded 2 CPUs, AMD EPYC, this run 16 CPUs, Intel Xeon",
        "torch: recorded 2.1, this run 2.2",
    ]


@pytest.mark.slow
def test_the_default_run_reproduces_the_shipped_record_with_its_kernel_settings(tmp_path):
    """The command that wrote the shipped curves, run again with the kernel settings the record
    names (its ``environment``: e.g. AVX2 kernels on an AVX-512 machine), about 45-70 s on the
    project's 2-core machine. Its curves show the degradation on any machine; where the fresh
    record's machine description and torch build equal the shipped one's, every number must be
    equal too. Elsewhere float kernels differ, nothing can be compared bitwise, and the test
    skips, naming each setting that differs."""
    record = degradation_record()
    out = tmp_path / "curves.json"
    run_tool("resnet_viz.experiments.degradation", out, record["environment"])
    fresh = degradation_record(out)
    assert fresh["settings"] == record["settings"]
    assert fresh["environment"] == record["environment"]
    assert_degradation(fresh["curves"])
    differences = kernel_differences(record, fresh)
    if differences:
        pytest.skip("no bitwise match possible: " + "; ".join(differences))
    assert fresh["curves"] == record["curves"]
