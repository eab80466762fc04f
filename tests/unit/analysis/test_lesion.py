"""lesion: hand-checked lesions on tiny models, which blocks are lesionable, the model left
untouched, path lengths, and Veit et al.'s result on the shipped pair (with margins)."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch
from torch import nn

from resnet_viz import build_model, preset
from resnet_viz.analysis.lesion import (
    LesionResult,
    lesion_study,
    lesionable_blocks,
    path_length_distribution,
)
from resnet_viz.core.spec import ResNetSpec
from resnet_viz.experiments.degradation import digits_spec
from resnet_viz.experiments.lesion import (
    CHANCE,
    DEPTH,
    HELD_OUT,
    PLAIN_CHECKPOINT,
    RESNET_CHECKPOINT,
    held_out_digits,
    load_pair,
    save_pair,
    train_pair,
    training_recipe,
)
from resnet_viz.runtime.kernels import KERNEL_ENVIRONMENT, machine_description
from resnet_viz.weights import load_demo_model
from tests.tool_support import run_tool

# Two stages of two basic blocks, CIFAR stem, option A: layer1.0, layer1.1 and layer2.1 keep
# their input's shape, layer2.0 halves it.
TINY = ResNetSpec(
    block="basic", layers=(2, 2), widths=(4, 8), stem="cifar", shortcut="A", num_classes=5
)


def tiny(spec: ResNetSpec = TINY, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    model = build_model(spec)
    with torch.no_grad():  # non-trivial BN statistics and affine parameters
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
    return model.eval()


def inputs(n: int = 256, seed: int = 1) -> torch.Tensor:
    return torch.randn(n, 3, 12, 12, generator=torch.Generator().manual_seed(seed))


def centre_classifier(model: nn.Module, x: torch.Tensor) -> nn.Module:
    """A random network's pooled ReLU features share a large mean, so it gives every input the
    same class and no lesion can change an answer. Whiten the classifier on ``x``'s features
    (random directions over their spread, minus their mean) so answers vary with the input."""
    feats = []
    hook = model.avgpool.register_forward_hook(lambda m, i, o: feats.append(o.flatten(1)))
    with torch.no_grad():
        model(x)
        hook.remove()
        f = feats[0]
        model.fc.weight.normal_(0, 1, generator=torch.Generator().manual_seed(3))
        model.fc.weight.div_(f.std(0).clamp_min(1e-6))
        model.fc.bias.copy_(-model.fc.weight @ f.mean(0))
    return model


def forward_without(model: nn.Module, x: torch.Tensor, skip_block: str) -> torch.Tensor:
    """The network written out by hand with ``skip_block`` replaced by the identity."""
    out = model.relu(model.bn1(model.conv1(x)))
    for stage_index, stage in enumerate(model.stages, start=1):
        for block_index, block in enumerate(stage):
            if f"layer{stage_index}.{block_index}" != skip_block:
                out = block(out)
    return model.fc(torch.flatten(model.avgpool(out), 1))


def predictions(logits: torch.Tensor) -> torch.Tensor:
    return logits.argmax(1)


# --------------------------------------------------------------------------- by hand


def test_lesionable_blocks_are_the_shape_preserving_ones():
    assert lesionable_blocks(tiny(), inputs(2)) == ["layer1.0", "layer1.1", "layer2.1"]
    plain = tiny(TINY.plain_twin())
    assert lesionable_blocks(plain, inputs(2)) == ["layer1.0", "layer1.1", "layer2.1"]
    resnet20 = dataclasses.replace(preset("resnet20"), num_classes=7)
    expected = ["layer1.0", "layer1.1", "layer1.2", "layer2.1", "layer2.2", "layer3.1", "layer3.2"]
    assert lesionable_blocks(build_model(resnet20), torch.zeros(1, 3, 32, 32)) == expected
    # The demo model's layout (2, 2, 2) at 64 px: 4 lesionable blocks (the CIFAR stem already
    # gives stage 1 its 16 channels, so layer1.0 keeps the shape too).
    demo = ResNetSpec(layers=(2, 2, 2), widths=(16, 32, 64), stem="cifar", num_classes=7)
    assert lesionable_blocks(build_model(demo), torch.zeros(1, 3, 64, 64)) == [
        "layer1.0",
        "layer1.1",
        "layer2.1",
        "layer3.1",
    ]


def test_a_block_whose_branch_is_zero_changes_nothing():
    """Zero the last BN of layer1.1's branch: F(x) = 0, so the block computes relu(x) = x and
    removing it must leave every prediction as it was; removing another block does not."""
    model = tiny()
    with torch.no_grad():
        model.layer1[1].bn2.weight.zero_()
        model.layer1[1].bn2.bias.zero_()
    x = inputs()
    centre_classifier(model, x)
    with torch.no_grad():
        y = predictions(model(x))  # labels = the intact model's answers: baseline 1.0
    assert len(y.unique()) == 5
    result = lesion_study(model, (x, y))
    assert result.baseline == 1.0
    assert result.accuracy["layer1.1"] == 1.0
    assert result.accuracy["layer1.0"] < 1.0
    assert result.accuracy["layer2.1"] < 1.0


@pytest.mark.parametrize("spec", [TINY, TINY.plain_twin()], ids=["resnet", "plain"])
def test_lesion_equals_the_network_written_without_the_block(spec):
    """For each block, labels are the hand-written lesioned network's predictions, so the
    study must score exactly 1.0 on that block (and its baseline is the intact agreement)."""
    x = inputs()
    model = centre_classifier(tiny(spec), x)
    for name in ("layer1.0", "layer1.1", "layer2.1"):
        with torch.no_grad():
            y = predictions(forward_without(model, x, name))
            agreement = (predictions(model(x)) == y).float().mean().item()
        result = lesion_study(model, (x, y))
        assert result.accuracy[name] == 1.0
        assert result.baseline == pytest.approx(agreement)
        assert agreement < 0.9
        others = [acc for other, acc in result.accuracy.items() if other != name]
        assert max(others) < 1.0
        assert result.plain is (not spec.skip)


def test_plain_true_on_a_post_activation_resnet_gives_the_same_numbers():
    x = inputs()
    model = centre_classifier(tiny(), x)
    y = torch.randint(0, 5, (len(x),), generator=torch.Generator().manual_seed(2))
    dropped, identity = lesion_study(model, (x, y)), lesion_study(model, (x, y), plain=True)
    assert dropped.accuracy == identity.accuracy
    assert not dropped.plain
    assert identity.plain


def test_preactivation_blocks_drop_their_branch():
    spec = dataclasses.replace(TINY, preact=True)
    x = inputs()
    model = centre_classifier(tiny(spec), x)
    with torch.no_grad():
        model.layer2[1].conv2.weight.zero_()  # the branch's last op: F(x) = 0
        y = predictions(model(x))
    result = lesion_study(model, (x, y))
    assert result.accuracy["layer2.1"] == 1.0
    assert result.accuracy["layer1.0"] < 1.0


def test_no_branch_to_drop_in_a_plain_network():
    with pytest.raises(ValueError, match="no skip connections"):
        lesion_study(tiny(TINY.plain_twin()), (inputs(4), torch.zeros(4, dtype=torch.long)),
                     plain=False)  # fmt: skip


@pytest.mark.parametrize(
    "batch",
    [
        (torch.zeros(4, 3, 12, 12),),
        (torch.zeros(4, 3, 12), torch.zeros(4, dtype=torch.long)),
        (torch.zeros(4, 3, 12, 12), torch.zeros(3, dtype=torch.long)),
        (torch.zeros(4, 3, 12, 12), torch.zeros(4)),
        (torch.zeros(0, 3, 12, 12), torch.zeros(0, dtype=torch.long)),
    ],
)
def test_bad_batches_are_refused(batch):
    with pytest.raises(ValueError, match=r"batch|Images|Labels"):
        lesion_study(tiny(), batch)


def test_the_model_is_left_exactly_as_it_was():
    model = tiny().train()  # train mode: a careless study would update BN statistics
    before = {k: v.clone() for k, v in model.state_dict().items()}
    seen = []
    handle = model.layer1[1].register_forward_hook(lambda m, i, o: seen.append(1))
    hooks_before = {n: dict(m._forward_hooks) for n, m in model.named_modules()}
    x = inputs(64)
    lesion_study(model, (x, torch.zeros(64, dtype=torch.long)))
    assert seen == []  # the caller's hook did not fire during the study
    assert {n: dict(m._forward_hooks) for n, m in model.named_modules()} == hooks_before
    assert all(not m._forward_pre_hooks for m in model.modules())
    assert all(m.training for m in model.modules())
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    handle.remove()


# --------------------------------------------------------------------------- path lengths


@pytest.mark.parametrize("n", [0, 1, 2, 3, 9, 27])
def test_path_lengths_are_binomial(n):
    dist = path_length_distribution(n)
    assert len(dist) == n + 1
    assert dist == [math.comb(n, k) / 2**n for k in range(n + 1)]
    assert math.fsum(dist) == pytest.approx(1.0, abs=1e-12)


def test_path_lengths_by_hand_and_at_depth():
    assert path_length_distribution(3) == [0.125, 0.375, 0.375, 0.125]
    dist = path_length_distribution(540)  # ResNet-110 has 54 blocks, ResNet-1202 600
    assert math.fsum(dist) == pytest.approx(1.0, abs=1e-12)
    assert max(range(541), key=dist.__getitem__) == 270
    for bad in (-1, 2.0, True):
        with pytest.raises(ValueError, match="whole number"):
            path_length_distribution(bad)


# --------------------------------------------------------------------------- the shipped pair


@pytest.fixture(scope="module")
def shipped():
    resnet, plain = load_pair()
    batch = held_out_digits()
    return lesion_study(resnet, batch), lesion_study(plain, batch)


def test_shipped_checkpoints_are_demo_format_files_under_2_mb():
    for path, skip in ((RESNET_CHECKPOINT, True), (PLAIN_CHECKPOINT, False)):
        assert path.stat().st_size < 2_000_000
        loaded = load_demo_model("cpu", path=path)
        assert loaded.spec == digits_spec(DEPTH, skip=skip)
        assert loaded.categories == [str(d) for d in range(10)]
        assert loaded.preprocessing.size == 8
        data = torch.load(path, weights_only=True)
        assert data["trained"] == training_recipe()


def test_shipped_pair_both_work(shipped):
    resnet, plain = shipped
    assert resnet.num_images == HELD_OUT
    assert resnet.baseline > 0.95
    assert plain.baseline > 0.9
    assert list(resnet.accuracy) == list(plain.accuracy)
    assert len(resnet.accuracy) == 10  # 4 + 3 + 3 identity blocks


def test_a_resnet_survives_lesions_that_break_its_plain_twin(shipped):
    """Veit et al. 2016, Fig. 3, with margins: removing a block costs the ResNet far less than
    the plain twin, on average and block by block; the plain twin falls to near chance (10 %)
    for most blocks, the ResNet stays near its baseline for most."""
    resnet, plain = shipped
    mean_drop_resnet = sum(resnet.drops.values()) / len(resnet.drops)
    mean_drop_plain = sum(plain.drops.values()) / len(plain.drops)
    assert mean_drop_resnet < mean_drop_plain - 0.5, (resnet.drops, plain.drops)
    for name in resnet.accuracy:
        assert resnet.accuracy[name] > plain.accuracy[name] + 0.2, name
    near_chance = [n for n, acc in plain.accuracy.items() if acc < 0.25]
    assert len(near_chance) >= 8, plain.accuracy
    barely_hurt = [n for n, drop in resnet.drops.items() if drop < 0.05]
    assert len(barely_hurt) >= 7, resnet.drops


def test_training_is_deterministic():
    """A short version of the CLI's training, twice: identical weights and buffers."""
    first = train_pair(epochs=1, train_images=96)
    second = train_pair(epochs=1, train_images=96)
    for a, b in zip(first, second, strict=True):
        sa, sb = a.state_dict(), b.state_dict()
        assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not torch.equal(first[0].conv1.weight, build_model(digits_spec(DEPTH)).conv1.weight)


