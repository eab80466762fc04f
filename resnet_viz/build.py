"""Turn a :class:`~resnet_viz.spec.ResNetSpec` into a PyTorch module.

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

from .spec import ResNetSpec, check_weight_budget, shortcut_kind


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


def _norm(channels: int, batch_norm: bool) -> nn.Module:
    return nn.BatchNorm2d(channels) if batch_norm else nn.Identity()


def _conv(cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1, *, bias: bool):
    return nn.Conv2d(
        cin, cout, kernel, stride=stride, padding=kernel // 2, groups=groups, bias=bias
    )


class ResidualBlock(nn.Module):
    """One residual block: y = relu(F(x) + shortcut(x)), or its pre-activation / plain form.

    ``convs`` are the branch's convolutions in order (2 for basic, 3 for bottleneck).
    - post-activation (He et al. 2015, Fig. 5): conv-BN-ReLU ... conv-BN, add, ReLU;
    - pre-activation (He et al. 2016, Fig. 4e): BN-ReLU-conv ... BN-ReLU-conv, add; a projection
      shortcut reads the pre-activated input, the identity reads x itself;
    - plain (``skip=False``): the same branch, no add, no shortcut.
    """

    def __init__(
        self,
        convs: list[nn.Conv2d],
        *,
        shortcut: nn.Module | None,
        skip: bool,
        preact: bool,
        batch_norm: bool,
    ) -> None:
        super().__init__()
        self.skip = skip
        self.preact = preact
        self.num_convs = len(convs)
        for i, conv in enumerate(convs, start=1):
            channels = conv.in_channels if preact else conv.out_channels
            # Registration order is the forward order: hooks and reports list layers as run.
            if preact:
                self.add_module(f"bn{i}", _norm(channels, batch_norm))
                self.add_module(f"relu{i}", nn.ReLU())
                self.add_module(f"conv{i}", conv)
            else:
                self.add_module(f"conv{i}", conv)
                self.add_module(f"bn{i}", _norm(channels, batch_norm))
                if i < len(convs):
                    self.add_module(f"relu{i}", nn.ReLU())
        if shortcut is not None:
            self.downsample = shortcut
        if skip:
            self.add = Add()
        if not preact:
            self.add_module(f"relu{len(convs)}", nn.ReLU())

    def _layer(self, kind: str, i: int) -> nn.Module:
        return getattr(self, f"{kind}{i}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = x
        pre_activated = x
        for i in range(1, self.num_convs + 1):
            if self.preact:
                out = self._layer("relu", i)(self._layer("bn", i)(out))
                if i == 1:
                    pre_activated = out
                out = self._layer("conv", i)(out)
            else:
                out = self._layer("bn", i)(self._layer("conv", i)(out))
                if i < self.num_convs:
                    out = self._layer("relu", i)(out)
        if self.skip:
            out = self.add(out, self._shortcut(x, pre_activated))
        if not self.preact:
            out = self._layer("relu", self.num_convs)(out)
        return out

    def _shortcut(self, x: torch.Tensor, pre_activated: torch.Tensor) -> torch.Tensor:
        downsample = getattr(self, "downsample", None)
        if downsample is None:
            return x
        if self.preact and not isinstance(downsample, ZeroPadShortcut):
            return downsample(pre_activated)
        return downsample(x)


class ResNet(nn.Module):
    """A ResNet built from a spec: stem, ``layer1`` ... ``layerN``, pooling, ``fc``."""

    def __init__(self, spec: ResNetSpec) -> None:
        super().__init__()
        self.spec = spec
        bias = not spec.batch_norm
        stem_kernel, stem_stride = (7, 2) if spec.stem == "imagenet" else (3, 1)
        self.conv1 = _conv(
            spec.in_channels, spec.stem_channels, stem_kernel, stem_stride, bias=bias
        )
        self.bn1 = _norm(spec.stem_channels, spec.batch_norm)
        self.relu = nn.ReLU()
        if spec.stem == "imagenet":
            self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        channels = spec.stem_channels
        for stage in range(spec.num_stages):
            blocks = [_make_block(spec, stage, b, channels) for b in range(spec.layers[stage])]
            self.add_module(f"layer{stage + 1}", nn.Sequential(*blocks))
            channels = spec.out_channels[stage]
        if spec.preact:
            # Pre-activation nets end with BN-ReLU before pooling (He et al. 2016, Sec. 4).
            self.final_bn = _norm(channels, spec.batch_norm)
            self.final_relu = nn.ReLU()
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(channels, spec.num_classes)
        _init_like_torchvision(self)

    @property
    def stages(self) -> list[nn.Sequential]:
        return [getattr(self, f"layer{i + 1}") for i in range(self.spec.num_stages)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.bn1(self.conv1(x)))
        if self.spec.stem == "imagenet":
            x = self.maxpool(x)
        for stage in self.stages:
            x = stage(x)
        if self.spec.preact:
            x = self.final_relu(self.final_bn(x))
        x = torch.flatten(self.avgpool(x), 1)
        return self.fc(x)


def _make_block(spec: ResNetSpec, stage: int, index: int, in_channels: int) -> ResidualBlock:
    stride = spec.stage_strides[stage] if index == 0 else 1
    cin = in_channels if index == 0 else spec.out_channels[stage]
    planes, out = spec.widths[stage], spec.out_channels[stage]
    bias = not spec.batch_norm
    if spec.block == "basic":
        convs = [_conv(cin, planes, 3, stride, bias=bias), _conv(planes, planes, 3, bias=bias)]
    else:
        mid = spec.bottleneck_width(stage)
        # V1 strides on the first 1x1 (the paper, Caffe); V1.5 on the 3x3 (torchvision).
        s1, s3 = (stride, 1) if spec.stride_in_1x1 else (1, stride)
        convs = [
            _conv(cin, mid, 1, s1, bias=bias),
            _conv(mid, mid, 3, s3, spec.groups, bias=bias),
            _conv(mid, out, 1, bias=bias),
        ]
    kind = shortcut_kind(spec, stage, index)
    shortcut: nn.Module | None = None
    if kind == "projection":
        layers: list[nn.Module] = [_conv(cin, out, 1, stride, bias=bias)]
        if not spec.preact and spec.batch_norm:
            layers.append(nn.BatchNorm2d(out))
        shortcut = nn.Sequential(*layers)
    elif kind == "zero-pad":
        shortcut = ZeroPadShortcut(stride, out - cin)
    return ResidualBlock(
        convs, shortcut=shortcut, skip=spec.skip, preact=spec.preact, batch_norm=spec.batch_norm
    )


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
