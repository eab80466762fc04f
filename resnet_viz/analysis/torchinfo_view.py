"""torchinfo's summary of a network, run on a private weightless copy, and its totals set
beside the analytic summary's.

torchinfo (github.com/TylerYep/torchinfo) prints the table people know from notebooks: every
module with its output size, parameters and mult-adds, found by hooks during one forward pass.
:mod:`resnet_viz.core.summary` computes the same numbers without building anything; running
torchinfo on the network the page shows lets a reader check them.

torchinfo moves the model it is given to its ``device``, registers hooks on it and keeps it in
its result, so it never gets a model someone else uses: :func:`torchinfo_report` builds a fresh
one from the spec on PyTorch's meta device (tensors with shapes and no storage). The forward
pass then computes shapes only, so no weights or activations are allocated at any depth or
input size, and the memory budget has nothing to guard; the input is made on the meta device
too, since torchinfo would otherwise draw a random input of that size on the CPU. The weights'
values never matter here: a checkpoint's network is its spec built afresh.

torch and torchinfo are imported inside :func:`torchinfo_report` only: the architecture page
imports no torch until someone asks for this summary.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..core.presets import PRESETS, spec_label
from ..core.spec import ResNetSpec
from ..core.summary import Summary
from ..errors import UserError

#: torchinfo's columns, as a notebook asks for them (and ``bench/summary_vs_torchinfo.py``).
COLUMNS = ("output_size", "num_params", "mult_adds")
#: The most residual blocks torchinfo is run for: the deepest preset's (ResNet-1202, 600).
#: torchinfo's time grows faster than the number of modules: about a second for ResNet-152,
#: several for ResNet-1202, most of a minute for 1,500 blocks on one core.
MAX_BLOCKS = max(sum(p.spec.layers) for p in PRESETS.values())


class TorchinfoError(UserError, ValueError):
    """A network or input size torchinfo is not run for, or one its forward pass refused;
    ``str(error)`` says which and what to change."""


@dataclass(frozen=True)
class TorchinfoReport:
    """What ``torchinfo.summary`` printed and its totals, for one network and input."""

    text: str
    input_shape: tuple[int, ...]  # (batch, C, H, W), as torchinfo was given it
    total_params: int
    total_mult_adds: int


def torchinfo_report(
    spec: ResNetSpec, input_size: tuple[int, int, int], batch_size: int = 1
) -> TorchinfoReport:
    """``torchinfo.summary`` of the network ``spec`` describes at ``input_size`` (C, H, W), with
    :data:`COLUMNS`, on a private model built on the meta device.

    Raises:
        TorchinfoError: for a network deeper than :data:`MAX_BLOCKS` blocks, or an input the
            network's forward pass does not take (the cause's first line is in the message).
    """
    blocks = sum(spec.layers)
    if blocks > MAX_BLOCKS:
        deepest = max(PRESETS.values(), key=lambda p: sum(p.spec.layers))
        raise TorchinfoError(
            f"torchinfo lists every module one by one, so it is run here for networks of up to "
            f"{MAX_BLOCKS:,} blocks ({deepest.label}); this one has {blocks:,}. The table above "
            "has every layer of it, computed without torchinfo."
        )
    import torch
    import torchinfo

    from ..core.build import build_model

    shape = (batch_size, *input_size)
    model = build_model(spec, device="meta")  # private and weightless: see the module's text
    try:
        stats = torchinfo.summary(
            model,
            input_data=torch.empty(shape, device="meta"),
            col_names=COLUMNS,
            verbose=0,
            device="meta",
        )
    except RuntimeError as error:
        cause = error.__cause__ or error  # torchinfo wraps the forward pass's own error
        first_line = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
        size = "×".join(str(d) for d in input_size)
        raise TorchinfoError(
            f"torchinfo could not run {spec_label(spec)} on a {size} input: {first_line}"
        ) from error
    return TorchinfoReport(
        text=str(stats),
        input_shape=shape,
        total_params=int(stats.total_params),
        total_mult_adds=int(stats.total_mult_adds),
    )


@dataclass(frozen=True)
class TotalsComparison:
    """The analytic summary's totals and torchinfo's, for one network and input.

    torchinfo counts a nominal mult-add per BatchNorm parameter per sample (2 per channel: its
    rule for any layer with parameters) where the analytic summary, like torchvision's GFLOPS,
    counts BatchNorm as 0 (:mod:`resnet_viz.core.summary`); :attr:`batchnorm_mult_adds` is that
    amount, so the two agree when ``macs + batchnorm_mult_adds == torchinfo_mult_adds``.
    """

    params: int
    macs: int
    batchnorm_mult_adds: int
    torchinfo_params: int
    torchinfo_mult_adds: int

    @property
    def expected_mult_adds(self) -> int:
        """The analytic MACs counted as torchinfo counts them."""
        return self.macs + self.batchnorm_mult_adds


def compare_totals(summary: Summary, report: TorchinfoReport) -> TotalsComparison:
    """``summary``'s total parameters and MACs beside ``report``'s (the same network and
    input: the caller's to ensure)."""
    bn_params = sum(row.params for row in summary.layers if row.kind == "bn")
    return TotalsComparison(
        params=summary.total_params,
        macs=summary.total_macs,
        batchnorm_mult_adds=summary.batch_size * bn_params,
        torchinfo_params=report.total_params,
        torchinfo_mult_adds=report.total_mult_adds,
    )
