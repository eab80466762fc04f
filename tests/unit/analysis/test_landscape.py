"""Loss landscapes: the centre is the model's own loss, a point off the centre is the loss of
weights moved by hand, the directions are filter-normalised, the model is untouched, the
roughness figure on surfaces with known curvature, and the shipped grids."""

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from resnet_viz.analysis.copies import hook_count, same_state, snapshot
from resnet_viz.analysis.landscape import (
    estimate_memory_bytes,
    filter_normalized_direction,
    grid,
    loss_landscape,
    nonconvex_fraction,
)
from resnet_viz.core.build import build_model
from resnet_viz.core.spec import SpecError
from resnet_viz.data.digits import load_digits
from resnet_viz.experiments.degradation import digits_spec
from resnet_viz.experiments.landscape import SETTINGS, landscape_record, shipped_settings
from resnet_viz.runtime.memory import BudgetError


@pytest.fixture(scope="module")
def tiny():
    """A ResNet-8 for the digits after 20 SGD steps on 48 digits (so its loss is not flat at
    ln 10 and its BatchNorm statistics are not (0, 1)), and those digits."""
    torch.manual_seed(0)
    model = build_model(digits_spec(8)).train()
    x, y = load_digits(48)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    for _ in range(20):
        optimizer.zero_grad()
        F.cross_entropy(model(x), y).backward()
        optimizer.step()
    model.zero_grad(set_to_none=True)
    return model.eval(), x, y


def test_grid_holds_zero_exactly():
    assert grid(5, 1.0).tolist() == [-1.0, -0.5, 0.0, 0.5, 1.0]
    assert grid(21, 0.3)[10] == 0.0


def test_centre_is_the_models_own_loss(tiny):
    model, x, y = tiny
    result = loss_landscape(model, x, y, resolution=5, span=0.5)
    assert result.loss.shape == result.accuracy.shape == (5, 5)
    assert 0.0 in result.alphas
    assert 0.0 in result.betas
    with torch.no_grad():
        logits = model(x)
    expected = F.cross_entropy(logits, y).item()
    assert result.loss[2, 2] == pytest.approx(expected, rel=1e-6)
    assert result.centre_loss == result.loss[2, 2]
    assert result.accuracy[2, 2] == (logits.argmax(1) == y).sum().item() / len(y)
    assert result.centre_loss < 2.0  # trained a little: below ln 10


def test_off_centre_point_is_the_loss_of_weights_moved_by_hand(tiny):
    model, x, y = tiny
    result = loss_landscape(model, x, y, resolution=5, span=0.5, seed=3)
    d1, d2 = result.directions
    for row, col in [(0, 4), (3, 1)]:
        alpha, beta = result.alphas[col], result.betas[row]
        moved = copy.deepcopy(model)
        with torch.no_grad():
            for name, p in moved.named_parameters():
                p.copy_(p + alpha * d1[name] + beta * d2[name])
            loss = F.cross_entropy(moved(x), y).item()
        assert result.loss[row, col] == pytest.approx(loss, rel=1e-5)
        assert result.loss[row, col] != pytest.approx(result.centre_loss, rel=1e-3)


def test_directions_are_filter_normalised(tiny):
    model, _, _ = tiny
    direction = filter_normalized_direction(model, torch.Generator().manual_seed(0))
    assert direction.keys() == dict(model.named_parameters()).keys()
    checked = 0
    for name, module in model.named_modules():
        if isinstance(module, nn.Conv2d | nn.Linear):
            d, w = direction[f"{name}.weight"], module.weight.detach()
            torch.testing.assert_close(
                d.flatten(1).norm(dim=1), w.flatten(1).norm(dim=1), rtol=1e-5, atol=0
            )
            assert not torch.equal(d, w)  # random, not the weights themselves
            checked += 1
            if module.bias is not None:
                assert not direction[f"{name}.bias"].any()
        elif isinstance(module, nn.BatchNorm2d):
            assert not direction[f"{name}.weight"].any()
            assert not direction[f"{name}.bias"].any()
    assert checked == 1 + 6 + 1  # stem, three stages of one block (two convs each), fc


