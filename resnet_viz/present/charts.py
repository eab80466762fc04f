"""Plotly figure builders for the gradient-flow and Grad-CAM pages: data in, ``go.Figure`` out,
no Streamlit calls. (The architecture page's figure is SVG: present/stage_figure.py.)

Pages pass the figures to ``st.plotly_chart``; tests read the figures' data directly.
"""

from __future__ import annotations

import math

import plotly.graph_objects as go

from .colours import PLAIN_COLOUR, REFERENCE_GREY, RESIDUAL_COLOUR, stage_colour

__all__ = [
    "PLAIN_COLOUR",
    "RESIDUAL_COLOUR",
    "branch_ratio_figure",
    "gradient_norms_figure",
    "log_axis_ticks",
    "top_k_figure",
]


def _layout(fig: go.Figure, title: str, height: int = 380) -> go.Figure:
    fig.update_layout(
        title=title,
        height=height,
        margin={"l": 10, "r": 10, "t": 60, "b": 10},
        showlegend=False,
        hoverlabel={"namelength": -1},
    )
    return fig


#: A log axis is labelled at whole decades only once it spans at least this many of them; a
#: narrower one keeps Plotly's own ticks (at one decade or less, decades alone could leave the
#: axis with a single label or none).
MIN_DECADES_FOR_DECADE_TICKS = 2


def log_axis_ticks(values) -> dict:
    """Tick settings for a log axis showing ``values``: one labelled tick per decade (Plotly's
    ``dtick=1`` on a log axis), as 10 to a power, and no minor labels ("2", "5") between them,
    which crowd a projected chart; see :data:`MIN_DECADES_FOR_DECADE_TICKS`."""
    positive = [float(v) for v in values if v > 0 and math.isfinite(v)]
    ticks = {"exponentformat": "power", "showexponent": "all"}
    if not positive:
        return ticks
    low, high = math.log10(min(positive)), math.log10(max(positive))
    decades = math.floor(high) - math.ceil(low) + 1
    if decades >= MIN_DECADES_FOR_DECADE_TICKS:
        ticks.update(dtick=1, minor={"showgrid": False})
    return ticks


def _stage_of(layer: str) -> str:
    head = layer.split(".")[0]
    return head if head.startswith("layer") else ("stem" if layer == "conv1" else "head")


def gradient_norms_figure(report, step: int = 0) -> go.Figure:
    """Gradient norm of every shared main-path layer, residual vs plain twin, log scale, with
    the stage boundaries marked. ``report`` is a
    :class:`~resnet_viz.analysis.gradients.GradientReport`."""
    names = list(report.shared_layers())
    snapshot = report.history[step]
    x = list(range(1, len(names) + 1))
    fig = go.Figure()
    shown = []
    for label, values, colour in (
        ("ResNet (with skips)", snapshot.residual, RESIDUAL_COLOUR),
        ("Plain twin (no skips)", snapshot.plain, PLAIN_COLOUR),
    ):
        shown += [values[n] for n in names]
        fig.add_trace(
            go.Scatter(
                x=x,
                y=[values[n] for n in names],
                mode="lines+markers" if len(names) < 200 else "lines",
                name=label,
                line={"color": colour, "width": 2.5},
                marker={"size": 5},
                customdata=names,
                hovertemplate=f"{label}<br>%{{customdata}}: %{{y:.3g}}<extra></extra>",
            )
        )
    previous = None
    for i, name in enumerate(names, start=1):
        stage = _stage_of(name)
        if stage != previous and stage.startswith("layer"):
            fig.add_vline(
                x=i - 0.5,
                line_dash="dot",
                line_color=REFERENCE_GREY,
                annotation_text=f"Stage {stage.removeprefix('layer')}",
                annotation_position="top right",
            )
        previous = stage
    fig.update_yaxes(type="log", title_text="‖∂loss/∂W‖ (log scale)", **log_axis_ticks(shown))
    fig.update_xaxes(title_text="layer: input (stem conv) → output (fc)")
    _layout(fig, "Gradient norm per layer", height=430)
    fig.update_layout(showlegend=True, legend={"orientation": "h", "y": -0.2})
    return fig


def branch_ratio_figure(report, step: int = 0) -> go.Figure:
    """||F(x)|| / ||x|| of every residual block: how much each block changes its input."""
    ratios = report.history[step].branch_ratio
    names = list(ratios)
    fig = go.Figure(
        go.Bar(
            x=names,
            y=[ratios[n] for n in names],
            marker_color=[stage_colour(_stage_of(n)) for n in names],
            hovertemplate="%{x}: ‖F(x)‖/‖x‖ = %{y:.3g}<extra></extra>",
        )
    )
    fig.add_hline(y=1, line_dash="dash", line_color=REFERENCE_GREY, annotation_text="‖F(x)‖ = ‖x‖")
    fig.update_yaxes(title_text="‖F(x)‖ / ‖x‖")
    fig.update_xaxes(title_text="residual block", showticklabels=len(names) <= 40)
    return _layout(fig, "How much each block changes its input", height=360)


def top_k_figure(top_k: list[tuple[int, float]], categories: list[str], target: int) -> go.Figure:
    """The most probable classes as horizontal bars, the explained class highlighted."""
    labels = [categories[i] if i < len(categories) else f"class {i}" for i, _ in top_k]
    fig = go.Figure(
        go.Bar(
            x=[p for _, p in top_k][::-1],
            y=labels[::-1],
            orientation="h",
            marker_color=[RESIDUAL_COLOUR if i == target else "#AAAAAA" for i, _ in top_k][::-1],
            text=[f"{p:.1%}" for _, p in top_k][::-1],
            textposition="auto",
            hovertemplate="%{y}: %{x:.2%}<extra></extra>",
        )
    )
    fig.update_xaxes(range=[0, 1], tickformat=".0%", title_text="probability")
    return _layout(fig, f"Top {len(top_k)} classes", height=60 + 40 * len(top_k))
