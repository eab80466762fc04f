"""Plotly figure builders: data in, ``go.Figure`` out, no Streamlit calls.

Pages pass the figures to ``st.plotly_chart``; tests read the figures' data directly.
"""

from __future__ import annotations

import plotly.graph_objects as go

from ..core.summary import Summary

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


# The architecture page redraws these three on every control change, so they are built in one
# go.Figure(data, layout) call: plotly validates each update_* call and make_subplots separately,
# and its default template alone costs ~18 ms to validate. st.plotly_chart's default Streamlit
# theme restyles the chart in the browser either way, so "none" loses nothing on the page.
# Together this takes the three figures from ~60-100 ms to ~10 ms (bench/README.md).
_FAST_LAYOUT = {
    "template": "none",
    "margin": {"l": 10, "r": 10, "t": 60, "b": 10},
    "showlegend": False,
    "hoverlabel": {"namelength": -1},
}
# Two side-by-side panels, as make_subplots(rows=1, cols=2) lays them out.
_LEFT, _RIGHT = (0.0, 0.45), (0.55, 1.0)


def _panel_title(text: str, domain: tuple[float, float]) -> dict:
    return {
        "text": text,
        "x": sum(domain) / 2,
        "y": 1.0,
        "xref": "paper",
        "yref": "paper",
        "xanchor": "center",
        "yanchor": "bottom",
        "showarrow": False,
        "font": {"size": 14},
    }


def _fast_figure(traces: list[dict], title: str, height: int = 380, **layout) -> go.Figure:
    return go.Figure(
        data=traces, layout={**_FAST_LAYOUT, "title": {"text": title}, "height": height, **layout}
    )


def _two_panels(titles: tuple[str, str]) -> dict:
    """Layout keys for two panels side by side, each with its own axes and title."""
    return {
        "xaxis": {"domain": _LEFT, "anchor": "y"},
        "yaxis": {"anchor": "x"},
        "xaxis2": {"domain": _RIGHT, "anchor": "y2"},
        "yaxis2": {"anchor": "x2"},
        "annotations": [_panel_title(titles[0], _LEFT), _panel_title(titles[1], _RIGHT)],
    }


def params_and_macs_by_stage(summary: Summary) -> go.Figure:
    """Two bar charts: where the parameters live, and where the compute goes."""
    labels = [s.label for s in summary.stages]
    colours = [stage_colour(s.name) for s in summary.stages]
    traces = []
    for axis, values, what in (
        ("", [s.params for s in summary.stages], "parameters"),
        ("2", [s.macs for s in summary.stages], "MACs"),
    ):
        total = sum(values) or 1
        traces.append(
            {
                "type": "bar",
                "x": labels,
                "y": values,
                "xaxis": f"x{axis}",
                "yaxis": f"y{axis}",
                "marker": {"color": colours},
                "customdata": [100 * v / total for v in values],
                "hovertemplate": f"%{{x}}: %{{y:,}} {what} (%{{customdata:.1f}} %)<extra></extra>",
                "name": what,
            }
        )
    layout = _two_panels(("Parameters", "MACs"))
    layout["yaxis"]["tickformat"] = layout["yaxis2"]["tickformat"] = "~s"
    return _fast_figure(traces, "Parameters and MACs per stage", **layout)


def shape_flow(summary: Summary) -> go.Figure:
    """Spatial size goes down while channels go up, stage by stage (log2 scales, ticks at the
    actual values)."""
    points = [("Input", summary.input_size[1], summary.input_size[0])]
    points += [(s.label, s.output_shape[2], s.output_shape[1]) for s in summary.stages[:-1]]
    labels = [p[0] for p in points]
    layout = _two_panels(("Height (px)", "Channels"))
    traces = []
    for axis, values, colour in (
        ("", [p[1] for p in points], "#CC6677"),
        ("2", [p[2] for p in points], "#332288"),
    ):
        traces.append(
            {
                "type": "scatter",
                "x": labels,
                "y": values,
                "xaxis": f"x{axis}",
                "yaxis": f"y{axis}",
                # No text labels on the points: the ticks already sit at the actual values, and
                # every label costs the browser a text measurement on each redraw.
                "mode": "lines+markers",
                "line": {"color": colour, "width": 3},
                "hovertemplate": "%{x}: %{y}<extra></extra>",
            }
        )
        ticks = sorted(set(values))
        layout[f"yaxis{axis}"].update(type="log", tickvals=ticks, ticktext=[str(t) for t in ticks])
    return _fast_figure(traces, "Shape flow: spatial size down, channels up", **layout)


def receptive_field_growth(summary: Summary) -> go.Figure:
    """Receptive field after every layer that grows it (convs and pools), coloured by stage,
    against the input size: once the field exceeds the image, every output sees everything."""
    rows = [
        r for r in summary.layers if r.kind in ("conv", "maxpool") and ".downsample" not in r.name
    ]
    # Per-point colours only when markers are drawn: with thousands of layers (ResNet-1202)
    # the line alone is readable, and plotly validates every colour string.
    dense = len(rows) >= 400
    trace = {
        "type": "scatter",
        "x": list(range(1, len(rows) + 1)),
        "y": [r.receptive_field for r in rows],
        "mode": "lines" if dense else "markers+lines",
        "line": {"color": "#BBBBBB", "width": 1},
        "customdata": [[r.name, r.effective_stride] for r in rows],
        "hovertemplate": (
            "%{customdata[0]}: receptive field %{y} px, stride %{customdata[1]}<extra></extra>"
        ),
    }
    if not dense:
        trace["marker"] = {"color": [stage_colour(r.stage) for r in rows], "size": 6}
    side = max(summary.input_size[1:])
    input_line = {
        "type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": side, "y1": side,
        "line": {"dash": "dash", "color": "#999999"},
    }  # fmt: skip
    input_label = {
        "text": f"input size ({side} px)", "xref": "paper", "x": 1, "y": side,
        "xanchor": "right", "yanchor": "bottom", "showarrow": False,
    }  # fmt: skip
    return _fast_figure(
        [trace],
        "Receptive-field growth",
        xaxis={"title": {"text": "layer (convolutions and pooling, in order)"}},
        yaxis={"title": {"text": "receptive field (px)"}},
        shapes=[input_line],
        annotations=[input_label],
    )


RESIDUAL_COLOUR, PLAIN_COLOUR = "#117733", "#CC6677"


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
    for label, values, colour in (
        ("ResNet (with skips)", snapshot.residual, RESIDUAL_COLOUR),
        ("Plain twin (no skips)", snapshot.plain, PLAIN_COLOUR),
    ):
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
                line_color="#999999",
                annotation_text=f"Stage {stage.removeprefix('layer')}",
                annotation_position="top right",
            )
        previous = stage
    fig.update_yaxes(type="log", title_text="‖∂loss/∂W‖ (log scale)", exponentformat="power")
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
    fig.add_hline(y=1, line_dash="dash", line_color="#999999", annotation_text="‖F(x)‖ = ‖x‖")
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
