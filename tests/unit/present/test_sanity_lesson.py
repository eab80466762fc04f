"""The sanity-check lesson's verdicts, reading and chart, on lessons built by hand: every
verdict follows the rank correlation as shown, over its whole range, and the reading names a
method as explaining the image exactly when its verdict says it fails."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from resnet_viz.analysis.attribution.sanity import SanityCheck, SanityStep
from resnet_viz.analysis.attribution.sanity_lesson import LESSON_METHODS, LessonRow, SanityLesson
from resnet_viz.present.cam import SANITY_PRINCIPLE, sanity_figure, sanity_sentence
from resnet_viz.present.sanity_lesson import (
    CHANGES,
    CHANGES_BELOW,
    LABELS,
    PARTLY_CHANGES,
    STAYS_SIMILAR,
    STAYS_SIMILAR_FROM,
    VERDICTS,
    lesson_figure,
    lesson_sentence,
    lesson_verdict,
)
from tests.unit.present.test_cam import result

FAST = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
rho = st.floats(-1, 1)


def lesson_with(full, heads=None, down_to="stem") -> SanityLesson:
    heads = heads or [None] * len(full)
    original = result([[1.0, 0.0]])
    rows = tuple(
        LessonRow(m, original, original, r, r / 2, None if h is None else original, h, h)
        for m, r, h in zip(LESSON_METHODS, full, heads, strict=False)
    )
    return SanityLesson(rows, 0, "layer3", 0, down_to)


def named(names: str) -> list[str]:
    """ "Grad-CAM, Saliency and Guided Backprop" -> the three labels."""
    return re.split(r", | and ", names.strip())


def expected_verdict(value: float) -> str:
    shown = round(value, 2)
    if shown >= STAYS_SIMILAR_FROM:
        return STAYS_SIMILAR
    return CHANGES if shown < CHANGES_BELOW else PARTLY_CHANGES


def test_the_thresholds_and_their_edges():
    assert CHANGES_BELOW < STAYS_SIMILAR_FROM
    assert lesson_verdict(0.7) == STAYS_SIMILAR
    assert lesson_verdict(0.696) == STAYS_SIMILAR  # shown as 0.70
    assert lesson_verdict(0.694) == PARTLY_CHANGES
    assert lesson_verdict(0.5) == PARTLY_CHANGES
    assert lesson_verdict(0.494) == CHANGES
    assert lesson_verdict(-1.0) == CHANGES


@FAST
@given(rho)
def test_the_verdict_follows_the_shown_correlation(value):
    verdict = lesson_verdict(value)
    assert verdict in VERDICTS
    shown = float(f"{value:.2f}")
    assert (verdict == STAYS_SIMILAR) == (shown >= STAYS_SIMILAR_FROM)
    assert (verdict == CHANGES) == (shown < CHANGES_BELOW)


@FAST
@given(st.lists(rho, min_size=1, max_size=4), st.booleans())
def test_the_reading_never_contradicts_the_numbers(full, with_heads):
    heads = [0.5] * len(full) if with_heads else None
    lesson = lesson_with(full, heads)
    text = lesson_sentence(lesson)
    assert text.startswith(SANITY_PRINCIPLE)
    for row in lesson.rows:
        label = LABELS[row.method]
        said = re.search(
            rf"{re.escape(label)} \(ρ = (-?\d\.\d\d), SSIM = -?\d\.\d\d\) ([^.]+)\.", text
        )
        assert said is not None, (label, text)
        assert float(said.group(1)) == float(f"{row.rank_correlation:.2f}")
        assert said.group(2) == expected_verdict(row.rank_correlation)
    fails = [LABELS[r.method] for r in lesson.rows if expected_verdict(r.rank_correlation) ==
             STAYS_SIMILAR]  # fmt: skip
    passes = [LABELS[r.method] for r in lesson.rows if expected_verdict(r.rank_correlation) ==
              CHANGES]  # fmt: skip
    image = re.search(r"([^.:]+) still looks? like", text)
    assert (image is not None) == bool(fails)
    if image:
        assert named(image.group(1)) == fails
    weights = re.search(r"([^.:]+) depends? on the weights", text)
    assert (weights is not None) == bool(passes)
    if weights:
        assert named(weights.group(1)) == passes
    assert ("With only the classifier randomised" in text) == with_heads


def test_the_reading_of_the_classic_lesson():
    text = lesson_sentence(lesson_with([0.2, 0.1, 0.9, 0.6], [0.8, 0.7, 0.95, 0.85]))
    assert (
        "Guided Backprop still looks like its map on the trained model after every weight, from "
        "the classifier to the stem, was replaced by noise: it shows the image, its edges and "
        "contrast, not what the model learned." in text
    )
    assert "Grad-CAM and Saliency depend on the weights" in text
    assert f"Guided Grad-CAM (ρ = 0.60, SSIM = 0.30) {PARTLY_CHANGES}." in text
    assert "every weight, from the classifier to the stem, was replaced by noise" in text
    assert "ρ = 0.80 (Grad-CAM), 0.70 (Saliency), 0.95 (Guided Backprop)" in text
    assert "down to layer1.0" in lesson_sentence(lesson_with([0.2], down_to="layer1.0"))


def test_the_chart_has_a_bar_per_method_and_the_thresholds():
    lesson = lesson_with([0.2, 0.1, 0.9, 0.6], [0.8, 0.7, 0.95, 0.85])
    figure = lesson_figure(lesson)
    head, full, ssim = figure.data
    labels = [LABELS[m] for m in LESSON_METHODS]
    assert list(full.x) == labels
    assert list(full.y) == [0.2, 0.1, 0.9, 0.6]
    assert list(head.y) == [0.8, 0.7, 0.95, 0.85]
    assert list(ssim.y) == [0.1, 0.05, 0.45, 0.3]
    lines = sorted(shape.y0 for shape in figure.layout.shapes)
    assert lines == [0, CHANGES_BELOW, STAYS_SIMILAR_FROM]
    assert len(lesson_figure(lesson_with([0.2, 0.1])).data) == 2  # no classifier bars


def test_a_pixel_methods_cascade_is_named_without_a_layer():
    original = result([[1.0, 0.0]])
    steps = (SanityStep("fc", "classifier", 1, 0.9, 0.5, original),
             SanityStep("stem", "stem", 2, 0.1, 0.5, original))  # fmt: skip
    text = sanity_sentence(SanityCheck(original, steps, "saliency", None, 0, 0))
    assert "Saliency passes: its map follows the weights." in text
    title = sanity_figure(SanityCheck(original, steps, "guidedgradcam", "layer3", 0, 0))
    assert (
        title.layout.title.text
        == "Sanity check: Guided Grad-CAM at layer3 as the weights are destroyed"
    )
