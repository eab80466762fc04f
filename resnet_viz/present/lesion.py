"""The lesion study presented: accuracy with each block removed, the distribution of path lengths
through a ResNet, and the plain-language reading (every judgement chosen by :mod:`.wording`).
No Streamlit calls.
"""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go

from ..analysis.lesion import LesionResult, path_length_distribution
from . import wording
from .colours import (
    PLAIN_COLOUR,
    REFERENCE_GREY,
    RESIDUAL_COLOUR,
)
from .figure_layout import titled_layout

CHANCE_COLOUR = REFERENCE_GREY
#: Height of a line's label in accuracy units (y from 0 to 1.02): a lecture-mode label
#: (18 px type, about 24 px a line) on the lesion chart's plot area (about 330 px of its 540 px).
LABEL_BAND = 0.075
#: The lesion chart's y axis: accuracy from 0 to just above 100 %, so 100 % is not on the edge.
ACCURACY_RANGE = (0.0, 1.02)


def label_side(
    y: float,
    lines: Sequence[float],
    points: Sequence[float] = (),
    *,
    band: float = LABEL_BAND,
    top: float = ACCURACY_RANGE[1],
) -> str:
    """Which side of a horizontal line at ``y`` its label goes, ``"top"`` or ``"bottom"``: the
    side whose band (``band`` high, from the line up or down) crosses fewer of the other
    horizontal ``lines``, then fewer data ``points`` (the y values drawn under the label), and
    does not leave the axis (``0`` to ``top``); above on a tie. Lines closer than ``band`` on
    both sides leave no free side: the label then takes the less crowded one."""

    def crossings(low: float, high: float) -> tuple[int, int, int]:
        outside = int(low < 0 or high > top + band / 2)
        inside = sum(low <= v <= high for v in lines)
        return inside, outside, sum(low <= v <= high for v in points)

    above, below = crossings(y, y + band), crossings(y - band, y)
    return "bottom" if below < above else "top"


def lesion_figure(
    resnet: LesionResult,
    plain: LesionResult,
    *,
    chance: float | None = None,
    labels: tuple[str, str] = ("ResNet", "Plain twin"),
) -> go.Figure:
    """Veit et al. 2016, Fig. 3: accuracy with each single block removed, ResNet vs its plain
    twin, the intact networks' accuracy as dashed lines (and chance, if given, dotted). Each
    line's label sits on the side of it that no other line crosses (:func:`label_side`)."""
    fig = go.Figure()
    levels = [resnet.baseline, plain.baseline] + ([] if chance is None else [chance])
    pairs = ((resnet, labels[0], RESIDUAL_COLOUR), (plain, labels[1], PLAIN_COLOUR))
    # The labels span about the right (the intact lines') or left (chance) third of the x axis.
    right = [v for result, _, _ in pairs for v in list(result.accuracy.values())[-4:]]
    left = [v for result, _, _ in pairs for v in list(result.accuracy.values())[:4]]

    def side(y: float, points: Sequence[float]) -> str:
        others = list(levels)
        others.remove(y)
        return label_side(y, others, points)

    for result, label, colour in pairs:
        names = list(result.accuracy)
        fig.add_trace(
            go.Scatter(
                x=names,
                y=[result.accuracy[n] for n in names],
                mode="lines+markers",
                name=f"{label}, one block removed",
                line={"color": colour, "width": 3},
                marker={"size": 8},
                hovertemplate=f"{label} without %{{x}}: %{{y:.1%}}<extra></extra>",
            )
        )
        fig.add_hline(
            y=result.baseline,
            line_dash="dash",
            line_color=colour,
            annotation_text=f"{label}, intact: {result.baseline:.1%}",
            annotation_position=f"{side(result.baseline, right)} right",
        )
    if chance is not None:
        fig.add_hline(
            y=chance,
            line_dash="dot",
            line_color=CHANCE_COLOUR,
            annotation_text=f"chance ({chance:.0%})",
            annotation_position=f"{side(chance, left)} left",
        )
    fig.update_yaxes(tickformat=".0%", range=list(ACCURACY_RANGE), title_text="accuracy")
    fig.update_xaxes(title_text="block removed")
    titled_layout(fig, "Remove one block: accuracy of what is left", height=430)
    fig.update_layout(showlegend=True, legend={"orientation": "h", "y": -0.25})
    return fig


def path_length_figure(num_blocks: int) -> go.Figure:
    """Veit et al. 2016, Fig. 6a: how many of the 2^n paths through n residual blocks pass
    through k residual branches (binomial, C(n, k) / 2^n), as a histogram."""
    fractions = path_length_distribution(num_blocks)
    fig = go.Figure(
        go.Bar(
            x=list(range(num_blocks + 1)),
            y=fractions,
            marker_color=RESIDUAL_COLOUR,
            hovertemplate="%{y:.3%} of paths go through %{x} residual branches<extra></extra>",
        )
    )
    fig.update_xaxes(title_text="path length (residual branches on the path)")
    fig.update_yaxes(tickformat=".0%", title_text="fraction of paths")
    return titled_layout(
        fig, f"Path lengths in a ResNet with {num_blocks} blocks (2^{num_blocks} paths)"
    )


HARMLESS = wording.HARMLESS


def lesion_reading(resnet: LesionResult, plain: LesionResult, chance: float) -> list[str]:
    """Summarise what removing single blocks did to each network."""
    drops = resnet.drops
    harmless = [n for n, drop in drops.items() if drop < wording.HARMLESS]
    worst = wording.costliest(drops)
    plain_values = list(plain.accuracy.values())
    costly = " and ".join(
        f"{name} ({resnet.accuracy[name]:.1%}, {100 * drops[name]:.1f} points lost)"
        for name in worst
    )
    which = f"{wording.COSTLIEST} {'is' if len(worst) == 1 else 'are'}"
    sentences = [
        f"Intact, the ResNet gets {resnet.baseline:.1%} and its plain twin {plain.baseline:.1%} "
        f"of the {resnet.num_images} held-out images right.",
        f"Removing any one of {len(plain_values)} blocks leaves the plain network at "
        f"{min(plain_values):.1%} to {max(plain_values):.1%} (chance is {chance:.0%}); mean "
        f"{plain.mean_accuracy:.1%}.",
        f"{len(harmless)} of {len(resnet.accuracy)} single-block lesions cost the ResNet under "
        f"{100 * wording.HARMLESS:.0f} percentage points; {which} {costly}. Mean "
        f"over all lesions: {resnet.mean_accuracy:.1%}.",
    ]
    return sentences
