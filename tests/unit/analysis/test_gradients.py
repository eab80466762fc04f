"""gradient_norms: the residual-vs-plain law, agreement with a plain autograd backward computed
here independently, the twin's weights, branch ratios by hand, determinism, SGD history, the
memory guard, and that nothing global changes."""

import dataclasses
import math

import pytest
import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from resnet_viz import SpecError, build_model, gradient_norms, preset, spec_for_depth
from resnet_viz.analysis.gradients import (
    INITS,
    MAX_STEPS,
    build_twins,
    estimate_memory_bytes,
    initialize,
)
from resnet_viz.core.build import Add
from resnet_viz.runtime.memory import BudgetError

# ResNet-20 with projection shortcuts (option B): small, and it has downsample convs.
SMALL = dataclasses.replace(preset("resnet20"), shortcut="B")


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    """One intra-op thread for this module, restored afterwards. On a 2-core machine shared with
    other processes, two OpenMP threads keep waiting for each other and the suite ran 10x slower
    (189 s instead of 18 s); one thread is barely slower when the machine is idle."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def cifar56():
    return gradient_norms(spec_for_depth(56, "cifar"), device="cpu")


@pytest.fixture(scope="module")
def cifar110():
    return gradient_norms(spec_for_depth(110, "cifar"), device="cpu")


@pytest.fixture(scope="module")
def cifar56_no_bn():
    return gradient_norms(spec_for_depth(56, "cifar"), batch_norm=False, device="cpu")


@pytest.fixture(scope="module")
def small():
    return gradient_norms(SMALL, seed=3, device="cpu")


def independent_norms(spec, seed, batch_size=16):
    """The documented recipe, written out with nothing from resnet_viz.analysis.gradients: seed,
    build
    the residual model, draw the batch, then the twin with the residual's weights; train-mode
    forward, mean cross-entropy, loss.backward(), norm of each Conv2d/Linear weight's .grad."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        residual = build_model(spec)
        x = torch.randn(batch_size, 3, 32, 32)
        y = torch.randint(0, spec.num_classes, (batch_size,))
        plain = build_model(spec.plain_twin())
    plain.load_state_dict(residual.state_dict(), strict=False)
    result = {}
    for which, model in (("residual", residual), ("plain", plain)):
        model.train()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        result[which] = {
            name: m.weight.grad.norm().item()
            for name, m in model.named_modules()
            if isinstance(m, (nn.Conv2d, nn.Linear))
        }
        result[f"{which}_loss"] = loss.item()
    return result


# The law (He et al. 2015, Fig. 1 and Sec. 4.2; Yang et al. 2019) --------------------------------


def test_skips_tame_the_gradient_explosion_of_deep_plain_nets(cifar56, cifar110):
    # Measured (seed 0): 14.7 vs 6.2e3 at 56, 35 vs 9.2e6 at 110; over seeds 0-5: residual
    # 15-19 / 30-43, plain 1.9e3-6.6e3 / 7.3e6-3.0e7 (docs/gradients.md, which names the
    # command). Pinned with margin: plain >= 10x residual at both depths, plain grows with depth.
    for report in (cifar56, cifar110):
        assert report.first_last_ratio("plain") >= 10 * report.first_last_ratio("residual")
        assert report.first_last_ratio("residual") < 100
        assert report.first_last_ratio("plain") > 1_000
    assert cifar110.first_last_ratio("plain") > 100 * cifar56.first_last_ratio("plain")


def test_first_last_ratio_is_stem_conv_over_last_branch_conv(cifar56):
    for which in ("residual", "plain"):
        norms = getattr(cifar56, which)
        expected = norms["conv1"] / norms["layer3.8.conv2"]
        assert cifar56.first_last_ratio(which) == expected
    with pytest.raises(ValueError, match="residual"):
        cifar56.first_last_ratio("both")


def test_without_batch_norm_the_plain_explosion_disappears(cifar56, cifar56_no_bn):
    # Yang et al. 2019: the explosion toward the input at initialisation is caused by
    # BatchNorm in train mode, not by depth alone. Without BN, He init (fan_out, which
    # preserves the backward signal's variance; He et al. 2015b) leaves plain-56's first/last
    # ratio near 1: 1.04 at seed 0, 0.16-1.8 over seeds 0-5. (It does *not* fall below 1
    # robustly: weight gradients multiply a forward activation by a backward signal, and
    # their scales roughly compensate.) Pinned: within [0.05, 20] and >= 100x below BN's.
    no_bn = cifar56_no_bn.first_last_ratio("plain")
    assert 0.05 < no_bn < 20
    assert cifar56.first_last_ratio("plain") > 100 * no_bn
    assert cifar56_no_bn.spec.batch_norm is False


