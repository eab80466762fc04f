"""How faithful is a heatmap? The deletion and insertion curves of RISE.

Petsiuk, Das & Saenko 2018, "RISE: Randomized Input Sampling for Explanation of Black-box
Models" (BMVC, arXiv:1806.07421), Sec. 4.1: rank the pixels by the map, most important first.

- **Deletion**: remove the top fraction f of the pixels and watch the probability of the
  class. A map that points at the evidence makes it fall fast: a *low* area under the curve
  (AUC) is good.
- **Insertion**: start from an image with the evidence removed and put the top fraction f of
  the pixels back. A good map makes the probability rise fast: a *high* AUC is good.

The probability is the softmax of the logits for the explained class, at ``steps + 1`` evenly
spaced fractions f = 0, 1/steps, ..., 1; the AUC is the trapezoidal area over f in [0, 1].

Baselines (what a removed pixel becomes), as RISE:

- deletion sets a pixel to 0 *in the model's normalised input space*, i.e. to the dataset's mean
  colour (inputs are ``(pixel - mean) / std``). It carries no colour information of its own,
  and it is what a BatchNorm-trained network has seen as "average" everywhere;
- insertion starts from a blurred copy of the image (RISE's code: an 11 x 11 Gaussian kernel
  with sigma 5, zero-padded, on each channel). A black or mean-colour start would make the
  first inserted pixels look like sharp edges on a flat field, which a CNN reacts to in its
  own right; the blurred copy keeps the image's colours and layout but not the fine detail,
  so the curve measures the information the inserted pixels add.

Reference maps: :func:`random_map` (seeded noise at a chosen coarseness) and :func:`inverted`
(the map turned upside down, least important first). A map worth its name beats both: lower
deletion AUC and higher insertion AUC.

Cost: ``2 x (steps + 1)`` forward passes of the whole network per map (one per point of each
curve), run in batches of at most ``batch_size`` images under ``torch.no_grad()``. Ties in the
map (a blank map is all ties) are broken by a fixed, seeded random order, not raster order,
so a flat region is not removed top row first.

The model is used as found: any ``nn.Module`` from a (1, C, H, W) image to logits, in eval
mode; it holds :func:`resnet_viz.runtime.locks.model_lock` while it runs and registers nothing.
This module does not import streamlit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812 (PyTorch's own convention)
from torch import nn

from ...runtime.device import run_with_cpu_fallback
from ...runtime.locks import model_lock
from .model_checks import (
    as_normal_tensor,
    check_class,
    check_eval_mode,
    cpu_copy,
    model_device,
    model_dtype,
)

__all__ = ["Faithfulness", "faithfulness", "inverted", "random_map"]

DEFAULT_STEPS = 32
MAX_STEPS = 1024
DEFAULT_BATCH_SIZE = 16
#: RISE's blur for the insertion start (its code: gkern(klen=11, nsig=5)).
BLUR_KERNEL = 11
BLUR_SIGMA = 5.0
TIE_SEED = 0


@dataclass(frozen=True, eq=False)
class Faithfulness:
    """Deletion and insertion curves of one map for one class.

    Attributes:
        fractions: the fractions of pixels removed (deletion) or inserted (insertion), from 0
            to 1, ``steps + 1`` of them.
        deletion: the class probability after removing each fraction, most important first.
        insertion: the class probability after inserting each fraction into the blurred image.
        deletion_auc: area under ``deletion`` (lower is better).
        insertion_auc: area under ``insertion`` (higher is better).
        target_class: the class whose probability is tracked.
        forward_passes: images run through the network: ``2 x (steps + 1)`` for the curves
            and one to read the prediction.
    """

    fractions: np.ndarray
    deletion: np.ndarray
    insertion: np.ndarray
    deletion_auc: float
    insertion_auc: float
    target_class: int
    forward_passes: int


def faithfulness(
    model: nn.Module,
    image: torch.Tensor,
    heatmap: np.ndarray | torch.Tensor,
    *,
    target_class: int | None = None,
    steps: int = DEFAULT_STEPS,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Callable[[int, int], None] | None = None,
) -> Faithfulness:
    """RISE's deletion and insertion curves of ``heatmap`` for ``target_class``.

    Args:
        model: a network from (1, C, H, W) images to logits, in eval mode (left as found).
        image: one preprocessed image, (1, C, H, W), normalised (0 is the mean colour).
        heatmap: a 2-D map, higher = more important; a map of another size (a CAM's raw
            layer map) is upsampled bilinearly to H x W first.
        target_class: the class to follow; ``None``: the model's top-1 on ``image``.
        steps: points on each curve besides the start (1 to 1024).
        batch_size: images per forward pass.
        progress: ``progress(done, total)`` after each batch, counting images.

    Raises:
        ValueError: a malformed image, map, class, ``steps`` or ``batch_size``.
    """
    check_eval_mode(model)
    if not isinstance(image, torch.Tensor) or image.dim() != 4 or image.shape[0] != 1:
        raise ValueError("image must be one preprocessed image, a tensor of shape (1, C, H, W).")
    order = _order(heatmap, tuple(image.shape[-2:]))
    _check_count("steps", steps, MAX_STEPS)
    _check_count("batch_size", batch_size, 4096)
    home = model_device(model)

    def work(where: torch.device) -> Faithfulness:
        net = model if where == home else cpu_copy(model)
        with model_lock(net), torch.inference_mode(False), torch.no_grad():
            x = as_normal_tensor(image).to(where, model_dtype(net))
            return _curves(net, x, order, target_class, steps, batch_size, progress)

    return run_with_cpu_fallback(work, home).value


def random_map(size: tuple[int, int], *, seed: int = 0, cells: tuple[int, int] | None = None):
    """A reference map with no information: uniform noise, seeded, as a float32 H x W array.

    ``cells`` draws the noise on a coarser grid (say the CAM layer's 7 x 7) and upsamples it
    bilinearly, so the random map is as blobby as the maps it is compared with; ``None`` draws
    one value per pixel."""
    height, width = size
    grid = cells or size
    noise = torch.rand(1, 1, *grid, generator=torch.Generator().manual_seed(seed))
    if tuple(grid) != (height, width):
        noise = F.interpolate(noise, size=size, mode="bilinear", align_corners=False)
    return noise[0, 0].numpy()


def inverted(heatmap: np.ndarray) -> np.ndarray:
    """The map upside down (``max - map``): the least important pixels first."""
    array = np.asarray(heatmap, dtype=np.float32)
    return array.max() - array


# --------------------------------------------------------------------------------------------


def _order(heatmap: object, size: tuple[int, int]) -> torch.Tensor:
    """Pixel indices (row-major) from most to least important; ties in a seeded random order."""
    heat = torch.from_numpy(np.array(heatmap, dtype=np.float32, copy=True))
    if heat.dim() != 2 or heat.numel() == 0:
        raise ValueError(f"heatmap must be a 2-D array; got shape {tuple(heat.shape)}.")
    if not torch.isfinite(heat).all():
        raise ValueError("heatmap contains NaN or infinite values.")
    if tuple(heat.shape) != size:
        heat = F.interpolate(heat[None, None], size=size, mode="bilinear", align_corners=False)
    flat = heat.reshape(-1)
    shuffle = torch.randperm(flat.numel(), generator=torch.Generator().manual_seed(TIE_SEED))
    ranked = torch.argsort(flat[shuffle], descending=True, stable=True)
    return shuffle[ranked]


def _blur(image: torch.Tensor) -> torch.Tensor:
    """RISE's insertion start: a Gaussian blur (11 x 11, sigma 5), each channel on its own,
    zero padding (0 is the mean colour in normalised space)."""
    half = BLUR_KERNEL // 2
    taps = torch.arange(-half, half + 1, dtype=torch.float64)
    g = torch.exp(-(taps**2) / (2 * BLUR_SIGMA**2))
    kernel = torch.outer(g, g)
    kernel = (kernel / kernel.sum()).to(image.dtype).to(image.device)
    channels = image.shape[1]
    weight = kernel.expand(channels, 1, BLUR_KERNEL, BLUR_KERNEL)
    return F.conv2d(image, weight, padding=half, groups=channels)


def _curves(
    model: nn.Module,
    image: torch.Tensor,
    order: torch.Tensor,
    target: int | None,
    steps: int,
    batch_size: int,
    progress: Callable[[int, int], None] | None,
) -> Faithfulness:
    logits = model(image)
    if logits.dim() != 2 or logits.shape[0] != 1:
        raise ValueError(f"The model must return (1, classes) logits; got {tuple(logits.shape)}.")
    check_class(target, logits.shape[1])
    chosen = int(logits[0].argmax()) if target is None else target
    pixels = order.numel()
    counts = [round(pixels * i / steps) for i in range(steps + 1)]
    rank = torch.empty_like(order)
    rank[order] = torch.arange(pixels, device=order.device)
    rank = rank.to(image.device).reshape(image.shape[-2:])
    blurred = _blur(image)
    total = 2 * len(counts)
    done = 0
    curves = []
    for start, end in ((image, torch.zeros_like(image)), (blurred, image)):
        # deletion: image -> mean colour; insertion: blurred -> image
        values = []
        for first in range(0, len(counts), batch_size):
            chunk = torch.tensor(counts[first : first + batch_size], device=image.device)
            changed = (rank[None] < chunk[:, None, None])[:, None]  # (b, 1, H, W)
            batch = torch.where(changed, end, start)
            values.append(torch.softmax(model(batch).float(), dim=1)[:, chosen])
            done += len(chunk)
            if progress is not None:
                progress(done, total)
        curves.append(torch.cat(values).cpu().numpy().astype(np.float64))
    fractions = np.asarray(counts, dtype=np.float64) / pixels
    deletion, insertion = curves
    return Faithfulness(
        fractions=fractions,
        deletion=deletion,
        insertion=insertion,
        deletion_auc=float(np.trapezoid(deletion, fractions)),
        insertion_auc=float(np.trapezoid(insertion, fractions)),
        target_class=chosen,
        forward_passes=total + 1,
    )


def _check_count(name: str, value: object, limit: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= limit:
        raise ValueError(f"{name} must be a whole number from 1 to {limit}; got {value!r}.")
