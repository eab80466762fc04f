"""Plotly figures for the second teaching lab (loss landscapes, effective receptive fields, a
residual block opened): data in, ``go.Figure`` out, no Streamlit calls. Same conventions as
:mod:`resnet_viz.present.charts`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..analysis.landscape import nonconvex_points
from ..analysis.receptive_field import ReceptiveField
from .charts import PLAIN_COLOUR, RESIDUAL_COLOUR, _layout

#: Loss above this is drawn at this height (plain-56's surface reaches 1e8 at the corners).
LOSS_CAP = 1e4
#: Contour lines per decade of loss.
LEVELS_PER_DECADE = 4
LANDSCAPE_SCALE = "Viridis"
#: Not Inferno or Magma: their first stop, #000004, renders as pink in headless Chromium.
ERF_SCALE = "Viridis"
FEATURE_SCALE = "RdBu"
#: What the landscape's height and colour are (analysis/landscape.py: the mean cross-entropy on
#: training images).
LOSS_TITLE = "training loss"
#: The 3-D view labels at most this many decades on its z axis (every other one beyond), none
#: within a decade of the axis's floor, where the corner's α and β labels are: the perspective
#: squeezes them into each other.
MAX_Z_LABELS = 5
#: Camera of the 3-D view, farther than Plotly's default eye (1.25, 1.25, 1.25): at the default
#: a half-width scene clips its own axis labels ("0", "00" for 100 and 1000) at its edges.
#: The eye alone is not enough in a 1280 px window (the z axis's "10000" and title still lost
#: their first letters), so the view's centre also moves toward the far corner, which shifts
#: the drawing right, away from the left edge where the z axis stands.
SURFACE_CAMERA = {
    "eye": {"x": 2.1, "y": 2.1, "z": 1.2},
    "center": {"x": 0.15, "y": 0.15, "z": -0.05},
}


def log_loss(loss: np.ndarray) -> np.ndarray:
    """log10 of the loss, capped at :data:`LOSS_CAP` (and NaN/inf drawn at the cap)."""
    z = np.asarray(loss, dtype=np.float64)
    z = np.where(np.isfinite(z), np.minimum(z, LOSS_CAP), LOSS_CAP)
    return np.log10(np.maximum(z, 1e-12))


def landscape_figure(
    surfaces: Mapping[str, np.ndarray],
    alphas: Sequence[float],
    betas: Sequence[float],
    *,
    view: str = "contour",
    title: str = "Loss landscape",
) -> go.Figure:
    """One panel per surface (name -> loss, len(betas) x len(alphas)), side by side, on one
    colour scale: log10 of the loss (capped at :data:`LOSS_CAP`), as contours or a 3-D surface.
    On the contours the star marks the trained weights (alpha = beta = 0) and a thin x each
    grid point where the surface is not locally convex (the roughness figure's points)."""
    names = list(surfaces)
    zs = {name: log_loss(surfaces[name]) for name in names}
    low = math.floor(min(float(z.min()) for z in zs.values()) * LEVELS_PER_DECADE)
    low /= LEVELS_PER_DECADE
    high = math.log10(LOSS_CAP)
    surface = view == "surface"
    fig = make_subplots(
        rows=1,
        cols=len(names),
        subplot_titles=names,
        specs=[[{"type": "surface" if surface else "xy"}] * len(names)],
        horizontal_spacing=0.04 if surface else 0.08,
    )
    decades = list(range(math.ceil(low), int(high) + 1))
    colorbar = {
        "title": {"text": LOSS_TITLE}, "len": 0.8, "tickvals": decades,
        "ticktext": [f"{10.0**d:g}" for d in decades],
    }  # fmt: skip
    for col, name in enumerate(names, start=1):
        hover = f"{name}<br>α %{{x:.2f}}, β %{{y:.2f}}<br>log₁₀ loss %{{z:.2f}}<extra></extra>"
        common = {
            "x": list(alphas), "y": list(betas), "z": zs[name], "coloraxis": "coloraxis",
            "hovertemplate": hover,
        }  # fmt: skip
        if surface:
            fig.add_trace(go.Surface(**common), row=1, col=col)
        else:
            step = 1 / LEVELS_PER_DECADE
            fig.add_trace(
                go.Contour(**common, contours={"start": low, "end": high, "size": step}),
                row=1,
                col=col,
            )
            rough = nonconvex_points(surfaces[name], alphas, betas)
            rows, cols = np.nonzero(rough)
            fig.add_trace(
                go.Scatter(
                    x=np.asarray(alphas)[cols + 1], y=np.asarray(betas)[rows + 1],
                    mode="markers", marker={"symbol": "x-thin", "size": 6,
                    "line": {"width": 1, "color": "rgba(255,255,255,0.8)"}},
                    hovertemplate="not locally convex here<extra></extra>",
                ),
                row=1, col=col,
            )  # fmt: skip
            fig.add_trace(
                go.Scatter(
                    x=[0], y=[0], mode="markers", marker={"symbol": "star", "size": 14,
                    "color": "white", "line": {"width": 1, "color": "black"}},
                    hovertemplate=f"{name}: the trained weights<extra></extra>",
                ),
                row=1, col=col,
            )  # fmt: skip
            fig.update_xaxes(title_text="α (direction 1)", row=1, col=col)
            fig.update_yaxes(
                title_text="β (direction 2)" if col == 1 else None,
                scaleanchor=f"x{col if col > 1 else ''}",
                row=1,
                col=col,
            )
    fig.update_layout(
        coloraxis={"colorscale": LANDSCAPE_SCALE, "cmin": low, "cmax": high, "colorbar": colorbar}
    )
    _layout(fig, title, height=460)
    if surface:
        clear = [d for d in decades if d >= low + 1] or decades
        every = math.ceil(len(clear) / MAX_Z_LABELS)
        shown = clear[::-every][::-1]  # the cap (the top) always labelled
        scene = {
            "xaxis": {"title": {"text": "α"}}, "yaxis": {"title": {"text": "β"}},
            "zaxis": {"title": {"text": LOSS_TITLE}, "range": [low, high], "tickvals": shown,
                      "ticktext": [f"{10.0**d:g}" for d in shown]},
            "aspectmode": "cube", "camera": SURFACE_CAMERA,
        }  # fmt: skip
        fig.update_layout(**{f"scene{i if i > 1 else ''}": scene for i in range(1, len(names) + 1)})
        # The scenes run to the figure's edges: room on the left for the first z axis's labels.
        fig.update_layout(margin={"l": 40, "r": 10, "t": 60, "b": 10})
    return fig


def _box_shape(box: tuple[int, int, int, int], axis: str, colour: str, dash: str) -> dict:
    top, left, bottom, right = box
    return {
        "type": "rect", "xref": f"x{axis}", "yref": f"y{axis}",
        "x0": left - 0.5, "x1": right + 0.5, "y0": top - 0.5, "y1": bottom + 0.5,
        "line": {"color": colour, "width": 2, "dash": dash},
    }  # fmt: skip


def erf_figure(fields: Mapping[str, ReceptiveField], *, cols: int = 2) -> go.Figure:
    """Effective receptive fields as heatmaps (name -> field), the theoretical field as a
    dashed box and the square holding 95 % of the map's mass as a solid one."""
    names = list(fields)
    rows = math.ceil(len(names) / cols)
    titles = [f"{name}: 95 % in {f.side_95} px of {f.theoretical}" for name, f in fields.items()]
    fig = make_subplots(
        rows=rows, cols=cols, subplot_titles=titles, horizontal_spacing=0.06,
        vertical_spacing=0.12,
    )  # fmt: skip
    shapes = []
    for i, (name, field) in enumerate(fields.items()):
        row, col = divmod(i, cols)
        axis = "" if i == 0 else str(i + 1)
        fig.add_trace(
            go.Heatmap(
                z=field.map, coloraxis="coloraxis",
                hovertemplate=f"{name}<br>row %{{y}}, column %{{x}}: %{{z:.3f}}<extra></extra>",
            ),
            row=row + 1, col=col + 1,
        )  # fmt: skip
        half = (field.side_95 - 1) // 2
        (r0, c0), (height, width) = field.centre, field.map.shape
        inner = (
            max(0, r0 - half), max(0, c0 - half), min(height - 1, r0 + half),
            min(width - 1, c0 + half),
        )  # fmt: skip
        shapes.append(_box_shape(field.box, axis, "#88CCEE", "dash"))
        if field.side_95:
            shapes.append(_box_shape(inner, axis, "#FFFFFF", "solid"))
        fig.update_yaxes(autorange="reversed", scaleanchor=f"x{axis}", row=row + 1, col=col + 1)
        fig.update_xaxes(constrain="domain", row=row + 1, col=col + 1)
    fig.update_layout(
        shapes=shapes,
        coloraxis={"colorscale": ERF_SCALE, "cmin": 0, "cmax": 1,
                   "colorbar": {"title": {"text": "|∂unit/∂x|"}}},
    )  # fmt: skip
    _layout(fig, "Effective receptive field (dashed: theoretical; solid: 95 % of the mass)",
            height=360 * rows + 60)  # fmt: skip
    return fig


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
    _layout(fig, title, height=150 * len(rows) + 80)
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
    _layout(fig, f"{block}: how much the branch changes each channel", height=320)
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
    _layout(fig, "Every block: branch size relative to its input", height=320)
    return fig
