"""What the Layers tab says about torchinfo's summary: whether the analytic totals match it
(the words and their threshold, defined here once), the call that produced it, its file name."""

from __future__ import annotations

from dataclasses import dataclass

from ..analysis.torchinfo_view import COLUMNS, TorchinfoReport, TotalsComparison

#: Totals are whole counts: two agree when they differ by at most this much, i.e. exactly.
MATCH_TOLERANCE = 0
MATCHES = "Matches torchinfo"
DIFFERS = "Differs from torchinfo"


@dataclass(frozen=True)
class TotalsVerdict:
    """Whether both totals agree with torchinfo's, and the sentence that says so."""

    matched: bool
    message: str


def _agree(ours: int, theirs: int) -> bool:
    return abs(ours - theirs) <= MATCH_TOLERANCE


def _mult_adds_parts(c: TotalsComparison) -> str:
    """How the analytic mult-adds are counted torchinfo's way."""
    if c.batchnorm_mult_adds == 0:
        return f"this page's MACs, {c.macs:,}"
    return (
        f"this page's {c.macs:,} MACs plus the {c.batchnorm_mult_adds:,} torchinfo adds for "
        "BatchNorm, 2 per channel per image, which this page counts as 0"
    )


def totals_verdict(c: TotalsComparison) -> TotalsVerdict:
    """``"Matches torchinfo: total params 11,689,512 and total mult-adds 1,814,083,944 (...)."``
    or ``"Differs from torchinfo: total params 11,689,512 here, 11,689,000 in torchinfo."``,
    naming each total that differs with both numbers."""
    params_ok = _agree(c.params, c.torchinfo_params)
    mult_adds_ok = _agree(c.expected_mult_adds, c.torchinfo_mult_adds)
    if params_ok and mult_adds_ok:
        return TotalsVerdict(
            True,
            f"{MATCHES}: total params {c.params:,} and total mult-adds "
            f"{c.expected_mult_adds:,} ({_mult_adds_parts(c)}).",
        )
    differences = []
    if not params_ok:
        differences.append(f"total params {c.params:,} here, {c.torchinfo_params:,} in torchinfo")
    if not mult_adds_ok:
        differences.append(
            f"total mult-adds {c.expected_mult_adds:,} here ({_mult_adds_parts(c)}), "
            f"{c.torchinfo_mult_adds:,} in torchinfo"
        )
    agreed = []
    if params_ok:
        agreed.append(f" Total params agree: {c.params:,}.")
    if mult_adds_ok:
        agreed.append(f" Total mult-adds agree: {c.expected_mult_adds:,}.")
    return TotalsVerdict(False, f"{DIFFERS}: {'; '.join(differences)}.{''.join(agreed)}")


def torchinfo_call(report: TorchinfoReport) -> str:
    """The call that printed ``report``, as a reader would type it."""
    return f"torchinfo.summary(model, input_size={report.input_shape}, col_names={COLUMNS})"


def torchinfo_file_name(label: str) -> str:
    """``"ResNet-50"`` -> ``"ResNet-50_torchinfo.txt"``."""
    return f"{label.replace(' ', '_')}_torchinfo.txt"
