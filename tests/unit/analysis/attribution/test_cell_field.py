"""The receptive field of one CAM cell: by hand at ResNet-50's layer4, and against a brute-force
probe of which input pixels can change that cell in built networks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from resnet_viz import ResNetSpec, preset
from resnet_viz.analysis.attribution.cell_field import peak_cell, receptive_field_box
from resnet_viz.core.split import LayerNameError, split_at
from tests.model_support import positive_probe_model


def test_resnet50_layer4_sees_more_than_the_image():
    box = receptive_field_box(preset("resnet50"), "layer4", (3, 3), (3, 224, 224))
    assert (box.size, box.stride, box.grid) == (427, 32, (7, 7))
    assert box.center == (96, 96)
    # 96 - 213 < 0 and 96 + 214 > 224: clipped to the whole image.
    assert (box.top, box.left, box.bottom, box.right) == (0, 0, 224, 224)
    assert box.larger_than_image
    assert box.clipped


def test_an_early_block_sees_a_small_patch():
    box = receptive_field_box(preset("resnet50"), "layer1.0", (10, 20), (3, 224, 224))
    # stem: 7x7 s2 conv then 3x3 s2 max-pool (11 px, stride 4); the bottleneck's 3x3 adds 8.
    assert (box.size, box.stride) == (19, 4)
    assert box.center == (40, 80)
    assert (box.top, box.left, box.bottom, box.right) == (31, 71, 50, 90)
    assert not box.larger_than_image
    assert not box.clipped


def probe(spec: ResNetSpec, layer: str, side: int):
    """For every cell of ``layer``, the box of the pixels that can change it: every conv weight
    positive, BN at its initial identity, zero input with one large bump per image (one image
    per pixel), so a bump inside the field reaches the cell through every path, max-pool
    included. Returns a function cell -> (top, left, bottom, right)."""
    model = positive_probe_model(spec)
    pixels = side * side
    index = torch.arange(pixels)
    x = torch.zeros(pixels, spec.in_channels, side, side, dtype=torch.float64)
    x[index, :, index // side, index % side] = 100.0
    with torch.no_grad():
        reached = split_at(model, layer).before(x).abs().sum(1) > 0  # (pixels, rows, cols)

    def box(cell: tuple[int, int]) -> tuple[int, int, int, int]:
        hit = reached[:, cell[0], cell[1]].nonzero().flatten()
        rows, cols = hit // side, hit % side
        return int(rows.min()), int(cols.min()), int(rows.max()) + 1, int(cols.max()) + 1

    return box


CASES = [
    (ResNetSpec(layers=(1, 1), widths=(4, 8), stem="cifar", num_classes=2), "layer2", 24),
    (ResNetSpec(layers=(1, 1), widths=(4, 8), stem="cifar", shortcut="A", num_classes=2),
     "layer1.0", 20),
    (ResNetSpec(block="bottleneck", layers=(1, 1), widths=(2, 4), num_classes=2), "layer2", 40),
    (ResNetSpec(layers=(2, 1), widths=(4, 4), num_classes=2), "layer1.1", 36),
]  # fmt: skip


@pytest.mark.parametrize(("spec", "layer", "side"), CASES, ids=["cifar", "A", "bottle", "imnet"])
def test_the_box_is_where_a_brute_force_probe_finds_it(spec, layer, side):
    size = (spec.in_channels, side, side)
    grid = receptive_field_box(spec, layer, (0, 0), size).grid
    found = probe(spec, layer, side)
    for cell in np.ndindex(*grid):  # every cell, the clipped borders included
        box = receptive_field_box(spec, layer, cell, size)
        assert found(cell) == (box.top, box.left, box.bottom, box.right), cell
    # the middle cell's field fits: it is the full theoretical size, centred on (i*j, i*j)
    middle = receptive_field_box(spec, layer, (grid[0] // 2, grid[1] // 2), size)
    if not middle.clipped:
        assert middle.bottom - middle.top == middle.size


def test_bad_cells_and_layers_are_refused():
    with pytest.raises(ValueError, match="7×7; cell \\(7, 0\\)"):
        receptive_field_box(preset("resnet50"), "layer4", (7, 0), (3, 224, 224))
    with pytest.raises(LayerNameError):
        receptive_field_box(preset("resnet50"), "layer5", (0, 0), (3, 224, 224))


def test_peak_cell():
    raw = np.zeros((4, 5))
    raw[2, 3] = 1.0
    assert peak_cell(raw) == (2, 3)
    assert peak_cell(np.zeros((3, 3))) == (0, 0)
