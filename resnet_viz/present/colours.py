"""Colours shared by every chart: one per stage, stable across figures."""

from __future__ import annotations

# One colour per stage, stable across charts (Plotly's qualitative "Safe" palette: readable on a
# projector and for colour-blind viewers).
STAGE_COLOURS = (
    "#88CCEE", "#CC6677", "#DDCC77", "#117733", "#332288", "#AA4499", "#44AA99", "#999933",
    "#882255", "#661100",
)  # fmt: skip
# Greys that stand out on a light and on a dark page alike.
STEM_COLOUR, HEAD_COLOUR = "#999999", "#666666"


def stage_colour(name: str) -> str:
    if name == "stem":
        return STEM_COLOUR
    if name == "head":
        return HEAD_COLOUR
    return STAGE_COLOURS[(int(name.removeprefix("layer")) - 1) % len(STAGE_COLOURS)]
