"""The architecture page's overview figure: one SVG, drawn here, with four panels.

1. parameters per stage, 2. MACs per stage (bars, value on each bar), 3. the shape flow (height
in pixels and channels after each stage, one log2 scale), 4. receptive-field growth over every
convolution and pooling layer, against the input size.

Why SVG text rather than a charting library: this figure changes on every click, and plotly.js
took ~0.2 s of browser time per click to redraw the three charts it replaces, four times the
whole round trip of a bare Streamlit page (bench/app_latency.py; bench/README.md, "Architecture
page latency"). A static SVG costs the browser a DOM insert. Hovering a bar or point shows its
exact value (an SVG ``<title>``); the page's table has every number too.
tests/unit/present/test_stage_figure.py reads the numbers back out of the SVG.

Text uses ``currentColor``, so the figure follows the page's light or dark theme; the
downloaded file (:func:`standalone_svg`) sets its own colours and fonts.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from ..core.summary import Summary
from .colours import stage_colour
from .formats import format_count, format_si

# Paul Tol's "bright" red and blue: colour-blind safe, and readable on a light or dark page.
HEIGHT_COLOUR, CHANNELS_COLOUR = "#EE6677", "#4477AA"
RF_LINE_COLOUR, INPUT_LINE_COLOUR = "#BBBBBB", "#999999"
#: Above this many layers the receptive-field panel draws the line alone (ResNet-1202 has 1,203).
DENSE_LAYERS = 400

# Sized so that the figure shows at about its own size in the page's main column (~900 px at
# a 1400 px window), keeping 13 px labels readable rather than scaled down.
_PANEL_W, _PANEL_H = 400, 220  # plotting area of one panel
_LEFT_MARGIN, _TOP_MARGIN, _COLUMN_GAP, _ROW_GAP, _RIGHT_MARGIN = 70, 50, 100, 110, 30
_WIDTH = _LEFT_MARGIN + 2 * _PANEL_W + _COLUMN_GAP + _RIGHT_MARGIN
MIN_WIDTH_PX = 760


@dataclass(frozen=True)
class _Panel:
    """A plotting area: (x, y) is its top-left corner in the figure."""

    x: float
    y: float
    w: float = _PANEL_W
    h: float = _PANEL_H


def _panels() -> tuple[_Panel, _Panel, _Panel, _Panel]:
    x2 = _LEFT_MARGIN + _PANEL_W + _COLUMN_GAP
    y2 = _TOP_MARGIN + _PANEL_H + _ROW_GAP
    return (
        _Panel(_LEFT_MARGIN, _TOP_MARGIN),
        _Panel(x2, _TOP_MARGIN),
        _Panel(_LEFT_MARGIN, y2),
        _Panel(x2, y2),
    )


def nice_ticks(top: float, most: int = 5) -> list[float]:
    """0 and round steps (1, 2, 2.5 or 5 times a power of ten) up to at least ``top``."""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / (most - 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    count = math.ceil(top / step - 1e-9)
    return [i * step for i in range(count + 1)]


def _tick_label(value: float) -> str:
    """Axis ticks: 15000000 -> "15M", 1500000000 -> "1.5G"."""
    if not value:
        return "0"
    number, _, prefix = format_si(value).partition(" ")
    if "." in number:
        number = number.rstrip("0").rstrip(".")
    return number + prefix


def _value_label(value: float) -> str:
    """On a bar: 215808 -> "215.81k"."""
    return format_si(value).replace(" ", "")


def _numbers(values: Sequence[int]) -> str:
    """Values for a ``data-values`` attribute (tests read the plotted numbers back from it)."""
    return " ".join(map(str, values))


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


#: What a text element of the figure is unless it says otherwise. Set once on the group that
#: holds the figure (all four are inherited in SVG), so the ~70 labels do not each repeat them:
#: the markup is sent on every click and Streamlit dedents it first (bench/README.md, "Server
#: CPU per click").
TEXT_DEFAULTS = {
    "text-anchor": "middle",
    "font-size": "13",
    "font-weight": "normal",
    "fill": "currentColor",
}


def _attributes(values: dict[str, str]) -> str:
    return "".join(f' {name}="{value}"' for name, value in values.items())


def _text(
    x: float,
    y: float,
    text: str,
    *,
    anchor: str = TEXT_DEFAULTS["text-anchor"],
    size: float = float(TEXT_DEFAULTS["font-size"]),
    weight: str = TEXT_DEFAULTS["font-weight"],
    fill: str = TEXT_DEFAULTS["fill"],
    rotate: bool = False,
) -> str:
    """A label; only the attributes that differ from TEXT_DEFAULTS are written."""
    own = {"text-anchor": anchor, "font-size": f"{size:g}", "font-weight": weight, "fill": fill}
    differing = {name: value for name, value in own.items() if TEXT_DEFAULTS[name] != value}
    transform = f' transform="rotate(-90 {x:.1f} {y:.1f})"' if rotate else ""
    return f'<text x="{x:.1f}" y="{y:.1f}"{_attributes(differing)}{transform}>{_esc(text)}</text>'


def _frame(panel: _Panel, title: str) -> list[str]:
    """The panel's title and its x axis line."""
    return [
        _text(panel.x + panel.w / 2, panel.y - 22, title, size=17, weight="bold"),
        f'<line x1="{panel.x}" y1="{panel.y + panel.h}" x2="{panel.x + panel.w}" '
        f'y2="{panel.y + panel.h}" stroke="currentColor" stroke-opacity="0.5"/>',
    ]


