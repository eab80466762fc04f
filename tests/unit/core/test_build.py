"""build_model: torchvision compatibility, and that every spec option is real."""

import dataclasses

import pytest
import torch
import torchvision
from torch import nn

from resnet_viz import ResNetSpec, SpecError, build_model, preset
from resnet_viz.core.build import Add, ZeroPadShortcut
from resnet_viz.core.presets import PRESETS

TORCHVISION_PRESETS = [name for name, p in PRESETS.items() if p.torchvision_builder]


def torchvision_model(name: str) -> nn.Module:
    """A torchvision model with random but non-trivial weights and BN statistics."""
    torch.manual_seed(0)
    model = getattr(torchvision.models, name)()
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.2, 0.2)
                module.running_mean.uniform_(-0.2, 0.2)
                module.running_var.uniform_(0.5, 1.5)
    return model.eval()


@pytest.mark.parametrize("name", TORCHVISION_PRESETS)
def test_state_dict_keys_and_shapes_equal_torchvisions(name):
    ours = build_model(preset(name), device="meta").state_dict()
    theirs = getattr(torchvision.models, name)(weights=None).state_dict()
    assert list(ours) == list(theirs)
    assert {k: v.shape for k, v in ours.items()} == {k: v.shape for k, v in theirs.items()}


