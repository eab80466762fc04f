"""LRP through the skip connections (resnet_viz.analysis.attribution.lrp): relevance conserved
overall and per block, the shortcut/branch split, a hand case, agreement with zennit's own
ResNetCanonizer on torchvision's ResNet-18, the shared model left as found, bad input refused."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from torch import nn
from torchvision.models import resnet18
from zennit.attribution import Gradient
from zennit.composites import EpsilonPlusFlat
from zennit.torchvision import ResNetCanonizer

from resnet_viz.analysis.attribution.lrp import COMPOSITES, lrp
from resnet_viz.analysis.copies import hook_count, same_state, snapshot
from resnet_viz.core.build import build_model
from resnet_viz.core.from_weights import spec_from_state_dict
from resnet_viz.core.spec import ResNetSpec, SpecError

SIDE = 32
SPECS = {
    "post-activation, projections": ResNetSpec(
        layers=(2, 1, 1, 1), widths=(4, 8, 8, 16), num_classes=5
    ),
    "pre-activation": ResNetSpec(
        layers=(2, 1, 1), widths=(4, 8, 16), stem="cifar", num_classes=5, preact=True
    ),
    "option A (zero-pad)": ResNetSpec(
        layers=(2, 1, 1), widths=(4, 8, 16), stem="cifar", num_classes=5, shortcut="A"
    ),
}


def bias_free_model(spec: ResNetSpec, seed: int = 0) -> nn.Module:
    """Random weights and non-trivial BatchNorm scales (gamma, running variance), with every
    bias zero once BN is folded (running mean 0, beta 0)."""
    torch.manual_seed(seed)
    model = build_model(spec).eval()
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.weight.uniform_(0.5, 1.5)
                module.running_var.uniform_(0.5, 2.0)
    return model


@pytest.fixture(scope="module")
def image():
    return torch.randn(1, 3, SIDE, SIDE, generator=torch.Generator().manual_seed(1))


# --------------------------------------------------------------------------------------------
# Conservation
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", SPECS)
@pytest.mark.parametrize("target", [0, 3])
def test_the_epsilon_rule_conserves_relevance_overall_and_per_block(name, target, image):
    """LRP-epsilon without bias relevance is the rule that conserves exactly: every neuron's
    denominator is its own pre-activation, so all it received goes to its inputs unless that
    is 0; with no biases a 0 pre-activation is a 0 value, which the rules above (all in
    proportion to the input's value) gave no relevance. (z+ loses what reaches a neuron whose
    positive part is 0 and whose value is not, which the residual sum allows.)"""
    model = bias_free_model(SPECS[name])
    result = lrp(model, image, target=target, composite="epsilon", zero_bias=True)
    with torch.no_grad():
        logit = float(model(image)[0, target])
    assert result.logit == pytest.approx(logit, rel=1e-4)  # folding BN changed only rounding
    assert result.input_relevance == pytest.approx(float(result.raw.astype(np.float64).sum()))
    assert result.conservation_error < 1e-3
    assert result.blocks
    for block in result.blocks:
        assert block.conservation_error < 1e-3, block
        assert block.at_sum == pytest.approx(block.entering, rel=1e-3)
        assert block.branch + block.shortcut == pytest.approx(block.at_sum, rel=1e-3)


@pytest.mark.parametrize("composite", COMPOSITES)
def test_shares_sum_to_one_at_every_block(composite, image):
    model = build_model(SPECS["post-activation, projections"]).eval()
    result = lrp(model, image, target=2, composite=composite)
    names = [block.block for block in result.blocks]
    assert names == ["layer1.0", "layer1.1", "layer2.0", "layer3.0", "layer4.0"]
    for block in result.blocks:
        assert block.skip
        assert block.branch_share + block.shortcut_share == pytest.approx(1.0, abs=1e-3)
    assert result.heatmap.shape == (SIDE, SIDE)
    assert result.heatmap.min() == 0.0
    assert result.heatmap.max() == 1.0
    assert result.raw.shape == (3, SIDE, SIDE)


def test_biases_absorb_relevance_unless_zeroed(image):
    """The fc bias takes its share under the epsilon rule: the input gets logit - bias-share."""
    model = bias_free_model(SPECS["option A (zero-pad)"])
    with torch.no_grad():
        model.fc.bias.fill_(0.5)
    kept = lrp(model, image, target=1, composite="epsilon")
    zeroed = lrp(model, image, target=1, composite="epsilon", zero_bias=True)
    assert kept.logit == zeroed.logit
    assert kept.input_relevance == pytest.approx(kept.logit - 0.5, rel=1e-3)
    assert zeroed.conservation_error < 1e-3


# --------------------------------------------------------------------------------------------
# Hand case and the library's own canonizer
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("composite", ["epsilon-plus-flat", "epsilon"])
def test_a_zeroed_branch_sends_all_relevance_through_the_shortcut(composite, image):
    model = build_model(SPECS["post-activation, projections"]).eval()
    with torch.no_grad():
        model.layer1[1].conv2.weight.zero_()  # F(x) = BN(0) = 0 (running mean 0, beta 0)
    result = lrp(model, image, target=0, composite=composite)
    block = next(b for b in result.blocks if b.block == "layer1.1")
    assert block.entering != 0
    assert block.branch == 0.0
    assert block.shortcut_share == pytest.approx(1.0, abs=1e-6)
    assert block.branch_share == 0.0
    other = next(b for b in result.blocks if b.block == "layer1.0")
    assert abs(other.branch_share) > 0.01  # the other blocks still split


@pytest.mark.slow
def test_equals_zennits_resnet_canonizer_on_torchvisions_resnet18(image):
    """The canonizer written for the app's Add does what zennit's ResNetCanonizer does for
    torchvision's BasicBlock: the same weights give the same relevance."""
    torch.manual_seed(0)
    reference = resnet18(num_classes=5).eval()
    with torch.no_grad():
        for module in reference.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.2, 0.2)
                module.running_mean.uniform_(-0.2, 0.2)
                module.running_var.uniform_(0.5, 2.0)
    state = reference.state_dict()
    model = build_model(spec_from_state_dict(state)).eval()
    model.load_state_dict(state, strict=True)
    ours = lrp(model, image, target=3, composite="epsilon-plus-flat")

    theirs_model = copy.deepcopy(reference)
    composite = EpsilonPlusFlat(canonizers=[ResNetCanonizer()])
    x = image.clone().requires_grad_()
    with Gradient(model=theirs_model, composite=composite) as attributor:
        output, relevance = attributor(x, lambda out: out * torch.eye(5)[[3]])
    assert ours.logit == pytest.approx(float(output.detach()[0, 3]), rel=1e-5)
    np.testing.assert_allclose(ours.raw, relevance[0].detach().numpy(), rtol=1e-4, atol=1e-6)


