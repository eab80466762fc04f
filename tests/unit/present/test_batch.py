"""The batch table and its sentence (resnet_viz.present.batch): hand-computed means and
spreads, and a sentence that never contradicts the numbers it describes."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from resnet_viz.analysis.attribution.confidence import AverageDrop
from resnet_viz.present import wording
from resnet_viz.present.batch import (
    SCORE,
    MethodScores,
    batch_sentence,
    batch_table,
    image_drops,
    spread,
)


def scores(label, deletion, insertion, drop=None, increased=None) -> MethodScores:
    n = len(deletion)
    return MethodScores(
        label, tuple(deletion), tuple(insertion), tuple(drop or [0.0] * n),
        tuple(increased or [False] * n),
    )  # fmt: skip


def test_spread_is_the_mean_and_the_population_standard_deviation():
    assert spread([0.2, 0.4]) == pytest.approx((0.3, 0.1))
    assert spread([0.7]) == (0.7, 0.0)  # one image: no spread, not an undefined one


def test_the_table_has_each_numbers_mean_and_spread_per_method():
    table = batch_table([
        scores("Grad-CAM", [0.1, 0.3], [0.8, 0.6], [10.0, 30.0], [True, False]),
        scores("LayerCAM", [0.2, 0.2], [0.5, 0.5], [0.0, 0.0], [True, True]),
    ])  # fmt: skip
    grad = table.set_index("Method").loc["Grad-CAM"]
    assert grad["Images"] == 2
    assert grad["Deletion AUC mean"] == pytest.approx(0.2)
    assert grad["Deletion AUC SD"] == pytest.approx(0.1)
    assert grad["Insertion AUC mean"] == pytest.approx(0.7)
    assert grad["Average drop (%) mean"] == pytest.approx(20.0)
    assert grad["Average drop (%) SD"] == pytest.approx(10.0)
    assert grad["Increase in confidence (%) mean"] == pytest.approx(50.0)
    assert grad["Increase in confidence (%) SD"] == pytest.approx(50.0)
    layer = table.set_index("Method").loc["LayerCAM"]
    assert layer["Increase in confidence (%) mean"] == 100.0
    assert layer["Deletion AUC SD"] == 0.0
    assert table.to_csv(index=False).splitlines()[0].startswith("Method,Images,Deletion AUC mean")


def test_the_per_image_drops_are_the_terms_of_average_drop():
    # y = (0.5, 0.2, 0.0), o = (0.25, 0.3, 0.1): drops 50 %, 0 (it rose), 0 (y underflowed).
    result = AverageDrop(
        drop=50.0 / 3, increase=200.0 / 3, scores=np.array([0.5, 0.2, 0.0]),
        masked_scores=np.array([0.25, 0.3, 0.1]), target_classes=(0, 0, 0),
    )  # fmt: skip
    assert image_drops(result) == pytest.approx((50.0, 0.0, 0.0))
    assert np.mean(image_drops(result)) == pytest.approx(result.drop)


def test_a_clear_winner_is_named_with_the_next_best():
    text = batch_sentence([
        scores("Grad-CAM", [0.2, 0.2], [0.9, 0.7]),  # combined 0.6 on average
        scores("LayerCAM", [0.3, 0.3], [0.5, 0.5]),  # 0.2
    ])  # fmt: skip
    assert text == (
        f"Most faithful on average over 2 images: Grad-CAM ({SCORE} 0.60, SD 0.10, against "
        "0.20 for LayerCAM, the next best)."
    )


def test_one_method_alone_is_not_called_the_most_faithful():
    text = batch_sentence([scores("Grad-CAM", [0.25], [0.75])])
    assert text.startswith("Grad-CAM scores 0.50 on average over 1 image (")
    assert "Most faithful" not in text


unit = st.floats(0, 1, allow_nan=False)


@st.composite
def batches(draw):
    images = draw(st.integers(1, 4))
    methods = draw(st.integers(2, 4))
    column = st.lists(unit, min_size=images, max_size=images)
    return [scores(f"M{i}", draw(column), draw(column)) for i in range(methods)]


def _shown(value: float) -> int:
    return round(value * 10**wording.SCORE_DECIMALS)


@given(batches())
def test_the_sentence_never_contradicts_the_means(batch):
    text = batch_sentence(batch)
    means = {s.label: spread(s.combined)[0] for s in batch}
    tie = round(wording.TIE * 10**wording.SCORE_DECIMALS)
    top = max(_shown(m) for m in means.values())
    if text.startswith("Most faithful"):
        best = re.search(r": (M\d) \(", text).group(1)
        assert f"{means[best]:.2f}" in text
        assert all(_shown(means[best]) - _shown(m) > tie for n, m in means.items() if n != best)
    else:
        assert text.startswith("No one method wins")
        listed = re.findall(r"(M\d) (-?\d\.\d\d)", text)
        assert len(listed) >= 2
        for name, value in listed:
            assert value == f"{means[name]:.2f}"
            assert top - _shown(means[name]) <= tie
        left_out = set(means) - {n for n, _ in listed}
        assert all(top - _shown(means[n]) > tie for n in left_out)
