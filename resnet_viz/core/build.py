"""Turn a :class:`~resnet_viz.core.spec.ResNetSpec` into a PyTorch module, layer by layer as
:func:`~resnet_viz.core.layout.network_layout` plans it.

Module names follow torchvision's ``models/resnet.py`` (``conv1``, ``bn1``, ``layer1.0.conv1``,
``layer1.0.downsample.0``, ``fc``), so torchvision's ImageNet weights load with ``strict=True``
into the presets and give the same outputs. Departures from torchvision, and why:

- Every ReLU is its own module (``relu1``, ``relu2``, ...) and none is in-place, and the residual
  sum is an :class:`Add` module instead of ``out += identity``: forward/backward hooks (Grad-CAM,
  gradient norms) then see each activation once, and in-place ops on hooked tensors break
  autograd (pytorch#61519). None of these modules has parameters, so state_dicts are unchanged.
- The skip connection can be switched off (the paper's plain network), shortcuts can be zero-
  padding (option A) or projections everywhere (option C), blocks can be pre-activation.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F  # noqa: N812 (PyTorch's own convention)
from torch import nn

from .layout import BlockPlan, Layer, check_weight_budget, network_layout, se_parts
from .spec import ResNetSpec


class Add(nn.Module):
    """``residual + shortcut``: a module so hooks can read F(x) and the shortcut separately."""

    def forward(self, residual: torch.Tensor, shortcut: torch.Tensor) -> torch.Tensor:
        return residual + shortcut


class ZeroPadShortcut(nn.Module):
    """Option A (He et al. 2015, Sec. 3.3): identity that subsamples and pads new channels
    with zeros, so it has no parameters. Subsampling takes every ``stride``-th pixel, which is
    what a 1x1 convolution with that stride sees."""

    def __init__(self, stride: int, extra_channels: int) -> None:
        super().__init__()
        self.stride = stride
        self.extra_channels = extra_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride > 1:
            x = x[:, :, :: self.stride, :: self.stride]
        return F.pad(x, (0, 0, 0, 0, 0, self.extra_channels))

    def extra_repr(self) -> str:
        return f"stride={self.stride}, extra_channels={self.extra_channels}"


class SqueezeExcite(nn.Module):
    """Squeeze-and-excitation (Hu, Shen, Sun 2018, arXiv:1709.01507, Fig. 3): the channel means
    through a 1x1 conv to ``reduced`` channels, ReLU, a 1x1 conv back and a sigmoid give one
    gate per channel, which scales the input. Named as timm's ``SEModule`` (``fc1``, ``fc2``,
    with biases) so timm's weights load."""

    def __init__(self, layer: Layer) -> None:
        super().__init__()
        for part in se_parts(layer):
            self.add_module(part.name, _module(part))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        squeezed = self.relu(self.fc1(x.mean((2, 3), keepdim=True)))
        return x * torch.sigmoid(self.fc2(squeezed))


def _register(parent: nn.Module, layers: tuple[Layer, ...]) -> tuple[str, ...]:
    """Add ``layers`` to ``parent`` in order; dotted names (``conv1.0`` ... ``conv1.6`` of a
    deep stem) become an ``nn.Sequential``. Returns the top-level names, in forward order."""
    names: list[str] = []
    for layer in layers:
        top, _, index = layer.name.partition(".")
        if not index:
            parent.add_module(top, _module(layer))
        elif top not in names:
            parent.add_module(top, nn.Sequential())
        if index:
            getattr(parent, top).append(_module(layer))
        if top not in names:
            names.append(top)
    return tuple(names)


def _module(layer: Layer) -> nn.Module:
    """The PyTorch module for one planned layer (every fact comes from the plan)."""
    if layer.kind == "conv":
        return nn.Conv2d(
            layer.in_channels, layer.out_channels, layer.kernel, stride=layer.stride,
            padding=layer.padding, groups=layer.groups, bias=layer.bias,
        )  # fmt: skip
    if layer.kind == "bn":
        return nn.BatchNorm2d(layer.out_channels) if layer.enabled else nn.Identity()
    if layer.kind == "relu":
        return nn.ReLU()
    if layer.kind == "maxpool":
        return nn.MaxPool2d(kernel_size=layer.kernel, stride=layer.stride, padding=layer.padding)
    if layer.kind == "pool":
        return nn.AvgPool2d(layer.kernel, layer.stride, ceil_mode=True, count_include_pad=False)
    if layer.kind == "identity":
        return nn.Identity()
    if layer.kind == "se":
        return SqueezeExcite(layer)
    if layer.kind == "avgpool":
        return nn.AdaptiveAvgPool2d((1, 1))
    if layer.kind == "fc":
        return nn.Linear(layer.in_channels, layer.out_channels)
    raise ValueError(f"No module for a {layer.kind!r} layer.")


