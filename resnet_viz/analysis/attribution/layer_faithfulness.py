"""Which layer should a map come from? RISE's deletion and insertion AUC at every layer.

For one CAM method, one image and one class, the map at every stage and every block
(:func:`~resnet_viz.core.split.target_layers`) and the fused map over the stages
(:func:`~.fused.fuse_results`) each get :func:`~.faithfulness.faithfulness`'s deletion and
insertion curves (Petsiuk et al. 2018, "RISE: Randomized Input Sampling for Explanation of
Black-box Models", arXiv:1806.07421). A faithful map has a low deletion AUC and a high
insertion AUC; reading them against depth shows where the maps stop carrying the prediction.

Every map comes from one :func:`~.cam.grad_cam_strip` call (one forward pass, one
``torch.autograd.grad``), so the method must be a gradient method. A stage's output is its last
block's output (``"layer4"`` and ``"layer4.1"`` are one tensor), so the two share one map and
one measurement; each keeps its row. This module does not import streamlit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from ...core.build import ResNet
from ...core.spec import ResNetSpec
from ...core.split import step_index, target_layers
from .cam import grad_cam_strip
from .faithfulness import DEFAULT_BATCH_SIZE, DEFAULT_STEPS, Faithfulness, faithfulness
from .fused import GAMMA, FusedCam, check_fusion, fuse_results, stage_layers
from .model_checks import spec_of

__all__ = ["FUSED", "LayerFaithfulness", "LayerRow", "layer_faithfulness", "measured_maps"]

#: The name of the fused map's row.
FUSED = "fused"


@dataclass(frozen=True, eq=False)
class LayerRow:
    """One map's measurement.

    Attributes:
        layer: the layer name (``"layer2.1"``), or :data:`FUSED`.
        map_size: the map's (h, w) before upsampling; the image's for the fused map.
        depth: the position of the layer in forward order (0 for the first stage's first
            block's output); one past the deepest for the fused map.
        faithfulness: the deletion and insertion curves and their AUCs.
    """

    layer: str
    map_size: tuple[int, int]
    depth: int
    faithfulness: Faithfulness

    @property
    def deletion_auc(self) -> float:
        return self.faithfulness.deletion_auc

    @property
    def insertion_auc(self) -> float:
        return self.faithfulness.insertion_auc


@dataclass(frozen=True, eq=False)
class LayerFaithfulness:
    """Deletion and insertion AUC at every layer, and of the fused map.

    Attributes:
        rows: one per layer of :func:`~resnet_viz.core.split.target_layers`, in forward order,
            then the fused map's row (its ``layer`` is :data:`FUSED`).
        fused: the fused map and the stage maps it was made from.
        method: the CAM method.
        target_class: the class explained and followed.
        forward_passes: images run through the network by the curves.
    """

    rows: tuple[LayerRow, ...]
    fused: FusedCam
    method: str
    target_class: int
    forward_passes: int

    @property
    def layers(self) -> tuple[LayerRow, ...]:
        """The single layers' rows (without the fused map's)."""
        return tuple(r for r in self.rows if r.layer != FUSED)

    @property
    def fused_row(self) -> LayerRow:
        return self.rows[-1]


def measured_maps(spec: ResNetSpec) -> int:
    """How many maps :func:`layer_faithfulness` measures: one per block (a stage shares its
    last block's) and the fused map. Each costs ``2 x (steps + 1) + 1`` forward passes."""
    return sum(spec.layers) + 1


def layer_faithfulness(
    model: ResNet,
    image: torch.Tensor,
    *,
    method: str = "layercam",
    target_class: int | None = None,
    rule: str = "layercam",
    gamma: float = GAMMA,
    steps: int = DEFAULT_STEPS,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Callable[[int, int], None] | None = None,
) -> LayerFaithfulness:
    """Deletion and insertion AUC of ``method``'s map at every stage and block, and of the
    fused map (``rule``, ``gamma``: see :mod:`.fused`).

    ``progress(done, total)`` counts maps measured, out of the distinct maps (the stages share
    their last block's) plus the fused one. ``steps`` and ``batch_size`` are
    :func:`~.faithfulness.faithfulness`'s.

    Raises:
        FusionError: a method without gradients, an unknown rule or a bad gamma.
        ValueError: a malformed image, class, ``steps`` or ``batch_size``.
    """
    check_fusion(method, rule, gamma)
    names = target_layers(spec_of(model))
    results = grad_cam_strip(model, image, names, target_class, method=method)
    by_name = dict(zip(names, results, strict=True))
    fused = fuse_results([by_name[s] for s in stage_layers(model)], rule=rule, gamma=gamma)
    chosen = results[0].target_class
    depth = {name: step_index(model, name) - 1 for name in names}
    distinct = sorted(set(depth.values()))
    total = measured_maps(spec_of(model))
    measured: dict[int, Faithfulness] = {}

    def measure(heatmap: np.ndarray) -> Faithfulness:
        done = faithfulness(
            model, image, heatmap, target_class=chosen, steps=steps, batch_size=batch_size
        )
        if progress is not None:
            progress(len(measured) + 1, total)
        return done

    rows = []
    for name, result in zip(names, results, strict=True):
        if depth[name] not in measured:
            measured[depth[name]] = measure(result.heatmap)
        size = tuple(int(n) for n in result.raw.shape)
        rows.append(LayerRow(name, size, depth[name], measured[depth[name]]))
    fused_curves = measure(fused.heatmap)
    rows.append(LayerRow(FUSED, tuple(fused.heatmap.shape), distinct[-1] + 1, fused_curves))
    passes = sum(f.forward_passes for f in measured.values()) + fused_curves.forward_passes
    return LayerFaithfulness(tuple(rows), fused, method, chosen, passes)