@pytest.mark.parametrize("name", ["resnet18", "resnet50", "resnet152"])
def test_torchvision_weights_load_strictly_and_give_the_same_output(name):
    reference = torchvision_model(name)
    model = build_model(preset(name))
    model.load_state_dict(reference.state_dict(), strict=True)
    x = torch.randn(2, 3, 224, 224, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        torch.testing.assert_close(model(x), reference(x), rtol=1e-4, atol=1e-4)


def test_resnet101_on_a_batch_of_four_gives_one_row_per_image():
    with torch.no_grad():
        assert build_model(preset("resnet101"))(torch.randn(4, 3, 224, 224)).shape == (4, 1000)


def test_built_model_is_in_eval_mode():
    model = build_model(preset("resnet20"))
    assert not any(m.training for m in model.modules())


def test_no_inplace_relu_anywhere():
    relus = [m for m in build_model(preset("resnet50")).modules() if isinstance(m, nn.ReLU)]
    assert relus
    assert not any(r.inplace for r in relus)


def _backward_with_hooks(model: nn.Module) -> None:
    for module in model.modules():
        if isinstance(module, (nn.ReLU, nn.Sequential)) or hasattr(module, "downsample"):
            module.register_full_backward_hook(lambda *_: None)
    model.train()
    model(torch.randn(2, 3, 32, 32)).sum().backward()


def test_full_backward_hooks_work_where_torchvision_breaks():
    # torchvision's ReLU(inplace=True) and `out += identity` break module backward hooks
    # (pytorch#61519); ours must not. The torchvision half shows this test can fail.
    with pytest.raises(RuntimeError, match="inplace"):
        _backward_with_hooks(torchvision.models.resnet18())
    _backward_with_hooks(build_model(preset("resnet18")))


def test_plain_twin_has_the_same_layers_without_shortcuts():
    spec = preset("resnet50")
    residual = build_model(spec).state_dict()
    plain = build_model(spec.plain_twin()).state_dict()
    assert set(plain) == {k for k in residual if ".downsample." not in k}
    plain_model = build_model(spec.plain_twin())
    assert not any(isinstance(m, Add) for m in plain_model.modules())


def test_skip_changes_the_function():
    torch.manual_seed(0)
    spec = preset("resnet20")
    residual = build_model(spec)
    plain = build_model(spec.plain_twin())
    plain.load_state_dict(residual.state_dict())  # option A: no shortcut weights at all
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert not torch.allclose(residual(x), plain(x))


def test_block_adds_its_input_to_its_branch():
    """y = relu(F(x) + x) for an identity block, checked against the block's own layers."""
    torch.manual_seed(0)
    block = build_model(preset("resnet18")).layer1[1]
    x = torch.randn(1, 64, 8, 8)
    with torch.no_grad():
        branch = block.bn2(block.conv2(torch.relu(block.bn1(block.conv1(x)))))
        torch.testing.assert_close(block(x), torch.relu(branch + x))


def test_zero_padding_shortcut_by_hand():
    x = torch.arange(2 * 4 * 4, dtype=torch.float32).reshape(1, 2, 4, 4)
    y = ZeroPadShortcut(stride=2, extra_channels=3)(x)
    assert y.shape == (1, 5, 2, 2)
    assert y[0, 0].tolist() == [[0.0, 2.0], [8.0, 10.0]]
    assert y[0, 1].tolist() == [[16.0, 18.0], [24.0, 26.0]]
    assert y[0, 2:].abs().sum() == 0


def test_option_a_has_no_parameters_and_option_b_projects():
    a = build_model(preset("resnet20"))
    assert isinstance(a.layer2[0].downsample, ZeroPadShortcut)
    assert not hasattr(a.layer2[1], "downsample")
    b = build_model(dataclasses.replace(preset("resnet20"), shortcut="B"))
    assert b.layer2[0].downsample[0].weight.shape == (32, 16, 1, 1)
    assert not hasattr(b.layer1[0], "downsample")  # same shape: identity under option B
    c = build_model(dataclasses.replace(preset("resnet20"), shortcut="C"))
    assert all(hasattr(block, "downsample") for stage in c.stages for block in stage)


def test_cifar_stem_is_a_single_3x3_conv_without_pooling():
    model = build_model(preset("resnet56"))
    assert model.conv1.kernel_size == (3, 3)
    assert model.conv1.stride == (1, 1)
    assert not hasattr(model, "maxpool")


def test_v1_strides_on_the_first_1x1_and_v15_on_the_3x3():
    v15 = build_model(preset("resnet50")).layer2[0]
    v1 = build_model(dataclasses.replace(preset("resnet50"), stride_in_1x1=True)).layer2[0]
    assert (v15.conv1.stride, v15.conv2.stride) == ((1, 1), (2, 2))
    assert (v1.conv1.stride, v1.conv2.stride) == ((2, 2), (1, 1))


def test_preactivation_order_and_final_norm():
    spec = dataclasses.replace(preset("resnet18"), preact=True)
    model = build_model(spec)
    block = model.layer2[0]
    names = [name for name, _ in block.named_children()]
    assert names[:6] == ["bn1", "relu1", "conv1", "bn2", "relu2", "conv2"]
    assert block.bn1.num_features == 64  # normalises the block's input
    assert len(block.downsample) == 1  # projection without BN in pre-activation nets
    assert isinstance(model.final_bn, nn.BatchNorm2d)
    x = torch.randn(1, 64, 8, 8)
    with torch.no_grad():
        pre = torch.relu(block.bn1(x))
        branch = block.conv2(torch.relu(block.bn2(block.conv1(pre))))
        torch.testing.assert_close(block(x), branch + block.downsample(pre))


def test_without_batch_norm_convs_have_biases():
    model = build_model(dataclasses.replace(preset("resnet20"), batch_norm=False))
    assert not any(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    assert all(m.bias is not None for m in model.modules() if isinstance(m, nn.Conv2d))
    assert model(torch.randn(1, 3, 32, 32)).shape == (1, 10)


def test_grouped_convs_in_resnext():
    model = build_model(preset("resnext50_32x4d"), device="meta")
    assert model.layer1[0].conv2.groups == 32


def test_memory_guard_runs_before_allocation():
    huge = ResNetSpec(block="bottleneck", layers=(3, 4, 2000, 3))
    with pytest.raises(SpecError, match="GiB"):
        build_model(huge)
    assert build_model(preset("resnet18"), device="meta").fc.weight.is_meta  # shapes only


def test_parameter_count_equals_the_built_model_for_every_preset():
    from resnet_viz.core.layout import parameter_count

    for name, p in PRESETS.items():
        model = build_model(p.spec, device="meta")
        assert parameter_count(p.spec) == sum(t.numel() for t in model.parameters()), name
