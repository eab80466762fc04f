"""Transfer learning presented: the training curves, the reading of the result against chance and
against a network trained from scratch, the confusion matrix, the feature space before and after.

Every judgement in a sentence is chosen here by a threshold defined once, beside its words:

- the best validation accuracy against chance (1/K for K classes, the accuracy of a guess):
  :data:`WELL_ABOVE_CHANCE` points or more above it is "well above chance", less than
  :data:`ABOVE_CHANCE` points above it (or below it) is "no better than chance", in between
  "barely above chance";
- the pretrained run against the scratch run (best validation accuracies, in whole percent as
  written): within :data:`TIE_POINTS` points either way is "a tie", else the better one "wins
  by N points".

With a few validation images one image moves the accuracy by many points (1 of 7 is 14 points),
so the sentence also says how many images the accuracy was measured on.

No Streamlit calls.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..training.transfer import MODE_LABELS, EpochRecord
from .colours import SERIES_COLOURS, SERIES_MARKERS
from .figure_layout import titled_layout

__all__ = [
    "ABOVE_CHANCE",
    "CHANCE_WORDS",
    "COMPARISON_WORDS",
    "TIE_POINTS",
    "WELL_ABOVE_CHANCE",
    "accuracy_sentence",
    "chance_phrase",
    "comparison_phrase",
    "comparison_sentence",
    "confusion_figure",
    "curves_figure",
    "embedding_figure",
    "per_class_rows",
]

#: Points (percentage points of accuracy) above chance from which a run is "well above chance".
WELL_ABOVE_CHANCE = 25.0
#: Points above chance below which a run is "no better than chance".
ABOVE_CHANCE = 5.0
#: The words for a run against chance, from best to worst.
CHANCE_WORDS = ("well above chance", "barely above chance", "no better than chance")
#: Points within which the pretrained and the scratch runs are "a tie".
TIE_POINTS = 5.0
#: The words for pretrained against scratch: a win (with its points), a tie, a loss.
COMPARISON_WORDS = ("pretraining wins by", "a tie", "scratch wins by")


def points(accuracy: float) -> float:
    """An accuracy in [0, 1] as percentage points."""
    return 100.0 * float(accuracy)


def whole_percent(accuracy: float) -> int:
    """An accuracy as the sentences write it: whole percent (Python's rounding)."""
    return round(points(accuracy))


def chance_phrase(accuracy: float, classes: int) -> str:
    """One of :data:`CHANCE_WORDS` for ``accuracy`` with ``classes`` classes (chance 1/K)."""
    above = points(accuracy) - points(1.0 / classes)
    if above >= WELL_ABOVE_CHANCE:
        return CHANCE_WORDS[0]
    if above >= ABOVE_CHANCE:
        return CHANCE_WORDS[1]
    return CHANCE_WORDS[2]


def comparison_phrase(pretrained: float, scratch: float) -> str:
    """One of "pretraining wins by N points", "a tie", "scratch wins by N points". The gap is
    taken between the accuracies in whole percent, as the sentence writes them, so that "93% vs
    21%" is never said to differ by 71 points."""
    gap = whole_percent(pretrained) - whole_percent(scratch)
    if abs(gap) < TIE_POINTS:
        return COMPARISON_WORDS[1]
    winner = COMPARISON_WORDS[0] if gap > 0 else COMPARISON_WORDS[2]
    return f"{winner} {abs(gap)} points"


def best_record(history: Sequence[EpochRecord], best_epoch: int) -> EpochRecord:
    return next(r for r in history if r.epoch == best_epoch)


def accuracy_sentence(
    mode: str, history: Sequence[EpochRecord], best_epoch: int, classes: int, validation: int
) -> str:
    """The run's best validation accuracy against chance, e.g. "Linear probe (frozen backbone):
    the best validation accuracy is 86% (epoch 5 of 5, on 7 images): well above chance (1 in 7
    is 14%)."""
    best = best_record(history, best_epoch)
    last = max(r.epoch for r in history)
    return (
        f"{MODE_LABELS[mode]}: the best validation accuracy is "
        f"{whole_percent(best.validation_accuracy)}% (epoch {best_epoch} of {last}, on "
        f"{validation} image{'s' if validation != 1 else ''}): "
        f"{chance_phrase(best.validation_accuracy, classes)} "
        f"(1 in {classes} is {points(1 / classes):.0f}%)."
    )


def comparison_sentence(pretrained: float, scratch: float) -> str:
    """The pretrained run against the same network trained from scratch on the same images."""
    phrase = comparison_phrase(pretrained, scratch)
    within = f" (within {TIE_POINTS:.0f} points)" if phrase == COMPARISON_WORDS[1] else ""
    return (
        f"Against the same network trained from scratch on the same images "
        f"({whole_percent(pretrained)}% vs {whole_percent(scratch)}%): {phrase}{within}."
    )


def curves_figure(
    histories: Mapping[str, Sequence[EpochRecord]], *, epochs: int | None = None
) -> go.Figure:
    """Loss (left) and accuracy (right) per epoch: training dashed, validation solid, one colour
    per run (``histories`` by mode). Epoch 0, the network before training, has validation
    numbers only. Partial histories (a run in progress) are drawn as far as they go; ``epochs``
    fixes the x range."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Loss", "Accuracy"))
    for i, (mode, history) in enumerate(histories.items()):
        colour = SERIES_COLOURS[i % len(SERIES_COLOURS)]
        marker = SERIES_MARKERS[i % len(SERIES_MARKERS)]
        for part, dash in (("train", "dash"), ("validation", "solid")):
            rows = [r for r in history if not math.isnan(getattr(r, f"{part}_loss"))]
            label = f"{MODE_LABELS[mode]}, {part}"
            for col, measure, fmt in ((1, "loss", ".3f"), (2, "accuracy", ".0%")):
                fig.add_trace(
                    go.Scatter(
                        x=[r.epoch for r in rows],
                        y=[getattr(r, f"{part}_{measure}") for r in rows],
                        mode="lines+markers",
                        name=label,
                        legendgroup=label,
                        showlegend=col == 1,
                        line={"color": colour, "width": 3, "dash": dash},
                        marker={"size": 6, "symbol": marker},
                        hovertemplate=f"{label}, epoch %{{x}}: %{{y:{fmt}}} {measure}"
                        "<extra></extra>",
                    ),
                    row=1,
                    col=col,
                )
    longest = max((r.epoch for h in histories.values() for r in h), default=1)
    last = max(epochs or longest, 1)
    fig.update_xaxes(title_text="epoch", range=[-0.5, last + 0.5])
    fig.update_yaxes(title_text="cross-entropy", rangemode="tozero", row=1, col=1)
    fig.update_yaxes(title_text="accuracy", range=[0, 1.05], tickformat=".0%", row=1, col=2)
    titled_layout(fig, "Training (dashed) and validation (solid)", height=380)
    fig.update_layout(showlegend=True, legend={"orientation": "h", "y": -0.25})
    return fig


def confusion_figure(confusion: np.ndarray, classes: Sequence[str]) -> go.Figure:
    """The validation confusion matrix as a heatmap with its counts written in: row = true
    class, column = predicted."""
    counts = np.asarray(confusion, dtype=np.int64)
    names = list(classes)
    fig = go.Figure(
        go.Heatmap(
            z=counts,
            x=names,
            y=names,
            text=counts,
            texttemplate="%{text}",
            colorscale="Blues",
            showscale=False,
            hovertemplate="true %{y}, predicted %{x}: %{z} images<extra></extra>",
        )
    )
    fig.update_xaxes(title_text="predicted", side="bottom")
    fig.update_yaxes(title_text="true", autorange="reversed")
    return titled_layout(fig, "Confusion matrix (validation images)", height=420)


def per_class_rows(
    per_class: Mapping[str, float], held_out: Mapping[str, int]
) -> list[dict[str, object]]:
    """One row per class: its name, its validation images, the share predicted right ("-"
    where none was held out)."""
    return [
        {
            "class": name,
            "validation images": held_out.get(name, 0),
            "accuracy": "-" if math.isnan(share) else f"{points(share):.0f}%",
        }
        for name, share in per_class.items()
    ]


def embedding_figure(
    before: np.ndarray,
    after: np.ndarray,
    labels: Sequence[int],
    classes: Sequence[str],
    explained: tuple[tuple[float, float], tuple[float, float]],
) -> go.Figure:
    """Every image's 2-D PCA point under the backbone (left) and the trained network (right),
    one colour and marker per class."""
    fig = make_subplots(
        rows=1, cols=2, subplot_titles=("Backbone (before)", "Trained network (after)")
    )
    labels = np.asarray(labels)
    for col, cloud in ((1, before), (2, after)):
        for k, name in enumerate(classes):
            mine = np.asarray(cloud)[labels == k]
            fig.add_trace(
                go.Scatter(
                    x=mine[:, 0],
                    y=mine[:, 1],
                    mode="markers",
                    name=name,
                    legendgroup=name,
                    showlegend=col == 1,
                    marker={
                        "size": 8,
                        "color": SERIES_COLOURS[k % len(SERIES_COLOURS)],
                        "symbol": SERIES_MARKERS[k % len(SERIES_MARKERS)],
                    },
                    hovertemplate=f"{name}<extra></extra>",
                ),
                row=1,
                col=col,
            )
        first, second = explained[col - 1]
        fig.update_xaxes(title_text=f"PC 1 ({points(first):.0f}% of variance)", row=1, col=col)
        fig.update_yaxes(title_text=f"PC 2 ({points(second):.0f}% of variance)", row=1, col=col)
    titled_layout(fig, "Feature space: pooled features, first two principal axes", height=420)
    fig.update_layout(showlegend=True)
    return fig
