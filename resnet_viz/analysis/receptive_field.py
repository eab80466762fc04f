"""The effective receptive field: which input pixels a unit actually listens to.

Luo, Li, Urtasun, Zemel 2016 ("Understanding the Effective Receptive Field in Deep
Convolutional Neural Networks", arXiv:1701.04128): the *theoretical* receptive field of a unit
(every pixel that can influence it, :func:`resnet_viz.summarize`'s ``receptive_field``) is not
where its influence lies. The gradient of the unit with respect to the input is roughly
Gaussian and occupies a fraction of the theoretical field; skip connections make it smaller
still (their Fig. 1 and Sec. 4.1, 4.3), because many of a ResNet's paths are short.

What :func:`effective_receptive_field` computes, precisely:

1. Inputs: ``images`` if given (N x C x H x W, already normalised), otherwise ``n`` standard
   normal images drawn from a ``torch.Generator`` seeded with ``seed``.
2. The unit: the output of ``target_layer`` (a stage ``"layer3"`` or a block ``"layer3.1"``;
   default the last stage), summed over its channels, at the centre position
   ``((h - 1) // 2, (w - 1) // 2)`` of its h x w map. Luo et al. take one channel; the sum
   over channels shows every channel's field at once (each is non-negative after the ReLU).
3. The map: ``|d unit / d input|`` from ``torch.autograd.grad`` with respect to the input,
   summed over the input channels, averaged over the N images, divided by its maximum (so
   its maximum is 1; an all-zero gradient stays all zero). Each image's unit only depends on
   that image (eval mode: BatchNorm uses its running statistics), so one backward of the
   summed units gives every image's gradient.
4. ``theoretical``: the theoretical receptive field's side at that layer. Its box is centred
   on input pixel ``unit * effective_stride`` (every convolution and pooling of these networks
   is centred, kernel 2p + 1); ``box`` is that square clipped to the image.
5. ``side_95``: the side of the smallest odd square, centred like the theoretical box (and
   clipped to the image like it), that holds 95 % of the map's mass.

The model is never changed: the work runs on a private copy in eval mode with frozen weights
(so no autograd work, and no ``.grad``, for the parameters), see :mod:`.copies`.

For example (random-init CIFAR ResNet-20, 3 channels, ``torch.manual_seed(0)`` before
:func:`~resnet_viz.core.build.build_model`, 96 x 96, 8 inputs, seed 0, last stage): the map is
nonzero on exactly the theoretical 81 x 81 box and 95 % of its mass lies in a 43 px box; for
its plain twin (same weights, no skips) 51 px. Trained networks: see ``docs/teaching_lab.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..core.build import ResNet
from ..core.layout import parameter_count
from ..core.spec import BYTES_PER_FLOAT32, SpecError
from ..core.split import check_layer, split_at
from ..core.summary import summarize
from ..runtime.memory import memory_budget_bytes, refuse_over_budget
from .copies import private_eval_copy

#: The share of the map's mass :attr:`ReceptiveField.side_95` encloses.
MASS = 0.95
#: Peak memory of a forward + backward over the summary's activation total (the gradient
#: study's measured factor, with margin: see resnet_viz.analysis.gradients).
BACKWARD_FACTOR = 2
MAX_IMAGES = 256


@dataclass(frozen=True, eq=False)
class ReceptiveField:
    """An effective receptive field and the theoretical one around it.

    Attributes:
        map: float64 H x W array, non-negative, maximum 1 (all zero if no gradient reached
            the input). Read-only.
        theoretical: side of the theoretical receptive field, in input pixels.
        side_95: side of the centred square holding :data:`MASS` of the map (0 for an all-zero
            map).
        layer: the layer whose centre unit was differentiated.
        unit: the unit's position ``(row, column)`` in that layer's output.
        centre: the input pixel ``(row, column)`` at the centre of the unit's field.
        box: the theoretical field as ``(top, left, bottom, right)``, inclusive, clipped to
            the image.
        num_images: how many inputs were averaged.
    """

    map: np.ndarray
    theoretical: int
    side_95: int
    layer: str
    unit: tuple[int, int]
    centre: tuple[int, int]
    box: tuple[int, int, int, int]
    num_images: int

    def mass_within(self, side: int) -> float:
        """The share of the map's mass inside the centred square of odd ``side``."""
        total = float(self.map.sum())
        return _box_sum(self.map, self.centre, side) / total if total > 0 else 0.0

    @property
    def fraction_of_theoretical(self) -> float:
        """``side_95 / theoretical``: how much of the theoretical side the field uses."""
        return self.side_95 / self.theoretical


def _box_sum(image: np.ndarray, centre: tuple[int, int], side: int) -> float:
    half = (side - 1) // 2
    (row, col), (height, width) = centre, image.shape
    top, left = max(0, row - half), max(0, col - half)
    return float(image[top : min(height, row + half + 1), left : min(width, col + half + 1)].sum())


def side_holding(image: np.ndarray, centre: tuple[int, int], share: float = MASS) -> int:
    """The smallest odd side of a square centred on ``centre`` (clipped to the image) holding
    ``share`` of ``image``'s total; 0 when the image sums to 0."""
    total = float(image.sum())
    if total <= 0:
        return 0
    largest = 2 * max(image.shape) + 1
    for side in range(1, largest + 1, 2):
        # a relative tolerance so that share=1 is met despite rounding in the sums
        if _box_sum(image, centre, side) >= share * total * (1 - 1e-12):
            return side
    return largest


