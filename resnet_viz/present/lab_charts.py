"""Plotly figures for the lab experiments (degradation curves, lesion study, path lengths):
data in, ``go.Figure`` out, no Streamlit calls. Same conventions as
:mod:`resnet_viz.present.charts`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..analysis.lesion import LesionResult, path_length_distribution
from .charts import _layout
from .colours import (
    PLAIN_COLOUR,
    REFERENCE_GREY,
    RESIDUAL_COLOUR,
    SERIES_COLOURS,
    SERIES_MARKERS,
)

#: One colour (and marker) per depth, shallow to deep: a plain net and the ResNet of the same
#: depth share them, the line style (dashed: plain) tells them apart.
DEPTH_COLOURS = SERIES_COLOURS
CHANCE_COLOUR = REFERENCE_GREY
#: Height of a line's label in accuracy units (y from 0 to 1.02): a lecture-mode label
#: (18 px type, about 24 px a line) on the lesion chart's plot area (about 330 px of its 540 px).
LABEL_BAND = 0.075
#: The lesion chart's y axis: accuracy from 0 to just above 100 %, so 100 % is not on the edge.
ACCURACY_RANGE = (0.0, 1.02)


def _depth(name: str) -> int:
    return int(name.rsplit("-", 1)[1])


def depth_colours(names: Sequence[str]) -> dict[int, str]:
    """Depth -> colour, shallowest first."""
    depths = sorted({_depth(n) for n in names})
    return {d: DEPTH_COLOURS[i % len(DEPTH_COLOURS)] for i, d in enumerate(depths)}


def depth_markers(names: Sequence[str]) -> dict[int, str]:
    """Depth -> marker symbol, shallowest first (with :func:`depth_colours`)."""
    depths = sorted({_depth(n) for n in names})
    return {d: SERIES_MARKERS[i % len(SERIES_MARKERS)] for i, d in enumerate(depths)}


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


def degradation_figure(
    curves: Mapping[str, Sequence[float]],
    *,
    epochs: int | None = None,
    title: str = "Training error: plain networks (left) vs ResNets (right)",
) -> go.Figure:
    """He et al. 2015, Fig. 6: training error per epoch, plain networks on the left (dashed),
    ResNets on the right (solid), one colour per depth, y in percent.

    ``curves`` maps ``"plain-20"``, ``"resnet-56"``, ... to errors in [0, 1] after epochs
    1, 2, ...; curves may be partial (a run in progress): pass ``epochs`` to fix the x range.
    """
    colours, markers = depth_colours(list(curves)), depth_markers(list(curves))
    fig = make_subplots(
        rows=1, cols=2, shared_yaxes=True, subplot_titles=("Plain networks", "ResNets")
    )
    for name in sorted(curves, key=lambda n: (not n.startswith("plain"), _depth(n))):
        values = list(curves[name])
        plain = name.startswith("plain")
        label = f"{'plain' if plain else 'ResNet'}-{_depth(name)}"
        fig.add_trace(
            go.Scatter(
                x=list(range(1, len(values) + 1)),
                y=values,
                mode="lines+markers",
                name=label,
                line={
                    "color": colours[_depth(name)],
                    "width": 3,
                    "dash": "dash" if plain else "solid",
                },
                marker={"size": 7, "symbol": markers[_depth(name)]},
                hovertemplate=f"{label}, epoch %{{x}}: %{{y:.1%}} training error<extra></extra>",
            ),
            row=1,
            col=1 if plain else 2,
        )
    longest = max((len(v) for v in curves.values()), default=1)
    last = max(epochs or longest, 1)
    fig.update_xaxes(title_text="epoch", range=[0.5, last + 0.5], dtick=1 if last <= 20 else None)
    fig.update_yaxes(tickformat=".0%", range=[0, 1], rangemode="tozero")
    fig.update_yaxes(title_text="training error", row=1, col=1)
    _layout(fig, title, height=420)
    fig.update_layout(showlegend=True, legend={"orientation": "h", "y": -0.2})
    return fig


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
    _layout(fig, "Remove one block: accuracy of what is left", height=430)
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
    return _layout(fig, f"Path lengths in a ResNet with {num_blocks} blocks (2^{num_blocks} paths)")
