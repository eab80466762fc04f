"""Lesion study: remove one block at a time from a trained network and measure its accuracy.

Veit, Wilber, Belongie 2016 ("Residual Networks Behave Like Ensembles of Relatively Shallow
Networks", arXiv:1605.06431), Sec. 4 and Fig. 3: deleting a single residual block from a
trained ResNet barely changes its test error, while deleting a layer from a plain network
(VGG) sends it to chance. Their explanation: a ResNet with n blocks is a collection of 2^n
paths (each block either taken or skipped), C(n, k) of them of length k
(:func:`path_length_distribution`); removing a block removes only the paths through it, half
of them, and the rest still carry the signal. A plain network has one path, and a lesion cuts
it.

What :func:`lesion_study` does, precisely:

- Lesionable blocks: the :class:`~resnet_viz.core.build.ResidualBlock` modules whose output has
  the shape of their input (stride 1, same channels), found from the shapes seen in the
  baseline forward pass. A block that changes the shape (the first block of a stage after the
  first) has no identity to fall back on, and Veit et al. leave those out too.
- The lesion. Residual model: the block's branch F is dropped, so the block computes what its
  shortcut alone gives: ``relu(0 + x) = x`` after a ReLU (post-activation blocks read
  non-negative inputs), ``x`` for pre-activation blocks. It is done by a forward hook on the
  block's :class:`~resnet_viz.core.build.Add` that returns the shortcut term. Plain model: the
  block is replaced by the identity (a forward hook on the block returns its input), which is
  what Veit et al. do to VGG's layers.
- Accuracy: top-1 on the given batch, in eval mode (BatchNorm running statistics), under
  ``torch.no_grad``, in chunks of :data:`CHUNK` images.
- The model is never touched: the work runs on a private ``copy.deepcopy`` (in eval mode, with
  the hooks it inherited cleared), so a model shared between Streamlit sessions keeps its
  parameters, buffers, train/eval mode and hooks, and another thread's forward pass never sees
  a lesion. The lesion hooks live on the copy and are removed in ``finally``.
- Speed: one intra-op thread (measured faster than two for these small networks:
  ``docs/experiments.md``).

The shipped pair it measures on the lesion page: :mod:`resnet_viz.experiments.lesion`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from ..core.build import ResidualBlock
from ..runtime.kernels import intra_op_threads
from .copies import private_eval_copy

#: Images per forward pass.
CHUNK = 512


@dataclass(frozen=True)
class LesionResult:
    """What :func:`lesion_study` measured.

    Attributes:
        baseline: accuracy of the intact network on the batch.
        accuracy: lesionable block name (``"layer1.1"``) -> accuracy with that block removed,
            in forward order.
        plain: whether the blocks were replaced by the identity (plain network) rather than
            having their residual branch dropped.
        num_images: images in the batch.
    """

    baseline: float
    accuracy: dict[str, float]
    plain: bool
    num_images: int

    @property
    def drops(self) -> dict[str, float]:
        """Block -> baseline minus accuracy without it (positive: the lesion hurt)."""
        return {name: self.baseline - acc for name, acc in self.accuracy.items()}

    @property
    def mean_accuracy(self) -> float:
        """Mean accuracy over the single-block lesions (NaN if there were none)."""
        values = list(self.accuracy.values())
        return sum(values) / len(values) if values else math.nan


def _blocks(model: nn.Module) -> dict[str, ResidualBlock]:
    return {n: m for n, m in model.named_modules() if isinstance(m, ResidualBlock)}


def _has_skip(block: ResidualBlock) -> bool:
    return bool(block.skip) and hasattr(block, "add")


def _check_batch(batch: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    if len(batch) != 2:
        raise ValueError("batch must be a pair (images, labels).")
    x, y = batch
    if not isinstance(x, torch.Tensor) or x.dim() != 4 or not x.is_floating_point():
        raise ValueError("Images must be a float tensor of shape (batch, channels, height, width).")
    if not isinstance(y, torch.Tensor) or y.shape != (x.shape[0],) or y.is_floating_point():
        raise ValueError(f"Labels must be {x.shape[0]} whole numbers, one per image.")
    if x.shape[0] == 0:
        raise ValueError("The batch is empty.")
    return x, y


def _accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, device) -> float:
    correct = 0
    for start in range(0, len(y), CHUNK):
        xs = x[start : start + CHUNK].to(device=device, dtype=next(model.parameters()).dtype)
        correct += (model(xs).argmax(1).cpu() == y[start : start + CHUNK].cpu()).sum().item()
    return correct / len(y)


def lesionable_blocks(model: nn.Module, x: torch.Tensor) -> list[str]:
    """Names of the residual blocks of ``model`` whose output has their input's shape, found by
    one forward pass of ``x[:1]`` on a private copy (``model`` is not touched)."""
    return _same_shape_blocks(_private_copy(model), x[:1])


def _private_copy(model: nn.Module) -> nn.Module:
    """A deep copy in eval mode without the hooks someone may have registered on ``model``
    (a Grad-CAM hook of another session would otherwise fire, or record, during the study)."""
    return private_eval_copy(model, frozen=False)


def _same_shape_blocks(work: nn.Module, x: torch.Tensor) -> list[str]:
    shapes: dict[str, bool] = {}
    handles = []
    for name, block in _blocks(work).items():

        def record(module, inputs, output, name=name):
            shapes[name] = tuple(inputs[0].shape) == tuple(output.shape)

        handles.append(block.register_forward_hook(record))
    try:
        with torch.no_grad():
            param = next(work.parameters())
            work(x.to(device=param.device, dtype=param.dtype))
    finally:
        for h in handles:
            h.remove()
    return [name for name, same in shapes.items() if same]


def lesion_study(
    model: nn.Module, batch: Sequence[torch.Tensor], *, plain: bool | None = None
) -> LesionResult:
    """Accuracy of ``model`` on ``batch`` with each lesionable block removed in turn.

    Args:
        model: a trained :func:`~resnet_viz.core.build.build_model` network (any device); left
            exactly as it was (the study runs on a private copy).
        batch: ``(x, y)``, float images N x C x H x W already preprocessed, int labels N.
        plain: ``None`` decides from the model: blocks with a skip connection get their branch
            dropped, blocks without become the identity. ``True`` replaces every block by the
            identity even in a residual network (for a post-activation ResNet the same thing,
            since the block's input is already non-negative); ``False`` on a network without
            skip connections raises ``ValueError`` (there is no branch to drop).

    Returns:
        A :class:`LesionResult`; ``accuracy`` holds the blocks in forward order.
    """
    x, y = _check_batch(batch)
    blocks = _blocks(model)
    if not blocks:
        raise ValueError("This model has no residual blocks to remove.")
    has_skip = all(_has_skip(b) for b in blocks.values())
    if plain is None:
        plain = not has_skip
    if not plain and not has_skip:
        raise ValueError(
            "This network has no skip connections: there is no residual branch to drop. "
            "Use plain=True to replace each block by the identity."
        )
    work = _private_copy(model)
    device = next(work.parameters()).device
    work_blocks = _blocks(work)
    with intra_op_threads(1), torch.no_grad():
        names = _same_shape_blocks(work, x[:1])
        baseline = _accuracy(work, x, y, device)
        accuracy: dict[str, float] = {}
        for name in names:
            block = work_blocks[name]
            if plain:
                handle = block.register_forward_hook(lambda _m, inputs, _out: inputs[0])
            else:
                # Add(F(x), shortcut) -> shortcut: the block runs its shortcut path only.
                handle = block.add.register_forward_hook(lambda _m, inputs, _out: inputs[1])
            try:
                accuracy[name] = _accuracy(work, x, y, device)
            finally:
                handle.remove()
    return LesionResult(baseline=baseline, accuracy=accuracy, plain=plain, num_images=len(y))


def path_length_distribution(num_blocks: int) -> list[float]:
    """Fraction of the 2^n paths through a ResNet of n residual blocks that pass through
    exactly k blocks' branches, k = 0..n: C(n, k) / 2^n (Veit et al. 2016, Sec. 3, Fig. 6a).
    Exact integer arithmetic before the one division, so it holds for n in the hundreds."""
    if not isinstance(num_blocks, int) or isinstance(num_blocks, bool) or num_blocks < 0:
        raise ValueError(f"num_blocks must be a whole number >= 0; got {num_blocks!r}.")
    total = 2**num_blocks
    return [math.comb(num_blocks, k) / total for k in range(num_blocks + 1)]
