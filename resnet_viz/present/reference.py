"""Does the network on screen reproduce a published number? (the page's check mark)"""

from __future__ import annotations

from dataclasses import dataclass

from ..core.presets import preset_for
from ..core.summary import Summary


@dataclass(frozen=True)
class ReferenceCheck:
    """The outcome of comparing a summary with its preset's published numbers."""

    matched: bool
    message: str


def check_reference(summary: Summary) -> ReferenceCheck | None:
    """Compare with the preset's reference (torchvision metadata or the paper); None if the spec
    is not a preset. MACs are compared only at the input size the reference used, rounded as
    the reference rounds them (torchvision's GFLOPS have 3 decimals, or 2 when the third is 0)."""
    preset = preset_for(summary.spec)
    if preset is None:
        return None
    params_ok = summary.total_params == preset.reference_params
    at_reference_size = summary.input_size == preset.input_size
    macs_ok = True
    claims = [f"{preset.reference_params:,} parameters"]
    if preset.reference_gmacs is not None and at_reference_size:
        macs_ok = round(summary.total_macs / 1e9, 3) == preset.reference_gmacs
        size = "×".join(str(d) for d in preset.input_size[1:])
        claims.append(f"{preset.reference_gmacs} GMACs at {size}")
    matched = params_ok and macs_ok
    verb = "Matches" if matched else "Does not match"
    return ReferenceCheck(matched, f"{verb} {preset.reference}: {' and '.join(claims)}.")
