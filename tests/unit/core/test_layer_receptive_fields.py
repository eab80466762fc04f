"""Per-layer receptive fields of the layer drill-down against a gradient probe on the built model.

The summary walks block 1 of each stage and copies later blocks from it, shifting their fields
(``_Walker.repeat_block`` in resnet_viz/core/summary.py). ResNet-18 has only two blocks per
stage, so only a network with three or more (ResNet-50: 3, 4, 6, 3) reaches that copy; this
file checks ResNet-50's series layer by layer: every conv of stage 1 and repeated blocks of
stages 2 and 3.

The probe: the input gradient of one output unit at the centre of a layer is nonzero exactly
on the input pixels that unit can see, as long as no path is cut. Every conv weight is positive
(uniform in [0.5, 1]) and BatchNorm is at its initial identity, so with positive inputs every
ReLU passes and no two paths cancel. A max-pool passes the gradient to one pixel of each window
only, so the field's edges show only in inputs whose maximum sits at a window's edge: the probe
takes the union over a batch of random inputs (fixed seed).
"""

from __future__ import annotations

import pytest
import torch

from resnet_viz import preset, summarize
from tests.model_support import positive_probe_model

SPEC = preset("resnet50")
# (input side, batch, layers probed): stage 1 and the stem fit in 64 px; one unit of a
# pool-window footprint (stem, layer1.0.conv1) needs a larger batch to hit both window edges.
PROBES = (
    (64, 16, ["conv1", "maxpool", *(f"layer1.{b}.conv{c}" for b in range(3) for c in (1, 2, 3))]),
    (
        192,
        3,
        [
            "layer2.0.conv2",
            "layer2.2.conv1",
            "layer2.2.conv2",
            "layer2.3.conv3",
            "layer3.0.conv2",
            "layer3.2.conv1",
        ],
    ),
)


class _StopForwardError(Exception):
    """Raised by the last hook: the forward pass stops there."""


@pytest.fixture(scope="module")
def probe_model():
    model = positive_probe_model(SPEC)
    model.eval()
    return model


def _gradient_extents(model, side: int, batch: int, names: list[str]) -> dict[str, int]:
    """For each layer in ``names``: the width, in input pixels, of the union over ``batch``
    random positive inputs of where the centre output unit's input gradient is nonzero."""
    modules = dict(model.named_modules())
    outputs: dict[str, torch.Tensor] = {}

    def keep(name: str, out: torch.Tensor) -> None:
        outputs[name] = out
        if len(outputs) == len(names):
            raise _StopForwardError  # the layers after the last one probed cannot change the answer

    handles = [
        modules[name].register_forward_hook(lambda _m, _i, out, name=name: keep(name, out))
        for name in names
    ]
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(batch, 3, side, side, dtype=torch.float64, generator=generator) + 0.1
    x.requires_grad_(True)
    try:
        model(x)
    except _StopForwardError:
        pass
    finally:
        for handle in handles:
            handle.remove()
    extents = {}
    for name in names:
        out = outputs[name]
        h, w = out.shape[-2:]
        (grad,) = torch.autograd.grad(out[:, :, h // 2, w // 2].sum(), x, retain_graph=True)
        seen = grad.ne(0).any(dim=0).any(dim=0)  # (H, W): any input, any channel
        spans = []
        for line in (seen.any(dim=1), seen.any(dim=0)):  # rows hit, columns hit
            hit = line.nonzero().flatten()
            lo, hi = hit.min().item(), hit.max().item()
            assert lo > 0, f"{name}: the field reaches the border at {side} px"
            assert hi < side - 1, f"{name}: the field reaches the border at {side} px"
            spans.append(hi - lo + 1)
        assert spans[0] == spans[1], (name, spans)
        extents[name] = spans[0]
    return extents


@pytest.mark.slow
@pytest.mark.parametrize(("side", "batch", "names"), PROBES, ids=["stage-1", "stages-2-3"])
def test_resnet50_per_layer_receptive_fields_match_the_gradient_probe(
    probe_model, side, batch, names
):
    rows = {row.name: row for row in summarize(SPEC, (3, side, side)).layers}
    expected = {name: rows[name].receptive_field for name in names}
    assert _gradient_extents(probe_model, side, batch, names) == expected


def test_repeated_blocks_grow_by_the_second_blocks_growth():
    """Hand-computed (r += (k - 1) x jump): after the stem (11 px, jump 4) each bottleneck of
    stage 1 adds one 3x3 conv, 8 px; stage 3's blocks (jump 16) add 32 px."""
    rows = {row.name: row.receptive_field for row in summarize(SPEC).layers}
    assert [rows[f"layer1.{b}.conv{c}"] for b in range(3) for c in (1, 2, 3)] == [
        11, 19, 19, 19, 27, 27, 27, 35, 35,
    ]  # fmt: skip
    assert [rows[f"layer3.{b}.conv2"] for b in range(6)] == [107, 139, 171, 203, 235, 267]
