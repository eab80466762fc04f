"""present/transfer.py: the reading against chance and against scratch never contradicts its
numbers; the figures carry the numbers they are given."""

from __future__ import annotations

import math
import re

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from resnet_viz.present.transfer import (
    ABOVE_CHANCE,
    CHANCE_WORDS,
    COMPARISON_WORDS,
    TIE_POINTS,
    WELL_ABOVE_CHANCE,
    accuracy_sentence,
    chance_phrase,
    comparison_phrase,
    comparison_sentence,
    confusion_figure,
    curves_figure,
    embedding_figure,
    per_class_rows,
)
from resnet_viz.training.transfer import MODE_LABELS, EpochRecord

accuracies = st.floats(0.0, 1.0, allow_nan=False)


@given(accuracies, st.integers(2, 20))
def test_the_chance_words_follow_the_thresholds(accuracy, classes):
    above = 100 * accuracy - 100 / classes
    phrase = chance_phrase(accuracy, classes)
    assert phrase in CHANCE_WORDS
    if phrase == "well above chance":
        assert above >= WELL_ABOVE_CHANCE
    elif phrase == "barely above chance":
        assert ABOVE_CHANCE <= above < WELL_ABOVE_CHANCE
    else:
        assert above < ABOVE_CHANCE  # below chance is "no better" too


def test_the_chance_words_by_hand():
    assert chance_phrase(1 / 7, 7) == "no better than chance"
    assert chance_phrase(0.0, 2) == "no better than chance"
    assert chance_phrase(0.5 + 0.06, 2) == "barely above chance"
    assert chance_phrase(0.75, 2) == "well above chance"  # exactly 25 points above 50%
    assert chance_phrase(6 / 7, 7) == "well above chance"


@given(accuracies, accuracies)
def test_the_comparison_names_the_winner_and_its_margin(pretrained, scratch):
    phrase = comparison_phrase(pretrained, scratch)
    sentence = comparison_sentence(pretrained, scratch)
    assert phrase in sentence
    # The gap is the one a reader computes from the two percentages the sentence writes.
    shown = re.search(r"\((\d+)% vs (\d+)%\)", sentence)
    assert shown is not None, sentence
    assert abs(int(shown[1]) - 100 * pretrained) <= 0.5
    assert abs(int(shown[2]) - 100 * scratch) <= 0.5
    gap = int(shown[1]) - int(shown[2])
    if phrase == "a tie":
        assert abs(gap) < TIE_POINTS
        assert f"within {TIE_POINTS:.0f} points" in sentence
        return
    won = re.fullmatch(r"(pretraining|scratch) wins by (\d+) points", phrase)
    assert won is not None, phrase
    assert (won[1] == "pretraining") == (gap > 0)
    assert abs(gap) >= TIE_POINTS
    assert int(won[2]) == abs(gap)
    assert int(won[2]) >= TIE_POINTS  # never "wins by 0 points"


def test_the_comparison_words_by_hand():
    assert comparison_phrase(0.9, 0.3) == "pretraining wins by 60 points"
    assert comparison_phrase(0.3, 0.9) == "scratch wins by 60 points"
    assert comparison_phrase(0.52, 0.5) == COMPARISON_WORDS[1]
    assert comparison_sentence(6 / 7, 2 / 7) == (
        "Against the same network trained from scratch on the same images (86% vs 29%): "
        "pretraining wins by 57 points."
    )
    # 13/14 vs 3/14 is 71.4 points apart, but reads "93% vs 21%": the sentence says 72.
    assert comparison_phrase(13 / 14, 3 / 14) == "pretraining wins by 72 points"


def history(*validation: float) -> tuple[EpochRecord, ...]:
    """Epoch 0 (no training numbers) then one record per further value."""
    return tuple(
        EpochRecord(
            e, math.nan if e == 0 else 1.0 / (e + 1), math.nan if e == 0 else a, 2.0 - a, a, 0.0
        )
        for e, a in enumerate(validation)
    )


