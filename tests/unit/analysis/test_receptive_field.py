"""Effective receptive fields: the reference ResNet-20 numbers, the theoretical box, the 95 %
box on hand-made maps, the gradient against a finite difference, and an untouched model."""

import numpy as np
import pytest
import torch

from resnet_viz.analysis.copies import hook_count, same_state, snapshot
from resnet_viz.analysis.receptive_field import (
    effective_receptive_field,
    estimate_memory_bytes,
    side_holding,
)
from resnet_viz.core.build import build_model
from resnet_viz.core.presets import spec_for_depth
from resnet_viz.core.spec import SpecError
from resnet_viz.core.split import split_at
from resnet_viz.runtime.memory import BudgetError


@pytest.fixture(scope="module")
def resnet20_twins():
    """Random-init CIFAR ResNet-20 (torch.manual_seed(0) before build_model) and its plain twin
    with the same weights."""
    spec = spec_for_depth(20, "cifar")
    torch.manual_seed(0)
    residual = build_model(spec)
    plain = build_model(spec.plain_twin())
    plain.load_state_dict(residual.state_dict())
    return residual, plain


def support(image: np.ndarray) -> tuple[int, int, int, int]:
    rows, cols = np.nonzero(image)
    return int(rows.min()), int(cols.min()), int(rows.max()), int(cols.max())


def test_reference_resnet20_at_96(resnet20_twins):
    residual, plain = resnet20_twins
    erf = effective_receptive_field(residual, (3, 96, 96))
    assert erf.layer == "layer3"
    assert erf.unit == (11, 11)  # the centre of the 24 x 24 map
    assert erf.centre == (44, 44)  # 11 x effective stride 4
    assert erf.theoretical == 81
    assert erf.box == (4, 4, 84, 84)
    assert support(erf.map) == erf.box  # nonzero on exactly the theoretical 81 x 81 box
    assert erf.map.max() == 1.0
    assert erf.map.min() == 0.0
    assert erf.side_95 == 43
    assert erf.mass_within(43) >= 0.95 > erf.mass_within(41)
    twin = effective_receptive_field(plain, (3, 96, 96))
    assert support(twin.map) == twin.box
    assert twin.side_95 == 51


def test_an_inner_block_and_given_images(resnet20_twins):
    residual, _ = resnet20_twins
    images = torch.randn(2, 3, 40, 40, generator=torch.Generator().manual_seed(1))
    erf = effective_receptive_field(residual, (3, 40, 40), images=images, target_layer="layer2.0")
    # layer2.0: the stem's 3x3 (3 px), layer1's six 3x3 convs (+12: 15), the stride-2 3x3
    # (+2: 17) and one more 3x3 at stride 2 (+4: 21)
    assert erf.theoretical == 21
    assert erf.unit == (9, 9)
    assert erf.centre == (18, 18)
    assert support(erf.map) == erf.box == (8, 8, 28, 28)
    assert erf.num_images == 2


def test_the_map_is_the_input_gradient_of_the_centre_unit(resnet20_twins):
    """One pixel by finite differences in float64: d unit / d x[0, c, 44, 44] summed over c."""
    residual, _ = resnet20_twins
    model = build_model(residual.spec).double()
    model.load_state_dict(residual.state_dict())
    x = torch.randn(1, 3, 48, 48, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    erf = effective_receptive_field(model, (3, 48, 48), images=x)
    before = split_at(model, "layer3").before

    def unit(z: torch.Tensor) -> float:
        with torch.no_grad():
            return before(z)[0, :, 5, 5].sum().item()

    grads = []
    for pixel in [(erf.centre[0], erf.centre[1]), (erf.centre[0] - 7, erf.centre[1] + 3)]:
        total = 0.0
        for c in range(3):
            step = torch.zeros_like(x)
            step[0, c, pixel[0], pixel[1]] = 1e-6
            total += abs((unit(x + step) - unit(x - step)) / 2e-6)
        grads.append(total)
    # the map is normalised by its maximum: compare the ratio of the two pixels
    expected = grads[1] / grads[0]
    actual = erf.map[erf.centre[0] - 7, erf.centre[1] + 3] / erf.map[erf.centre]
    assert actual == pytest.approx(expected, rel=1e-4)


def test_side_holding_on_hand_made_maps():
    image = np.zeros((9, 9))
    image[4, 4] = 1.0
    assert side_holding(image, (4, 4)) == 1
    image[4, 6] = 1.0  # half the mass two pixels to the right: needs a 5 x 5 box
    assert side_holding(image, (4, 4)) == 5
    assert side_holding(image, (4, 4), share=0.5) == 1
    image[:] = 1.0  # uniform 81: 95 % needs 77 pixels, a 9 x 9 box (7 x 7 holds 49)
    assert side_holding(image, (4, 4)) == 9
    assert side_holding(np.zeros((3, 3)), (1, 1)) == 0


def test_model_untouched_and_memory_refused_before_work(resnet20_twins):
    residual, _ = resnet20_twins
    before = snapshot(residual)
    effective_receptive_field(residual, (3, 32, 32), n=2)
    assert same_state(residual, before)
    assert all(p.grad is None and p.requires_grad for p in residual.parameters())
    assert not any(m.training for m in residual.modules())
    assert hook_count(residual) == 0
    needed = estimate_memory_bytes(residual, (3, 96, 96), 8)
    with pytest.raises(BudgetError, match="GiB, more than"):
        effective_receptive_field(residual, (3, 96, 96), memory_budget=needed - 1)
    with pytest.raises(SpecError, match="input channels"):
        effective_receptive_field(residual, (1, 32, 32))
    with pytest.raises(SpecError, match="no layer"):
        effective_receptive_field(residual, (3, 32, 32), target_layer="layer9")


def test_a_model_in_training_mode_is_measured_in_eval_mode_and_left_training(resnet20_twins):
    residual, _ = resnet20_twins
    training = build_model(residual.spec).train()
    training.load_state_dict(residual.state_dict())
    erf = effective_receptive_field(training, (3, 96, 96))
    assert erf.side_95 == 43  # eval mode: BatchNorm's running statistics, no batch coupling
    assert all(m.training for m in training.modules())
