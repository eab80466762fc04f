"""What every Plotly figure of the app shares: its title, size and margins, and log axes that show
decades. Data in, ``go.Figure`` out, no Streamlit calls: pages pass the figures to
``st.plotly_chart`` (through :func:`resnet_viz.ui.lecture.show_chart`); tests read the figures'
data directly. (The architecture page's figure is SVG: :mod:`resnet_viz.present.stage_figure`.)
"""

from __future__ import annotations

import math

import plotly.graph_objects as go


def title_layout(title: str, height: int = 380) -> dict:
    """The layout every figure shares (title, height, margins, no legend, full hover names),
    as a dict to pass to ``go.Figure(..., layout=...)``: built in the constructor, a figure
    costs a fraction of one updated afterwards (plotly validates each update: ~0.7 ms
    against ~5 ms for a bar chart), which a page drawn per student per click pays."""
    return {
        "title": {"text": title},
        "height": height,
        "margin": {"l": 10, "r": 10, "t": 60, "b": 10},
        "showlegend": False,
        "hoverlabel": {"namelength": -1},
    }


def titled_layout(fig: go.Figure, title: str, height: int = 380) -> go.Figure:
    """``fig`` with :func:`title_layout` applied."""
    fig.update_layout(title_layout(title, height))
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
