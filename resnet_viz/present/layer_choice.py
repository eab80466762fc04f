"""Which layer should I use? The deletion and insertion AUC of a CAM method's map at every layer
and of the fused map, as a table, a figure against depth and a sentence.

A map's score is insertion AUC minus deletion AUC (:func:`~.cam.combined_score`): high when its
top pixels both carry the class and are needed. The sentence names the best single layer, the
layers tied with it and whether the fused map beats it, each judgement taken from
:mod:`~.wording` (its :data:`~.wording.TIE` on scores as shown to
:data:`~.wording.SCORE_DECIMALS` decimals), so the words never contradict the numbers.

A stage's output is its last block's (``"layer2"`` is ``"layer2.1"``'s tensor): the sentence and
the figure name such a map once, as the stage with its block in brackets. Data in, text, a
``pandas.DataFrame`` or a ``go.Figure`` out; no Streamlit, no torch.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
import plotly.graph_objects as go

from ..analysis.attribution.layer_faithfulness import FUSED, LayerFaithfulness, LayerRow
from ..analysis.attribution.methods import METHOD_LABELS
from . import wording
from .colours import series_styles
from .figure_layout import titled_layout

SCORE = "insertion minus deletion AUC"
COLUMNS = ("layer", "map size", "deletion AUC", "insertion AUC", "insertion − deletion")


def layer_table(report: LayerFaithfulness) -> pd.DataFrame:
    """One row per layer (every stage and every block, in the page's order) and the fused map:
    the layer, its map's size before upsampling, its deletion and insertion AUC and the score."""
    return pd.DataFrame(
        [
            (
                _row_name(row),
                f"{row.map_size[0]}×{row.map_size[1]}",
                row.deletion_auc,
                row.insertion_auc,
                row.insertion_auc - row.deletion_auc,
            )
            for row in report.rows
        ],
        columns=list(COLUMNS),
    )


def distinct_maps(report: LayerFaithfulness) -> dict[str, LayerRow]:
    """One row per distinct map, in forward order, by display name: a block's own name, or
    ``"layer2 (layer2.1)"`` for a stage's last block (the same tensor)."""
    stages = {r.depth: r.layer for r in report.layers if "." not in r.layer}
    blocks = sorted((r for r in report.layers if "." in r.layer), key=lambda r: r.depth)
    named = {}
    for row in blocks:
        stage = stages.get(row.depth)
        named[f"{stage} ({row.layer})" if stage else row.layer] = row
    return named


def layer_sentence(report: LayerFaithfulness) -> str:
    """:func:`choice_sentence` on the report's distinct maps and its fused map."""
    maps = {n: (r.deletion_auc, r.insertion_auc) for n, r in distinct_maps(report).items()}
    fused = report.fused_row
    label = METHOD_LABELS.get(report.method, report.method)
    return choice_sentence(maps, (fused.deletion_auc, fused.insertion_auc), label)


def choice_sentence(
    maps: Mapping[str, tuple[float, float]], fused: tuple[float, float], method: str
) -> str:
    """Where ``method``'s maps hold up: the best single layer by insertion minus deletion AUC
    (or the layers tied at the top), then the fused map against it.

    ``maps``: display name -> (deletion AUC, insertion AUC), at least one; ``fused``: the fused
    map's pair. Ties are :func:`~.wording.tied_with_best`'s; the fused verdict is
    :func:`~.wording.against_phrase` ("better than", "level with", "worse than").
    """
    if not maps:
        raise ValueError("choice_sentence needs at least one layer's AUCs.")
    scores = {name: insertion - deletion for name, (deletion, insertion) in maps.items()}
    tied = wording.tied_with_best(scores)
    head = wording.winner_phrase(len(tied))
    if len(tied) == 1:
        (best,) = tied
        rest = {n: v for n, v in scores.items() if n != best}
        if rest:
            second = max(rest, key=lambda n: rest[n])
            after = f", against {rest[second]:.2f} at {second}, the next best"
        else:
            after = ""
        first = f"{head} of the {method} maps: {best} ({SCORE} {scores[best]:.2f}{after})."
    else:
        listed = ", ".join(f"{n} {scores[n]:.2f}" for n in tied)
        first = (
            f"No one layer's {method} map wins: {head} between {listed} ({SCORE}, within "
            f"{wording.TIE} of each other as shown)."
        )
    top = max(scores[n] for n in tied)
    fused_score = fused[1] - fused[0]
    verdict = wording.against_phrase(fused_score, top)
    second_sentence = (
        f"The fused map (every stage, LayerCAM's rule) scores {fused_score:.2f}, {verdict} the "
        f"best single layer ({top:.2f})."
    )
    return f"{first} {second_sentence}"


def layer_figure(report: LayerFaithfulness) -> go.Figure:
    """Deletion and insertion AUC of each distinct map against its depth (forward order), with
    the fused map's two AUCs as dashed horizontal lines of the same colours."""
    named = distinct_maps(report)
    names = list(named)
    styles = series_styles(2)
    fig = go.Figure()
    fused = report.fused_row
    which = (("deletion", "lower is better"), ("insertion", "higher is better"))
    for (key, better), (colour, dash, marker) in zip(which, styles, strict=True):
        values = [getattr(row, f"{key}_auc") for row in named.values()]
        fig.add_trace(
            go.Scatter(
                x=names, y=values, mode="lines+markers", name=f"{key} AUC ({better})",
                line={"color": colour, "dash": dash, "width": 2.5},
                marker={"symbol": marker, "size": 8, "color": colour},
                hovertemplate=f"%{{x}}: {key} AUC %{{y:.3f}}<extra></extra>",
            )
        )  # fmt: skip
        level = getattr(fused, f"{key}_auc")
        fig.add_trace(
            go.Scatter(
                x=[names[0], names[-1]], y=[level, level], mode="lines",
                name=f"fused map, {key} AUC {level:.2f}",
                line={"color": colour, "dash": "dot", "width": 1.5},
                hovertemplate=f"fused map: {key} AUC {level:.3f}<extra></extra>",
            )
        )  # fmt: skip
    fig.update_xaxes(title_text="layer, shallow to deep", type="category")
    fig.update_yaxes(range=[0, 1.02], title_text="AUC of the class probability")
    label = METHOD_LABELS.get(report.method, report.method)
    fig = titled_layout(fig, f"Deletion and insertion AUC of {label} at every layer", height=420)
    fig.update_layout(showlegend=True, legend={"orientation": "h", "y": -0.3})
    return fig


def _row_name(row: LayerRow) -> str:
    return "fused (every stage)" if row.layer == FUSED else row.layer
