"""Loss landscapes: the training loss on a plane through a trained network's weights.

Li, Xu, Taylor, Studer, Goldstein 2018 ("Visualizing the Loss Landscape of Neural Nets",
arXiv:1712.09913) plot L(theta + alpha d1 + beta d2) for two random directions d1, d2 in weight
space. With *filter-normalised* directions the pictures of different networks are comparable,
and they show the paper's best-known result (their Fig. 5): as depth grows, a plain network's
landscape turns chaotic and non-convex, while a ResNet's stays smooth and bowl-shaped.

What :func:`loss_landscape` computes, precisely:

1. Directions (Li et al. Sec. 4). For each axis, every parameter gets a standard normal
   tensor, drawn in the order of ``model.named_parameters()`` from one ``torch.Generator``
   seeded with ``seed`` (axis 1 first, then axis 2). Each filter of a convolution (one output
   channel: ``weight[o]``) and each row of a fully connected layer's weight is then rescaled to
   that filter's norm in the model: ``d[o] <- d[o] / ||d[o]|| * ||theta[o]||``. BatchNorm
   weights and biases and every bias get a zero direction (the paper's ``ignore biasbn``), so
   those parameters stay where training left them. Buffers (BatchNorm's running statistics)
   are never perturbed.
2. Grid. ``alphas`` (and ``betas``) are ``resolution`` evenly spaced points from ``-span`` to
   ``span``; ``resolution`` is odd so that 0 is on the grid, exactly. ``dims=1`` gives a curve
   along d1 (``betas`` is ``[0.0]``).
3. Each point. The weights ``theta + alpha * d1 + beta * d2`` (``torch.add`` with ``alpha``,
   the second axis added to the first's result) go into a private copy of the model through
   ``torch.func.functional_call``, under ``no_grad``, in eval mode (BatchNorm with its running
   statistics, as the network is used). ``loss`` is the mean cross-entropy over the images
   (summed chunk by chunk, then divided), ``accuracy`` the share classified correctly. At the
   centre the weights are the model's own, bit for bit.

The model is never changed: the copy is private, its weights frozen, hooks removed.

Roughness (:func:`nonconvex_fraction`): at each interior grid point the 2 x 2 Hessian of the
loss surface by central differences; the figure is the share of points where its smaller
eigenvalue is negative, i.e. where the surface is not locally convex. Li et al. map
|lambda_min / lambda_max| of the full weight-space Hessian (their Fig. 7); this is the same
question asked of the plotted surface itself, so a student can check it on the picture.
A 1-D curve uses the second difference.

Cost: one forward pass of the images per grid point, the floor; the perturbation itself is
one fused add per axis over the weights. On the CPU the work runs with one intra-op thread
(restored afterwards): with other jobs on the cores, two threads make a forward pass of these
small networks several times slower (figures and the command, ``python -m
bench.landscape_bench``, which also measures the cost per point: ``docs/teaching_lab.md``,
"Speed").
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812 (PyTorch's own convention)
from torch import nn
from torch.func import functional_call

from ..core.build import ResNet
from ..core.layout import parameter_count
from ..core.spec import BYTES_PER_FLOAT32, ResNetSpec, SpecError
from ..core.summary import summarize
from ..runtime.kernels import intra_op_threads
from ..runtime.memory import memory_budget_bytes, refuse_over_budget
from .copies import private_eval_copy

Progress = Callable[[float, str], None]

#: Images per forward pass.
CHUNK = 1024
MAX_RESOLUTION = 101


@dataclass(frozen=True, eq=False)
class Landscape:
    """A loss surface (or curve) around a network's weights.

    Attributes:
        alphas, betas: the grid's coordinates along d1 and d2 (1-D float64 arrays; both hold
            0.0 exactly; ``betas`` is ``[0.0]`` for a curve).
        loss: mean cross-entropy, shape ``(len(betas), len(alphas))`` (rows are betas), or
            ``(len(alphas),)`` for a curve.
        accuracy: share of the images classified correctly, same shape.
        directions: one dict per axis, parameter name -> direction tensor (on the model's
            device).
        num_images: images the loss is averaged over.
    """

    alphas: np.ndarray
    betas: np.ndarray
    loss: np.ndarray
    accuracy: np.ndarray
    directions: tuple[dict[str, torch.Tensor], ...]
    num_images: int

    @property
    def centre_loss(self) -> float:
        """The loss at the network's own weights."""
        i = int(np.flatnonzero(self.alphas == 0)[0])
        if self.loss.ndim == 1:
            return float(self.loss[i])
        return float(self.loss[int(np.flatnonzero(self.betas == 0)[0]), i])

    @property
    def roughness(self) -> float:
        """:func:`nonconvex_fraction` of this surface."""
        return nonconvex_fraction(self.loss, self.alphas, self.betas)


def grid(resolution: int, span: float) -> np.ndarray:
    """``resolution`` (odd) points from ``-span`` to ``span``, with 0.0 exactly in the middle."""
    half = (resolution - 1) // 2
    return span * np.arange(-half, half + 1, dtype=np.float64) / half


