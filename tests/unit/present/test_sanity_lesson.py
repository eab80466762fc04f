"""The sanity-check lesson's verdicts, reading and chart, on lessons built by hand: every
verdict follows the rank correlations along the cascade as shown, over their whole range, and
the reading names the method that survives deepest, and what the full randomisation does to
it, exactly as the numbers say."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from resnet_viz.analysis.attribution.sanity import SanityCheck, SanityStep
from resnet_viz.analysis.attribution.sanity_lesson import LESSON_METHODS, LessonRow, SanityLesson
from resnet_viz.present.cam import SANITY_PRINCIPLE, sanity_figure, sanity_sentence
from resnet_viz.present.sanity_lesson import (
    CHANGES_AT_ONCE,
    LABELS,
    MOST,
    NEVER_CHANGES,
    SIMILAR,
    SIMILAR_THROUGH,
    lesson_figure,
    lesson_sentence,
    lesson_verdict,
    similar_run,
    the,
)
from tests.unit.present.test_cam import result

FAST = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
#: Any correlation, drawn often near the threshold (0.695 and 0.705 are shown as 0.69/0.70/0.71).
rho = st.one_of(st.floats(-1, 1), st.sampled_from([-1.0, 0.0, 0.694, 0.695, 0.7, 0.705, 0.9, 1.0]))
DEMO_LABELS = ("classifier", "stage 3", "stage 2", "stage 1", "stem")
DEMO_SHARE = (0.003, 0.755, 0.944, 0.997, 1.0)


def lesson_with(rhos, labels=DEMO_LABELS, share=DEMO_SHARE) -> SanityLesson:
    """One row per sequence of correlations, a method of :data:`LESSON_METHODS` each."""
    original = result([[1.0, 0.0]])

    def steps(seq) -> tuple[SanityStep, ...]:
        pairs = enumerate(zip(labels, seq, strict=True), start=1)
        return tuple(SanityStep(label, label, d, r, r / 2, original) for d, (label, r) in pairs)

    rows = tuple(
        LessonRow(m, original, steps(seq)) for m, seq in zip(LESSON_METHODS, rhos, strict=False)
    )
    return SanityLesson(rows, tuple(labels), tuple(share), 0, "layer3", 0)


def shown(values) -> list[float]:
    return [float(f"{v:.2f}") for v in values]


def parse_verdict(verdict: str, labels) -> int:
    """How many leading checkpoints the verdict says are similar."""
    if verdict == NEVER_CHANGES:
        return len(labels)
    if verdict == CHANGES_AT_ONCE.format(first=the(labels[0])):
        return 0
    for run in range(1, len(labels)):
        said = SIMILAR_THROUGH.format(deepest=the(labels[run - 1]), first=the(labels[run]))
        if verdict == said:
            return run
    raise AssertionError(f"not a verdict: {verdict!r}")


def sequences(min_size=1, max_size=5):
    return st.lists(rho, min_size=min_size, max_size=max_size)


def test_the_verdicts_and_their_edges():
    labels = DEMO_LABELS
    assert lesson_verdict([0.94, 0.77, 0.60, 0.40, -0.29], labels) == (
        "stays similar through stage 3, first changes at stage 2"
    )
    assert lesson_verdict([0.81, 0.48, 0.5, 0.49, 0.23], labels) == (
        "stays similar through the classifier, first changes at stage 3"
    )
    assert lesson_verdict([0.69, 0.9, 0.9, 0.9, 0.9], labels) == (
        "changes as soon as the classifier is randomised"
    )
    assert lesson_verdict([0.9, 0.9, 0.9, 0.9, 0.696], labels) == NEVER_CHANGES  # 0.70 shown
    assert lesson_verdict([0.9, 0.9, 0.9, 0.9, 0.694], labels) == (
        "stays similar through stage 1, first changes at the stem"
    )
    assert lesson_verdict([0.9, 0.5, 0.9, 0.9, 0.9], labels).endswith("first changes at stage 3")


@FAST
@given(sequences())
def test_the_verdict_never_contradicts_the_numbers(values):
    labels = DEMO_LABELS[: len(values)]
    run = parse_verdict(lesson_verdict(values, labels), labels)
    assert run == similar_run(values)
    values = shown(values)
    assert all(v >= SIMILAR for v in values[:run])  # similar through its deepest step
    if run < len(values):
        assert values[run] < SIMILAR  # and changed at the next, never later


@FAST
@given(st.lists(sequences(5, 5), min_size=1, max_size=4), st.floats(0, 1))
def test_the_reading_never_contradicts_the_numbers(rhos, share):
    shares = (0.003, share, 0.944, 0.997, 1.0)
    lesson = lesson_with(rhos, share=shares)
    text = lesson_sentence(lesson)
    assert text.startswith(SANITY_PRINCIPLE)
    runs = {}
    for row in lesson.rows:
        label = LABELS[row.method]
        said = re.search(rf"{re.escape(label)} \(ρ = ([-\d., ]+)\) ([^.]+)\.", text)
        assert said is not None, (label, text)
        assert [float(v) for v in said.group(1).split(", ")] == shown(row.rank_correlations)
        runs[label] = parse_verdict(said.group(2), DEMO_LABELS)
        assert runs[label] == similar_run(row.rank_correlations)
    deepest = max(runs.values())
    survivors = [name for name, run in runs.items() if run == deepest]
    others = [name for name, run in runs.items() if run < deepest]
    assert ("No map stays similar" in text) == (deepest == 0)
    assert ("with every weight random:" in text) == (deepest == len(DEMO_LABELS))
    assert bool(re.search("survives? deepest", text)) == (
        0 < deepest < len(DEMO_LABELS) and bool(others)
    )
    assert ("changes too" in text or "similar again" in text or "Only the random" in text) == (
        0 < deepest < len(DEMO_LABELS)
    )
    if 0 < deepest < len(DEMO_LABELS):
        where = re.search(r"similar through ([^,]+), with (\d+)% of the weights random", text)
        assert where.group(1) == the(DEMO_LABELS[deepest - 1])
        assert int(where.group(2)) == round(100 * round(shares[deepest - 1], 2))
        most = "the destruction of most of the network" in text
        assert most == (round(shares[deepest - 1], 2) > MOST)
        if others:
            named = re.search(r"([^.:]+) survives? deepest", text).group(1).strip()
            assert named == _join(survivors)
            assert f"{_join(others)} change" in text
        for row in lesson.rows:
            label = LABELS[row.method]
            if label not in survivors:
                alone = _without_longer_labels(text, label)  # "Guided Grad-CAM" holds "Grad-CAM"
                assert f"changes {label} " not in alone
                assert f"{label}'s map" not in alone
                continue
            last = shown(row.rank_correlations)[-1]
            only = f"Only the random stem changes {label} (ρ = {last:.2f})." in text
            assert only == (deepest == len(DEMO_LABELS) - 1)
            if not only:
                again = f"{label}'s map is similar again (ρ = {last:.2f})" in text
                too = f"{label}'s map changes too (ρ = {last:.2f})" in text
                assert again == (last >= SIMILAR)
                assert too == (last < SIMILAR)


def _join(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def test_the_reading_of_the_demo_lesson():
    text = lesson_sentence(lesson_with([
        (0.81, 0.48, 0.50, 0.49, 0.23), (0.75, 0.45, 0.22, 0.17, 0.08),
        (0.94, 0.77, 0.60, 0.40, -0.29), (0.83, 0.54, 0.52, 0.48, 0.13),
    ]))  # fmt: skip
    assert (
        "as the randomisation reaches the classifier, stage 3, stage 2, stage 1 and the stem "
        "(similar while ρ ≥ 0.7):" in text
    )
    assert (
        "Guided Backprop (ρ = 0.94, 0.77, 0.60, 0.40, -0.29) stays similar through stage 3, first "
        "changes at stage 2." in text
    )
    assert (
        "Grad-CAM (ρ = 0.81, 0.48, 0.50, 0.49, 0.23) stays similar through the classifier, first "
        "changes at stage 3." in text
    )
    assert (
        "Guided Backprop survives deepest: its map stays similar through stage 3, with 76% of the "
        "weights random. An explanation that survives the destruction of most of the network is "
        "explaining the image more than the model. Grad-CAM, Saliency and Guided Grad-CAM change "
        "sooner. With every weight random, down to the stem, Guided Backprop's map changes too "
        "(ρ = -0.29)." in text
    )


def test_the_reading_when_only_the_stem_changes_it():
    text = lesson_sentence(lesson_with([(0.8, 0.3, 0.2, 0.1, 0.0), (0.98, 0.9, 0.8, 0.75, 0.1)]))
    assert "Saliency survives deepest: its map stays similar through stage 1" in text
    assert "Only the random stem changes Saliency (ρ = 0.10)." in text
    text = lesson_sentence(lesson_with([(0.9, 0.9), (0.9, 0.9)], ("classifier", "stem")))
    assert "Grad-CAM and Saliency stay similar with every weight random" in text
    text = lesson_sentence(lesson_with([(0.9, 0.8, 0.3)], ("classifier", "stage 1", "stem"),
                                       (0.01, 0.3, 1.0)))  # fmt: skip
    assert "The map stays similar through stage 1, with 30% of the weights random." in text
    assert "most of the network" not in text  # 30 % is not most


def test_the_chart_has_a_line_per_method_and_the_threshold():
    rhos = [(0.81, 0.48, 0.50, 0.49, 0.23), (0.94, 0.77, 0.60, 0.40, -0.29)]
    figure = lesson_figure(lesson_with(rhos))
    assert [t.name for t in figure.data] == ["Grad-CAM", "Saliency"]
    for trace, values in zip(figure.data, rhos, strict=True):
        assert list(trace.x) == list(DEMO_LABELS)
        assert list(trace.y) == list(values)
        assert list(trace.customdata) == [v / 2 for v in values]  # SSIM in the hover
    assert list(figure.layout.xaxis.categoryarray) == list(DEMO_LABELS)
    assert sorted(shape.y0 for shape in figure.layout.shapes) == [0, SIMILAR]


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


def _without_longer_labels(text: str, label: str) -> str:
    """``text`` without the other methods' labels that contain ``label``."""
    for other in LABELS.values():
        if other != label and label in other:
            text = text.replace(other, "")
    return text
