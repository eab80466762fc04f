"""The sanity-check lesson, presented: a verdict per method from its rank correlation after
the weights were randomised, the plain-words reading of which methods pass and which fail
(Adebayo et al. 2018, "Sanity Checks for Saliency Maps", NeurIPS, arXiv:1810.03292), and a
bar chart of the correlations with the thresholds drawn. No Streamlit calls.

Every verdict is chosen by :func:`lesson_verdict` from the correlation as shown (two
decimals), against the thresholds defined below beside the words.
"""

from __future__ import annotations

import plotly.graph_objects as go

from ..analysis.attribution.methods import METHOD_LABELS as CAM_LABELS
from ..analysis.attribution.pixel import METHOD_LABELS as PIXEL_LABELS
from ..analysis.attribution.sanity_lesson import LessonRow, SanityLesson
from . import wording
from .cam import SANITY_PRINCIPLE
from .colours import REFERENCE_GREY, SERIES_COLOURS
from .figure_layout import titled_layout

#: Every method's label, CAM and pixel methods alike.
LABELS = {**CAM_LABELS, **PIXEL_LABELS}

#: A map whose rank correlation with the trained model's map is at least this after the
#: randomisation stays similar: it fails the check (0.7: a strong correlation by the usual
#: reading of Spearman's rho).
STAYS_SIMILAR_FROM = 0.7
#: Below this it changes: it passes (the cascading check's own pass mark,
#: :data:`~resnet_viz.present.wording.SANITY_PASS`).
CHANGES_BELOW = wording.SANITY_PASS
STAYS_SIMILAR = "stays similar: it fails the check"
PARTLY_CHANGES = "changes only partly: the check is not conclusive"
CHANGES = "changes: it passes the check"
#: Every verdict :func:`lesson_verdict` can return, from most similar to least.
VERDICTS = (STAYS_SIMILAR, PARTLY_CHANGES, CHANGES)


def lesson_verdict(rank_correlation: float) -> str:
    """:data:`STAYS_SIMILAR` from :data:`STAYS_SIMILAR_FROM` up, :data:`CHANGES` below
    :data:`CHANGES_BELOW`, :data:`PARTLY_CHANGES` between; read on the value as shown (two
    decimals)."""
    shown = round(rank_correlation, 2)
    if shown >= STAYS_SIMILAR_FROM:
        return STAYS_SIMILAR
    if shown < CHANGES_BELOW:
        return CHANGES
    return PARTLY_CHANGES


def randomised_what(lesson: SanityLesson) -> str:
    """Which weights were replaced by noise, for a reader."""
    if lesson.down_to == "stem":
        return "every weight, from the classifier to the stem,"
    return f"every weight from the classifier down to {lesson.down_to}"


def lesson_sentence(lesson: SanityLesson) -> str:
    """The principle, each method's verdict with its numbers, then which methods explain the
    image rather than the model and which follow the weights."""
    what = randomised_what(lesson)
    verdicts = {row.method: lesson_verdict(row.rank_correlation) for row in lesson.rows}
    parts = [
        SANITY_PRINCIPLE,
        f"After {what} was replaced by noise, each map's rank correlation ρ and SSIM with its "
        "map on the trained model:",
    ]
    parts += [
        f"{_label(row)} (ρ = {row.rank_correlation:.2f}, SSIM = {row.ssim:.2f}) "
        f"{verdicts[row.method]}."
        for row in lesson.rows
    ]
    fails = [_label(r) for r in lesson.rows if verdicts[r.method] == STAYS_SIMILAR]
    passes = [_label(r) for r in lesson.rows if verdicts[r.method] == CHANGES]
    if fails:
        one = len(fails) == 1
        parts.append(
            f"{_join(fails)} still {'looks' if one else 'look'} like {'its' if one else 'their'} "
            f"map on the trained model after {what} was replaced by noise: "
            f"{'it shows' if one else 'they show'} the image, its edges and contrast, not what "
            "the model learned."
        )
    if passes:
        one = len(passes) == 1
        parts.append(
            f"{_join(passes)} {'depends' if one else 'depend'} on the weights: "
            f"{'its map is' if one else 'their maps are'} about the model."
        )
    heads = [r for r in lesson.rows if r.classifier_rank_correlation is not None]
    if heads:
        parts.append(
            "With only the classifier randomised, ρ = "
            + ", ".join(f"{r.classifier_rank_correlation:.2f} ({_label(r)})" for r in heads)
            + "."
        )
    return " ".join(parts)


def lesson_figure(lesson: SanityLesson) -> go.Figure:
    """One bar per method: the rank correlation with the trained model's map after the
    randomisation (and, lighter, after the classifier alone), SSIM as markers, and the two
    thresholds of :func:`lesson_verdict` as lines."""
    labels = [_label(r) for r in lesson.rows]
    fig = go.Figure()
    heads = [r.classifier_rank_correlation for r in lesson.rows]
    if all(h is not None for h in heads):
        fig.add_trace(
            go.Bar(
                x=labels, y=heads, name="ρ, classifier alone randomised",
                marker={"color": REFERENCE_GREY},
                hovertemplate="%{x}, classifier alone: ρ = %{y:.2f}<extra></extra>",
            )
        )  # fmt: skip
    fig.add_trace(
        go.Bar(
            x=labels, y=[r.rank_correlation for r in lesson.rows],
            name=f"ρ, {_short(lesson)} randomised", marker={"color": SERIES_COLOURS[0]},
            text=[f"{r.rank_correlation:.2f}" for r in lesson.rows], textposition="outside",
            hovertemplate="%{x}: ρ = %{y:.2f}<extra></extra>",
        )
    )  # fmt: skip
    fig.add_trace(
        go.Scatter(
            x=labels, y=[r.ssim for r in lesson.rows], mode="markers",
            name=f"SSIM, {_short(lesson)} randomised",
            marker={"color": SERIES_COLOURS[1], "symbol": "diamond", "size": 11},
            hovertemplate="%{x}: SSIM = %{y:.2f}<extra></extra>",
        )
    )  # fmt: skip
    for value, text in ((STAYS_SIMILAR_FROM, "stays similar from here"),
                        (CHANGES_BELOW, "changes below here")):  # fmt: skip
        fig.add_hline(
            y=value, line={"color": REFERENCE_GREY, "dash": "dash", "width": 1},
            annotation_text=f"{text} (ρ = {value:g})", annotation_position="top left",
        )  # fmt: skip
    fig.add_hline(y=0, line={"color": REFERENCE_GREY, "width": 1})
    fig.update_yaxes(range=[-1, 1.15], title_text="similarity to the trained model's map")
    fig = titled_layout(fig, "Which explanations depend on the weights?")
    fig.update_layout(barmode="group", showlegend=True, legend={"orientation": "h", "y": -0.2})
    return fig


def _short(lesson: SanityLesson) -> str:
    return "every layer" if lesson.down_to == "stem" else f"down to {lesson.down_to}"


def _label(row: LessonRow) -> str:
    return LABELS.get(row.method, row.method)


def _join(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
