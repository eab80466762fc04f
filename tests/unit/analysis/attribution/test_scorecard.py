"""The scorecard: each number equal to calling its metric directly on a tiny ResNet (deletion
and insertion, ROAD, average drop and increase in confidence), one class for every metric,
progress over the whole work, ROAD skipped on request, the model left as found, bad input
refused."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from resnet_viz.analysis.attribution.confidence import average_drop
from resnet_viz.analysis.attribution.faithfulness import faithfulness
from resnet_viz.analysis.attribution.road import road
from resnet_viz.analysis.attribution.scorecard import scorecard, work_units
from resnet_viz.core.spec import SpecError
from tests.unit.analysis.attribution.test_cam import (
    TINY,
    assert_unchanged,
    image_for,
    snapshot,
    tiny_model,
)

pytestmark = pytest.mark.usefixtures("one_intra_op_thread")

SIDE = 32
STEPS = 4


def maps() -> dict[str, np.ndarray]:
    """A CAM-like coarse 4 x 4 map and a pixel map at image resolution, both in [0, 1]."""
    g = torch.Generator().manual_seed(7)
    return {
        "coarse": torch.rand(4, 4, generator=g).numpy(),
        "pixel": torch.rand(SIDE, SIDE, generator=g).numpy(),
    }


def test_each_number_equals_its_metric_called_directly():
    model, x = tiny_model().eval(), image_for(TINY, side=SIDE)
    before = snapshot(model)
    card = scorecard(model, x, maps(), target_class=3, steps=STEPS)
    assert card.names == ("coarse", "pixel")
    assert card.target_class == 3
    assert card.with_road
    for name, heat in maps().items():
        score = card[name]
        curves = faithfulness(model, x, heat, target_class=3, steps=STEPS)
        assert score.deletion_auc == curves.deletion_auc
        assert score.insertion_auc == curves.insertion_auc
        np.testing.assert_array_equal(score.faithfulness.deletion, curves.deletion)
        direct = road(model, x, heat, 3)
        assert score.road_score == direct.combined
        np.testing.assert_array_equal(score.road.morf, direct.morf)
        confidence = average_drop(model, x, [heat], 3)
        assert score.average_drop == confidence.drop
        assert score.increase == confidence.increase
        assert score.road_seconds is not None
        assert score.road_seconds >= 0
    # Numbers that could have been wrong: the two maps do not score alike.
    assert card["coarse"].deletion_auc != card["pixel"].deletion_auc
    assert card["coarse"].road_score != card["pixel"].road_score
    assert_unchanged(model, before)


def test_no_class_given_follows_the_top_1_for_every_metric():
    model, x = tiny_model().eval(), image_for(TINY, side=SIDE)
    top = int(model(x).argmax())
    card = scorecard(model, x, maps(), steps=STEPS, with_road=False)
    assert card.target_class == top
    for score in card.scores:
        assert score.faithfulness.target_class == top
        assert score.confidence.target_classes == (top,)
    heat = maps()["pixel"]
    assert card["pixel"].average_drop == average_drop(model, x, [heat], top).drop


def test_road_skipped_and_the_progress_over_the_whole_work():
    model, x = tiny_model().eval(), image_for(TINY, side=SIDE)
    for with_road in (False, True):
        seen: list[tuple[int, int]] = []
        card = scorecard(model, x, maps(), target_class=1, steps=STEPS, with_road=with_road,
                         progress=lambda d, t, seen=seen: seen.append((d, t)))  # fmt: skip
        total = work_units(2, steps=STEPS, with_road=with_road)
        # Per map: 2 (steps + 1) curve images, 2 confidence passes, 1 + 2 x 9 ROAD passes.
        assert total == 2 * (2 * (STEPS + 1) + 2 + 19 * with_road)
        assert {t for _, t in seen} == {total}
        done = [d for d, _ in seen]
        assert done == sorted(done)
        assert done[-1] == total
        assert all((s.road is None) is (not with_road) for s in card.scores)
        if not with_road:
            assert card["coarse"].road_score is None
            assert card["coarse"].road_seconds is None


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({}, "1 to 64 named maps"),
        ({"big": np.full((4, 4), 2.0)}, "must lie in [0, 1]"),
        ({"flat": np.zeros(4)}, "2-D"),
    ],
)
def test_bad_maps_are_refused_with_a_message(given, message):
    model, x = tiny_model().eval(), image_for(TINY, side=SIDE)
    with pytest.raises(SpecError, match=message.replace("[", r"\[").replace("]", r"\]")):
        scorecard(model, x, given, steps=STEPS, with_road=False)


def test_a_model_in_training_mode_is_refused():
    model, x = tiny_model().train(), image_for(TINY, side=SIDE)
    with pytest.raises(SpecError, match="eval"):
        scorecard(model, x, maps(), steps=STEPS, with_road=False)