def _y_grid(panel: _Panel, ticks: Sequence[float], to_y, labels: Sequence[str]) -> list[str]:
    parts = []
    for value, label in zip(ticks, labels, strict=True):
        y = to_y(value)
        parts.append(
            f'<line x1="{panel.x}" y1="{y:.1f}" x2="{panel.x + panel.w}" y2="{y:.1f}" '
            'stroke="currentColor" stroke-opacity="0.12"/>'
        )
        parts.append(_text(panel.x - 8, y + 4, label, anchor="end", size=13))
    return parts


def _bars(
    panel: _Panel, title: str, labels: list[str], values: list[int], colours: list[str], what: str
) -> list[str]:
    """One bar per stage, its short value on top, the exact value and share on hover."""
    ticks = nice_ticks(max(values, default=0))
    top = ticks[-1]

    def to_y(v: float) -> float:
        return panel.y + panel.h - panel.h * v / top

    parts = _frame(panel, title)
    parts += _y_grid(panel, ticks, to_y, [_tick_label(t) for t in ticks])
    slot = panel.w / max(len(values), 1)
    total = sum(values) or 1
    for i, (label, value, colour) in enumerate(zip(labels, values, colours, strict=True)):
        x = panel.x + i * slot + slot * 0.15
        y = to_y(value)
        hover = f"{label}: {format_count(value)} {what} ({100 * value / total:.1f} %)"
        parts.append(
            f'<rect class="bar" data-value="{value}" x="{x:.1f}" y="{y:.1f}" '
            f'width="{slot * 0.7:.1f}" height="{panel.y + panel.h - y:.1f}" fill="{colour}">'
            f"<title>{_esc(hover)}</title></rect>"
        )
        parts.append(_text(x + slot * 0.35, y - 5, _value_label(value), size=13))
        parts.append(_text(x + slot * 0.35, panel.y + panel.h + 18, label, size=13))
    return parts


def _shape_flow(panel: _Panel, summary: Summary) -> list[str]:
    """Height (px) and channels at the input and after each stage, on one log2 scale."""
    points = [("Input", summary.input_size[1], summary.input_size[0])]
    points += [(s.label, s.output_shape[2], s.output_shape[1]) for s in summary.stages[:-1]]
    largest = max(max(p[1], p[2]) for p in points)
    top_power = math.ceil(math.log2(largest)) + 1  # headroom for the top point's label

    def to_y(v: float) -> float:
        return panel.y + panel.h - panel.h * math.log2(max(v, 1)) / top_power

    parts = _frame(panel, "Shape flow: spatial size down, channels up")
    step = 2 if top_power > 6 else 1
    ticks = [2**p for p in range(0, top_power + 1, step)]
    parts += _y_grid(panel, ticks, to_y, [str(t) for t in ticks])
    slot = panel.w / len(points)
    xs = [panel.x + slot * (i + 0.5) for i in range(len(points))]
    for i, (label, *_) in enumerate(points):
        parts.append(_text(xs[i], panel.y + panel.h + 18, label, size=13))
    series = (("height (px)", HEIGHT_COLOUR), ("channels", CHANNELS_COLOUR))
    for index, (name, colour) in enumerate(series, start=1):
        values = [p[index] for p in points]
        other = [p[3 - index] for p in points]
        line = " ".join(f"{x:.1f},{to_y(v):.1f}" for x, v in zip(xs, values, strict=True))
        parts.append(
            f'<polyline class="series" data-name="{name}" data-values="{_numbers(values)}" '
            f'points="{line}" fill="none" stroke="{colour}" stroke-width="3"/>'
        )
        for x, v, o, (label, *_) in zip(xs, values, other, points, strict=True):
            y = to_y(v)
            parts.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="5" fill="{colour}">'
                f"<title>{_esc(f'{label}: {name} {v}')}</title></circle>"
            )
            # The label goes on the far side from the other series, so the two never collide.
            dy = -10 if v >= o else 20
            parts.append(_text(x, y + dy, str(v), size=13, fill=colour, weight="bold"))
    legend_y = panel.y + 14  # top left: the input's point sits lower, the channels' line ends right
    for i, (name, colour) in enumerate(series):
        x = panel.x + 12 + i * 120
        parts.append(f'<rect x="{x}" y="{legend_y - 9}" width="14" height="4" fill="{colour}"/>')
        parts.append(_text(x + 18, legend_y - 3, name, anchor="start", size=13))
    return parts


