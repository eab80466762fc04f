"""Colours shared by every chart, defined once, with the measures that keep them readable.

A chart is read on a laptop, on a washed-out projector and in Streamlit's dark theme, by
viewers of whom about 1 in 12 men see red and green alike. So every colour that draws a line
has at least :data:`MIN_LINE_CONTRAST` against both backgrounds, the colours of one chart's
series differ from each other by at least :data:`MIN_DELTA_E`, and each series also has its own
dash and marker (:data:`SERIES_DASHES`, :data:`SERIES_MARKERS`), so that it can be told apart
without colour at all.
"""

from __future__ import annotations

import math
from itertools import cycle, islice

# One colour per stage, stable across charts (Plotly's qualitative "Safe" palette). Stages are
# drawn as filled bars and blocks, not as lines.
STAGE_COLOURS = (
    "#88CCEE", "#CC6677", "#DDCC77", "#117733", "#332288", "#AA4499", "#44AA99", "#999933",
    "#882255", "#661100",
)  # fmt: skip
# Greys that stand out on a light and on a dark page alike.
STEM_COLOUR, HEAD_COLOUR = "#999999", "#666666"

#: The backgrounds a chart is drawn on: Streamlit's light theme (white) and its dark theme's
#: ``backgroundColor`` (#0E1117, Streamlit's theming documentation).
LIGHT_BACKGROUND, DARK_BACKGROUND = "#FFFFFF", "#0E1117"
#: WCAG 2.1 success criterion 1.4.11 (non-text contrast): graphical objects needed to
#: understand content need a contrast ratio of at least 3:1 against adjacent colours.
MIN_LINE_CONTRAST = 3.0
#: Least CIE76 colour difference (Euclidean distance in CIELAB) between two series of one
#: chart. About 2.3 is a just-noticeable difference (Sharma 2003, "Digital Color Imaging
#: Handbook"); 25 keeps two thin lines apart when a projector washes them out.
MIN_DELTA_E = 25.0

#: A qualitative palette for the series of a chart (methods, depths), in the order they are
#: handed out. Each colour passes :data:`MIN_LINE_CONTRAST` on both backgrounds (relative
#: luminance between about 0.12 and 0.30, so no pale yellow, no sky blue, no navy) and any two
#: differ by more than :data:`MIN_DELTA_E`; from Paul Tol's "bright"/"vibrant", Okabe-Ito's
#: and Tableau's palettes (tests/test_chart_colours.py checks both numbers).
SERIES_COLOURS = (
    "#0077BB",  # blue
    "#D62728",  # red
    "#2CA02C",  # green
    "#AB63FA",  # violet
    "#999933",  # olive
    "#009988",  # teal
    "#EE3377",  # magenta
    "#AA4499",  # purple
)
#: Dash and marker per series, handed out with :data:`SERIES_COLOURS`: no two series of up to
#: ``len(SERIES_MARKERS)`` share a marker, whatever their colours look like.
SERIES_DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")
SERIES_MARKERS = (
    "circle", "square", "diamond", "triangle-up", "x", "triangle-down", "star", "pentagon",
)  # fmt: skip
#: Reference lines (a random map, chance): greys that pass :data:`MIN_LINE_CONTRAST` on both
#: backgrounds and stay apart from every series colour.
REFERENCE_GREY, DARK_REFERENCE_GREY = "#888888", "#666666"
#: The ResNet and its plain twin, on every page that compares them.
RESIDUAL_COLOUR, PLAIN_COLOUR = "#117733", "#CC6677"


def stage_colour(name: str) -> str:
    if name == "stem":
        return STEM_COLOUR
    if name == "head":
        return HEAD_COLOUR
    return STAGE_COLOURS[(int(name.removeprefix("layer")) - 1) % len(STAGE_COLOURS)]


def series_styles(count: int) -> list[tuple[str, str, str]]:
    """``count`` (colour, dash, marker) triples, one per series, in palette order."""
    return list(
        islice(zip(cycle(SERIES_COLOURS), cycle(SERIES_DASHES), cycle(SERIES_MARKERS)), count)
    )


def _rgb(colour: str) -> tuple[float, float, float]:
    """``#RRGGBB`` -> sRGB channels in [0, 1]."""
    value = colour.lstrip("#")
    if len(value) != 6:
        raise ValueError(f"expected #RRGGBB, got {colour!r}")
    return tuple(int(value[i : i + 2], 16) / 255 for i in (0, 2, 4))


def _linear(channel: float) -> float:
    # The sRGB transfer function, inverted (IEC 61966-2-1; the WCAG 2.1 definition).
    return channel / 12.92 if channel <= 0.04045 else ((channel + 0.055) / 1.055) ** 2.4


def relative_luminance(colour: str) -> float:
    """WCAG 2.1 relative luminance of ``#RRGGBB``: 0 for black, 1 for white."""
    r, g, b = (_linear(c) for c in _rgb(colour))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(a: str, b: str) -> float:
    """WCAG 2.1 contrast ratio (L1 + 0.05) / (L2 + 0.05), L1 the lighter: 1 to 21."""
    high, low = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def _lab(colour: str) -> tuple[float, float, float]:
    """CIELAB (D65 white) of an sRGB colour."""
    r, g, b = (_linear(c) for c in _rgb(colour))
    xyz = (
        (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047,
        0.2126 * r + 0.7152 * g + 0.0722 * b,
        (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883,
    )
    delta = 6 / 29
    fx, fy, fz = (t ** (1 / 3) if t > delta**3 else t / (3 * delta**2) + 4 / 29 for t in xyz)
    return 116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)


def delta_e(a: str, b: str) -> float:
    """CIE76 colour difference: the Euclidean distance of the two colours in CIELAB."""
    return math.dist(_lab(a), _lab(b))