def test_the_model_is_untouched(tiny):
    model, x, y = tiny
    before = snapshot(model)
    flags = [p.requires_grad for p in model.parameters()]
    loss_landscape(model, x, y, resolution=3, dims=1)
    assert same_state(model, before)
    assert not any(m.training for m in model.modules())
    assert [p.requires_grad for p in model.parameters()] == flags
    assert all(p.grad is None for p in model.parameters())
    assert hook_count(model) == 0


def test_one_dimensional_curve(tiny):
    model, x, y = tiny
    result = loss_landscape(model, x, y, resolution=7, dims=1)
    assert result.loss.shape == result.accuracy.shape == (7,)
    assert result.betas.tolist() == [0.0]
    assert len(result.directions) == 1
    full = loss_landscape(model, x, y, resolution=7)
    np.testing.assert_allclose(result.loss, full.loss[3], rtol=1e-6)  # same d1, beta = 0


def test_bad_arguments_and_the_memory_budget(tiny):
    model, x, y = tiny
    with pytest.raises(SpecError, match="odd"):
        loss_landscape(model, x, y, resolution=4)
    with pytest.raises(SpecError, match="Labels"):
        loss_landscape(model, x, y[:3])
    needed = estimate_memory_bytes(model, x)
    with pytest.raises(BudgetError, match="GiB, more than"):
        loss_landscape(model, x, y, memory_budget=needed - 1)


def test_nonconvex_fraction_on_surfaces_with_known_curvature():
    a = grid(5, 1.0)
    alpha, beta = np.meshgrid(a, a)
    assert nonconvex_fraction(alpha**2 + beta**2, a, a) == 0.0  # a bowl
    assert nonconvex_fraction(alpha**2 - beta**2, a, a) == 1.0  # a saddle
    assert nonconvex_fraction(-(alpha**2), a, a) == 1.0  # a ridge
    # alpha * beta: Hessian [[0, 1], [1, 0]], eigenvalues -1 and 1
    assert nonconvex_fraction(alpha * beta, a, a) == 1.0
    assert nonconvex_fraction(np.abs(a) ** 3, a) == 0.0  # a curve, convex
    assert nonconvex_fraction([0.0, 1.0, 0.0], [0.0, 1.0, 2.0]) == 1.0
    assert nonconvex_fraction([[0, 0, 0], [0, np.nan, 0], [0, 0, 0]], a[:3], a[:3]) == 1.0


def test_shipped_surfaces_deep_plain_is_rougher_than_deep_resnet():
    record = landscape_record()
    assert shipped_settings(record) == SETTINGS
    alphas, betas = np.array(record["alphas"]), np.array(record["betas"])
    assert len(alphas) == len(betas) == SETTINGS.resolution
    rough = {
        name: nonconvex_fraction(np.array(g["loss"]), alphas, betas)
        for name, g in record["grids"].items()
    }
    assert rough["plain-56"] > rough["resnet-56"] + 0.2, rough
    centre = SETTINGS.resolution // 2
    loss = {name: np.array(g["loss"]) for name, g in record["grids"].items()}
    accuracy = {name: np.array(g["accuracy"]) for name, g in record["grids"].items()}
    # at the trained weights: the deep ResNet fits its training digits, the deep plain net not
    assert accuracy["resnet-56"][centre, centre] > 0.99
    assert accuracy["plain-56"][centre, centre] < 0.6
    assert loss["plain-56"][centre, centre] > 10 * loss["resnet-56"][centre, centre]


def test_train_networks_returns_the_networks_train_curves_trains():
    from resnet_viz.experiments.degradation import CurveSettings, train_curves, train_networks

    settings = CurveSettings(depths=(8,), epochs=2, train_images=64, eval_images=32)
    networks, curves = train_networks(settings)
    assert list(networks) == ["plain-8", "resnet-8"]
    assert curves == train_curves(
        (8,), epochs=2, train_images=64, eval_images=32, warmup_epochs=settings.warmup_epochs
    )
    x, y = load_digits(32)
    for name, net in networks.items():
        assert not any(m.training for m in net.modules())
        with torch.no_grad():
            wrong = (net(x).argmax(1) != y).sum().item()
        assert curves[name][-1] == wrong / 32