def test_vanishing_gradients_are_reported_not_rounded_to_zero():
    # The textbook vanishing case: no BN and PyTorch's default init (variance 1 / (3 fan_in),
    # a third of what ReLU needs), so each layer shrinks the backward signal. Measured, seeds
    # 0-3: plain-56 first/last 2e-22 to 1.3e-21, residual-56 0.10-0.20 (the skips carry the
    # gradient). In float32 the stem's norm (4.9e-23) used to read exactly 0: the squares of its
    # entries underflow, hence the float64 accumulation, checked here against a hand backward.
    spec = dataclasses.replace(spec_for_depth(56, "cifar"), batch_norm=False)
    x = torch.randn(16, 3, 32, 32, generator=torch.Generator().manual_seed(7))
    y = torch.arange(16) % 10
    report = gradient_norms(spec, init="pytorch", batch=(x, y), device="cpu")
    assert report.first_last_ratio("plain") < 1e-12
    assert report.first_last_ratio("residual") > 1e-3
    _, plain = build_twins(spec, init="pytorch")
    F.cross_entropy(plain(x), y).backward()
    expected = plain.conv1.weight.grad.double().norm().item()
    assert 0 < expected < 1e-18
    assert report.plain["conv1"] == pytest.approx(expected, rel=1e-6)


def test_first_last_ratio_of_a_zero_last_gradient(small):
    snap = dataclasses.replace(
        small.history[0], plain={**small.plain, "layer3.2.conv2": 0.0, "conv1": 0.0}
    )
    zeroed = dataclasses.replace(small, history=(snap,))
    assert math.isnan(zeroed.first_last_ratio("plain"))
    snap = dataclasses.replace(snap, plain={**snap.plain, "conv1": 1e-30})
    assert dataclasses.replace(small, history=(snap,)).first_last_ratio("plain") == math.inf


# Exactly what a plain backward gives ---------------------------------------------------------


def test_norms_equal_an_independent_plain_backward(small):
    expected = independent_norms(SMALL, seed=3)
    assert list(small.residual) == list(expected["residual"])
    assert list(small.plain) == list(expected["plain"])
    torch.testing.assert_close(small.residual, expected["residual"], rtol=1e-5, atol=0)
    torch.testing.assert_close(small.plain, expected["plain"], rtol=1e-5, atol=0)
    assert small.residual_loss == pytest.approx(expected["residual_loss"], rel=1e-6)
    assert small.plain_loss == pytest.approx(expected["plain_loss"], rel=1e-6)


def test_norms_equal_an_independent_backward_at_depth_56(cifar56):
    expected = independent_norms(spec_for_depth(56, "cifar"), seed=0)
    torch.testing.assert_close(cifar56.residual, expected["residual"], rtol=1e-4, atol=0)
    torch.testing.assert_close(cifar56.plain, expected["plain"], rtol=1e-4, atol=0)


def test_twin_has_exactly_the_residual_weights_at_shared_names():
    residual, plain = build_twins(SMALL, seed=3)
    r_state, p_state = residual.state_dict(), plain.state_dict()
    assert set(p_state) == {k for k in r_state if ".downsample." not in k}
    assert any(".downsample." in k for k in r_state)
    for name, tensor in p_state.items():
        assert torch.equal(tensor, r_state[name]), name
        assert tensor.data_ptr() != r_state[name].data_ptr(), name  # copies, not shared
    assert residual.training
    assert plain.training


def test_one_entry_per_conv_and_linear_in_forward_order(small):
    residual, plain = build_twins(SMALL, seed=3)
    for model, norms in ((residual, small.residual), (plain, small.plain)):
        layers = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
        assert len(norms) == len(layers)
        ran: list[str] = []
        handles = [
            m.register_forward_hook(lambda *_, name=name, ran=ran: ran.append(name))
            for name, m in model.named_modules()
            if isinstance(m, (nn.Conv2d, nn.Linear))
        ]
        with torch.no_grad():
            model(torch.randn(2, 3, 32, 32))
        for handle in handles:
            handle.remove()
        assert list(norms) == ran
    assert small.shared_layers()[0] == "conv1"
    assert small.shared_layers()[-1] == "fc"
    assert small.shared_layers() == tuple(small.plain)
    assert small.projection_layers() == ("layer2.0.downsample.0", "layer3.0.downsample.0")
    assert list(small.aligned()) == list(small.shared_layers())
    assert small.aligned()["fc"] == (small.residual["fc"], small.plain["fc"])


