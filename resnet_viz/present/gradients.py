"""The gradient-flow page's figures and its plain-language reading of a
:class:`~resnet_viz.analysis.gradients.GradientReport`: only what the numbers on screen show
(every judgement chosen by :mod:`.wording`). No Streamlit calls.
"""

from __future__ import annotations

import math
import statistics

import plotly.graph_objects as go

from ..analysis.gradients import GradientReport
from . import wording
from .colours import PLAIN_COLOUR, REFERENCE_GREY, RESIDUAL_COLOUR, stage_colour
from .figure_layout import log_axis_ticks, titled_layout


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
    titled_layout(fig, "Gradient norm per layer", height=430)
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
    return titled_layout(fig, "How much each block changes its input", height=360)


#: Kept for callers: the threshold lives with the words, in :mod:`.wording`.
CLEAR_DIFFERENCE = wording.CLEAR_DIFFERENCE


def format_factor(x: float) -> str:
    """6213.4 -> "6,213"; 9.6e6 -> "9.6 million"; 14.7 -> "15"; 0.075 -> "0.075"."""
    if not math.isfinite(x):
        return "an infinite" if x > 0 else "an undefined"
    if x >= 1e6:
        return f"{x / 1e6:,.1f} million"
    if x >= 100:
        return f"{x:,.0f}"
    if x >= 10:
        return f"{x:.0f}"
    if x >= 1:
        return f"{x:.1f}"
    return f"{x:.2g}"


def shown(x: float) -> float:
    """The value :func:`format_factor` shows (judgements are made on it, so that they agree
    with the number beside them): 2.04 -> 2.0, 6213.4 -> 6213."""
    text = format_factor(x)
    if not math.isfinite(x):
        return x
    if text.endswith(" million"):
        return float(text.removesuffix(" million").replace(",", "")) * 1e6
    return float(text.replace(",", ""))


def _comparison(plain: float, residual: float) -> list[str]:
    """What the two first/last ratios say, every judgement chosen by :mod:`.wording`."""
    plain, residual = shown(plain), shown(residual)
    against = f"ResNet {format_factor(residual)}×, plain {format_factor(plain)}×"
    for network, ratio, other, other_name in (
        ("plain network", plain, residual, "ResNet's"),
        ("ResNet", residual, plain, "plain network's"),
    ):
        extreme = wording.extreme(ratio, other)
        if extreme is not None:
            if ratio == 0:
                size = "0: its first layer gets no gradient at all"
            elif other == 0:
                size = f"{format_factor(ratio)}× where the {other_name} is 0"
            elif extreme == wording.EXPLODES:
                size = f"{format_factor(ratio / other)}× the {other_name}"
            else:
                size = f"1/{format_factor(other / ratio)} of the {other_name}"
            return [f"So the gradient {extreme} in the {network}: its first/last ratio is {size}."]
    plain_way, resnet_way = wording.direction(plain), wording.direction(residual)
    if plain_way == resnet_way:
        sentence = (
            f"From the last conv layer to the first, in both networks the gradient {plain_way}"
        )
        if plain_way != wording.STEADY:
            more = wording.which_more(residual, plain)
            whose = {1: "the ResNet's", -1: "the plain network's", 0: "each"}[more]
            sentence += f": {whose} {wording.more_phrase(more)} ({against})"
        sentences = [sentence + "."]
    else:
        sentences = [
            f"From the last conv layer to the first, the plain network's gradient {plain_way} "
            f"and the ResNet's {resnet_way}."
        ]
    # Which gradient stays nearer its last layer's size; said whichever network it is.
    more = wording.which_more(plain, residual)
    even = wording.even_phrase(more)
    if more == 0:
        sentences.append(f"The two gradients are {even} across depth ({against}).")
    else:
        whose = "plain network's" if more == -1 else "ResNet's"
        sentences.append(f"The {whose} gradient is {even} across depth ({against}).")
    return sentences


def reading(report: GradientReport, step: int = 0) -> list[str]:
    """Sentences that state what the report's numbers at ``step`` show, and nothing more."""
    residual = report.first_last_ratio("residual", step)
    plain = report.first_last_ratio("plain", step)
    snapshot = report.history[step]
    when = "At initialisation" if step == 0 else f"After {step} SGD step{'s' * (step != 1)}"
    if not (math.isfinite(residual) and math.isfinite(plain)):
        return [
            f"{when}, a gradient norm is infinite or undefined: the loss diverged "
            f"(ResNet loss {snapshot.residual_loss:.3g}, plain loss {snapshot.plain_loss:.3g}). "
            "Try a lower learning rate, fewer steps, or batch normalisation on."
        ]
    sentences = [
        f"{when}, the plain network's first layer gets {format_factor(plain)}× the gradient "
        f"norm of its last conv layer; the ResNet's gets {format_factor(residual)}×."
    ]
    sentences.extend(_comparison(plain, residual))
    ratios = [r for r in snapshot.branch_ratio.values() if math.isfinite(r)]
    if ratios:
        typical = round(statistics.median(ratios), 2)
        sentences.append(
            f"A typical residual block's branch F(x) is {wording.size_phrase(typical)} its input "
            f"(median ||F(x)||/||x|| = {typical:.2f} over {len(ratios)} blocks)."
        )
    if step > 0:
        sentences.append(
            f"Loss on this batch after {step} step{'s' * (step != 1)}: ResNet "
            f"{snapshot.residual_loss:.3f}, plain {snapshot.plain_loss:.3f} (at initialisation: "
            f"{report.history[0].residual_loss:.3f} and {report.history[0].plain_loss:.3f})."
        )
    return sentences
