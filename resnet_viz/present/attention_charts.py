"""Plotly figures for the attention workbench (faithfulness curves, the sanity check) and the
receptive-field box drawn on an image: data in, figures and pictures out, no Streamlit calls.
Same conventions as :mod:`resnet_viz.present.charts`.
"""

from __future__ import annotations

from collections.abc import Mapping

import plotly.graph_objects as go
from PIL import Image, ImageDraw
from plotly.subplots import make_subplots

from ..analysis.attribution.cell_field import ReceptiveFieldBox
from ..analysis.attribution.faithfulness import Faithfulness
from ..analysis.attribution.methods import CAM_METHODS, METHOD_LABELS
from ..analysis.attribution.sanity import SanityCheck
from .charts import _layout
from .colours import DARK_REFERENCE_GREY, REFERENCE_GREY, SERIES_COLOURS, series_styles

#: Colour, dash and marker per method, stable across charts (present/colours.py: distinct on
#: a projector, on a dark page and without colour).
METHOD_STYLES = dict(zip(CAM_METHODS, series_styles(len(CAM_METHODS)), strict=True))
METHOD_COLOURS = {name: colour for name, (colour, _, _) in METHOD_STYLES.items()}
#: The reference maps: label, colour, dash, marker (open markers: not one of the methods).
REFERENCE_STYLE = {
    "random": ("random map", REFERENCE_GREY, "dot", "circle-open"),
    "inverted": ("inverted map", DARK_REFERENCE_GREY, "dash", "square-open"),
}


def faithfulness_figure(
    curves: Mapping[str, Faithfulness], references: Mapping[str, Faithfulness], class_name: str
) -> go.Figure:
    """Deletion (left) and insertion (right) curves: the probability of the class against
    the fraction of pixels removed or inserted in each map's order; the reference maps grey,
    with open markers. Each method has its own colour, dash and marker (:data:`METHOD_STYLES`).
    Legend entries carry the AUCs (deletion: lower is better; insertion: higher is better)."""
    fig = make_subplots(
        rows=1, cols=2, shared_yaxes=True,
        subplot_titles=("Deletion (lower is better)", "Insertion (higher is better)"),
    )  # fmt: skip
    fallback = iter(series_styles(len(curves)))  # a method this module does not know
    entries = [(name, METHOD_LABELS.get(name, name), *METHOD_STYLES.get(name, next(fallback)), c)
               for name, c in curves.items()]  # fmt: skip
    entries += [(name, *REFERENCE_STYLE[name], c) for name, c in references.items()]
    for name, label, colour, dash, marker, c in entries:
        panels = ((1, "deletion", c.deletion, c.deletion_auc),
                  (2, "insertion", c.insertion, c.insertion_auc))  # fmt: skip
        for col, which, values, auc in panels:
            fig.add_trace(
                go.Scatter(
                    x=list(c.fractions), y=list(values), mode="lines+markers",
                    name=f"{label} (AUC {c.deletion_auc:.2f} / {c.insertion_auc:.2f})",
                    legendgroup=name, showlegend=col == 1,
                    line={"color": colour, "dash": dash, "width": 2.5},
                    marker={"symbol": marker, "size": 7, "color": colour},
                    hovertemplate=f"{label}, {which}: %{{x:.0%}} of pixels → p = %{{y:.3f}} "
                    f"(AUC {auc:.3f})<extra></extra>",
                ),
                row=1, col=col,
            )  # fmt: skip
    fig.update_xaxes(tickformat=".0%", range=[0, 1], title_text="fraction of pixels")
    fig.update_yaxes(range=[0, 1.02], title_text=f"p({class_name})", row=1, col=1)
    fig = _layout(fig, f"How faithful is each map to the model's “{class_name}”?", height=420)
    fig.update_layout(showlegend=True, legend={"orientation": "h", "y": -0.25})
    return fig


def sanity_figure(check: SanityCheck) -> go.Figure:
    """Rank correlation (and SSIM) between the original map and the map after randomising the
    network from the classifier down to each unit, in cascade order."""
    labels = [s.randomized for s in check.steps]
    hover = [s.label for s in check.steps]
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=labels, y=[s.rank_correlation for s in check.steps], mode="lines+markers",
            name="rank correlation (Spearman)", customdata=hover,
            line={"color": METHOD_COLOURS.get(check.method, SERIES_COLOURS[0]), "width": 3},
            hovertemplate="randomised down to %{customdata}: ρ = %{y:.2f}<extra></extra>",
        )
    )  # fmt: skip
    fig.add_trace(
        go.Scatter(
            x=labels, y=[s.ssim for s in check.steps], mode="lines+markers", name="SSIM",
            customdata=hover, line={"color": REFERENCE_GREY, "dash": "dash", "width": 2},
            hovertemplate="randomised down to %{customdata}: SSIM = %{y:.2f}<extra></extra>",
        )
    )  # fmt: skip
    fig.add_hline(y=0, line={"color": REFERENCE_GREY, "width": 1})
    fig.update_yaxes(range=[-1, 1.05], title_text="similarity to the original map")
    fig.update_xaxes(title_text="randomised from the classifier down to …")
    method = METHOD_LABELS.get(check.method, check.method)
    fig = _layout(fig, f"Sanity check: {method} at {check.layer} as the weights are destroyed")
    fig.update_layout(showlegend=True, legend={"orientation": "h", "y": -0.3})
    return fig


def draw_receptive_field(
    image: Image.Image, box: ReceptiveFieldBox, colour: str = "#00FF66", min_side: int = 256
) -> Image.Image:
    """A copy of ``image`` with the (clipped) receptive-field box and the cell's centre drawn.
    ``image`` must be the picture the model saw (the box is in its pixels); a small one (the
    demo model's 64 px) is first enlarged by a whole factor to at least ``min_side`` so the
    lines stay thin on screen."""
    picture = image.convert("RGB")
    scale = max(1, -(-min_side // max(picture.size)))
    if scale > 1:
        picture = picture.resize((picture.width * scale, picture.height * scale), Image.BILINEAR)
    draw = ImageDraw.Draw(picture)
    width = max(2, round(max(picture.size) / 150))
    left, top = box.left * scale, box.top * scale
    right, bottom = box.right * scale - 1, box.bottom * scale - 1
    draw.rectangle((left, top, right, bottom), outline=colour, width=width)
    y, x = ((v + 0.5) * scale - 0.5 for v in box.center)
    r = 2 * width
    draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)
    return picture
