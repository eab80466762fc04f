"""Which input pixels can one cell of a CAM's map see? Its theoretical receptive field.

A CAM at ``layer4`` of ResNet-50 is a 7 x 7 grid over a 224 x 224 image, so each cell looks
"32 pixels wide". It is not: the cell's value depends on every pixel inside its receptive
field, 427 x 427 pixels at that layer (:func:`resnet_viz.summarize`'s ``receptive_field``),
larger than the image itself. The heatmap says where the *evidence* is strongest, not which
pixels a cell saw.

Geometry: in these networks every convolution and pooling layer pads ``k // 2`` (``k`` odd,
or a 1 x 1 with no padding), so output position ``i`` of a layer with effective stride ``j``
(the product of the strides so far) is centred on input pixel ``i * j``, and its receptive
field of ``r`` pixels (``r`` odd) spans pixels ``i * j - (r - 1) / 2`` to ``i * j + (r - 1) / 2``.
Near the border part of that span is padding: the box is clipped to the image. The tests check
both facts with a brute-force probe on built networks.

This module is pure (no model, no tensors) and does not import streamlit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ...core.spec import ResNetSpec
from ...core.split import check_layer
from ...core.summary import shared_summary

__all__ = ["ReceptiveFieldBox", "peak_cell", "receptive_field_box"]


@dataclass(frozen=True)
class ReceptiveFieldBox:
    """The receptive field of one cell of a layer's map, in input pixels.

    Attributes:
        cell: ``(row, col)`` of the cell in the layer's map.
        grid: ``(rows, cols)`` of that map.
        center: ``(y, x)``, the input pixel the cell is centred on.
        size: the theoretical receptive field, in pixels (square).
        stride: the layer's effective stride: how far apart neighbouring cells' centres are.
        top, left, bottom, right: the box clipped to the image, in pixel-edge coordinates
            (``bottom`` and ``right`` exclusive), ready to draw.
        larger_than_image: True when ``size`` exceeds the image's height or width: the cell
            can see the whole image along that side.
    """

    cell: tuple[int, int]
    grid: tuple[int, int]
    center: tuple[int, int]
    size: int
    stride: int
    top: int
    left: int
    bottom: int
    right: int
    larger_than_image: bool

    @property
    def clipped(self) -> bool:
        """True when part of the field lies outside the image (padding)."""
        half = (self.size - 1) // 2
        y, x = self.center
        return (self.top, self.left, self.bottom, self.right) != (
            y - half, x - half, y + half + 1, x + half + 1,
        )  # fmt: skip


def receptive_field_box(
    spec: ResNetSpec,
    layer: str,
    cell: Sequence[int],
    input_size: Sequence[int],
) -> ReceptiveFieldBox:
    """The theoretical receptive field of ``cell`` = (row, col) of ``layer``'s map (a stage,
    ``"layer4"``, or a block, ``"layer2.1"``) for an input of ``input_size`` = (C, H, W).

    Raises:
        LayerNameError: unknown layer. ValueError: a cell outside the layer's map.
    """
    stage, block = check_layer(spec, layer)
    size = tuple(int(v) for v in input_size)
    summary = shared_summary(spec, size)
    row = next(b for b in summary.blocks if b.name == f"layer{stage + 1}.{block}")
    _, _, rows, cols = row.output_shape
    i, j = (int(v) for v in cell)
    if not (0 <= i < rows and 0 <= j < cols):
        raise ValueError(f"{layer}'s map is {rows}×{cols}; cell ({i}, {j}) is outside it.")
    r, stride = row.receptive_field, row.effective_stride
    half = (r - 1) // 2
    y, x = i * stride, j * stride
    _, height, width = size
    return ReceptiveFieldBox(
        cell=(i, j),
        grid=(rows, cols),
        center=(y, x),
        size=r,
        stride=stride,
        top=max(y - half, 0),
        left=max(x - half, 0),
        bottom=min(y + half + 1, height),
        right=min(x + half + 1, width),
        larger_than_image=r > height or r > width,
    )


def peak_cell(raw: np.ndarray) -> tuple[int, int]:
    """``(row, col)`` of the largest value of a map (the first one on ties)."""
    array = np.asarray(raw)
    index = np.unravel_index(int(np.argmax(array)), array.shape)
    return int(index[0]), int(index[1])
