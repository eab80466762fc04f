"""Plotly figure builders: data in, ``go.Figure`` out, no Streamlit calls.

Pages pass the figures to ``st.plotly_chart``; tests read the figures' data directly.
"""

from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .summary import Summary

# One colour per stage, stable across charts (Plotly's qualitative "Safe" palette: readable on a
# projector and for colour-blind viewers).
STAGE_COLOURS = (
    "#88CCEE", "#CC6677", "#DDCC77", "#117733", "#332288", "#AA4499", "#44AA99", "#999933",
    "#882255", "#661100",
)  # fmt: skip
STEM_COLOUR, HEAD_COLOUR = "#888888", "#444444"


def stage_colour(name: str) -> str:
    if name == "stem":
        return STEM_COLOUR
    if name == "head":
        return HEAD_COLOUR
    return STAGE_COLOURS[(int(name.removeprefix("layer")) - 1) % len(STAGE_COLOURS)]


def _layout(fig: go.Figure, title: str, height: int = 380) -> go.Figure:
    fig.update_layout(
        title=title,
        height=height,
        margin={"l": 10, "r": 10, "t": 60, "b": 10},
        showlegend=False,
        hoverlabel={"namelength": -1},
    )
    return fig


def params_and_macs_by_stage(summary: Summary) -> go.Figure:
    """Two bar charts: where the parameters live, and where the compute goes."""
    labels = [s.label for s in summary.stages]
    colours = [stage_colour(s.name) for s in summary.stages]
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Parameters", "MACs"))
    for col, (values, what) in enumerate(
        (
            ([s.params for s in summary.stages], "parameters"),
            ([s.macs for s in summary.stages], "MACs"),
        ),
        start=1,
    ):
        total = sum(values) or 1
        fig.add_trace(
            go.Bar(
                x=labels,
                y=values,
                marker_color=colours,
                customdata=[100 * v / total for v in values],
                hovertemplate=f"%{{x}}: %{{y:,}} {what} (%{{customdata:.1f}} %)<extra></extra>",
                name=what,
            ),
            row=1,
            col=col,
        )
    fig.update_yaxes(tickformat="~s")
    return _layout(fig, "Parameters and MACs per stage")


def shape_flow(summary: Summary) -> go.Figure:
    """Spatial size goes down while channels go up, stage by stage (log2 scales, ticks at the
    actual values)."""
    points = [("Input", summary.input_size[1], summary.input_size[0])]
    points += [(s.label, s.output_shape[2], s.output_shape[1]) for s in summary.stages[:-1]]
    labels = [p[0] for p in points]
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Height (px)", "Channels"))
    for col, values, colour in (
        (1, [p[1] for p in points], "#CC6677"),
        (2, [p[2] for p in points], "#332288"),
    ):
        fig.add_trace(
            go.Scatter(
                x=labels,
                y=values,
                mode="lines+markers+text",
                text=[str(v) for v in values],
                textposition="top center",
                line={"color": colour, "width": 3},
                hovertemplate="%{x}: %{y}<extra></extra>",
            ),
            row=1,
            col=col,
        )
        ticks = sorted(set(values))
        fig.update_yaxes(
            type="log", tickvals=ticks, ticktext=[str(t) for t in ticks], row=1, col=col
        )
    return _layout(fig, "Shape flow: spatial size down, channels up")


def receptive_field_growth(summary: Summary) -> go.Figure:
    """Receptive field after every layer that grows it (convs and pools), coloured by stage,
    against the input size: once the field exceeds the image, every output sees everything."""
    rows = [
        r for r in summary.layers if r.kind in ("conv", "maxpool") and ".downsample" not in r.name
    ]
    fig = go.Figure(
        go.Scatter(
            x=list(range(1, len(rows) + 1)),
            y=[r.receptive_field for r in rows],
            mode="markers+lines" if len(rows) < 400 else "lines",
            marker={"color": [stage_colour(r.stage) for r in rows], "size": 6},
            line={"color": "#BBBBBB", "width": 1},
            customdata=[[r.name, r.effective_stride] for r in rows],
            hovertemplate=(
                "%{customdata[0]}: receptive field %{y} px, stride %{customdata[1]}<extra></extra>"
            ),
        )
    )
    side = max(summary.input_size[1:])
    fig.add_hline(
        y=side, line_dash="dash", line_color="#999999", annotation_text=f"input size ({side} px)"
    )
    fig.update_xaxes(title_text="layer (convolutions and pooling, in order)")
    fig.update_yaxes(title_text="receptive field (px)")
    return _layout(fig, "Receptive-field growth")
