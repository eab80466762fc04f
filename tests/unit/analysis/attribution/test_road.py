"""ROAD and Average Drop / Increase in Confidence: equal to pytorch-grad-cam's ROAD and to
torchcam's ClassificationMetric on a tiny ResNet, hand answers (a harmonic image imputes to
itself, an all-ones map keeps every score), the model left as found, and bad input refused."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
import torch
from pytorch_grad_cam.metrics.perturbation_confidence import (
    PerturbationConfidenceMetric,
    RemoveLeastRelevantFirst,
    RemoveMostRelevantFirst,
)
from pytorch_grad_cam.metrics.road import (
    NoisyLinearImputer,
    ROADCombined,
    ROADLeastRelevantFirstAverage,
    ROADMostRelevantFirstAverage,
)
from pytorch_grad_cam.utils.model_targets import ClassifierOutputSoftmaxTarget
from torch import nn
from torchcam.metrics import ClassificationMetric

from resnet_viz.analysis.attribution.confidence import average_drop
from resnet_viz.analysis.attribution.road import DEFAULT_PERCENTILES, impute, road
from resnet_viz.core.spec import SpecError
from resnet_viz.runtime.locks import model_lock
from tests.unit.analysis.attribution.test_cam import (
    TINY,
    assert_unchanged,
    image_for,
    snapshot,
    tiny_model,
)

pytestmark = [
    pytest.mark.usefixtures("one_intra_op_thread"),
    # pytorch-grad-cam's imputer hands torch tensors to numpy.argwhere (its own warning).
    pytest.mark.filterwarnings("ignore:__array_wrap__ must accept context:DeprecationWarning"),
]

SIDE = 32
TARGET = 3


def upsampled(coarse: torch.Tensor, side: int = SIDE) -> np.ndarray:
    """The upsampling the metrics apply to a small map, done here so the oracles see it too."""
    up = nn.functional.interpolate(coarse[None, None], size=(side, side), mode="bilinear")
    return up[0, 0].numpy()


def coarse_map(seed: int) -> torch.Tensor:
    return torch.rand(4, 4, generator=torch.Generator().manual_seed(seed))


# ROAD against pytorch-grad-cam ------------------------------------------------------------


def test_imputation_equals_the_librarys_with_and_without_noise():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(1, 3, 16, 16, generator=g)
    keep = torch.rand(16, 16, generator=g) < 0.4
    reference = NoisyLinearImputer(noise=0)(x[0], keep.float())
    torch.testing.assert_close(impute(x, keep[None])[0], reference, atol=2e-6, rtol=0)
    # The library's noise comes from torch's global generator; ours from one seeded the same.
    torch.manual_seed(5)
    noisy = NoisyLinearImputer(noise=0.5)(x[0], keep.float())
    ours = impute(x, keep[None], noise=0.5, generator=torch.Generator().manual_seed(5))[0]
    torch.testing.assert_close(ours, noisy, atol=2e-6, rtol=0)
    assert not torch.allclose(noisy, reference, atol=0.1)  # the noise is really there


def test_road_equals_pytorch_grad_cams_combined_score_seeded():
    model, x = tiny_model().eval(), image_for(TINY, side=SIDE)
    coarse = coarse_map(3)
    ours = road(model, x, coarse, target=TARGET)  # the 4 x 4 map, upsampled inside
    targets = [ClassifierOutputSoftmaxTarget(TARGET)]
    heat = upsampled(coarse)[None]
    torch.manual_seed(0)  # ROADCombined runs LeRF at every percentile, then MoRF
    combined = ROADCombined()(x, heat, targets, model)
    torch.manual_seed(0)
    lerf = ROADLeastRelevantFirstAverage()(x, heat, targets, model)
    # MoRF's draws follow LeRF's in the combined run: replay LeRF's first.
    torch.manual_seed(0)
    ROADLeastRelevantFirstAverage()(x, heat, targets, model)
    morf = ROADMostRelevantFirstAverage()(x, heat, targets, model)
    # float32 in the library, float64 sums here: equal to float32 rounding.
    assert ours.combined == pytest.approx(float(combined[0]), abs=1e-6)
    assert ours.lerf_average == pytest.approx(float(lerf[0]), abs=1e-6)
    assert ours.morf_average == pytest.approx(float(morf[0]), abs=1e-6)
    assert abs(ours.combined) > 1e-4  # a score that could have been wrong
    np.testing.assert_array_equal(ours.percentiles, DEFAULT_PERCENTILES)
    assert ours.target_class == TARGET
    assert ours.forward_passes == 1 + 2 * len(DEFAULT_PERCENTILES)


@pytest.mark.parametrize("percentile", [0, 0.5, 25, 50, 77.7, 100])  # 0: all removed
def test_each_curve_point_equals_the_library_without_noise(percentile):
    model, x = tiny_model().eval(), image_for(TINY, side=SIDE)
    heat = upsampled(coarse_map(4))
    ours = road(model, x, heat, target=TARGET, percentiles=[percentile], noise=0, batch_size=1)
    targets = [ClassifierOutputSoftmaxTarget(TARGET)]
    for removal, curve in (
        (RemoveMostRelevantFirst, ours.morf),
        (RemoveLeastRelevantFirst, ours.lerf),
    ):
        metric = PerturbationConfidenceMetric(removal(percentile, NoisyLinearImputer(noise=0)))
        after = metric(x, heat[None], targets, model, return_diff=False)
        assert curve[0] == pytest.approx(float(after[0]), rel=1e-5)


# ROAD by hand -------------------------------------------------------------------------------


def test_a_linear_ramp_imputes_to_itself_away_from_the_border():
    """The stencil's weights are symmetric, so a linear image equals the mean of its
    neighbours everywhere inside: a hole away from the border is filled exactly."""
    rows, cols = torch.meshgrid(torch.arange(12.0), torch.arange(12.0), indexing="ij")
    ramp = (0.3 * rows - 0.2 * cols + 1)[None, None].expand(1, 2, 12, 12).clone()
    keep = torch.ones(1, 12, 12, dtype=torch.bool)
    keep[0, 3:9, 2:10] = False
    torch.testing.assert_close(impute(ramp, keep), ramp, atol=1e-5, rtol=0)


class MeanScore(nn.Module):
    """Two logits: the mean of the image, and 0."""

    def forward(self, x):
        score = x.mean(dim=(1, 2, 3))
        return torch.stack([score, torch.zeros_like(score)], dim=1)


def sigmoid(v: float) -> float:
    return float(1 / (1 + np.exp(-v)))


def test_road_by_hand_on_a_constant_image_and_with_nothing_kept():
    model, image = MeanScore().eval(), torch.full((1, 1, 8, 8), 2.0)
    heat = np.random.default_rng(0).random((8, 8))
    # A constant image imputes to itself: nothing changes, every score is 0.
    flat = road(model, image, heat, target=0, percentiles=[20, 60, 90], noise=0)
    assert flat.score == pytest.approx(sigmoid(2.0), rel=1e-6)
    np.testing.assert_allclose(flat.morf, sigmoid(2.0), rtol=1e-6)
    np.testing.assert_allclose(flat.lerf, sigmoid(2.0), rtol=1e-6)
    assert flat.combined == pytest.approx(0, abs=1e-6)
    # Percentile 0 keeps nothing: the image becomes the mean colour, 0, and the score 1/2.
    empty = road(model, image, heat, target=0, percentiles=[0], noise=0)
    assert empty.morf[0] == pytest.approx(0.5)
    assert empty.lerf[0] == pytest.approx(0.5)
    assert empty.morf_average == pytest.approx(0.5 - sigmoid(2.0), rel=1e-6)


def test_the_seed_decides_the_noise():
    model, x = tiny_model().eval(), image_for(TINY, side=SIDE)
    heat = coarse_map(5)
    a = road(model, x, heat, percentiles=[30, 70], noise=0.5, seed=1)
    b = road(model, x, heat, percentiles=[30, 70], noise=0.5, seed=1)
    c = road(model, x, heat, percentiles=[30, 70], noise=0.5, seed=2)
    np.testing.assert_array_equal(a.morf, b.morf)
    assert not np.array_equal(a.morf, c.morf)


# Average Drop / Increase in Confidence ------------------------------------------------------


class FixedMaps:
    """A torchcam CAM extractor that returns given maps, so torchcam scores exactly them."""

    def __init__(self, model: nn.Module, maps: torch.Tensor):
        self.model, self.maps = model, maps

    def __call__(self, class_idx=None, scores=None, normalized=True, **kwargs):
        return [self.maps]

    def fuse_cams(self, cams):
        return cams[0]

    def _hooks_off(self):
        return contextlib.nullcontext()


@pytest.mark.parametrize("per_image", [False, True])
def test_average_drop_equals_torchcams(per_image):
    model = tiny_model().eval()
    images = torch.cat([image_for(TINY, seed=s, side=SIDE) for s in range(6)])
    maps = torch.rand(6, 4, 4, generator=torch.Generator().manual_seed(7))
    # None: each image's top-1; else the top-1 for three images and the runner-up for three.
    ranked = model(images).argsort(dim=1, descending=True)
    target = [int(ranked[i, i % 2]) for i in range(6)] if per_image else None
    ours = average_drop(model, images, maps, target)
    metric = ClassificationMetric(FixedMaps(model, maps), lambda logits: logits.softmax(-1))
    metric.update(images, class_idx=target)
    theirs = metric.summary()
    # torchcam divides by y_c + 1e-7 and reports fractions; the paper's percentages here.
    assert ours.drop / 100 == pytest.approx(theirs["avg_drop"], rel=1e-5)
    assert ours.increase / 100 == pytest.approx(theirs["conf_increase"], abs=1e-12)
    assert 0 < ours.drop < 100  # neither trivial end
    assert list(ours.target_classes) == (target or ranked[:, 0].tolist())


def test_average_drop_by_hand():
    model = tiny_model().eval()
    images = torch.cat([image_for(TINY, seed=s, side=SIDE) for s in range(3)])
    ones = average_drop(model, images, np.ones((3, SIDE, SIDE)))
    np.testing.assert_array_equal(ones.masked_scores, ones.scores)  # o_c = y_c
    assert ones.drop == 0
    assert ones.increase == 0
    # The mean-score model: a half map halves the mean; the class-0 probability moves with it.
    hand = MeanScore().eval()
    x = torch.stack([torch.full((1, 4, 4), 2.0), torch.full((1, 4, 4), -2.0)])
    half = average_drop(hand, x, np.full((2, 4, 4), 0.5), target=0)
    np.testing.assert_allclose(half.scores, [sigmoid(2), sigmoid(-2)], rtol=1e-6)
    np.testing.assert_allclose(half.masked_scores, [sigmoid(1), sigmoid(-1)], rtol=1e-6)
    drop = (sigmoid(2) - sigmoid(1)) / sigmoid(2)  # the second image rises: no drop
    assert half.drop == pytest.approx(100 * drop / 2, rel=1e-5)
    assert half.increase == pytest.approx(50)


# The model as found, the lock held, bad input -----------------------------------------------


class LockProbe(nn.Module):
    def __init__(self):
        super().__init__()
        self.inner = MeanScore()
        self.seen: list[bool] = []

    def forward(self, x):
        self.seen.append(model_lock(self).locked())
        return self.inner(x)


def test_the_model_is_left_as_found_and_its_lock_held():
    model, x = tiny_model().eval(), image_for(TINY, side=SIDE)
    before = snapshot(model)
    road(model, x, coarse_map(1), percentiles=[50])
    average_drop(model, x, coarse_map(1)[None])
    assert_unchanged(model, before)
    probe = LockProbe().eval()
    road(probe, torch.ones(1, 1, 8, 8), np.eye(8), percentiles=[50])
    average_drop(probe, torch.ones(1, 1, 8, 8), np.eye(8)[None])
    assert probe.seen
    assert all(probe.seen)


@pytest.mark.parametrize(
    ("heatmap", "kwargs", "message"),
    [
        (np.ones((2, 8, 8)), {}, "2-D"),
        (np.full((8, 8), np.nan), {}, "NaN"),
        (np.ones((8, 8)), {"percentiles": [10, 101]}, "0 to 100"),
        (np.ones((8, 8)), {"percentiles": [-1]}, "0 to 100"),
        (np.ones((8, 8)), {"percentiles": []}, "1 to 101"),
        (np.ones((8, 8)), {"target": 2}, "target must be a class index from 0 to 1"),
        (np.ones((8, 8)), {"target": True}, "class index"),
        (np.ones((8, 8)), {"noise": -1}, "noise"),
        (np.ones((8, 8)), {"batch_size": 0}, "batch_size"),
    ],
)
def test_road_refuses_bad_input(heatmap, kwargs, message):
    with pytest.raises(SpecError, match=message):
        road(MeanScore().eval(), torch.ones(1, 1, 8, 8), heatmap, **kwargs)


@pytest.mark.parametrize(
    ("heatmaps", "target", "message"),
    [
        (np.ones((3, 8, 8)), None, "one heatmap per image"),
        (np.full((2, 8, 8), 1.5), None, r"\[0, 1\]"),
        (np.full((2, 8, 8), np.nan), None, "NaN"),
        (np.ones((2, 8)), None, "2-D"),
        (np.ones((2, 8, 8)), 5, "target must be a class index from 0 to 1"),
        (np.ones((2, 8, 8)), [0, -1], "class index"),
        (np.ones((2, 8, 8)), [0], "one target per image"),
    ],
)
def test_average_drop_refuses_bad_input(heatmaps, target, message):
    with pytest.raises(SpecError, match=message):
        average_drop(MeanScore().eval(), torch.ones(2, 1, 8, 8), heatmaps, target)


def test_a_model_in_training_mode_is_refused_not_switched():
    model = tiny_model().train()
    with pytest.raises(SpecError, match="training mode"):
        road(model, image_for(TINY, side=SIDE), coarse_map(0))
    with pytest.raises(SpecError, match="training mode"):
        average_drop(model, image_for(TINY, side=SIDE), coarse_map(0)[None])
    assert all(m.training for m in model.modules())
