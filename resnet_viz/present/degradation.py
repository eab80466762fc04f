"""The degradation experiment presented: the training-error curves of plain and residual networks
by depth, and their plain-language reading (every judgement chosen by :mod:`.wording`). No
Streamlit calls.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from . import wording
from .colours import (
    SERIES_COLOURS,
    SERIES_MARKERS,
)
from .figure_layout import titled_layout

#: One colour (and marker) per depth, shallow to deep: a plain net and the ResNet of the same
#: depth share them, the line style (dashed: plain) tells them apart.
DEPTH_COLOURS = SERIES_COLOURS


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
    titled_layout(fig, title, height=420)
    fig.update_layout(showlegend=True, legend={"orientation": "h", "y": -0.2})
    return fig


#: Kept for callers: the thresholds live with the words, in :mod:`.wording`.
WORSE_BY = wording.ERROR_MARGIN


def _final(curves: Mapping[str, Sequence[float]], name: str) -> float:
    return curves[name][-1]


def degradation_reading(curves: Mapping[str, Sequence[float]]) -> list[str]:
    """Compare the final training errors of the shallow and deep plain nets and ResNets."""
    depths = sorted({int(name.split("-")[1]) for name in curves})
    shallow, deep = depths[0], depths[-1]
    epochs = len(curves[f"plain-{shallow}"])
    # Judged as shown (to 0.1 %), so that the words agree with the numbers beside them.
    p_s, p_d = _final(curves, f"plain-{shallow}"), _final(curves, f"plain-{deep}")
    r_s, r_d = _final(curves, f"resnet-{shallow}"), _final(curves, f"resnet-{deep}")
    p_s, p_d, r_s, r_d = (round(v, 3) for v in (p_s, p_d, r_s, r_d))
    sentences = [
        f"After {epochs} epoch{'s' * (epochs != 1)}, training error: plain-{shallow} {p_s:.1%}, "
        f"plain-{deep} {p_d:.1%}; ResNet-{shallow} {r_s:.1%}, ResNet-{deep} {r_d:.1%}."
    ]
    margin = f"{100 * wording.ERROR_MARGIN:.0f} points"
    plain_word = wording.error_word(p_d, p_s)
    degraded = plain_word == wording.ERROR_WORDS[2]
    if degraded:
        sentences.append(
            f"The deeper plain network does {plain_word} the shallower one on its own training "
            f"data ({p_d:.1%} vs {p_s:.1%}; the threshold is {margin}): that is degradation, not "
            "overfitting."
        )
    else:
        sentences.append(
            f"Here the deeper plain network is {plain_word} the shallower one ({p_d:.1%} vs "
            f"{p_s:.1%}; the threshold is {margin}): no degradation in this run."
        )
    resnet_word = wording.error_word(r_d, r_s)
    if resnet_word != wording.ERROR_WORDS[2]:
        sentences.append(
            f"The deeper ResNet is {resnet_word} the shallower one ({r_d:.1%} vs {r_s:.1%}): "
            "with skip connections, depth did not hurt."
        )
    else:
        sentences.append(
            f"The deeper ResNet {'also ' * degraded}ended {resnet_word} the shallower one "
            f"({r_d:.1%} vs {r_s:.1%}) in this run."
        )
    return sentences
