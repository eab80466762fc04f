"""The LRP section's refusal: a squeeze-and-excitation network gets lrp.check's message
instead of the section; the app's plain ResNet gets the section."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import torch

from resnet_viz.core.build import build_model
from resnet_viz.core.spec import ResNetSpec
from resnet_viz.ui.lrp_view import lrp_refusal

SPEC = ResNetSpec(layers=(1, 1), widths=(8, 16), stem="cifar", num_classes=5)
IMAGE = torch.zeros(1, 3, 16, 16)


def test_an_se_network_is_refused_with_the_reason():
    loaded = SimpleNamespace(model=build_model(dataclasses.replace(SPEC, se=True)).eval())
    message = lrp_refusal(loaded, IMAGE)
    assert "squeeze-and-excitation" in message
    assert "choose a network without SE" in message


def test_the_apps_resnet_is_explained():
    assert lrp_refusal(SimpleNamespace(model=build_model(SPEC).eval()), IMAGE) is None