def test_shipped_checkpoints_say_which_kernels_trained_them():
    for path in (RESNET_CHECKPOINT, PLAIN_CHECKPOINT):
        data = torch.load(path, weights_only=True)
        assert data["machine"]
        assert set(data["environment"]) <= set(KERNEL_ENVIRONMENT)
        assert data["torch"]
    assert 1 / len(load_demo_model("cpu", path=RESNET_CHECKPOINT).categories) == CHANCE


def test_save_pair_writes_both_files_in_the_checkpoint_format(tmp_path):
    resnet = build_model(digits_spec(8))
    plain = build_model(digits_spec(8, skip=False))
    paths = save_pair(resnet, plain, tmp_path / "out")
    assert [p.name for p in paths] == [RESNET_CHECKPOINT.name, PLAIN_CHECKPOINT.name]
    for path, model in zip(paths, (resnet, plain), strict=True):
        loaded = load_demo_model("cpu", path=path)
        assert loaded.spec == model.spec
        data = torch.load(path, weights_only=True)
        assert data["trained"] == training_recipe()
        assert data["machine"] == machine_description()
        state = model.state_dict()
        assert all(torch.equal(data["state_dict"][k], state[k]) for k in state)


@pytest.mark.slow
def test_the_cli_reproduces_the_shipped_pair_bit_for_bit_with_its_kernels(tmp_path):
    """``python -m resnet_viz.experiments.lesion`` with the kernel settings the shipped files
    record: on a machine they then describe, with the same torch build, the weights are equal
    to the last bit; elsewhere the test says why it skipped."""
    shipped = torch.load(RESNET_CHECKPOINT, weights_only=True)
    run_tool("resnet_viz.experiments.lesion", tmp_path, shipped["environment"])
    for path in (RESNET_CHECKPOINT, PLAIN_CHECKPOINT):
        old = torch.load(path, weights_only=True)
        new = torch.load(tmp_path / path.name, weights_only=True)
        assert new["trained"] == old["trained"]
        if (new["machine"], new["torch"]) != (old["machine"], old["torch"]):
            pytest.skip(
                f"trained on {old['machine']} with torch {old['torch']}; this run: "
                f"{new['machine']}, torch {new['torch']}"
            )
        state = old["state_dict"]
        assert list(new["state_dict"]) == list(state)
        assert all(torch.equal(new["state_dict"][k], state[k]) for k in state), path.name


def test_result_properties():
    result = LesionResult(baseline=0.9, accuracy={"a": 0.8, "b": 0.5}, plain=False, num_images=10)
    assert result.drops == pytest.approx({"a": 0.1, "b": 0.4})
    assert result.mean_accuracy == pytest.approx(0.65)
    assert math.isnan(LesionResult(0.9, {}, False, 10).mean_accuracy)
