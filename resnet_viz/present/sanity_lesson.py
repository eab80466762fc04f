"""The sanity-check lesson, presented: per method, how deep into the cascading randomisation
its map stays similar to the trained model's map, a plain-words reading that contrasts the
methods, and a line chart of the rank correlations along the cascade with the threshold drawn
(Adebayo et al. 2018, "Sanity Checks for Saliency Maps", NeurIPS, arXiv:1810.03292, Fig. 2).
No Streamlit calls.

Every verdict is chosen by :func:`lesson_verdict` from the correlations as shown (two
decimals), against :data:`SIMILAR`, defined below beside the words.
"""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go

from ..analysis.attribution.methods import METHOD_LABELS as CAM_LABELS
from ..analysis.attribution.pixel import METHOD_LABELS as PIXEL_LABELS
from ..analysis.attribution.sanity_lesson import LessonRow, SanityLesson
from .cam import SANITY_PRINCIPLE
from .colours import REFERENCE_GREY, SERIES_COLOURS, SERIES_DASHES
from .figure_layout import titled_layout

#: Every method's label, CAM and pixel methods alike.
LABELS = {**CAM_LABELS, **PIXEL_LABELS}

#: A map whose rank correlation with the trained model's map is at least this (as shown) stays
#: similar; below it, it changes (0.7: a strong correlation by the usual reading of Spearman's
#: rho).
SIMILAR = 0.7
#: The verdicts of :func:`lesson_verdict`: no step similar; similar down to a step, then not;
#: similar at every step.
CHANGES_AT_ONCE = "changes as soon as {first} is randomised"
SIMILAR_THROUGH = "stays similar through {deepest}, first changes at {first}"
NEVER_CHANGES = "stays similar through the whole cascade: it fails the check"
#: More than this share of the weights random (as shown, a whole percent) is "most of the
#: network".
MOST = 0.5


def similar_run(rank_correlations: Sequence[float]) -> int:
    """How many checkpoints, from the top, the map stays similar before its first change: the
    length of the leading run of values (as shown) at or above :data:`SIMILAR`."""
    run = 0
    for value in rank_correlations:
        if round(value, 2) < SIMILAR:
            break
        run += 1
    return run


def lesson_verdict(rank_correlations: Sequence[float], labels: Sequence[str]) -> str:
    """:data:`CHANGES_AT_ONCE`, :data:`SIMILAR_THROUGH` (the deepest checkpoint of the leading
    similar run, and the next one) or :data:`NEVER_CHANGES`, from :func:`similar_run`."""
    run = similar_run(rank_correlations)
    if run == 0:
        return CHANGES_AT_ONCE.format(first=the(labels[0]))
    if run == len(rank_correlations):
        return NEVER_CHANGES
    return SIMILAR_THROUGH.format(deepest=the(labels[run - 1]), first=the(labels[run]))


def the(label: str) -> str:
    """A checkpoint in a sentence: "the classifier", "the stem", "stage 3"."""
    return label if label.startswith("stage") else f"the {label}"


def lesson_sentence(lesson: SanityLesson) -> str:
    """The principle, each method's correlations along the cascade with its verdict, which
    method survives deepest and what that means, and what the full randomisation does to it."""
    labels = lesson.labels
    runs = {row.method: similar_run(row.rank_correlations) for row in lesson.rows}
    parts = [
        SANITY_PRINCIPLE,
        "Each map's rank correlation ρ with its map on the trained model as the randomisation "
        f"reaches {_join([the(label) for label in labels])} (similar while ρ ≥ {SIMILAR:g}):",
    ]
    parts += [
        f"{_label(row)} (ρ = {', '.join(f'{v:.2f}' for v in row.rank_correlations)}) "
        f"{lesson_verdict(row.rank_correlations, labels)}."
        for row in lesson.rows
    ]
    deepest = max(runs.values())
    survivors = [row for row in lesson.rows if runs[row.method] == deepest]
    others = [_label(row) for row in lesson.rows if runs[row.method] < deepest]
    names = _join([_label(row) for row in survivors])
    one = len(survivors) == 1
    if deepest == 0:
        parts.append(
            f"No map stays similar once {the(labels[0])} is random: each follows the weights "
            "from the top."
        )
        return " ".join(parts)
    if deepest == len(labels):
        parts.append(
            f"{names} {'stays' if one else 'stay'} similar with every weight random: "
            f"{'it shows' if one else 'they show'} the image, its edges and contrast, not what "
            "the model learned."
        )
        return " ".join(parts)
    share = round(lesson.random_share[deepest - 1], 2)
    where = f"similar through {the(labels[deepest - 1])}, with {share:.0%} of the weights random"
    if not others:
        survives = f"{'The map stays' if one else f'{names} all stay'} {where}"
    elif one:
        survives = f"{names} survives deepest: its map stays {where}"
    else:
        survives = f"{names} survive deepest: their maps stay {where}"
    if share > MOST:
        survives += (
            ". An explanation that survives the destruction of most of the network is "
            "explaining the image more than the model"
        )
    parts.append(survives + ".")
    if others:
        parts.append(f"{_join(others)} {'changes' if len(others) == 1 else 'change'} sooner.")
    for row in survivors:
        parts.append(_at_full(row, labels, deepest))
    return " ".join(parts)


def _at_full(row: LessonRow, labels: Sequence[str], run: int) -> str:
    """What the full randomisation does to a map that survived ``run`` checkpoints."""
    last = row.full.rank_correlation
    if run == len(labels) - 1:
        return f"Only the random {labels[-1]} changes {_label(row)} (ρ = {last:.2f})."
    again = "is similar again" if round(last, 2) >= SIMILAR else "changes too"
    return (
        f"With every weight random, down to {the(labels[-1])}, {_label(row)}'s map {again} "
        f"(ρ = {last:.2f})."
    )


def lesson_figure(lesson: SanityLesson) -> go.Figure:
    """One line per method: the rank correlation with the trained model's map at each
    checkpoint of the cascade (SSIM in the hover), and :data:`SIMILAR` as a line."""
    labels = list(lesson.labels)
    fig = go.Figure()
    for i, row in enumerate(lesson.rows):
        fig.add_trace(
            go.Scatter(
                x=labels, y=list(row.rank_correlations), mode="lines+markers", name=_label(row),
                customdata=[s.ssim for s in row.steps],
                line={"color": SERIES_COLOURS[i % len(SERIES_COLOURS)],
                      "dash": SERIES_DASHES[i % len(SERIES_DASHES)], "width": 3},
                hovertemplate=f"{_label(row)}, random down to %{{x}}: ρ = %{{y:.2f}}, "
                "SSIM = %{customdata:.2f}<extra></extra>",
            )
        )  # fmt: skip
    fig.add_hline(
        y=SIMILAR, line={"color": REFERENCE_GREY, "dash": "dash", "width": 1},
        annotation_text=f"stays similar from here (ρ = {SIMILAR:g})",
        annotation_position="top left",
    )  # fmt: skip
    fig.add_hline(y=0, line={"color": REFERENCE_GREY, "width": 1})
    fig.update_xaxes(
        title_text="randomised from the classifier down to …", categoryorder="array",
        categoryarray=labels, type="category",
    )  # fmt: skip
    fig.update_yaxes(range=[-1, 1.05], title_text="ρ with the trained model's map")
    fig = titled_layout(fig, "Which explanations depend on the weights?")
    fig.update_layout(showlegend=True, legend={"orientation": "h", "y": -0.3})
    return fig


def _label(row: LessonRow) -> str:
    return LABELS.get(row.method, row.method)


def _join(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