def filter_normalized_direction(
    model: nn.Module, generator: torch.Generator
) -> dict[str, torch.Tensor]:
    """One random direction, filter-normalised as in Li et al. 2018 (module docstring, step 1).

    Draws a standard normal tensor for *every* parameter, in ``named_parameters()`` order, on
    the CPU (so the direction does not depend on the device), even for those whose direction
    is then zero: the stream of random numbers does not depend on which parameters count.
    """
    weights = {
        f"{name}.weight" if name else "weight"
        for name, module in model.named_modules()
        if isinstance(module, nn.Conv2d | nn.Linear)
    }
    direction: dict[str, torch.Tensor] = {}
    for name, param in model.named_parameters():
        noise = torch.randn(param.shape, generator=generator, dtype=torch.float32)
        if name in weights and param.dim() >= 2:
            theta = param.detach().to("cpu", torch.float32)
            filter_norms = theta.flatten(1).norm(dim=1)
            noise_norms = noise.flatten(1).norm(dim=1)
            scale = filter_norms / noise_norms
            shape = (-1,) + (1,) * (param.dim() - 1)
            noise = noise * scale.view(shape)
        else:
            noise = torch.zeros_like(noise)
        direction[name] = noise.to(param.device, param.dtype)
    return direction


def estimate_memory_bytes(model: nn.Module, images: torch.Tensor, dims: int = 2) -> int:
    """Peak memory of :func:`loss_landscape`, roughly: one chunk's activations (every layer's
    output, an upper bound under ``no_grad``), the weights four or five times (the copy, the
    directions, the perturbed weights) and the images."""
    if isinstance(model, ResNet):
        return spec_memory_bytes(model.spec, tuple(images.shape[1:]), images.shape[0], dims)
    params = sum(p.numel() for p in model.parameters())
    return (3 + dims) * params * BYTES_PER_FLOAT32 + images.numel() * BYTES_PER_FLOAT32


def spec_memory_bytes(
    spec: ResNetSpec, input_size: tuple[int, ...], images: int, dims: int = 2
) -> int:
    """:func:`estimate_memory_bytes` from the network's description alone (before building or
    training it)."""
    activations = summarize(spec, input_size, min(CHUNK, images)).total_activation_bytes
    weights = (3 + dims) * parameter_count(spec) * BYTES_PER_FLOAT32
    return activations + weights + images * int(np.prod(input_size)) * BYTES_PER_FLOAT32


def loss_landscape(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    *,
    resolution: int = 21,
    span: float = 1.0,
    dims: int = 2,
    seed: int = 0,
    progress: Progress | None = None,
    memory_budget: int | None = None,
) -> Landscape:
    """The loss of ``model`` on ``(images, labels)`` over a ``resolution`` x ``resolution``
    grid of filter-normalised directions (see the module docstring for the exact recipe).

    Args:
        model: a trained classifier (any device); left exactly as it was.
        images: N x C x H x W, already normalised; labels: N class indices.
        resolution: points per axis, odd, 3 to 101; span: the grid covers [-span, span].
        dims: 2 for a surface, 1 for a curve along one direction.
        seed: the random directions.
        progress: ``progress(fraction, message)`` after each row of the grid.
        memory_budget: refuse above this estimate (bytes); default
            :func:`~resnet_viz.runtime.memory.memory_budget_bytes` of the model's device.

    Raises:
        SpecError: bad arguments.
        BudgetError: work over the memory budget (before any work).
    """
    x, y = _check(images, labels, resolution, span, dims)
    param = next(model.parameters())
    needed = estimate_memory_bytes(model, x, dims)
    budget = memory_budget_bytes(param.device) if memory_budget is None else memory_budget
    refuse_over_budget(
        needed, budget,
        f"A loss landscape on {x.shape[0]} images of {x.shape[2]}×{x.shape[3]}",
        "Use fewer images or a smaller network.",
    )  # fmt: skip
    work = private_eval_copy(model)
    generator = torch.Generator().manual_seed(seed)
    directions = tuple(filter_normalized_direction(work, generator) for _ in range(dims))
    alphas = grid(resolution, span)
    betas = grid(resolution, span) if dims == 2 else np.zeros(1)
    loss = np.empty((len(betas), len(alphas)))
    accuracy = np.empty_like(loss)
    x, y = x.to(param.device, param.dtype), y.to(param.device)
    base = dict(work.named_parameters())
    moving = [n for n in base if any(bool(d[n].any()) for d in directions)]
    fixed = {**{n: p for n, p in base.items() if n not in moving}, **dict(work.named_buffers())}
    thetas = [base[n] for n in moving]
    axes = [[d[n] for n in moving] for d in directions]
    threads = intra_op_threads(1) if param.device.type == "cpu" else contextlib.nullcontext()
    with threads, torch.inference_mode(False), torch.no_grad():
        for row, beta in enumerate(betas):
            for col, alpha in enumerate(alphas):
                weights = torch._foreach_add(thetas, axes[0], alpha=float(alpha))
                if dims == 2:
                    weights = torch._foreach_add(weights, axes[1], alpha=float(beta))
                point = {**fixed, **dict(zip(moving, weights, strict=True))}
                loss[row, col], accuracy[row, col] = _evaluate(work, point, x, y)
            if progress is not None:
                progress((row + 1) / len(betas), f"Row {row + 1} of {len(betas)} of the grid")
    if dims == 1:
        loss, accuracy = loss[0], accuracy[0]
    for array in (alphas, betas, loss, accuracy):
        array.setflags(write=False)
    return Landscape(alphas, betas, loss, accuracy, directions, x.shape[0])