def test_same_seed_same_numbers_bitwise_and_another_seed_differs(small):
    again = gradient_norms(SMALL, seed=3, device="cpu")
    assert again.history == small.history  # float equality: bitwise on the CPU
    other = gradient_norms(SMALL, seed=4, device="cpu")
    assert other.residual["conv1"] != small.residual["conv1"]
    assert other.plain["fc"] != small.plain["fc"]
    assert other.branch_ratio != small.branch_ratio


# Branch ratios -------------------------------------------------------------------------------


def test_branch_ratio_has_one_entry_per_block(cifar56):
    spec = spec_for_depth(56, "cifar")
    blocks = [f"layer{s + 1}.{b}" for s, n in enumerate(spec.layers) for b in range(n)]
    assert list(cifar56.branch_ratio) == blocks
    model = build_model(spec, device="meta")
    assert len(blocks) == sum(isinstance(m, Add) for m in model.modules())


def test_branch_ratio_by_hand_for_an_identity_and_a_zero_padding_block():
    spec = preset("resnet20")
    x = torch.randn(8, 3, 32, 32, generator=torch.Generator().manual_seed(5))
    y = torch.arange(8) % 10
    report = gradient_norms(spec, seed=2, batch=(x, y), device="cpu")
    model, _ = build_twins(spec, seed=2)
    inputs = {}
    for name in ("layer2.0", "layer2.2"):
        block = model.get_submodule(name)
        block.register_forward_pre_hook(lambda _m, args, name=name: inputs.update({name: args[0]}))
    with torch.no_grad():
        model(x)
        for name in ("layer2.0", "layer2.2"):
            block, xin = model.get_submodule(name), inputs[name]
            branch = block.bn2(block.conv2(torch.relu(block.bn1(block.conv1(xin)))))
            # Identity: the shortcut is x. Option A at a stride-2 block: x subsampled and
            # zero-padded, whose norm is that of the subsampled x.
            shortcut = xin if name == "layer2.2" else xin[:, :, ::2, ::2]
            expected = (branch.norm() / shortcut.norm()).item()
            assert report.branch_ratio[name] == pytest.approx(expected, rel=1e-5)


# SGD steps -----------------------------------------------------------------------------------


def test_steps_give_a_history_whose_loss_falls(small):
    report = gradient_norms(SMALL, seed=3, steps=4, device="cpu")
    assert report.steps == 4
    assert [s.step for s in report.history] == [0, 1, 2, 3, 4]
    assert report.history[0] == small.history[0]  # step 0 is the initialisation
    assert report.history[1].residual != report.history[0].residual
    for which in ("residual_loss", "plain_loss"):
        losses = [getattr(s, which) for s in report.history]
        assert losses[-1] < losses[0] - 0.1, (which, losses)
    assert report.first_last_ratio("plain", step=4) > 0


def test_bad_steps_init_and_lr_are_refused():
    with pytest.raises(SpecError, match="steps"):
        gradient_norms(SMALL, steps=MAX_STEPS + 1)
    with pytest.raises(SpecError, match="init"):
        gradient_norms(SMALL, init="zeros")
    with pytest.raises(SpecError, match="momentum"):
        gradient_norms(SMALL, steps=1, momentum=1.5)


# Knobs ---------------------------------------------------------------------------------------


def test_initialisations_change_the_weights_as_documented():
    assert set(INITS) == {"kaiming", "xavier", "orthogonal", "pytorch"}
    residual, _ = build_twins(SMALL, seed=0, init="orthogonal")
    w = residual.layer2[1].conv1.weight.flatten(1)  # 32 x 288: orthogonal rows, gain sqrt(2)
    torch.testing.assert_close(w @ w.T, 2 * torch.eye(32), atol=1e-4, rtol=0)
    xavier, _ = build_twins(SMALL, seed=0, init="xavier")
    fan_in = fan_out = 32 * 9
    assert xavier.layer2[1].conv1.weight.std().item() == pytest.approx(
        (2 / (fan_in + fan_out)) ** 0.5, rel=0.05
    )
    model = build_model(dataclasses.replace(SMALL, batch_norm=False))
    initialize(model, "pytorch")
    assert model.conv1.bias.abs().sum() > 0  # PyTorch's default keeps random biases
    kaiming = gradient_norms(SMALL, seed=3, init="kaiming", device="cpu")
    assert gradient_norms(SMALL, seed=3, init="xavier", device="cpu").residual != kaiming.residual


def test_batch_norm_kwarg_and_skip_field(small):
    no_bn = gradient_norms(SMALL, seed=3, batch_norm=False, device="cpu")
    spec_no_bn = gradient_norms(dataclasses.replace(SMALL, batch_norm=False), seed=3, device="cpu")
    assert no_bn.history == spec_no_bn.history
    # A plain spec still means "this architecture": the residual model gets its skips back.
    assert gradient_norms(SMALL.plain_twin(), seed=3, device="cpu").history == small.history


