"""torchinfo_report: the text torchinfo prints for a real model, run on a weightless private
copy, with totals equal to the analytic summary's for every preset, a timm model and a network
opened from a checkpoint; what it refuses, it says."""

from __future__ import annotations

import dataclasses
import io

import pytest
import timm
import torch
import torchinfo

from resnet_viz import build_model, preset, spec_for_depth, summarize
from resnet_viz.analysis.torchinfo_view import (
    COLUMNS,
    MAX_BLOCKS,
    TorchinfoError,
    compare_totals,
    torchinfo_report,
)
from resnet_viz.core.presets import PRESETS
from resnet_viz.errors import UserError
from resnet_viz.weights import open_checkpoint

FAST = ["resnet18", "resnet20"]


def torchinfo_on(model: torch.nn.Module, input_size, batch: int = 1):
    """torchinfo as a notebook calls it, on a real model on the CPU (the independent run)."""
    return torchinfo.summary(
        model, input_size=(batch, *input_size), col_names=COLUMNS, verbose=0, device="cpu"
    )


def assert_totals_agree(spec, input_size, batch: int = 1):
    report = torchinfo_report(spec, input_size, batch)
    c = compare_totals(summarize(spec, input_size, batch_size=batch), report)
    assert report.input_shape == (batch, *input_size)
    assert c.params == c.torchinfo_params == report.total_params
    assert c.expected_mult_adds == c.torchinfo_mult_adds == report.total_mult_adds
    if spec.batch_norm:
        assert c.batchnorm_mult_adds > 0
    return report


@pytest.mark.parametrize("name", FAST)
def test_fast_presets_totals_equal_the_analytic_summary(name):
    report = assert_totals_agree(PRESETS[name].spec, PRESETS[name].input_size)
    assert f"Total params: {report.total_params:,}" in report.text
    assert "Mult-Adds" in report.text
    assert "Output Shape" in report.text


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n in PRESETS if n not in FAST])
def test_every_preset_totals_equal_the_analytic_summary(name):
    assert_totals_agree(PRESETS[name].spec, PRESETS[name].input_size)


def test_the_weightless_run_prints_what_a_real_model_prints():
    spec, size = preset("resnet18"), (3, 64, 48)
    assert torchinfo_report(spec, size, 2).text == str(torchinfo_on(build_model(spec), size, 2))


def test_a_timm_model_has_the_same_totals():
    """timm's own resnet18d (avg-pool shortcuts, deep stem) is an independent build."""
    size = (3, 64, 64)
    theirs = torchinfo_on(timm.create_model("resnet18d", pretrained=False).eval(), size)
    report = assert_totals_agree(preset("resnet18d"), size)
    assert (report.total_params, report.total_mult_adds) == (
        theirs.total_params,
        theirs.total_mult_adds,
    )


def test_a_network_opened_from_a_checkpoint():
    spec = dataclasses.replace(preset("resnet20"), num_classes=7)
    buffer = io.BytesIO()
    torch.save(build_model(spec).state_dict(), buffer)
    reading, opened = open_checkpoint(buffer.getvalue())
    assert reading.spec == spec
    size = (3, 32, 32)
    report = assert_totals_agree(reading.spec, size)
    # The opened model is this test's own: torchinfo may move and keep it.
    assert report.text == str(torchinfo_on(opened, size))


def test_the_largest_input_runs_without_allocating_it():
    """On the meta device nothing is allocated: a 16,384-pixel side (3 GiB of input alone on
    the CPU) runs, with totals still equal."""
    assert_totals_agree(preset("resnet18"), (3, 16_384, 16_384))


def test_a_network_too_deep_for_torchinfo_is_refused_with_a_message():
    deep = spec_for_depth(6 * (MAX_BLOCKS // 3 + 1) + 2, "cifar")
    assert sum(deep.layers) > MAX_BLOCKS
    with pytest.raises(TorchinfoError, match=f"up to {MAX_BLOCKS:,} blocks") as refused:
        torchinfo_report(deep, (3, 32, 32))
    assert isinstance(refused.value, UserError)
    assert sum(preset("resnet1202").layers) == MAX_BLOCKS  # the deepest preset still runs


def test_an_input_the_network_cannot_take_gets_a_message():
    with pytest.raises(TorchinfoError, match=r"ResNet-18 on a 1×64×64 input: .*channel"):
        torchinfo_report(preset("resnet18"), (1, 64, 64))
