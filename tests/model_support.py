"""Models with hand-set weights that several test files use."""

from __future__ import annotations

import torch
from torch import nn

from resnet_viz import ResNetSpec, build_model


def sign_split_model(spec: ResNetSpec) -> nn.Module:
    """``spec`` (one input channel, a CIFAR stem of 2 channels, 2 classes) with every weight 0
    except: the stem's 3x3 conv is +1 / -1 at its centre, so the stem outputs
    [relu(x), relu(-x)], and every residual branch is zero; fc: class 0 = ch0 - ch1,
    class 1 = -ch0 - ch1 (never positive evidence)."""
    model = build_model(spec)
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
        model.conv1.weight[0, 0, 1, 1] = 1.0
        model.conv1.weight[1, 0, 1, 1] = -1.0
        model.fc.weight.copy_(torch.tensor([[1.0, -1.0], [-1.0, -1.0]]))
    return model


def positive_probe_model(spec: ResNetSpec) -> nn.Module:
    """``spec`` in float64 with every conv weight positive (uniform in [0.5, 1], seed 0) and
    BatchNorm at its initial identity: a large bump at any input pixel inside a unit's receptive
    field then reaches that unit through every path (max-pool included), so brute-force
    receptive-field probes can read the field off the output."""
    torch.manual_seed(0)
    model = build_model(spec).double()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Conv2d):
                m.weight.uniform_(0.5, 1.0)
                if m.bias is not None:
                    m.bias.zero_()
    return model