def test_user_batch_is_checked():
    x, y = torch.randn(4, 3, 32, 32), torch.tensor([0, 1, 2, 3])
    with pytest.raises(SpecError, match="channels"):
        gradient_norms(SMALL, batch=(torch.randn(4, 1, 32, 32), y))
    with pytest.raises(SpecError, match=r"0\.\.9"):
        gradient_norms(SMALL, batch=(x, torch.tensor([0, 1, 2, 10])))
    with pytest.raises(SpecError, match="one per image"):
        gradient_norms(SMALL, batch=(x, y[:3]))
    report = gradient_norms(SMALL, batch=(x, y), device="cpu")
    assert report.batch_size == 4
    assert report.input_size == (3, 32, 32)


# Guard, progress, and nothing global changed -------------------------------------------------


def test_memory_guard_refuses_with_the_numbers():
    with pytest.raises(BudgetError, match=r"about \d+\.\d GiB.*3\.0 GiB"):
        gradient_norms(preset("resnet152"), batch_size=64, device="cpu")
    with pytest.raises(BudgetError, match="GiB"):
        gradient_norms(SMALL, memory_budget_bytes=1024, device="cpu")
    small = estimate_memory_bytes(SMALL, batch_size=16)
    assert estimate_memory_bytes(SMALL, batch_size=32) > small > 0
    with pytest.raises(SpecError, match="too small"):
        gradient_norms(preset("resnet50"), input_size=(3, 8, 8))


def test_progress_goes_from_0_to_1():
    calls = []
    gradient_norms(SMALL, steps=1, device="cpu", progress=lambda f, m: calls.append((f, m)))
    fractions = [f for f, _ in calls]
    assert fractions[0] == 0.0
    assert fractions[-1] == 1.0
    assert fractions == sorted(fractions)
    assert all(isinstance(m, str) and m for _, m in calls)


def test_nothing_global_changes():
    torch.manual_seed(123)
    rng, threads = torch.get_rng_state(), torch.get_num_threads()
    with torch.no_grad():
        report = gradient_norms(SMALL, device="cpu")
        assert not torch.is_grad_enabled()
    assert report.residual["conv1"] > 0  # gradients even when the caller disabled them
    assert torch.equal(torch.get_rng_state(), rng)
    assert torch.get_num_threads() == threads
    with torch.inference_mode():
        assert gradient_norms(SMALL, device="cpu").residual == report.residual


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_on_the_gpu_the_numbers_match_the_cpu(small):
    gpu = gradient_norms(SMALL, seed=3)  # device=None picks CUDA
    assert gpu.device.startswith("cuda")
    # Same weights and batch (built on the CPU); cuDNN may use TF32 for convolutions.
    torch.testing.assert_close(gpu.residual, small.residual, rtol=2e-2, atol=0)
    torch.testing.assert_close(gpu.plain, small.plain, rtol=2e-2, atol=0)
    torch.testing.assert_close(gpu.branch_ratio, small.branch_ratio, rtol=2e-2, atol=0)


# The page's shared cache (resnet_viz.ui.gradients) ---------------------------------------------


def test_the_page_computes_each_study_once_for_all_sessions(monkeypatch, small):
    """Concurrent sessions asking for the same settings share one computation; a failed one is
    not kept, so asking again computes again."""
    import threading
    import time

    from resnet_viz.core.spec import SpecError
    from resnet_viz.ui import gradients as page

    calls = []

    def fake_study(*_args, **_kwargs):
        calls.append(1)
        time.sleep(0.2)  # long enough for the other sessions to arrive meanwhile
        return small

    monkeypatch.setattr(page, "gradient_norms", fake_study)
    settings = page.StudySettings(
        spec=SMALL, input_size=(3, 32, 32), batch_size=4, seed=12345, steps=0, init="kaiming",
        batch_norm=True,
    )  # fmt: skip
    results = []
    sessions = [threading.Thread(target=lambda: results.append(page.run_study(settings)))
                for _ in range(3)]  # fmt: skip
    for session in sessions:
        session.start()
    for session in sessions:
        session.join()
    assert len(calls) == 1
    assert len(results) == 3
    assert all(result is small for result in results)
    assert page.run_study(settings) is small
    assert len(calls) == 1

    def refused(*_args, **_kwargs):
        calls.append(1)
        raise SpecError("too heavy")

    monkeypatch.setattr(page, "gradient_norms", refused)
    other = dataclasses.replace(settings, seed=54321)
    for _ in range(2):
        with pytest.raises(SpecError, match="too heavy"):
            page.run_study(other)
    assert len(calls) == 3