@given(st.lists(accuracies, min_size=1, max_size=8), st.integers(2, 20), st.integers(1, 50))
def test_the_accuracy_sentence_states_the_best_epochs_numbers(values, classes, images):
    records = history(*values)
    best = max(range(len(values)), key=lambda e: values[e])
    sentence = accuracy_sentence("probe", records, best, classes, images)
    assert sentence.startswith(MODE_LABELS["probe"])
    assert f"is {100 * values[best]:.0f}% (epoch {best} of {len(values) - 1}" in sentence
    assert chance_phrase(values[best], classes) in sentence
    assert f"1 in {classes} is {100 / classes:.0f}%" in sentence
    assert sum(w in sentence for w in CHANCE_WORDS) == 1


def test_the_accuracy_sentence_by_hand():
    assert accuracy_sentence("probe", history(1 / 7, 3 / 7, 6 / 7), 2, 7, 7) == (
        "Linear probe (frozen backbone): the best validation accuracy is 86% (epoch 2 of 2, on "
        "7 images): well above chance (1 in 7 is 14%)."
    )


def test_the_curves_carry_the_numbers_training_dashed_validation_solid():
    runs = {"probe": history(0.2, 0.5, 0.9), "scratch": history(0.2, 0.3)}
    fig = curves_figure(runs, epochs=4)
    traces = {(t.name, t.xaxis): t for t in fig.data}
    probe_val_acc = traces[(f"{MODE_LABELS['probe']}, validation", "x2")]
    assert list(probe_val_acc.x) == [0, 1, 2]
    assert list(probe_val_acc.y) == [0.2, 0.5, 0.9]
    assert probe_val_acc.line.dash == "solid"
    probe_train_loss = traces[(f"{MODE_LABELS['probe']}, train", "x")]
    assert list(probe_train_loss.x) == [1, 2]  # epoch 0 has no training numbers
    assert list(probe_train_loss.y) == [0.5, 1 / 3]
    assert probe_train_loss.line.dash == "dash"
    scratch = traces[(f"{MODE_LABELS['scratch']}, validation", "x")]
    assert list(scratch.y) == [1.8, 1.7]
    assert scratch.line.color != probe_val_acc.line.color
    assert tuple(fig.layout.xaxis.range) == (-0.5, 4.5)


def test_the_confusion_matrix_writes_its_counts():
    confusion = np.array([[2, 1], [0, 3]])
    fig = confusion_figure(confusion, ("cat", "dog"))
    heat = fig.data[0]
    assert np.array_equal(np.asarray(heat.z), confusion)
    assert np.array_equal(np.asarray(heat.text), confusion)
    assert list(heat.x) == ["cat", "dog"]
    assert list(heat.y) == ["cat", "dog"]


def test_per_class_rows():
    rows = per_class_rows({"cat": 2 / 3, "dog": math.nan}, {"cat": 3})
    assert rows == [
        {"class": "cat", "validation images": 3, "accuracy": "67%"},
        {"class": "dog", "validation images": 0, "accuracy": "-"},
    ]


def test_the_feature_space_puts_each_class_in_its_trace_on_both_sides():
    before = np.array([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]])
    after = before * 10
    fig = embedding_figure(before, after, [0, 1, 0], ("cat", "dog"), ((0.6, 0.3), (0.9, 0.1)))
    traces = {(t.name, t.xaxis): t for t in fig.data}
    assert list(traces[("cat", "x")].x) == [0.0, 4.0]
    assert list(traces[("dog", "x2")].y) == [30.0]
    assert traces[("cat", "x")].marker.color != traces[("dog", "x")].marker.color
    assert fig.layout.xaxis.title.text == "PC 1 (60% of variance)"
    assert fig.layout.yaxis2.title.text == "PC 2 (10% of variance)"