def estimate_memory_bytes(model: ResNet, input_size: tuple[int, int, int], n: int) -> int:
    """Peak memory of :func:`effective_receptive_field`, roughly: the activations kept for the
    backward pass (times :data:`BACKWARD_FACTOR`), the private copy's weights, the inputs and
    their gradient."""
    activations = summarize(model.spec, input_size, n).total_activation_bytes
    weights = parameter_count(model.spec) * BYTES_PER_FLOAT32
    inputs = 2 * n * int(np.prod(input_size)) * BYTES_PER_FLOAT32
    return BACKWARD_FACTOR * activations + weights + inputs


def effective_receptive_field(
    model: ResNet,
    input_size: tuple[int, int, int],
    *,
    images: torch.Tensor | None = None,
    n: int = 8,
    seed: int = 0,
    target_layer: str | None = None,
    memory_budget: int | None = None,
) -> ReceptiveField:
    """The effective receptive field of the centre unit of ``target_layer`` (see the module
    docstring for the exact definition).

    Args:
        model: a :func:`~resnet_viz.core.build.build_model` network, any device; untouched.
        input_size: ``(C, H, W)`` of the inputs.
        images: N x C x H x W inputs (already normalised); ``None`` draws ``n`` standard normal
            ones from a generator seeded with ``seed``.
        target_layer: ``"layer2"``, ``"layer3.1"``...; ``None`` is the last stage.
        memory_budget: refuse above this estimate (bytes); default
            :func:`~resnet_viz.runtime.memory.memory_budget_bytes` of the model's device.

    Raises:
        SpecError: a bad size, layer name or number of images.
        BudgetError: work over the memory budget (before any work).
    """
    if not isinstance(model, ResNet):
        raise TypeError(f"Expected a resnet_viz ResNet, got {type(model).__name__}.")
    spec = model.spec
    layer = target_layer if target_layer is not None else f"layer{spec.num_stages}"
    check_layer(spec, layer)
    x = _inputs(spec.in_channels, input_size, images, n, seed)
    size = (spec.in_channels, *input_size[1:])
    summary = summarize(spec, size, x.shape[0])  # SpecError for an input too small
    param = next(model.parameters())
    device = param.device
    needed = estimate_memory_bytes(model, size, x.shape[0])
    budget = memory_budget_bytes(device) if memory_budget is None else memory_budget
    refuse_over_budget(
        needed, budget,
        f"The effective receptive field on {x.shape[0]} inputs of {size[1]}×{size[2]}",
        "Use fewer inputs or a smaller input size.",
    )  # fmt: skip
    work = private_eval_copy(model)
    with torch.inference_mode(False), torch.enable_grad():
        x = x.to(device, param.dtype).requires_grad_()
        activation = split_at(work, layer).before(x)
        height, width = activation.shape[-2:]
        unit = ((height - 1) // 2, (width - 1) // 2)
        (grad,) = torch.autograd.grad(activation[:, :, unit[0], unit[1]].sum(), x)
    erf = grad.abs().sum(1).mean(0).double().cpu().numpy()
    peak = erf.max()
    if peak > 0:
        erf = erf / peak
    erf.setflags(write=False)
    theoretical, stride = _theoretical(summary, layer)
    centre = (unit[0] * stride, unit[1] * stride)
    half = (theoretical - 1) // 2
    box = (
        max(0, centre[0] - half), max(0, centre[1] - half),
        min(size[1] - 1, centre[0] + half), min(size[2] - 1, centre[1] + half),
    )  # fmt: skip
    return ReceptiveField(
        map=erf,
        theoretical=theoretical,
        side_95=side_holding(erf, centre),
        layer=layer,
        unit=unit,
        centre=centre,
        box=box,
        num_images=x.shape[0],
    )


def _inputs(
    channels: int,
    input_size: tuple[int, int, int],
    images: torch.Tensor | None,
    n: int,
    seed: int,
) -> torch.Tensor:
    if len(input_size) != 3 or not all(isinstance(v, int) and v > 0 for v in input_size):
        raise SpecError(f"input_size must be (channels, height, width); got {input_size!r}.")
    if input_size[0] != channels:
        raise SpecError(f"This network takes {channels} input channels, not {input_size[0]}.")
    if images is None:
        if not isinstance(n, int) or not 1 <= n <= MAX_IMAGES:
            raise SpecError(f"n must be a whole number from 1 to {MAX_IMAGES}; got {n!r}.")
        generator = torch.Generator().manual_seed(seed)
        return torch.randn((n, *input_size), generator=generator)
    if not isinstance(images, torch.Tensor) or images.dim() != 4 or not images.is_floating_point():
        raise SpecError("images must be a float tensor of shape (N, C, H, W).")
    if tuple(images.shape[1:]) != tuple(input_size):
        raise SpecError(f"The images are {tuple(images.shape[1:])}, not {tuple(input_size)}.")
    if not 1 <= images.shape[0] <= MAX_IMAGES:
        raise SpecError(f"Give 1 to {MAX_IMAGES} images.")
    return images.detach().float().clone()


def _theoretical(summary, layer: str) -> tuple[int, int]:
    """(receptive field, effective stride) of a stage or block row of ``summary``."""
    rows = summary.stages if "." not in layer else summary.blocks
    row = next(r for r in rows if r.name == layer)
    return row.receptive_field, row.effective_stride
