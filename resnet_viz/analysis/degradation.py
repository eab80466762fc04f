"""The measurement behind the degradation curves: a network's error on a fixed training subset.

Not the running error over an epoch's mini-batches (what Caffe logs): that one averages over
weights that changed during the epoch, in train-mode BatchNorm, so it lags behind the network
it describes and mixes two networks' worth of behaviour at every point. :func:`training_error`
measures the network that exists when it is called, in eval mode, as it would be used, with
BatchNorm's running statistics. The experiment that trains the networks and records the curves
is :mod:`resnet_viz.experiments.degradation`.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["training_error"]


def training_error(net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """The fraction of ``x`` that ``net`` misclassifies (labels ``y``), in eval mode, without
    gradients. ``net`` is left in eval mode: the experiment trains its own networks."""
    net.eval()
    with torch.no_grad():
        wrong = (net(x).argmax(1) != y).sum().item()
    return wrong / len(y)