def _receptive_field(panel: _Panel, summary: Summary) -> list[str]:
    """Receptive field after every layer that grows it (convs and pools, shortcuts left out),
    against the input size: once it passes the image, every output sees everything."""
    rows = [
        r for r in summary.layers if r.kind in ("conv", "maxpool") and ".downsample" not in r.name
    ]
    side = max(summary.input_size[1:])
    ticks = nice_ticks(max([side, *(r.receptive_field for r in rows)]))
    top = ticks[-1]

    def to_y(v: float) -> float:
        return panel.y + panel.h - panel.h * v / top

    def to_x(i: int) -> float:
        return panel.x + panel.w * (i + 0.5) / max(len(rows), 1)

    parts = _frame(panel, "Receptive-field growth")
    parts += _y_grid(panel, ticks, to_y, [str(int(t)) for t in ticks])
    x_title = "layer (convolutions and pooling, in order)"
    parts.append(_text(panel.x + panel.w / 2, panel.y + panel.h + 22, x_title, size=13))
    parts.append(
        _text(panel.x - 60, panel.y + panel.h / 2, "receptive field (px)", size=13, rotate=True)
    )
    y_side = to_y(side)
    parts.append(
        f'<line x1="{panel.x}" y1="{y_side:.1f}" x2="{panel.x + panel.w}" y2="{y_side:.1f}" '
        f'stroke="{INPUT_LINE_COLOUR}" stroke-dasharray="6 4"/>'
    )
    # On the left, above the line: the field starts below the input size and ends above it
    # on the right, where a label would sit on the points.
    parts.append(_text(panel.x + 6, y_side - 6, f"input size ({side} px)", anchor="start", size=13))
    values = [r.receptive_field for r in rows]
    line = " ".join(f"{to_x(i):.1f},{to_y(v):.1f}" for i, v in enumerate(values))
    parts.append(
        f'<polyline class="series" data-name="receptive field" '
        f'data-values="{_numbers(values)}" points="{line}" fill="none" '
        f'stroke="{RF_LINE_COLOUR}" stroke-width="1.5"/>'
    )
    if len(rows) < DENSE_LAYERS:
        for i, r in enumerate(rows):
            hover = f"{r.name}: receptive field {r.receptive_field} px, stride {r.effective_stride}"
            parts.append(
                f'<circle cx="{to_x(i):.1f}" cy="{to_y(r.receptive_field):.1f}" r="3.5" '
                f'fill="{stage_colour(r.stage)}"><title>{_esc(hover)}</title></circle>'
            )
    return parts


def stage_figure_svg(summary: Summary, *, text_scale: float = 1.0) -> str:
    """The four panels as one ``<svg>`` element, as wide as its container (never narrower than
    :data:`MIN_WIDTH_PX`, where its labels would be too small to read: a narrow page scrolls it).

    ``text_scale`` enlarges every label (lecture mode uses the page's font scale)."""
    bars_params, bars_macs, flow, rf = _panels()
    labels = [s.label for s in summary.stages]
    colours = [stage_colour(s.name) for s in summary.stages]
    params = [s.params for s in summary.stages]
    macs = [s.macs for s in summary.stages]
    parts = _bars(bars_params, "Parameters per stage", labels, params, colours, "parameters")
    parts += _bars(bars_macs, "MACs per stage", labels, macs, colours, "MACs")
    parts += _shape_flow(flow, summary)
    parts += _receptive_field(rf, summary)
    height = rf.y + rf.h + 45
    body = f"<g{_attributes(TEXT_DEFAULTS)}>{''.join(parts)}</g>"
    if text_scale != 1.0:
        body = _scale_text(body, text_scale)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_WIDTH} {height:.0f}" '
        f'width="100%" role="img" aria-label="Parameters, MACs, shape flow and receptive field '
        f'per stage" style="font-family:inherit;min-width:{MIN_WIDTH_PX}px;'
        f'max-width:{_WIDTH * 1.2:.0f}px">{body}</svg>'
    )


def _scale_text(body: str, factor: float) -> str:
    """Every ``font-size="N"`` times ``factor``."""
    return re.sub(r'font-size="([0-9.]+)"', lambda m: f'font-size="{float(m[1]) * factor:g}"', body)


def standalone_svg(summary: Summary) -> str:
    """The figure as a file for slides: its own fonts, black text on white."""
    svg = stage_figure_svg(summary)
    svg = svg.replace(
        'style="font-family:inherit;',
        'style="font-family:Source Sans Pro,Helvetica,Arial,sans-serif;color:#262730;'
        "background:#ffffff;",
        1,
    )
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + svg
