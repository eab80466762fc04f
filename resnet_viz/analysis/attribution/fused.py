"""Fused class activation maps: one map from the maps of several stages (LayerCAM's fusion).

Maps from early stages are fine-grained but noisy, maps from the last stage coarse but about
the class. Jiang et al. 2021 ("LayerCAM: Exploring Hierarchical Class Activation Maps for
Localization", IEEE Trans. Image Processing 30, doi:10.1109/TIP.2021.3089943) combine them. The
values of a shallow layer's map are small next to a deep layer's, so each shallow map ``M`` is
first rescaled

    M_hat = tanh(gamma * M / max(M)),   gamma = 2                      (the paper's Eq. 9)

which lifts its weak responses towards 1 without changing where it is high. Then every map,
upsampled to the image, is combined with the element-wise maximum: a pixel is as important as
the most confident layer says it is.

Sources, and what could not be checked: the paper's own code
(github.com/PengtaoJiang/LayerCAM-jittor, ``test.py``) computes one layer's map at a time and
has no fusion step; the combination by maximum is torchcam's
(``torchcam.methods.core._CAM._fuse_cams``), whose LayerCAM scaling cites the paper's Eq. 9
(``torchcam.methods.gradient.LayerCAM._scale_cams``). The paper's text itself was not at hand
when this was written, so the maximum rests on that reimplementation.

Rules (``rule=``), the first the default:

- ``"layercam"``: the paper's, as read above. Every map but the deepest is scaled by Eq. 9 (the
  paper rescales the shallow maps because their values are small), the deepest is
  divided by its maximum (``M / max(M)``, in [0, 1]); the fused map is their element-wise
  maximum, in [0, 1] (1 wherever the deepest map peaks). torchcam differs in two details: it
  min-max normalises every map before Eq. 9 instead of dividing by the maximum, and it scales
  the deepest map too.
- ``"mean"``: pytorch-grad-cam's (``BaseCAM.aggregate_multi_layers``), offered for comparison:
  each map min-max scaled to [0, 1] at its own resolution (``(M - min) / (1e-7 + max)``, its
  ``scale_cam_image``), upsampled, averaged, and the mean min-max scaled again. Not the paper's
  rule: a shallow map's noise counts as much as the last stage's evidence.

Upsampling is bilinear with ``align_corners=False``, as :func:`~.cam.grad_cam` upsamples its
maps (and as ``cv2.resize`` does in pytorch-grad-cam). A blank map (no positive evidence, all
zeros) stays zero under both rules instead of being divided by zero.

The maps come from :func:`~.cam.grad_cam_strip`: one forward pass and one
``torch.autograd.grad`` for all the layers, so only the gradient methods are offered (Score-CAM
and Ablation-CAM would cost one pass per channel at every stage). This module does not import
streamlit.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812 (PyTorch's own convention)

from ...core.build import ResNet
from ...core.split import step_index
from ...errors import UserError
from .cam import CamResult, grad_cam_strip
from .methods import GRADIENT_METHODS, METHOD_LABELS
from .model_checks import spec_of

__all__ = [
    "FUSION_RULES",
    "GAMMA",
    "FusedCam",
    "FusionError",
    "fuse_maps",
    "fuse_results",
    "fused_cam",
    "stage_layers",
]

#: Eq. 9's gamma (Jiang et al. 2021 use 2).
GAMMA = 2.0
#: The combination rules, the paper's first (see the module's docstring).
FUSION_RULES = ("layercam", "mean")
#: pytorch-grad-cam's epsilon in its min-max (utils/image.py, scale_cam_image).
LIBRARY_EPSILON = 1e-7


class FusionError(UserError, ValueError):
    """A fusion that cannot be done as asked (a method, rule, gamma or layer list)."""


@dataclass(frozen=True, eq=False)
class FusedCam:
    """One fused map and the per-layer maps it was made from.

    Attributes:
        heatmap: float32 H x W array in [0, 1], the fused map. Read-only.
        maps: each layer's :class:`~.cam.CamResult`, shallow to deep (as :func:`~.cam.grad_cam`
            returns it at that layer).
        layers: the layer names, in the same order.
        rule: the combination rule (one of :data:`FUSION_RULES`).
        gamma: Eq. 9's gamma (used by ``"layercam"``).
        method: the CAM method of every layer's map.
        target_class: the class explained.
    """

    heatmap: np.ndarray
    maps: tuple[CamResult, ...]
    layers: tuple[str, ...]
    rule: str
    gamma: float
    method: str
    target_class: int


def stage_layers(model: ResNet) -> tuple[str, ...]:
    """``("layer1", ..., "layerN")``: the output of every stage (its last block)."""
    return tuple(f"layer{i}" for i in range(1, spec_of(model).num_stages + 1))


def fused_cam(
    model: ResNet,
    image: torch.Tensor,
    *,
    layers: Sequence[str] | None = None,
    target_class: int | None = None,
    method: str = "layercam",
    rule: str = "layercam",
    gamma: float = GAMMA,
) -> FusedCam:
    """The fused map of ``target_class`` over ``layers`` (``None``: every stage).

    Args:
        model: a :func:`resnet_viz.build_model` network in eval mode; left as found.
        image: one preprocessed image, (1, C, H, W).
        layers: layer names of :func:`~resnet_viz.core.split.target_layers`, shallow to deep
            (the last one is the "deep" map of the paper's rule).
        target_class: the class to explain; ``None``: the top-1 prediction.
        method: a gradient CAM method (``"layercam"`` by default, the paper's).
        rule: ``"layercam"`` (the paper's) or ``"mean"`` (pytorch-grad-cam's).
        gamma: Eq. 9's gamma, a positive number.

    Raises:
        FusionError: a method without gradients, an unknown rule, a bad gamma, layers out of
            forward order.
        LayerNameError: an unknown layer.
    """
    check_fusion(method, rule, gamma)
    names = tuple(layers) if layers is not None else stage_layers(model)
    depth = [step_index(model, name) for name in names]  # LayerNameError for an unknown one
    if any(later <= earlier for earlier, later in itertools.pairwise(depth)):
        raise FusionError(
            f"List the layers to fuse once each, shallow to deep (the last is the deep map of "
            f"the rule); got {', '.join(names)}."
        )
    results = grad_cam_strip(model, image, names, target_class, method=method)
    return fuse_results(results, rule=rule, gamma=gamma)


def fuse_results(
    results: Sequence[CamResult], *, rule: str = "layercam", gamma: float = GAMMA
) -> FusedCam:
    """Fuse maps already computed (one image, one class, one method), shallow to deep."""
    if not results:
        raise FusionError("Give at least one layer to fuse.")
    first = results[0]
    check_fusion(first.method, rule, gamma)
    if any(r.target_class != first.target_class or r.method != first.method for r in results):
        raise FusionError("The maps to fuse must explain one class with one method.")
    size = first.heatmap.shape
    heatmap = fuse_maps([r.raw for r in results], size, rule=rule, gamma=gamma)
    heatmap.flags.writeable = False
    return FusedCam(
        heatmap=heatmap,
        maps=tuple(results),
        layers=tuple(r.layer for r in results),
        rule=rule,
        gamma=float(gamma),
        method=first.method,
        target_class=first.target_class,
    )


def fuse_maps(
    maps: Sequence[np.ndarray],
    size: tuple[int, int],
    *,
    rule: str = "layercam",
    gamma: float = GAMMA,
) -> np.ndarray:
    """Fuse non-negative maps (each at its layer's own resolution, shallow to deep) into one
    float32 ``size`` map in [0, 1], by ``rule`` (see the module's docstring)."""
    _check_rule(rule, gamma)
    if not maps:
        raise FusionError("Give at least one map to fuse.")
    arrays = [torch.from_numpy(np.array(m, dtype=np.float32, copy=True)) for m in maps]
    if any(a.dim() != 2 or bool((a < 0).any()) or not bool(a.isfinite().all()) for a in arrays):
        raise FusionError("Each map must be a 2-D array of finite values >= 0 (after the ReLU).")
    if rule == "mean":
        scaled = [_upsample(_library_min_max(a), size) for a in arrays]
        return _library_min_max(torch.stack(scaled).mean(dim=0)).numpy()
    *shallow, deep = [_upsample(a, size) for a in arrays]
    layers = [torch.tanh(gamma * _over_max(m)) for m in shallow] + [_over_max(deep)]
    return torch.stack(layers).amax(dim=0).numpy()


def check_fusion(method: object, rule: object, gamma: object) -> None:
    """A :class:`FusionError` unless ``method`` is a gradient method, ``rule`` one of
    :data:`FUSION_RULES` and ``gamma`` a positive finite number."""
    if method not in GRADIENT_METHODS:
        labels = ", ".join(METHOD_LABELS[m] for m in GRADIENT_METHODS)
        raise FusionError(
            f"Fused maps take every stage's map from one forward and backward pass, so they "
            f"need a gradient method ({labels}); got {method!r}."
        )
    _check_rule(rule, gamma)


def _check_rule(rule: object, gamma: object) -> None:
    if rule not in FUSION_RULES:
        raise FusionError(f"Unknown fusion rule {rule!r}; use one of {', '.join(FUSION_RULES)}.")
    if isinstance(gamma, bool) or not isinstance(gamma, int | float) or not 0 < gamma < np.inf:
        raise FusionError(f"gamma must be a positive number; got {gamma!r}.")


def _upsample(layer_map: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    if tuple(layer_map.shape) == tuple(size):
        return layer_map
    up = F.interpolate(
        layer_map[None, None], size=tuple(size), mode="bilinear", align_corners=False
    )
    return up[0, 0]


def _over_max(heat: torch.Tensor) -> torch.Tensor:
    """``M / max(M)``; an all-zero map stays zero."""
    high = heat.max()
    return heat / high if high > 0 else torch.zeros_like(heat)


def _library_min_max(heat: torch.Tensor) -> torch.Tensor:
    """pytorch-grad-cam's ``scale_cam_image`` without the resize."""
    shifted = heat - heat.min()
    return shifted / (LIBRARY_EPSILON + shifted.max())
