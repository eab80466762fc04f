"""A plain-language reading of a gradient report: only what the numbers on screen show."""

from __future__ import annotations

import math
import statistics

from ..analysis.gradients import GradientReport

#: A factor between the two networks' first/last ratios this large counts as a clear difference.
CLEAR_DIFFERENCE = 10.0


def format_factor(x: float) -> str:
    """6213.4 -> "6,213"; 9.6e6 -> "9.6 million"; 14.7 -> "15"; 0.075 -> "0.075"."""
    if not math.isfinite(x):
        return "an infinite" if x > 0 else "an undefined"
    if x >= 1e6:
        return f"{x / 1e6:,.1f} million"
    if x >= 100:
        return f"{x:,.0f}"
    if x >= 10:
        return f"{x:.0f}"
    if x >= 1:
        return f"{x:.1f}"
    return f"{x:.2g}"


def _direction(ratio: float) -> str:
    """How a first/last ratio reads; within a factor of 2 of 1 counts as keeping its size."""
    if ratio > 2:
        return "grows toward the input"
    if ratio < 0.5:
        return "shrinks toward the input"
    return "keeps roughly its size"


def reading(report: GradientReport, step: int = 0) -> list[str]:
    """Sentences that state what the report's numbers at ``step`` show, and nothing more."""
    residual = report.first_last_ratio("residual", step)
    plain = report.first_last_ratio("plain", step)
    snapshot = report.history[step]
    when = "At initialisation" if step == 0 else f"After {step} SGD step{'s' * (step != 1)}"
    if not (math.isfinite(residual) and math.isfinite(plain)):
        return [
            f"{when}, a gradient norm is infinite or undefined: the loss diverged "
            f"(ResNet loss {snapshot.residual_loss:.3g}, plain loss {snapshot.plain_loss:.3g}). "
            "Try a smaller learning rate, fewer steps, or batch normalisation on."
        ]
    sentences = [
        f"{when}, the plain network's first layer gets {format_factor(plain)}× the gradient "
        f"norm of its last conv layer; the ResNet's gets {format_factor(residual)}×."
    ]
    factor = plain / residual if residual > 0 else math.inf
    if factor >= CLEAR_DIFFERENCE and plain >= CLEAR_DIFFERENCE:
        sentences.append(
            f"So the gradient explodes toward the input in the plain network: it grows "
            f"{format_factor(factor)}× more from the last layer to the first than in the ResNet."
        )
    elif factor <= 1 / CLEAR_DIFFERENCE and plain <= 1 / CLEAR_DIFFERENCE:
        sentences.append(
            f"So the gradient vanishes toward the input in the plain network: it is "
            f"{format_factor(1 / factor)}× weaker at the first layer, relative to the last, "
            "than in the ResNet."
        )
    else:
        sentences.append(
            f"From the last conv layer to the first, the plain network's gradient "
            f"{_direction(plain)} and the ResNet's {_direction(residual)}."
        )
    ratios = [r for r in snapshot.branch_ratio.values() if math.isfinite(r)]
    if ratios:
        typical = statistics.median(ratios)
        share = "less than" if typical < 1 else "more than"
        sentences.append(
            f"A typical residual block's branch F(x) has {format_factor(typical)}× the size of "
            f"its input (median ||F(x)||/||x|| over {len(ratios)} blocks): {share} the identity "
            "path it is added to."
        )
    if step > 0:
        sentences.append(
            f"Loss on this batch after {step} step{'s' * (step != 1)}: ResNet "
            f"{snapshot.residual_loss:.3f}, plain {snapshot.plain_loss:.3f} (at initialisation: "
            f"{report.history[0].residual_loss:.3f} and {report.history[0].plain_loss:.3f})."
        )
    return sentences
