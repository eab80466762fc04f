"""Average Drop and Increase in Confidence: does the map alone keep the class's evidence?

Chattopadhay, Sarkar, Howlader & Balasubramanian 2018, "Grad-CAM++: Improved Visual
Explanations for Deep Convolutional Networks" (WACV, arXiv:1710.11063), Sec. 6.1. Multiply
each image by its explanation map (values in [0, 1]) and compare the class probability
``o_c`` on the result with ``y_c`` on the image:

- **Average Drop** = mean over images of ``max(0, y_c - o_c) / y_c``, in percent (lower is
  better: the map kept what the class needed);
- **Increase in Confidence** = the share of images with ``o_c > y_c``, in percent (higher is
  better: the map removed distractors).

As torchcam's ``ClassificationMetric`` (the tests' oracle): the class score is the softmax
probability, the map is upsampled bilinearly to the image's size and multiplies the
*normalised* image, so a pixel the map zeroes becomes the dataset's mean colour (as in the
deletion curve). torchcam reports fractions; these are the paper's percentages. An image whose
``y_c`` underflows to 0 cannot drop and counts as a drop of 0.

Cost: ``2 x N`` forward passes in batches of ``batch_size`` under ``torch.no_grad()``; the
model is used as found under :func:`resnet_viz.runtime.locks.model_lock`.
This module does not import streamlit.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ...core.spec import SpecError
from ...runtime.device import run_with_cpu_fallback
from ...runtime.locks import model_lock
from .model_checks import (
    as_normal_tensor,
    check_eval_mode,
    cpu_copy,
    model_device,
    model_dtype,
)
from .road import (
    DEFAULT_BATCH_SIZE,
    as_spec_error,
    check_count,
    check_target,
    class_scores,
    prepared_map,
)

__all__ = ["AverageDrop", "average_drop"]

MAX_IMAGES = 4096


@dataclass(frozen=True, eq=False)
class AverageDrop:
    """Average Drop and Increase in Confidence over a set of images.

    Attributes:
        drop: Average Drop, percent (lower is better).
        increase: Increase in Confidence, percent of the images (higher is better).
        scores: ``y_c``, the class probability on each image.
        masked_scores: ``o_c``, the class probability on each image times its map.
        target_classes: the class followed on each image.
    """

    drop: float
    increase: float
    scores: np.ndarray
    masked_scores: np.ndarray
    target_classes: tuple[int, ...]

    @property
    def drops(self) -> np.ndarray:
        """Each image's term of Average Drop, percent: ``100 max(0, y - o) / y`` (0 where ``y``
        is 0); their mean is :attr:`drop`."""
        y, o = self.scores, self.masked_scores
        return 100 * np.divide(np.maximum(0.0, y - o), y, out=np.zeros_like(y), where=y > 0)


def average_drop(
    model: nn.Module,
    images: torch.Tensor,
    heatmaps: np.ndarray | torch.Tensor | Sequence,
    target: int | Sequence[int] | None = None,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> AverageDrop:
    """Average Drop and Increase in Confidence of ``heatmaps`` on ``images``.

    Args:
        model: a network from (N, C, H, W) images to logits, in eval mode (left as found).
        images: preprocessed images, (N, C, H, W), normalised (0 is the mean colour).
        heatmaps: one 2-D map in [0, 1] per image ((N, h, w), or a list of 2-D maps); a map of
            another size is upsampled bilinearly to H x W.
        target: one class for every image, one per image, or ``None``: each image's top-1.
        batch_size: images per forward pass.

    Raises:
        SpecError: malformed images, maps or classes, or a model in training mode.
    """
    if not isinstance(images, torch.Tensor) or images.dim() != 4 or not images.is_floating_point():
        shape = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
        raise SpecError(f"images must be a float tensor of shape (N, C, H, W); got {shape}.")
    count = images.shape[0]
    if not 1 <= count <= MAX_IMAGES:
        raise SpecError(f"images must hold 1 to {MAX_IMAGES} images; got {count}.")
    if not hasattr(heatmaps, "__len__") or len(heatmaps) != count:
        got = len(heatmaps) if hasattr(heatmaps, "__len__") else type(heatmaps).__name__
        raise SpecError(f"one heatmap per image is needed: {count} images, {got} maps.")
    size = tuple(images.shape[-2:])
    maps = np.stack([prepared_map(heat, size) for heat in heatmaps])
    if maps.min() < 0 or maps.max() > 1:
        raise SpecError(
            f"heatmaps must lie in [0, 1] (they multiply the image); got values from "
            f"{maps.min():.3g} to {maps.max():.3g}."
        )
    targets = _targets(target, count)
    check_count("batch_size", batch_size, MAX_IMAGES)
    as_spec_error(check_eval_mode, model)
    home = model_device(model)

    def work(where: torch.device) -> AverageDrop:
        net = model if where == home else cpu_copy(model)
        with model_lock(net), torch.inference_mode(False), torch.no_grad():
            x = as_normal_tensor(images).to(where, model_dtype(net))
            weights = torch.from_numpy(maps).to(where, x.dtype)[:, None]
            return _average_drop(net, x, weights, targets, batch_size)

    return run_with_cpu_fallback(work, home).value


def _targets(target: object, count: int) -> list[int] | None:
    if target is None:
        return None
    if isinstance(target, int) and not isinstance(target, bool):
        return [target] * count
    if isinstance(target, (str, bytes)) or not isinstance(target, Sequence):
        raise SpecError(f"target must be a class index, one per image, or None; got {target!r}.")
    if len(target) != count:
        raise SpecError(f"one target per image is needed: {count} images, {len(target)} targets.")
    return list(target)


def _average_drop(
    model: nn.Module,
    images: torch.Tensor,
    maps: torch.Tensor,
    targets: list[int] | None,
    batch_size: int,
) -> AverageDrop:
    before = class_scores(model, images, batch_size)
    classes = before.shape[1]
    if targets is None:
        targets = before.argmax(dim=1).tolist()
    for each in targets:
        check_target(each, classes)
    after = class_scores(model, images * maps, batch_size)
    index = torch.tensor(targets, device=before.device)[:, None]
    y = before.gather(1, index)[:, 0].cpu().numpy().astype(np.float64)
    o = after.gather(1, index)[:, 0].cpu().numpy().astype(np.float64)
    result = AverageDrop(
        drop=0.0,
        increase=float(100 * np.mean(o > y)),
        scores=y,
        masked_scores=o,
        target_classes=tuple(int(t) for t in targets),
    )
    return dataclasses.replace(result, drop=float(result.drops.mean()))
