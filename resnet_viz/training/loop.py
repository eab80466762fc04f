"""What every training run of the app shares: a deterministic setting, the schedule, one epoch.

- :func:`deterministic_run`: a fixed number of intra-op threads (the thread count changes how
  convolutions split their sums, hence the last bits), a private RNG seeded on request, and
  optionally ``torch.use_deterministic_algorithms(True)``; the caller's thread count, RNG and
  flag are restored afterwards; its thread part is
  :func:`~resnet_viz.runtime.kernels.intra_op_threads`.
- :class:`WarmupCosine`: a linear warm-up times a cosine decay to 0 (Loshchilov & Hutter 2017,
  arXiv:1608.03983), as a ``torch.optim.lr_scheduler`` scheduler; :func:`learning_rate` is its
  formula.
- :func:`train_one_epoch`: mini-batch SGD over given batches with mean cross-entropy, stepping
  the scheduler after every optimiser step.

Within a run the arithmetic is fixed (one thread count, same batches, same order), so the same
arguments give bitwise-identical weights with the same CPU kernels and torch build
(:func:`~resnet_viz.runtime.kernels.machine_description` names the kernels).

This module does not import streamlit.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import torch
import torch.nn.functional as F  # noqa: N812 (PyTorch's own convention)
from torch import nn

from ..runtime.kernels import intra_op_threads

__all__ = [
    "EpochStats",
    "WarmupCosine",
    "deterministic_run",
    "learning_rate",
    "train_one_epoch",
]


@contextlib.contextmanager
def deterministic_run(
    seed: int | None = None, *, threads: int = 1, algorithms: bool = False
) -> Iterator[None]:
    """A reproducible training context on the CPU; the caller's settings are restored.

    Inside: ``threads`` intra-op threads (:func:`intra_op_threads`), a private copy of the CPU
    RNG (``torch.random.fork_rng``) seeded with ``seed`` unless it is ``None``, autograd on
    even if the caller is in inference mode, and with ``algorithms`` also
    ``torch.use_deterministic_algorithms(True)``.
    """
    old_flag = torch.are_deterministic_algorithms_enabled()
    old_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    threads_set = intra_op_threads(threads)
    with threads_set, torch.random.fork_rng(devices=[]), torch.inference_mode(False):
        if seed is not None:
            torch.manual_seed(seed)
        if algorithms:
            torch.use_deterministic_algorithms(True)
        try:
            yield
        finally:
            if algorithms:
                torch.use_deterministic_algorithms(old_flag, warn_only=old_warn)


def learning_rate(step: int, total_steps: int, warmup_steps: int, lr: float) -> float:
    """Linear warm-up over ``warmup_steps`` times a cosine decay to 0 over ``total_steps``:
    ``lr * min(1, (step + 1) / warmup_steps) * (1 + cos(pi * step / total_steps)) / 2``."""
    warm = min(1.0, (step + 1) / warmup_steps) if warmup_steps > 0 else 1.0
    return lr * warm * 0.5 * (1.0 + math.cos(math.pi * step / total_steps))


class WarmupCosine(torch.optim.lr_scheduler.LRScheduler):
    """:func:`learning_rate` as a scheduler: step ``s`` (0 before the first ``step()``) runs at
    ``learning_rate(s, total_steps, warmup_steps, initial lr)`` for every parameter group.

    The formula is evaluated afresh at every step, not multiplied onto the previous rate
    (torch's chainable form), so no rounding accumulates: the rates are exactly those of the
    formula, which the shipped curves and checkpoints were trained with.
    """

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        total_steps: int,
        warmup_steps: int = 0,
        last_epoch: int = -1,
    ) -> None:
        if total_steps < 1 or warmup_steps < 0:
            raise ValueError(
                f"Need total_steps >= 1 and warmup_steps >= 0; got {total_steps} and "
                f"{warmup_steps}."
            )
        self.total_steps = total_steps
        self.warmup_steps = warmup_steps
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        step = self.last_epoch
        return [
            learning_rate(step, self.total_steps, self.warmup_steps, base) for base in self.base_lrs
        ]


@dataclass(frozen=True)
class EpochStats:
    """One epoch's running numbers, in train mode: ``loss`` the mean loss per image,
    ``accuracy`` the fraction of images classified right as they were trained on, ``lr`` the
    learning rate of the epoch's last step, ``images`` the number of images seen."""

    loss: float
    accuracy: float
    lr: float
    images: int


def train_one_epoch(
    net: nn.Module,
    optimizer: torch.optim.Optimizer,
    batches: Iterable[tuple[torch.Tensor, torch.Tensor]],
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
    *,
    label_smoothing: float = 0.0,
) -> EpochStats:
    """One pass over ``batches`` (``(images, labels)`` pairs) in train mode: mean cross-entropy
    (with ``label_smoothing``), zero the gradients, backward, ``optimizer.step()``, then
    ``scheduler.step()``."""
    net.train()
    loss_sum, correct, images = 0.0, 0, 0
    lr = optimizer.param_groups[0]["lr"]
    for x, y in batches:
        logits = net(x)
        loss = F.cross_entropy(logits, y, label_smoothing=label_smoothing)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        lr = optimizer.param_groups[0]["lr"]
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        loss_sum += float(loss.detach()) * len(y)
        correct += int((logits.argmax(1) == y).sum())
        images += len(y)
    return EpochStats(
        loss=loss_sum / max(images, 1),
        accuracy=correct / max(images, 1),
        lr=float(lr),
        images=images,
    )