# --------------------------------------------------------------------------------------------
# The shared model, bad input
# --------------------------------------------------------------------------------------------


def test_the_model_is_left_exactly_as_found(image):
    model = build_model(SPECS["pre-activation"]).eval()
    before = (
        snapshot(model),
        [m.training for m in model.modules()],
        [type(m) for m in model.modules()],
        [p.requires_grad for p in model.parameters()],
        [n for n, _ in model.named_modules()],
    )
    for composite in ("epsilon-plus-flat", "epsilon-gamma-box"):
        lrp(model, image, composite=composite)
    assert same_state(model, before[0])
    assert [m.training for m in model.modules()] == before[1]
    assert [type(m) for m in model.modules()] == before[2]
    assert [p.requires_grad for p in model.parameters()] == before[3]
    assert [n for n, _ in model.named_modules()] == before[4]
    assert all("forward" not in vars(m) for m in model.modules())
    assert hook_count(model) == 0
    assert all(p.grad is None for p in model.parameters())
    assert image.grad is None
    assert not image.requires_grad


def test_no_target_explains_the_top_class(image):
    model = build_model(SPECS["option A (zero-pad)"]).eval()
    result = lrp(model, image)
    with torch.no_grad():
        assert result.target_class == int(model(image)[0].argmax())


def test_bad_input_is_refused_with_a_clear_message(image):
    model = build_model(SPECS["option A (zero-pad)"]).eval()
    with pytest.raises(SpecError, match="Unknown LRP composite 'nope'"):
        lrp(model, image, composite="nope")
    for target in (5, -1, 1.0, True):
        with pytest.raises(SpecError, match="from 0 to 4"):
            lrp(model, image, target=target)
    with pytest.raises(SpecError, match="app's ResNet"):
        lrp(resnet18(num_classes=5).eval(), image)
    se = ResNetSpec(layers=(1, 1), widths=(8, 16), stem="cifar", num_classes=5, se=True)
    with pytest.raises(SpecError, match="squeeze-and-excitation"):
        lrp(build_model(se).eval(), image)
    with pytest.raises(SpecError, match="training mode"):
        lrp(copy.deepcopy(model).train(), image)
    with pytest.raises(SpecError, match=r"shape \(1, 3, H, W\)"):
        lrp(model, image[0])
    with pytest.raises(SpecError, match="normalisation"):
        lrp(model, image, composite="epsilon-gamma-box", mean=(0.5,), std=(0.5,))
