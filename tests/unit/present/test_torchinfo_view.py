"""The sentence beside torchinfo's summary: "Matches torchinfo" only when both totals agree, and
otherwise each differing total named with both numbers (fabricated totals)."""

from __future__ import annotations

from resnet_viz.analysis.torchinfo_view import TorchinfoReport, TotalsComparison
from resnet_viz.present.torchinfo_view import (
    DIFFERS,
    MATCHES,
    torchinfo_call,
    torchinfo_file_name,
    totals_verdict,
)


def totals(params=1000, macs=5000, bn=40, ti_params=1000, ti_mult_adds=5040) -> TotalsComparison:
    return TotalsComparison(params, macs, bn, ti_params, ti_mult_adds)


def test_equal_totals_match_and_say_how_batchnorm_is_counted():
    verdict = totals_verdict(totals())
    assert verdict.matched
    assert verdict.message.startswith(f"{MATCHES}: total params 1,000 and total mult-adds 5,040")
    assert "5,000 MACs plus the 40 torchinfo adds for BatchNorm" in verdict.message


def test_without_batchnorm_nothing_is_added():
    verdict = totals_verdict(totals(bn=0, ti_mult_adds=5000))
    assert verdict.matched
    assert "BatchNorm" not in verdict.message
    assert "5,000" in verdict.message


def test_the_batchnorm_share_is_not_forgiven_twice():
    """torchinfo's total without the BatchNorm share is a mismatch: the share is counted."""
    verdict = totals_verdict(totals(ti_mult_adds=5000))
    assert not verdict.matched
    assert "total mult-adds 5,040 here" in verdict.message
    assert "5,000 in torchinfo" in verdict.message


def test_a_params_difference_names_the_total_and_both_numbers():
    verdict = totals_verdict(totals(ti_params=999))
    assert not verdict.matched
    assert verdict.message.startswith(f"{DIFFERS}: total params 1,000 here, 999 in torchinfo.")
    assert "mult-adds agree: 5,040" in verdict.message
    assert MATCHES not in verdict.message


def test_both_differences_are_named():
    verdict = totals_verdict(totals(ti_params=1, ti_mult_adds=2))
    assert not verdict.matched
    assert "total params 1,000 here, 1 in torchinfo" in verdict.message
    assert "total mult-adds 5,040 here" in verdict.message
    assert "2 in torchinfo" in verdict.message
    assert "agree" not in verdict.message


def test_the_call_and_the_file_name():
    report = TorchinfoReport("text", (1, 3, 224, 224), 1, 1)
    assert torchinfo_call(report) == (
        "torchinfo.summary(model, input_size=(1, 3, 224, 224), "
        "col_names=('output_size', 'num_params', 'mult_adds'))"
    )
    assert torchinfo_file_name("ResNet-20 (CIFAR)") == "ResNet-20_(CIFAR)_torchinfo.txt"
