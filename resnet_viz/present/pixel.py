"""Pixel attributions presented: the signed picture, the baselines' names, and the reading of
Integrated Gradients' and DeepLift's convergence delta (whether completeness holds, chosen by
:data:`COMPLETE_WITHIN`, defined once here). The absolute view is :mod:`.heatmaps`' overlay,
as for the CAMs. No Streamlit calls.

Completeness (Sundararajan et al. 2017, "Axiomatic Attribution for Deep Networks", ICML,
arXiv:1703.01365, Prop. 1): Integrated Gradients' attributions add up to ``f(x) -
f(baseline)``; a Riemann sum of ``steps`` terms only approximates the integral, and the paper
(Sec. 5) finds 20 to 300 steps enough to come within 5 %. DeepLift's rescale rule sums to the
same difference by construction (summation-to-delta, Shrikumar et al. 2017, arXiv:1704.02685).
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image

__all__ = [
    "ABSOLUTE_NOTE",
    "BASELINE_LABELS",
    "BASELINE_NOTE",
    "COMPLETE",
    "COMPLETE_WITHIN",
    "NOT_COMPLETE",
    "NOT_COMPLETE_MORE_STEPS",
    "PHRASES",
    "SIGNED_NOTE",
    "SIGNED_PERCENTILE",
    "completeness_phrase",
    "completeness_sentence",
    "relative_delta",
    "signed_image",
]

# ------------------------------------------------------------------------- the signed picture

#: The colour scale ends at this percentile of ``|attribution|``: a few extreme pixels would
#: otherwise wash every other pixel out to white (captum's ``visualize_image_attr`` clips the top
#: 2 % the same way, its ``outlier_perc``).
SIGNED_PERCENTILE = 99.0
SIGNED_NOTE = (
    "Signed view: the attribution summed over the colour channels; red pixels raise the class "
    "score, blue ones lower it, white ones do not count (the scale ends at the "
    f"{SIGNED_PERCENTILE:g}th percentile of its size)."
)
ABSOLUTE_NOTE = (
    "Absolute view: the size of the attribution summed over the colour channels, scaled to "
    "[0, 1], as a heatmap over the image like the CAMs."
)


def signed_image(raw: np.ndarray) -> Image.Image:
    """The signed attribution (C x H x W, or H x W) summed over channels as an RGB picture of
    its own size, in matplotlib's diverging ``bwr``: 0 white, positive (raises the class score)
    red, negative blue, fading linearly, symmetric about 0 and saturated at the
    :data:`SIGNED_PERCENTILE` of the absolute values (all white when the attribution is 0)."""
    array = np.asarray(raw, dtype=np.float64)
    if array.ndim == 3:
        array = array.sum(axis=0)
    if array.ndim != 2 or array.size == 0:
        raise ValueError(f"raw must be C x H x W or H x W; got shape {np.shape(raw)}.")
    if not np.isfinite(array).all():
        raise ValueError("raw contains NaN or infinite values.")
    scale = float(np.percentile(np.abs(array), SIGNED_PERCENTILE))
    if scale == 0:
        scale = float(np.abs(array).max()) or 1.0
    signed = np.clip(array / scale, -1.0, 1.0)
    # bwr computed exactly (a colormap's lookup table would tint 0 by half a step).
    fade = 1.0 - np.abs(signed)  # 1 at 0 (white), 0 at the scale's end (pure red or blue)
    red = np.where(signed < 0, fade, 1.0)
    blue = np.where(signed > 0, fade, 1.0)
    rgb = np.stack([red, fade, blue], axis=-1)
    return Image.fromarray(np.rint(255 * rgb).astype(np.uint8))


# ------------------------------------------------------------------------------ the baselines

#: What each baseline of :data:`resnet_viz.analysis.attribution.pixel.BASELINES` is, for a menu.
BASELINE_LABELS = {
    "black": "black image",
    "blurred": "blurred image",
    "noise": "uniform noise",
    "mean": "dataset mean (a zero tensor)",
}
BASELINE_NOTE = (
    "The baseline is the image that has no evidence, the reference the attributions are "
    "measured from. A zero tensor in normalised space *is* the dataset's mean colour "
    "((mean − mean) / std = 0): the baseline often called “zero” is a flat image of the "
    "training set's average colour, not a black one."
)


# ------------------------------------------------------------------------------- completeness

#: Completeness holds when ``|delta|`` is at most this fraction of ``|f(x) - f(baseline)|``:
#: the paper's "within 5 %" (Sundararajan et al. 2017, Sec. 5).
COMPLETE_WITHIN = 0.05
COMPLETE = "complete"
#: Integrated Gradients: a finer Riemann sum closes the gap.
NOT_COMPLETE_MORE_STEPS = "not complete: more steps"
#: DeepLift has no steps: a gap comes from a nonlinearity its rescale rule does not cover.
NOT_COMPLETE = "not complete"
#: Every phrase :func:`completeness_phrase` can return.
PHRASES = frozenset([COMPLETE, NOT_COMPLETE_MORE_STEPS, NOT_COMPLETE])


def relative_delta(delta: float, difference: float) -> float:
    """``|delta| / |difference|``: 0 when both are 0, +inf when only the difference is 0."""
    if delta == 0:
        return 0.0
    if difference == 0:
        return math.inf
    return abs(delta) / abs(difference)


def completeness_phrase(delta: float, difference: float, *, has_steps: bool = True) -> str:
    """:data:`COMPLETE` when ``|delta| <= COMPLETE_WITHIN * |difference|``; otherwise
    :data:`NOT_COMPLETE_MORE_STEPS` (``has_steps``: Integrated Gradients) or
    :data:`NOT_COMPLETE` (DeepLift). A NaN delta is not complete."""
    if relative_delta(delta, difference) <= COMPLETE_WITHIN:
        return COMPLETE
    return NOT_COMPLETE_MORE_STEPS if has_steps else NOT_COMPLETE


def _number(value: float) -> str:
    return f"{value:.3f}"


def completeness_sentence(total: float, delta: float, *, has_steps: bool = True) -> str:
    """The line under an Integrated Gradients or DeepLift map, from the sum of its attributions
    and its delta (``total - (f(x) - f(baseline))``): "sum of attributions 1.234 vs f(x) -
    f(baseline) 1.240: delta -0.006 (0.5 %): complete"."""
    difference = total - delta
    relative = relative_delta(delta, difference)
    share = "f(x) - f(baseline) is 0" if math.isinf(relative) else f"{100 * relative:.1f} %"
    phrase = completeness_phrase(delta, difference, has_steps=has_steps)
    return (
        f"sum of attributions {_number(total)} vs f(x) - f(baseline) {_number(difference)}: "
        f"delta {_number(delta)} ({share}): {phrase}"
    )
