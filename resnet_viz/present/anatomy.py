"""A residual block opened, presented: its feature maps, how much the branch changes each channel
and each block, and the plain-language reading (every judgement chosen by :mod:`.wording`). No
Streamlit calls.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..analysis.anatomy import BlockAnatomy
from . import wording
from .colours import PLAIN_COLOUR, RESIDUAL_COLOUR
from .figure_layout import titled_layout

FEATURE_SCALE = "RdBu"


def feature_grid_figure(
    rows: Sequence[tuple[str, np.ndarray, Sequence[int]]], *, title: str
) -> go.Figure:
    """Feature maps in a grid: one row per ``(label, maps C x H x W, channels to show)``, one
    column per shown channel, one symmetric colour scale per row (its largest |value|), so a
    row's maps compare with each other and F(x) is not drawn on x's scale."""
    columns = max(len(channels) for _, _, channels in rows)
    titles = []
    for label, _, channels in rows:
        titles += [f"{label} · ch {c}" for c in channels] + [""] * (columns - len(channels))
    fig = make_subplots(
        rows=len(rows), cols=columns, subplot_titles=titles, horizontal_spacing=0.01,
        vertical_spacing=0.06,
    )  # fmt: skip
    step = 1 / len(rows)
    for r, (label, maps, channels) in enumerate(rows, start=1):
        axis = "coloraxis" if r == 1 else f"coloraxis{r}"
        shown = np.asarray(maps)[list(channels)]
        scale = float(np.abs(shown).max()) or 1.0
        for c, channel in enumerate(channels, start=1):
            fig.add_trace(
                go.Heatmap(
                    z=maps[channel], coloraxis=axis,
                    hovertemplate=f"{label}, channel {channel}<br>row %{{y}}, column %{{x}}: "
                    "%{z:.3f}<extra></extra>",
                ),
                row=r, col=c,
            )  # fmt: skip
        fig.update_layout(
            {
                axis: {
                    "colorscale": FEATURE_SCALE, "reversescale": True,
                    "cmin": -scale, "cmax": scale,
                    "colorbar": {"title": {"text": label}, "len": step * 0.9,
                                 "y": 1 - (r - 0.5) * step, "yanchor": "middle"},
                }
            }
        )  # fmt: skip
    fig.update_xaxes(showticklabels=False)
    fig.update_yaxes(showticklabels=False, autorange="reversed")
    for annotation in fig.layout.annotations:
        annotation.font = {"size": 11}
    titled_layout(fig, title, height=150 * len(rows) + 80)
    return fig


def channel_ratio_figure(ratio: np.ndarray, block: str) -> go.Figure:
    """||F(x)_c|| / ||shortcut_c|| per output channel, channels the zero-padding added left out."""
    finite = [(c, float(v)) for c, v in enumerate(ratio) if np.isfinite(v)]
    fig = go.Figure(
        go.Bar(
            x=[c for c, _ in finite], y=[v for _, v in finite], marker_color=RESIDUAL_COLOUR,
            hovertemplate="channel %{x}: ‖F(x)‖/‖x‖ = %{y:.3f}<extra></extra>",
        )
    )  # fmt: skip
    fig.add_hline(y=1, line_dash="dot", line_color="#999999")
    fig.update_xaxes(title_text="output channel")
    fig.update_yaxes(title_text="‖F(x)_c‖ / ‖x_c‖", rangemode="tozero")
    titled_layout(fig, f"{block}: how much the branch changes each channel", height=320)
    return fig


def block_ratio_figure(ratios: Mapping[str, float], chosen: str, *, skip: bool) -> go.Figure:
    """||F(x)|| / ||x|| for every block, the chosen one highlighted."""
    names = list(ratios)
    colour = RESIDUAL_COLOUR if skip else PLAIN_COLOUR
    fig = go.Figure(
        go.Bar(
            x=names, y=[ratios[n] for n in names],
            marker_color=[colour if n == chosen else "#BBBBBB" for n in names],
            hovertemplate="%{x}: ‖F(x)‖/‖x‖ = %{y:.3f}<extra></extra>",
        )
    )  # fmt: skip
    fig.add_hline(y=1, line_dash="dot", line_color="#999999")
    fig.update_yaxes(title_text="‖F(x)‖ / ‖x‖", rangemode="tozero")
    titled_layout(fig, "Every block: branch size relative to its input", height=320)
    return fig


def anatomy_reading(anatomy: BlockAnatomy) -> list[str]:
    """What the block does to its input, in words."""
    ratio = anatomy.branch_ratio
    shortcut = {
        "identity": "The shortcut is the identity: x itself is added to F(x).",
        "zero-pad": "The shape changes here: the shortcut takes every second pixel of x and "
        "pads the new channels with zeros (option A).",
        "projection": "The shape changes here: the shortcut is a 1×1 convolution W_s x "
        "(a projection).",
        "pool-projection": "The shape changes here: the shortcut averages 2×2 pixels, then "
        "projects with a 1×1 convolution.",
        "none": "This is a plain block: there is no shortcut, the output is ReLU(F(x)) alone.",
    }[anatomy.shortcut_kind]
    size = wording.size_phrase(round(ratio, 2))  # judged as shown
    return [shortcut, f"‖F(x)‖ / ‖x‖ = {ratio:.2f}: the branch F(x) is {size} its input x."]
