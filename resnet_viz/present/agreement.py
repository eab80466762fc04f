"""What the page says about how far apart the CAM methods' maps are at each stage and block
(:mod:`resnet_viz.analysis.attribution.agreement`): the words and their thresholds, defined
here once, and the reading, one sentence per stage and the explanation where the maps coincide.

Correlations are judged as shown (:data:`DECIMALS` decimals), so the word never contradicts the
number printed beside it. No Streamlit, no torch; the figure is Plotly's (:func:`agreement_figure`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..analysis.attribution.agreement import DEFAULT_METHODS, LayerAgreement, MethodAgreement
from .colours import REFERENCE_GREY, SERIES_COLOURS, series_styles
from .figure_layout import titled_layout

#: Correlations are shown, and judged, with this many decimals.
DECIMALS = 3
#: From this Pearson correlation up, two maps are "the same map" (differences invisible).
SAME = 0.99
#: From this correlation up (and below :data:`SAME`), "close": same hot spots, other weights.
CLOSE = 0.9
SAME_MAP, CLOSE_MAPS, DIFFERENT_MAPS = "the same map", "close", "different"
#: A constant map (blank, or 1 x 1) has no pattern: its correlation is undefined.
NOT_COMPARABLE = "not comparable (a map is constant)"

#: Below this spatial variation (share of the gradient's norm, see the analysis module) the
#: class score's gradient is "constant over positions".
CONSTANT_GRADIENT = 0.01
#: The variation is shown, and judged, as a percentage with this many decimals.
PERCENT_DECIMALS = 1
CONSTANT, VARIES, ZERO_GRADIENT = (
    "constant over positions",
    "varies over positions",
    "zero everywhere",
)

#: Every phrase a function here can return.
PHRASES = frozenset(
    [SAME_MAP, CLOSE_MAPS, DIFFERENT_MAPS, NOT_COMPARABLE, CONSTANT, VARIES, ZERO_GRADIENT]
)


def shown(value: float) -> float:
    """A correlation as the page prints it (NaN stays NaN)."""
    return value if math.isnan(value) else round(value, DECIMALS)


def percent(variation: float) -> float:
    """A variation as the page prints it, in percent."""
    return round(100 * variation, PERCENT_DECIMALS)


def correlation_phrase(correlation: float) -> str:
    """:data:`SAME_MAP` from :data:`SAME` up, :data:`CLOSE_MAPS` from :data:`CLOSE` up,
    :data:`DIFFERENT_MAPS` below, :data:`NOT_COMPARABLE` for NaN; judged as shown."""
    r = shown(correlation)
    if math.isnan(r):
        return NOT_COMPARABLE
    if r >= SAME:
        return SAME_MAP
    if r >= CLOSE:
        return CLOSE_MAPS
    return DIFFERENT_MAPS


def gradient_phrase(variation: float) -> str:
    """:data:`CONSTANT` below :data:`CONSTANT_GRADIENT`, :data:`ZERO_GRADIENT` for NaN (no
    gradient at all), :data:`VARIES` otherwise; judged as shown (:func:`percent`)."""
    if math.isnan(variation):
        return ZERO_GRADIENT
    return CONSTANT if percent(variation) < 100 * CONSTANT_GRADIENT else VARIES


def layer_verdict(row: LayerAgreement) -> str:
    """The phrase for the pair that agrees least: the maps are only as alike as that pair."""
    return correlation_phrase(row.lowest[1])


def explained(result: MethodAgreement, row: LayerAgreement) -> bool:
    """True where the constant gradient explains the sameness: the maps are the same, the
    gradient is constant, and every method compared is one the algebra covers (Grad-CAM,
    HiResCAM, XGrad-CAM)."""
    return (
        set(result.methods) <= set(DEFAULT_METHODS)
        and layer_verdict(row) == SAME_MAP
        and gradient_phrase(row.gradient_variation) == CONSTANT
    )


def _number(value: float) -> str:
    return "undefined" if math.isnan(value) else f"{shown(value):.{DECIMALS}f}"


def _stage(layer: str) -> str:
    return layer.removeprefix("layer").partition(".")[0]


def _layer_clause(result: MethodAgreement, row: LayerAgreement) -> str:
    (a, b), r = row.lowest
    labels = result.labels
    pair = f"{labels[a]} vs {labels[b]}"
    variation = row.gradient_variation
    gradient = gradient_phrase(variation)
    amount = (
        "" if math.isnan(variation) else f", variation {percent(variation):.{PERCENT_DECIMALS}f} %"
    )
    return (
        f"{row.layer}: {correlation_phrase(r)} (lowest correlation {_number(r)}, {pair}); "
        f"gradient {gradient}{amount}"
    )


def _groups(rows: Iterable[LayerAgreement]) -> dict[str, list[LayerAgreement]]:
    groups: dict[str, list[LayerAgreement]] = {}
    for row in rows:
        groups.setdefault(_stage(row.layer), []).append(row)
    return groups


def explanation(result: MethodAgreement, layers: list[str]) -> str:
    """Why the maps coincide at ``layers`` (those where :func:`explained` holds)."""
    where = ", ".join(layers)
    if set(layers) <= set(result.before_pooling):
        cause = (
            "only global average pooling and a linear layer follow, so d y / d A_kij = "
            "w_ck / (h w) at every position"
        )
    else:
        cause = "as measured"
    return (
        f"At {where} the class score's gradient is {CONSTANT} ({cause}). Grad-CAM's weight, "
        "the mean gradient, is then the gradient itself; HiResCAM's element-wise product sums "
        "to Grad-CAM's map; XGrad-CAM's weight, sum g A / sum A, reduces to g. The formulas "
        f"coincide there, so the methods give {SAME_MAP}."
    )


def agreement_reading(result: MethodAgreement) -> list[str]:
    """One sentence per stage (each layer's verdict on its least-agreeing pair, and the
    gradient's constancy), then the explanation where the maps are the same because the
    gradient is constant, and a caution where they are the same for another reason."""
    names = ", ".join(result.labels.values())
    sentences = [
        f"Stage {stage} ({names}): " + "; ".join(_layer_clause(result, r) for r in rows) + "."
        for stage, rows in _groups(result.layers).items()
    ]
    because = [r.layer for r in result.layers if explained(result, r)]
    if because:
        sentences.append(explanation(result, because))
    covered = set(result.methods) <= set(DEFAULT_METHODS)
    for row in result.layers:
        if layer_verdict(row) != SAME_MAP or explained(result, row):
            continue
        if covered:
            reason = f"although the gradient {gradient_phrase(row.gradient_variation)}"
        else:
            reason = (
                "and the constant-gradient argument covers only Grad-CAM, HiResCAM and XGrad-CAM"
            )
        sentences.append(
            f"At {row.layer} the methods give {SAME_MAP} {reason}: that agreement comes from "
            "this image's activations, not from the formulas."
        )
    return sentences


def agreement_figure(result: MethodAgreement) -> go.Figure:
    """Each pair's Pearson correlation at every stage and block in forward order (a gap where
    it is undefined), with the :data:`SAME` and :data:`CLOSE` lines; below, the class score's
    gradient variation over positions (percent) with the :data:`CONSTANT_GRADIENT` line."""
    names = [row.layer for row in result.layers]
    labels = result.labels
    pairs = list(result.layers[0].pearson) if result.layers else []
    fig = make_subplots(
        rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.12, row_heights=[0.6, 0.4]
    )
    for (a, b), (colour, dash, marker) in zip(pairs, series_styles(len(pairs)), strict=True):
        pair = f"{labels[a]} vs {labels[b]}"
        fig.add_trace(
            go.Scatter(
                x=names, y=[_gap(shown(row.pearson[(a, b)])) for row in result.layers],
                mode="lines+markers", name=pair,
                line={"color": colour, "dash": dash, "width": 3}, marker={"symbol": marker},
                hovertemplate=f"%{{x}}: {pair} r = %{{y:.{DECIMALS}f}}<extra></extra>",
            ),
            row=1, col=1,
        )  # fmt: skip
    for level, text in ((SAME, SAME_MAP), (CLOSE, CLOSE_MAPS)):
        fig.add_hline(
            y=level, line={"color": REFERENCE_GREY, "dash": "dot", "width": 1},
            annotation_text=f"{text} from {level:g}", annotation_position="bottom left",
            row=1, col=1,
        )  # fmt: skip
    fig.add_trace(
        go.Scatter(
            x=names, y=[_gap(percent(row.gradient_variation)) for row in result.layers],
            mode="lines+markers", name="gradient variation", showlegend=False,
            line={"color": SERIES_COLOURS[len(pairs) % len(SERIES_COLOURS)], "width": 2},
            hovertemplate=f"%{{x}}: variation %{{y:.{PERCENT_DECIMALS}f}} %<extra></extra>",
        ),
        row=2, col=1,
    )  # fmt: skip
    fig.add_hline(
        y=100 * CONSTANT_GRADIENT, line={"color": REFERENCE_GREY, "dash": "dash", "width": 1},
        row=2, col=1,
    )  # fmt: skip
    fig.update_yaxes(title_text="Pearson correlation", range=[-1.05, 1.05], row=1, col=1)
    fig.update_yaxes(title_text="gradient variation (%)", rangemode="tozero", row=2, col=1)
    fig.update_xaxes(title_text="stage or block (forward order)", row=2, col=1)
    fig = titled_layout(fig, f"How alike are {', '.join(labels.values())}, layer by layer?",
                        height=480)  # fmt: skip
    fig.update_layout(showlegend=True, legend={"orientation": "h", "y": -0.25})
    return fig


def _gap(value: float) -> float | None:
    """NaN (undefined) as a gap in the line."""
    return None if math.isnan(value) else value