class ResidualBlock(nn.Module):
    """One residual block: y = relu(F(x) + shortcut(x)), or its pre-activation / plain form.

    Its layers, their order and its shortcut come from a
    :class:`~resnet_viz.core.layout.BlockPlan`:
    - post-activation (He et al. 2015, Fig. 5): conv-BN-ReLU ... conv-BN, add, ReLU;
    - pre-activation (He et al. 2016, Fig. 4e): BN-ReLU-conv ... BN-ReLU-conv, add; a projection
      shortcut reads the pre-activated input, the identity reads x itself;
    - plain (``skip=False``): the same branch, no add, no shortcut.
    """

    def __init__(self, plan: BlockPlan) -> None:
        super().__init__()
        self.skip = plan.shortcut.kind != "none"
        self.preact = plan.preact
        self.num_convs = len(plan.convs)
        # Registration order is the forward order: hooks and reports list layers as run.
        self._branch = tuple(layer.name for layer in plan.branch)
        self._after_add = tuple(layer.name for layer in plan.after_add)
        for layer in plan.branch:
            self.add_module(layer.name, _module(layer))
        shortcut = plan.shortcut
        if shortcut.layers:  # a projection, with or without its average pool
            self.downsample = nn.Sequential(*(_module(layer) for layer in shortcut.layers))
        elif shortcut.kind == "zero-pad":
            self.downsample = ZeroPadShortcut(shortcut.stride, shortcut.extra_channels)
        self._shortcut_reads_preactivated = shortcut.reads_preactivated
        if self.skip:
            self.add = Add()
        for layer in plan.after_add:
            self.add_module(layer.name, _module(layer))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = x
        pre_activated = x
        for i, name in enumerate(self._branch):
            out = getattr(self, name)(out)
            if i == 1 and self.preact:  # after the first BN-ReLU
                pre_activated = out
        if self.skip:
            shortcut_input = pre_activated if self._shortcut_reads_preactivated else x
            downsample = getattr(self, "downsample", None)
            shortcut = shortcut_input if downsample is None else downsample(shortcut_input)
            out = self.add(out, shortcut)
        for name in self._after_add:
            out = getattr(self, name)(out)
        return out


class ResNet(nn.Module):
    """A ResNet built from a spec: stem, ``layer1`` ... ``layerN``, pooling, ``fc``.

    ``stem``, ``features`` and ``head`` split the forward pass as timm's ``forward_features``
    and ``forward_head`` do, so analyses can run part of the network with the model's own code.
    """

    def __init__(self, spec: ResNetSpec) -> None:
        super().__init__()
        self.spec = spec
        layout = network_layout(spec)
        self._stem = _register(self, layout.stem)
        for stage in layout.stages:
            blocks = [ResidualBlock(block) for block in stage.all_blocks()]
            self.add_module(stage.name, nn.Sequential(*blocks))
        self._head = tuple(n for n in _register(self, layout.head) if n != "fc")
        _init_like_torchvision(self)

    @property
    def stages(self) -> list[nn.Sequential]:
        return [getattr(self, f"layer{i + 1}") for i in range(self.spec.num_stages)]

    def stem(self, x: torch.Tensor) -> torch.Tensor:
        """The input through the stem (conv, BN, ReLU, and the max-pool of the ImageNet stem)."""
        for name in self._stem:
            x = getattr(self, name)(x)
        return x

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The last stage's output (timm's ``forward_features``)."""
        x = self.stem(x)
        for stage in self.stages:
            x = stage(x)
        return x

    def pooled(self, x: torch.Tensor) -> torch.Tensor:
        """The penultimate features (N x F) from the last stage's output: the final BN-ReLU of
        a pre-activation net, global average pooling, flatten (timm's ``forward_head`` with
        ``pre_logits=True``)."""
        for name in self._head:
            x = getattr(self, name)(x)
        return torch.flatten(x, 1)

    def head(self, x: torch.Tensor) -> torch.Tensor:
        """Logits from the last stage's output (timm's ``forward_head``): :meth:`pooled`, then
        ``fc``."""
        return self.fc(self.pooled(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def _init_like_torchvision(model: nn.Module) -> None:
    """torchvision's ResNet init: Kaiming-normal (fan_out) convs, BN to (1, 0), conv biases 0."""
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.BatchNorm2d):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)


def build_model(spec: ResNetSpec, *, device: torch.device | str | None = None) -> ResNet:
    """Build the network ``spec`` describes, in eval mode.

    Args:
        spec: the network.
        device: where to allocate; ``"meta"`` builds a weightless copy (shapes only).

    Raises:
        SpecError: before allocating anything, if the weights would exceed the memory budget.
    """
    if torch.device(device or "cpu").type != "meta":
        check_weight_budget(spec)
    with torch.device(device or "cpu"):
        model = ResNet(spec)
    return model.eval()
