"""What the page says and draws about LRP through the skip connections
(:mod:`resnet_viz.analysis.attribution.lrp`): per block, the share of the relevance at the
residual sum that the shortcut and the branch receive, and how far the block conserves it.

The words and their thresholds are defined here once. Percentages are judged as shown
(:data:`PERCENT_DECIMALS` decimals), so a word never contradicts the number printed beside it.
No Streamlit, no torch.
"""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..analysis.attribution.lrp import BlockRelevance, LrpResult
from .colours import REFERENCE_GREY, SERIES_COLOURS
from .figure_layout import titled_layout

#: Shares and errors are shown, and judged, as percentages with this many decimals.
PERCENT_DECIMALS = 1
#: A block (or the whole network) "conserves" relevance while its relative error, as shown,
#: is below this fraction: what comes out at its input is the relevance that went in, to 1 %.
CONSERVED = 0.01
#: A stage's relevance "mostly takes the shortcut" when its blocks' mean shortcut share, as
#: shown, is above this fraction; "mostly the branch" when it is below ``1 - MOST``.
MOST = 0.5

SHORTCUT, BRANCH, EVEN = "the shortcut", "the residual branch", "split evenly"

#: Why relevance is lost or gained in a block (Montavon et al. 2019, Sec. 10.2): the epsilon
#: stabiliser, the biases' share and, for the z+ and alpha-beta rules, what they do not pass.
LOSS_NOTE = (
    "What changes the total on the way down: the stabiliser (a neuron whose inputs nearly "
    "cancel divides by almost zero, which amplifies signed relevance: LRP-epsilon's "
    "instability), the biases' share (the BatchNorm folded into each convolution makes "
    "biases) and rules that pass only positive contributions (z+, alpha-beta)."
)
#: Said with :data:`LOSS_NOTE` when the biases did take relevance.
ZERO_BIAS_HINT = "Giving the biases no relevance removes their share."


def percent(fraction: float) -> float:
    """A fraction as the page prints it, in percent."""
    return round(100 * fraction, PERCENT_DECIMALS)


def _text(fraction: float) -> str:
    return f"{percent(fraction):.{PERCENT_DECIMALS}f} %"


def conserved(error: float) -> bool:
    """True when the relative error, as shown, is below :data:`CONSERVED`."""
    return percent(error) < 100 * CONSERVED


def stage_of(block: str) -> str:
    """``"layer2.1"`` -> ``"2"``."""
    return block.removeprefix("layer").partition(".")[0]


def conservation_sentence(result: LrpResult) -> str:
    """Whether every block conserves relevance (with the worst error), or which do not, and
    how far the pixels' total is from the logit."""
    blocks = result.blocks
    total = (
        f"The pixels' relevance sums to {result.input_relevance:.4g}, the class logit is "
        f"{result.logit:.4g} ({_text(result.conservation_error)} apart"
        f"{'' if conserved(result.conservation_error) else ': not conserved overall'})."
    )
    lost = [b for b in blocks if not conserved(b.conservation_error)]
    if not blocks:
        per_block = ""
    elif not lost:
        worst = max(b.conservation_error for b in blocks)
        per_block = f"Relevance is conserved at every block (worst error {_text(worst)}). "
    else:
        named = ", ".join(f"{b.block} ({_text(b.conservation_error)})" for b in lost)
        per_block = f"Relevance is not conserved at {named}. "
    note = ""
    if lost or not conserved(result.conservation_error):
        note = " " + LOSS_NOTE + ("" if result.zero_bias else " " + ZERO_BIAS_HINT)
    return per_block + total + note


def stage_shortcut_shares(blocks: Sequence[BlockRelevance]) -> dict[str, float]:
    """Each stage's mean shortcut share over its blocks with a skip connection, in forward
    order (a stage of plain blocks only is left out: it has no shortcut)."""
    shares: dict[str, list[float]] = {}
    for block in blocks:
        if block.skip:
            shares.setdefault(stage_of(block.block), []).append(block.shortcut_share)
    return {stage: sum(values) / len(values) for stage, values in shares.items()}


def route_phrase(share: float) -> str:
    """:data:`SHORTCUT` above :data:`MOST`, :data:`BRANCH` below ``1 - MOST``, :data:`EVEN`
    between; judged as shown."""
    shown = percent(share)
    if shown > 100 * MOST:
        return SHORTCUT
    if shown < 100 * (1 - MOST):
        return BRANCH
    return EVEN


def route_sentence(result: LrpResult) -> str:
    """Where most relevance goes at the residual sums, stage by stage."""
    shares = stage_shortcut_shares(result.blocks)
    if not shares:
        return "The network has no skip connections: all relevance goes through the branches."
    clauses = []
    for stage, share in shares.items():
        phrase = route_phrase(share)
        if phrase == EVEN:
            clauses.append(f"in stage {stage} it is {EVEN} ({_text(share)} to the shortcut)")
        else:
            clauses.append(
                f"in stage {stage} most relevance takes {phrase} "
                f"({_text(share)} to the shortcut on average)"
            )
    text = "; ".join(clauses)
    return text[:1].upper() + text[1:] + "."


def lrp_figure(result: LrpResult, class_name: str) -> go.Figure:
    """Per block in forward order: the shortcut's and the branch's share of the relevance at
    the residual sum (stacked bars, in percent; signed relevance can push one below 0 or above
    100), and the block's conservation error with the :data:`CONSERVED` line."""
    names = [b.block for b in result.blocks]
    fig = make_subplots(
        rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.12, row_heights=[0.65, 0.35]
    )
    for label, values, colour in (
        ("shortcut", [percent(b.shortcut_share) for b in result.blocks], SERIES_COLOURS[0]),
        ("residual branch", [percent(b.branch_share) for b in result.blocks], SERIES_COLOURS[1]),
    ):
        fig.add_trace(
            go.Bar(
                x=names, y=values, name=label, marker={"color": colour},
                hovertemplate=f"%{{x}}: {label} %{{y:.{PERCENT_DECIMALS}f}} %<extra></extra>",
            ),
            row=1, col=1,
        )  # fmt: skip
    fig.add_trace(
        go.Bar(
            x=names, y=[percent(b.conservation_error) for b in result.blocks],
            name="conservation error", marker={"color": REFERENCE_GREY}, showlegend=False,
            hovertemplate=f"%{{x}}: error %{{y:.{PERCENT_DECIMALS}f}} %<extra></extra>",
        ),
        row=2, col=1,
    )  # fmt: skip
    fig.add_hline(
        y=100 * CONSERVED, line={"color": REFERENCE_GREY, "dash": "dash", "width": 1}, row=2, col=1
    )
    fig.update_layout(barmode="relative")
    fig.update_yaxes(title_text="share of the relevance (%)", row=1, col=1)
    fig.update_yaxes(title_text="error (%)", rangemode="tozero", row=2, col=1)
    fig.update_xaxes(title_text="block (forward order)", row=2, col=1)
    fig = titled_layout(fig, f"LRP through the skip connections: “{class_name}”", height=460)
    fig.update_layout(showlegend=True, legend={"orientation": "h", "y": -0.25})
    return fig
