"""A residual block opened: x, F(x), the shortcut and the output agree with the block's own
forward pass, for every kind of shortcut, plain and pre-activation blocks; the model is left
untouched and hook-free."""

import dataclasses
import threading

import pytest
import torch

from resnet_viz.analysis.anatomy import block_anatomy, block_names
from resnet_viz.analysis.copies import hook_count, same_state, snapshot
from resnet_viz.core.build import build_model
from resnet_viz.core.presets import spec_for_depth
from resnet_viz.core.spec import SpecError
from resnet_viz.core.split import forward_steps, run_steps, split_at, step_index


def trained_like(spec):
    """``spec`` built under seed 0, with BatchNorm statistics and affine parameters moved away
    from (0, 1) so that no stage of the block is the identity by accident."""
    torch.manual_seed(0)
    model = build_model(spec)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.2, 0.2)
                module.running_var.uniform_(0.5, 2.0)
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.3, 0.3)
    return model.eval()


CIFAR = spec_for_depth(8, "cifar")
CASES = {
    "option A": (CIFAR, {"layer1.0": "identity", "layer2.0": "zero-pad"}),
    "option B": (dataclasses.replace(CIFAR, shortcut="B"), {"layer3.0": "projection"}),
    "pre-activation": (dataclasses.replace(CIFAR, shortcut="B", preact=True), {}),
    "plain": (CIFAR.plain_twin(), {"layer2.0": "none"}),
}


def image(spec, side=32):
    return torch.randn(1, spec.in_channels, side, side, generator=torch.Generator().manual_seed(5))


def block_input(model, x, block):
    with torch.no_grad():
        return run_steps(forward_steps(model)[: step_index(model, block)], x)


@pytest.mark.parametrize("case", CASES)
def test_every_block_agrees_with_its_real_forward_pass(case):
    spec, kinds = CASES[case]
    model = trained_like(spec)
    x = image(spec)
    for name in block_names(model):
        result = block_anatomy(model, x, block=name)
        stage, index = name.removeprefix("layer").split(".")
        block = model.stages[int(stage) - 1][int(index)]
        inputs = block_input(model, x, name)
        with torch.no_grad():
            real = block(inputs)
            logits = model(x)
        torch.testing.assert_close(result.input, inputs, rtol=0, atol=0)
        torch.testing.assert_close(result.output, real, rtol=0, atol=1e-5)
        torch.testing.assert_close(result.output, split_at(model, name).before(x), atol=1e-5,
                                   rtol=0)  # fmt: skip
        torch.testing.assert_close(result.logits, logits, rtol=0, atol=1e-5)
        if spec.skip:
            total = result.branch + result.shortcut
            expected = total if spec.preact else torch.relu(total)
            torch.testing.assert_close(result.output, expected, rtol=0, atol=1e-5)
        else:
            assert result.shortcut is None
            torch.testing.assert_close(result.output, torch.relu(result.branch), rtol=0, atol=1e-5)
        if name in kinds:
            assert result.shortcut_kind == kinds[name]
        assert result.branch_ratio == pytest.approx(
            result.branch.norm().item() / inputs.norm().item(), rel=1e-5
        )
        assert result.block_ratios[name] == pytest.approx(result.branch_ratio, rel=1e-12)
    assert list(result.block_ratios) == block_names(model)


def test_identity_shortcut_is_the_input_and_zero_padding_adds_zero_channels():
    model = trained_like(CIFAR)
    x = image(CIFAR)
    identity = block_anatomy(model, x, "layer1.0")
    assert identity.shortcut_kind == "identity"
    assert torch.equal(identity.shortcut, identity.input)
    torch.testing.assert_close(
        torch.tensor(identity.channel_ratio),
        identity.branch[0].flatten(1).norm(dim=1).double() / identity.input[0].flatten(1).norm(
            dim=1).double(),
        rtol=1e-6, atol=0,
    )  # fmt: skip
    padded = block_anatomy(model, x, "layer2.0")
    assert padded.shortcut_kind == "zero-pad"
    assert padded.input.shape == (1, 16, 32, 32)
    assert padded.shortcut.shape == padded.branch.shape == (1, 32, 16, 16)
    assert torch.equal(padded.shortcut[:, :16], padded.input[:, :, ::2, ::2])
    assert not padded.shortcut[:, 16:].any()
    assert padded.channel_ratio[:16].min() > 0
    assert torch.isnan(torch.tensor(padded.channel_ratio[16:])).all()
    plain = block_anatomy(trained_like(CIFAR.plain_twin()), x, "layer2.0")
    assert plain.channel_ratio is None  # shapes differ and there is no shortcut


def test_model_untouched_and_hook_free_even_when_a_call_fails():
    model = trained_like(CIFAR)
    before = snapshot(model)
    x = image(CIFAR)
    block_anatomy(model, x, "layer2.0")
    with pytest.raises(SpecError):
        block_anatomy(model, image(CIFAR, side=1), "layer2.0")
    with pytest.raises(SpecError, match="is a stage"):
        block_anatomy(model, x, "layer2")
    with pytest.raises(SpecError, match="no block"):
        block_anatomy(model, x, "layer7.0")
    assert same_state(model, before)
    assert hook_count(model) == 0
    assert all(p.grad is None and p.requires_grad for p in model.parameters())
    assert not any(m.training for m in model.modules())
    with pytest.raises(ValueError, match="training mode"):
        block_anatomy(model.train(), x, "layer2.0")
    model.eval()


def test_concurrent_calls_on_one_shared_model_each_get_their_own_tensors():
    """Two sessions open blocks while a third runs plain forward passes of other images on the
    same model without the lock: no hook may record another thread's tensors."""
    model = trained_like(CIFAR)
    inputs = [image(CIFAR) * (i + 1) for i in range(2)]
    expected = [block_anatomy(model, x, "layer3.0").output for x in inputs]
    results: dict[int, list[torch.Tensor]] = {0: [], 1: []}
    done = threading.Event()

    def work(i: int) -> None:
        for _ in range(10):
            results[i].append(block_anatomy(model, inputs[i], "layer3.0").output)

    def noise() -> None:
        other = image(CIFAR) * -3
        with torch.no_grad():
            while not done.is_set():
                model(other)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    bystander = threading.Thread(target=noise)
    bystander.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    done.set()
    bystander.join()
    for i, out in enumerate(expected):
        assert len(results[i]) == 10
        assert all(torch.equal(r, out) for r in results[i])
    assert hook_count(model) == 0