def _evaluate(
    work: nn.Module, point: dict[str, torch.Tensor], x: torch.Tensor, y: torch.Tensor
) -> tuple[float, float]:
    total = torch.zeros((), dtype=torch.float64, device=x.device)
    correct = torch.zeros((), dtype=torch.int64, device=x.device)
    for start in range(0, x.shape[0], CHUNK):
        logits = functional_call(work, point, (x[start : start + CHUNK],))
        target = y[start : start + CHUNK]
        total += F.cross_entropy(logits, target, reduction="sum").double()
        correct += (logits.argmax(1) == target).sum()
    return total.item() / x.shape[0], correct.item() / x.shape[0]


def _check(
    images: torch.Tensor, labels: torch.Tensor, resolution: int, span: float, dims: int
) -> tuple[torch.Tensor, torch.Tensor]:
    if not isinstance(images, torch.Tensor) or images.dim() != 4 or not images.is_floating_point():
        raise SpecError("Images must be a float tensor of shape (batch, channels, height, width).")
    if images.shape[0] == 0:
        raise SpecError("Give at least one image.")
    if (
        not isinstance(labels, torch.Tensor)
        or labels.shape != (images.shape[0],)
        or labels.is_floating_point()
    ):
        raise SpecError(f"Labels must be {images.shape[0]} whole numbers, one per image.")
    if not isinstance(resolution, int) or not 3 <= resolution <= MAX_RESOLUTION:
        raise SpecError(f"resolution must be a whole number from 3 to {MAX_RESOLUTION}.")
    if resolution % 2 == 0:
        raise SpecError(f"resolution must be odd (so that 0 is on the grid); got {resolution}.")
    if not (isinstance(span, int | float) and np.isfinite(span) and span > 0):
        raise SpecError(f"span must be a positive number; got {span!r}.")
    if dims not in (1, 2):
        raise SpecError(f"dims must be 1 or 2; got {dims!r}.")
    return images.detach(), labels.detach().long()


def nonconvex_points(
    loss: np.ndarray, alphas: Sequence[float], betas: Sequence[float] | None = None
) -> np.ndarray:
    """A boolean array over the interior grid points (``loss[1:-1, 1:-1]``, or ``loss[1:-1]``
    for a curve): True where the surface is not locally convex, i.e. the smaller eigenvalue of
    the central-difference Hessian is negative (for a curve: the second difference is).
    NaN/inf points count as non-convex (a surface that blew up). Assumes an evenly spaced grid
    (as :func:`grid` makes)."""
    z = np.asarray(loss, dtype=np.float64)
    a = np.asarray(alphas, dtype=np.float64)
    if z.ndim == 1:
        if len(z) < 3 or len(a) != len(z):
            raise ValueError("Need at least 3 points, one per alpha.")
        h = a[1] - a[0]
        with np.errstate(invalid="ignore", over="ignore"):
            second = (z[2:] - 2 * z[1:-1] + z[:-2]) / h**2
        return ~(second >= 0)
    b = np.asarray(betas, dtype=np.float64)
    if z.shape != (len(b), len(a)) or min(z.shape) < 3:
        raise ValueError("loss must be len(betas) x len(alphas), at least 3 x 3.")
    ha, hb = a[1] - a[0], b[1] - b[0]
    with np.errstate(invalid="ignore", over="ignore"):
        centre = z[1:-1, 1:-1]
        f_aa = (z[1:-1, 2:] - 2 * centre + z[1:-1, :-2]) / ha**2
        f_bb = (z[2:, 1:-1] - 2 * centre + z[:-2, 1:-1]) / hb**2
        f_ab = (z[2:, 2:] - z[2:, :-2] - z[:-2, 2:] + z[:-2, :-2]) / (4 * ha * hb)
        # the smaller eigenvalue of [[f_aa, f_ab], [f_ab, f_bb]]
        smallest = (f_aa + f_bb) / 2 - np.sqrt(((f_aa - f_bb) / 2) ** 2 + f_ab**2)
    return ~(smallest >= 0)


def nonconvex_fraction(
    loss: np.ndarray, alphas: Sequence[float], betas: Sequence[float] | None = None
) -> float:
    """The share of interior grid points where the surface is not locally convex (see
    :func:`nonconvex_points`): the page's roughness figure."""
    return float(np.mean(nonconvex_points(loss, alphas, betas)))
