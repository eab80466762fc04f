"""How faithful is a heatmap? ROAD: remove pixels without leaking where they were.

Rong, Leemann, Borisov, Kasneci & Kasneci 2022, "A Consistent and Efficient Evaluation
Strategy for Attribution Methods" (ICML, arXiv:2202.00449). Deletion-style curves set removed
pixels to a constant, and the *shape* of the removed region then tells the network where the
evidence was (a class leak). ROAD instead fills each removed pixel by **noisy linear
imputation**: the weighted mean of its 8 neighbours (1/6 each side, 1/12 each corner), solved
for all removed pixels at once as one sparse linear system, plus Gaussian noise of standard
deviation ``noise`` (in the model's normalised units) so the filled region carries no
smooth-surface signature of its own.

The definitions are pytorch-grad-cam's (``pytorch_grad_cam.metrics.road``, the authors' code),
followed exactly; the tests prove the numbers equal. At a percentile ``p`` of the map:

- **MoRF** (most relevant first) keeps the pixels whose map value is below the map's ``p``-th
  percentile (``numpy.percentile``, linear) and imputes the rest: about the ``100 - p`` % most
  relevant pixels go. A faithful map makes the class probability *fall* far.
- **LeRF** (least relevant first) does the same on ``1 - map``: it keeps about the ``p`` % most
  relevant pixels and imputes the rest. A faithful map keeps the probability *up*.

Pixels tied with the threshold are removed (a map that is 0 on 90 % of the image loses all of
it to MoRF at every percentile up to 90). The scores are differences from the probability on
the intact image, averaged over the percentiles: ``morf_average`` (lower is better),
``lerf_average`` (higher is better) and ``combined = (lerf_average - morf_average) / 2``
(pytorch-grad-cam's ``ROADCombined``; higher is better).

The linear system (symmetric, positive definite once one pixel is kept) is solved here by
Jacobi-preconditioned conjugate gradients in float64, batched over the percentiles and on the
model's device, to a relative residual of 1e-8; pytorch-grad-cam solves it with SciPy's
sparse LU, which the app does not depend on. The imputed images agree to float32 rounding.
Where nothing is kept (percentile 0, or a flat map) there is nothing to interpolate from and
the system has no unique solution; both solvers then return 0, so the removed pixels become
the dataset's mean colour in normalised space (as in the deletion curve), plus the noise.
On a CPU the solves are the slow part (the iterations grow with the image's side, so a
224 x 224 map takes longer than its forward passes); on a GPU they are batched tensor work.
The noise comes from a ``torch.Generator`` seeded with ``seed``, drawn in the library's
order (LeRF at each percentile, then MoRF), so a run is repeatable and, with the library run
after ``torch.manual_seed(seed)``, identical to it.

Cost: ``1 + 2 x len(percentiles)`` forward passes, in batches of at most ``batch_size``
images under ``torch.no_grad()``, and as many linear solves. The model is used as found (eval
mode, nothing registered) under :func:`resnet_viz.runtime.locks.model_lock`.
This module does not import streamlit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812 (PyTorch's own convention)
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

__all__ = ["DEFAULT_PERCENTILES", "Road", "road"]

#: pytorch-grad-cam's default percentiles for ROADCombined.
DEFAULT_PERCENTILES = (10, 20, 30, 40, 50, 60, 70, 80, 90)
MAX_PERCENTILES = 101
#: The imputation noise's standard deviation, pytorch-grad-cam's default.
DEFAULT_NOISE = 0.01
DEFAULT_BATCH_SIZE = 16
#: The 8-neighbour weights of the imputation (offset (row, column) -> weight), the library's.
NEIGHBOUR_WEIGHTS = {
    (-1, -1): 1 / 12,
    (-1, 0): 1 / 6,
    (-1, 1): 1 / 12,
    (0, -1): 1 / 6,
    (0, 1): 1 / 6,
    (1, -1): 1 / 12,
    (1, 0): 1 / 6,
    (1, 1): 1 / 12,
}
#: Conjugate gradients stop at this relative residual (float64): on 224 x 224 images the
#: imputed pixels then equal SciPy's LU solution to float32 rounding (1e-7 leaves 2e-6).
SOLVE_TOLERANCE = 1e-8
_CHECK_EVERY = 10


@dataclass(frozen=True, eq=False)
class Road:
    """ROAD's MoRF and LeRF curves of one map for one class.

    Attributes:
        percentiles: the percentiles, as given (the share of pixels kept, roughly).
        score: the class probability on the intact image.
        morf: the class probability after MoRF imputation at each percentile.
        lerf: the class probability after LeRF imputation at each percentile.
        morf_average: mean of ``morf - score`` (lower is better).
        lerf_average: mean of ``lerf - score`` (higher is better).
        combined: ``(lerf_average - morf_average) / 2`` (higher is better).
        target_class: the class whose probability is tracked.
        forward_passes: images run through the network.
    """

    percentiles: np.ndarray
    score: float
    morf: np.ndarray
    lerf: np.ndarray
    morf_average: float
    lerf_average: float
    combined: float
    target_class: int
    forward_passes: int


def road(
    model: nn.Module,
    image: torch.Tensor,
    heatmap: np.ndarray | torch.Tensor,
    target: int | None = None,
    percentiles: Sequence[float] = DEFAULT_PERCENTILES,
    *,
    noise: float = DEFAULT_NOISE,
    seed: int = 0,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> Road:
    """ROAD's MoRF and LeRF scores of ``heatmap`` for class ``target`` on ``image``.

    Args:
        model: a network from (N, C, H, W) images to logits, in eval mode (left as found).
        image: one preprocessed image, (1, C, H, W), normalised (0 is the mean colour).
        heatmap: a 2-D map, higher = more relevant; a map of another size (a CAM's layer grid)
            is upsampled bilinearly to H x W first.
        target: the class to follow; ``None``: the model's top-1 on ``image``.
        percentiles: numbers from 0 to 100 (at most 101 of them).
        noise: the imputation noise's standard deviation (0 to 10); 0 for none.
        seed: seeds the noise.
        batch_size: images per forward pass and per batched solve.

    Raises:
        SpecError: a malformed image, map, class, percentile list, noise or batch size, or a
            model in training mode.
    """
    image = check_one_image(image)
    heat = prepared_map(heatmap, tuple(image.shape[-2:]))
    levels = _check_percentiles(percentiles)
    if isinstance(noise, bool) or not isinstance(noise, (int, float)) or not 0 <= noise <= 10:
        raise SpecError(f"noise must be a number from 0 to 10; got {noise!r}.")
    check_count("batch_size", batch_size, 4096)
    as_spec_error(check_eval_mode, model)
    keeps = _keep_masks(heat, levels)  # LeRF's then MoRF's, the library's order
    home = model_device(model)

    def work(where: torch.device) -> Road:
        net = model if where == home else cpu_copy(model)
        with model_lock(net), torch.inference_mode(False), torch.no_grad():
            x = as_normal_tensor(image).to(where, model_dtype(net))
            return _road(net, x, keeps, levels, target, float(noise), seed, batch_size)

    return run_with_cpu_fallback(work, home).value


def impute(
    image: torch.Tensor, keep: torch.Tensor, *, noise: float = 0.0, generator=None
) -> torch.Tensor:
    """Noisy linear imputation of ``image`` (1, C, H, W) outside each mask of ``keep``
    (B, H, W), bool: True = keep the pixel. Returns (B, C, H, W) in the image's dtype."""
    filled = _solve(image, keep.to(image.device))
    out = filled.to(image.device, image.dtype)
    if noise:
        channels = image.shape[1]
        for i, mask in enumerate(keep):
            missing = (~mask).reshape(-1).nonzero().squeeze(1).to(image.device)
            # The library draws randn_like(solution.T); SciPy's solution is column-major, so
            # its transpose is a contiguous (C, N) block, drawn in this order.
            draws = torch.randn(channels, missing.numel(), generator=generator)
            flat = out[i].reshape(channels, -1)
            flat[:, missing] += noise * draws.to(out.device, out.dtype)
    return out


# --------------------------------------------------------------------------------------------
# Checks shared with the confidence metrics.


def check_one_image(image: object) -> torch.Tensor:
    if (
        not isinstance(image, torch.Tensor)
        or image.dim() != 4
        or image.shape[0] != 1
        or not image.is_floating_point()
    ):
        shape = tuple(image.shape) if isinstance(image, torch.Tensor) else type(image).__name__
        raise SpecError(
            f"image must be one preprocessed image, a float tensor of shape (1, C, H, W); "
            f"got {shape}."
        )
    return image


def prepared_map(heatmap: object, size: tuple[int, int]) -> np.ndarray:
    """The map as a float32 H x W array, upsampled bilinearly when it is smaller or larger."""
    try:
        if isinstance(heatmap, torch.Tensor):
            heat = heatmap.detach().to("cpu", torch.float32, copy=True)
        else:
            heat = torch.from_numpy(np.array(heatmap, dtype=np.float32, copy=True))
    except (TypeError, ValueError, RuntimeError) as error:
        raise SpecError(f"heatmap must be a 2-D array of numbers ({error}).") from None
    if heat.dim() != 2 or heat.numel() == 0:
        raise SpecError(f"heatmap must be a 2-D array (H x W); got shape {tuple(heat.shape)}.")
    if not torch.isfinite(heat).all():
        raise SpecError("heatmap contains NaN or infinite values.")
    if tuple(heat.shape) != size:
        heat = F.interpolate(heat[None, None], size=size, mode="bilinear", align_corners=False)
    return heat.reshape(size).numpy()


def check_count(name: str, value: object, limit: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= limit:
        raise SpecError(f"{name} must be a whole number from 1 to {limit}; got {value!r}.")


def check_target(target: object, classes: int) -> None:
    if target is None:
        return
    if not isinstance(target, int) or isinstance(target, bool) or not 0 <= target < classes:
        raise SpecError(f"target must be a class index from 0 to {classes - 1}; got {target!r}.")


def as_spec_error(check, *args) -> None:
    """Run one of the shared checks, its ValueError turned into the user-facing SpecError."""
    try:
        check(*args)
    except SpecError:
        raise
    except ValueError as error:
        raise SpecError(str(error)) from None


def class_scores(model: nn.Module, images: torch.Tensor, batch_size: int) -> torch.Tensor:
    """Softmax probabilities of ``images``, ``batch_size`` at a time, (N, classes) float32."""
    rows = []
    for first in range(0, images.shape[0], batch_size):
        logits = model(images[first : first + batch_size])
        if logits.dim() != 2 or logits.shape[0] != min(batch_size, images.shape[0] - first):
            raise SpecError(
                f"The model must return (N, classes) logits; got {tuple(logits.shape)}."
            )
        rows.append(torch.softmax(logits.float(), dim=1))
    return torch.cat(rows)


# --------------------------------------------------------------------------------------------


def _check_percentiles(percentiles: object) -> np.ndarray:
    try:
        levels = np.array(percentiles, dtype=np.float64)
    except (TypeError, ValueError):
        raise SpecError(f"percentiles must be a list of numbers; got {percentiles!r}.") from None
    if levels.ndim != 1 or not 1 <= levels.size <= MAX_PERCENTILES:
        raise SpecError(
            f"percentiles must be a list of 1 to {MAX_PERCENTILES} numbers; got {percentiles!r}."
        )
    if not np.isfinite(levels).all() or levels.min() < 0 or levels.max() > 100:
        raise SpecError(f"percentiles must lie from 0 to 100; got {percentiles!r}.")
    return levels


def _keep_masks(heat: np.ndarray, levels: np.ndarray) -> torch.Tensor:
    """(2P, H, W) bool, True = kept: LeRF at each percentile, then MoRF. The threshold and the
    comparison are the library's own operations (numpy percentile, a float32 torch compare)."""
    most = torch.from_numpy(heat)
    least = 1 - most
    masks = []
    for ranked in (least, most):
        values = ranked.numpy()
        masks += [ranked < np.percentile(values, float(p)) for p in levels]
    return torch.stack(masks)


def _road(
    model: nn.Module,
    image: torch.Tensor,
    keeps: torch.Tensor,
    levels: np.ndarray,
    target: int | None,
    noise: float,
    seed: int,
    batch_size: int,
) -> Road:
    probabilities = class_scores(model, image, 1)
    check_target(target, probabilities.shape[1])
    chosen = int(probabilities[0].argmax()) if target is None else target
    generator = torch.Generator().manual_seed(seed)
    after = []
    for first in range(0, keeps.shape[0], batch_size):
        filled = impute(image, keeps[first : first + batch_size], noise=noise, generator=generator)
        after.append(class_scores(model, filled, batch_size)[:, chosen])
    scores = torch.cat(after).cpu().numpy().astype(np.float64)
    score = float(probabilities[0, chosen])
    lerf, morf = scores[: levels.size], scores[levels.size :]
    morf_average = float(np.mean(morf - score))
    lerf_average = float(np.mean(lerf - score))
    return Road(
        percentiles=levels,
        score=score,
        morf=morf,
        lerf=lerf,
        morf_average=morf_average,
        lerf_average=lerf_average,
        combined=(lerf_average - morf_average) / 2,
        target_class=chosen,
        forward_passes=1 + keeps.shape[0],
    )


def _neighbour_sum(u: torch.Tensor) -> torch.Tensor:
    """Sum over the 8 neighbours of each pixel, weighted; pixels outside the image count 0.

    The weights are (outer([1, 2, 1], [1, 2, 1]) - 4 at the centre) / 12, so the sum is two
    1-D passes (4 shifted adds instead of 8)."""
    return _stencil_sum(u).sub_(u, alpha=4).div_(12)


def _stencil_sum(u: torch.Tensor) -> torch.Tensor:
    """``outer([1, 2, 1], [1, 2, 1])`` applied to each plane (outside the image counts 0): the
    neighbour sum's stencil before its centre and scale (:func:`_neighbour_sum`)."""
    rows = u * 2
    rows[..., 1:, :] += u[..., :-1, :]
    rows[..., :-1, :] += u[..., 1:, :]
    both = rows * 2
    both[..., 1:] += rows[..., :-1]
    both[..., :-1] += rows[..., 1:]
    return both


def _dot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per-plane dot products of (N, 1, H, W) tensors, (N, 1, 1, 1): one fused operation."""
    return torch.linalg.vecdot(a.flatten(1), b.flatten(1))[:, None, None, None]


def _solve(image: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
    """The image with every removed pixel equal to the weighted mean of its neighbours inside
    the image (the library's system), (B, C, H, W) float64; 0 where nothing is kept.

    For removed pixels u: ``s * u - neighbour_sum(u on removed) = neighbour_sum(kept image)``,
    ``s`` the weight of a pixel's neighbours inside the image. Conjugate gradients with the
    Jacobi preconditioner ``1 / s``, one system per mask and channel, batched; a system that
    has converged leaves the batch."""
    where = torch.device("cpu") if image.device.type == "mps" else image.device  # no float64
    x = image.to(where, torch.float64)
    count, channels = keep.shape[0], x.shape[1]
    kept = keep.to(where)[:, None].expand(count, channels, *x.shape[-2:])
    # One system per (mask, channel), each a (1, H, W) plane.
    removed = (~kept).reshape(-1, 1, *x.shape[-2:]).to(torch.float64)
    known = (x * kept).reshape(-1, 1, *x.shape[-2:])
    s = _neighbour_sum(torch.ones_like(x[:1, :1]))
    b = _neighbour_sum(known).mul_(removed)
    # A p = s p - neighbour_sum(p) = (s + 1/3) p - K p / 12 on the removed pixels, with K the
    # separable [1, 2, 1] x [1, 2, 1] stencil: the two masked factors are computed once, so a
    # product is 8 tensor operations (each one a pass over the batch, and on a shared CPU a
    # thread barrier: their count, not the arithmetic, sets the time).
    diagonal = (s + 1 / 3) * removed
    stencil = removed / -12
    inverse = 1 / s  # the Jacobi preconditioner
    solution = torch.zeros_like(b)
    active = torch.arange(b.shape[0], device=where)
    u, r = torch.zeros_like(b), b.clone()
    z = r * inverse
    p = z.clone()
    rz = _dot(r, z)
    bound = SOLVE_TOLERANCE * b.norm(dim=(2, 3), keepdim=True)
    limit = 20 * sum(x.shape[-2:]) + 100
    for step in range(limit):
        if step % _CHECK_EVERY == 0:
            done = (r.norm(dim=(2, 3), keepdim=True) <= bound).reshape(-1)
            if bool(done.any()):
                solution[active[done]] = u[done]
                going = ~done
                if not bool(going.any()):
                    break
                active, u, r, p, z, rz, bound, diagonal, stencil = (
                    t[going] for t in (active, u, r, p, z, rz, bound, diagonal, stencil)
                )
        q = _stencil_sum(p).mul_(stencil).addcmul_(diagonal, p)
        pq = _dot(p, q)
        alpha = torch.where(pq > 0, rz / pq.clamp_min(1e-300), torch.zeros_like(pq))
        u.addcmul_(alpha, p)
        r.addcmul_(alpha, q, value=-1)
        torch.mul(r, inverse, out=z)
        rz_next = _dot(r, z)
        beta = torch.where(rz > 0, rz_next / rz.clamp_min(1e-300), torch.zeros_like(rz))
        p.mul_(beta).add_(z)
        rz = rz_next
    else:
        raise RuntimeError("ROAD's linear imputation did not converge.")
    return torch.where(kept, x, solution.reshape(count, channels, *x.shape[-2:]))
