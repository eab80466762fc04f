"""Per-layer gradient norms of a ResNet and of its plain twin, and how much each block changes
its input.

Why: He et al. 2015 ("Deep Residual Learning for Image Recognition", arXiv:1512.03385, Sec. 4.1
and Fig. 1) show that deeper plain networks train *worse*, and that identity shortcuts fix it.
The gradients say why. With BatchNorm in train mode, a deep plain network's gradients *explode*
toward the input at initialisation (Yang, Pennington, Rao, Sohl-Dickstein, Schoenholz 2019,
"A Mean Field Theory of Batch Normalization", arXiv:1902.08129), and they become
"shattered", like white noise (Balduzzi et al. 2017, "The Shattered Gradients Problem",
arXiv:1702.08591). A residual network's blocks each change their input only a little
(``branch_ratio`` below), so the loss gradient reaches early layers through the identity paths
with its size roughly intact; Veit, Wilber, Belongie 2016 ("Residual Networks Behave Like
Ensembles of Relatively Shallow Networks", arXiv:1605.06431) find that most of it travels along
short paths.

What :func:`gradient_norms` computes, precisely:

1. Models. ``torch.default_generator`` is seeded with ``seed`` inside
   ``torch.random.fork_rng`` (so the caller's RNG state is restored afterwards) and the pair is
   built on the CPU by :func:`~resnet_viz.analysis.twins.make_twins`: the residual model with
   :func:`~resnet_viz.core.build.build_model`, re-initialised for ``init`` other than
   ``"kaiming"``, and the plain twin (``skip=False``), the same network with the residual's
   weights copied at every shared name; only shortcut projections (``layerX.Y.downsample.*``)
   have no counterpart. Both are then moved to ``device``. Building on the CPU makes the
   weights, and the random batch, the same on every device.
2. Batch. Unless the caller gives one, ``x`` is standard normal of shape
   ``(batch_size, *input_size)`` and ``y`` uniform random labels in ``[0, num_classes)``, drawn
   right after the weights from the same seeded generator.
3. One training step's gradients. Both models are in train mode, so BatchNorm normalises with
   the statistics of this batch, as in a real training step (and as Yang et al. 2019 analyse).
   Loss: mean cross-entropy. After ``loss.backward()`` the norms are read in one pass over the
   weights under ``torch.no_grad``.
4. ``steps > 0``: SGD (``lr``, ``momentum``, no weight decay) on the same fixed batch, with a
   snapshot after each step; each snapshot's numbers are those at the weights of that step.

Reported numbers:

- per layer: the L2 (Frobenius) norm, accumulated in float64, of d loss / d weight of every
  ``nn.Conv2d`` and ``nn.Linear`` *weight* (biases, present without BatchNorm, are not
  reported), in forward order: first ``conv1`` (the stem), last ``fc``. Shortcut projections
  (options B and C, ``layerX.Y.downsample.0``) are Conv2d weights too, so they are in the
  residual dict, at the place they run (after their block's branch); the plain twin has none.
  :meth:`GradientReport.shared_layers` lists the main-path layers both models have, in order:
  use it to plot or divide the two.
- ``branch_ratio``: per residual block, ``||F(x)|| / ||shortcut(x)||`` where both are the two
  inputs of the block's :class:`~resnet_viz.core.build.Add` module, read by a forward hook
  during the same forward pass (no extra pass). Norms are over the whole batch tensor. For an
  identity block the denominator is ``||x||``; where the shape changes it is the norm of the
  shortcut's output (zero-padded and subsampled x, or the projection).

What to expect, and why. With BatchNorm the plain twin's gradients explode toward the input,
faster the deeper it is, while the residual network's stay within a few orders of magnitude.
Without BatchNorm the explosion is gone: He init (fan_out) keeps the backward signal's scale
through a plain ReLU stack (He et al. 2015b, "Delving Deep into Rectifiers", arXiv:1502.01852).
The residual network without BatchNorm is then the one in trouble: each block adds its branch's
variance to the signal, so activations and the loss grow with depth (why Fixup, Zhang et al.
2019, arXiv:1901.09321, rescales the branches). Vanishing needs a weaker init: under PyTorch's
default (``init="pytorch"``, variance 1 / (3 fan_in)) and no BatchNorm the plain twin's early
gradients fall by many orders of magnitude while the residual network's do not: the identity
paths carry the gradient. Norms are therefore accumulated in float64, so such values are not
rounded to 0 (below float32's range the gradients themselves underflow and read 0). A few SGD
steps also tame the plain explosion: the big gradients inflate the early weights, and BatchNorm
makes their scale irrelevant to the output, so their effective learning rate shrinks. The
measured figures, and the command that reproduces them, are in ``docs/gradients.md``.

Devices: on a GPU, cuDNN picks its own algorithms (TF32 for convolutions by default), so the
numbers are close to the CPU's, not bitwise equal.

Cost: the work is a forward and backward of each model (the floor), plus one norm per weight and
two per block; ``bench/gradients_bench.py`` measures it against the bare floor.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F  # noqa: N812 (PyTorch's own convention)
from torch import nn

from ..core.build import Add
from ..core.layout import parameter_count
from ..core.spec import BYTES_PER_FLOAT32, ResNetSpec, SpecError
from ..core.summary import summarize
from ..runtime import memory
from .twins import INITS, build_twins, initialize, make_twins, residual_spec

__all__ = [
    "BACKWARD_FACTOR",
    "DEFAULT_LR",
    "DEFAULT_MOMENTUM",
    "INITS",
    "MAX_STEPS",
    "GradientReport",
    "GradientSnapshot",
    "build_twins",
    "estimate_memory_bytes",
    "gradient_norms",
    "initialize",
]

Which = Literal["residual", "plain"]
Progress = Callable[[float, str], None]

#: SGD defaults for ``steps > 0``: momentum 0.9 as in He et al. 2015, and their warm-up learning
#: rate 0.01 (Sec. 4.2: ResNet-110 starts at 0.01 until training error < 80 %, then 0.1). A few
#: steps from initialisation are warm-up territory: on one random batch lr 0.1 makes the loss
#: climb within a few steps where 0.01 brings it down (docs/gradients.md). No weight decay: a
#: handful of steps on one batch shows the dynamics, not regularisation.
DEFAULT_LR = 0.01
DEFAULT_MOMENTUM = 0.9
MAX_STEPS = 100
#: Peak memory of a forward + backward over the summary's activation total (every layer's
#: output, float32): the measured ratio (peak RSS growth of one train-mode step over the summary
#: total, ``docs/gradients.md``) stays below 1.5 for the presets; 2 keeps a margin.
BACKWARD_FACTOR = 2


@dataclass(frozen=True)
class GradientSnapshot:
    """The numbers at one step: ``step`` 0 is the initialisation, ``step`` k after k SGD steps.

    ``residual``/``plain``: layer name -> L2 norm of the loss gradient of that layer's weight,
    in forward order. ``branch_ratio``: residual block name (``"layer2.3"``) -> ||F(x)|| /
    ||shortcut(x)||. Losses are the mean cross-entropy on the batch, before this step's update.
    Non-finite values are kept as they are (``inf``/``nan``): a diverging run shows as such.
    """

    step: int
    residual: dict[str, float]
    plain: dict[str, float]
    branch_ratio: dict[str, float]
    residual_loss: float
    plain_loss: float


@dataclass(frozen=True)
class GradientReport:
    """What :func:`gradient_norms` measured. ``history[0]`` is the initialisation; the
    properties ``residual``, ``plain``, ``branch_ratio`` and the losses read it.

    ``build_seconds`` is the time spent building both models and the batch; ``run_seconds`` the
    forward/backward passes, norms and SGD steps (wall clock, after a device synchronisation).
    """

    spec: ResNetSpec  # the residual network (skip=True); its twin is spec.plain_twin()
    input_size: tuple[int, int, int]
    batch_size: int
    seed: int
    init: str
    device: str
    lr: float
    momentum: float
    history: tuple[GradientSnapshot, ...]
    build_seconds: float
    run_seconds: float

    @property
    def residual(self) -> dict[str, float]:
        return self.history[0].residual

    @property
    def plain(self) -> dict[str, float]:
        return self.history[0].plain

    @property
    def branch_ratio(self) -> dict[str, float]:
        return self.history[0].branch_ratio

    @property
    def residual_loss(self) -> float:
        return self.history[0].residual_loss

    @property
    def plain_loss(self) -> float:
        return self.history[0].plain_loss

    @property
    def steps(self) -> int:
        return len(self.history) - 1

    def shared_layers(self) -> tuple[str, ...]:
        """Main-path layers both models have, in forward order: ``conv1``, every branch conv,
        ``fc``. Shortcut projections are left out (the plain twin has none)."""
        return tuple(self.plain)

    def projection_layers(self) -> tuple[str, ...]:
        """Shortcut projections (``layerX.Y.downsample.0``): residual model only."""
        return tuple(name for name in self.residual if name not in self.plain)

    def aligned(self, step: int = 0) -> dict[str, tuple[float, float]]:
        """Shared layer -> (residual norm, plain norm) at ``step``, in forward order."""
        snap = self.history[step]
        return {name: (snap.residual[name], snap.plain[name]) for name in self.shared_layers()}

    def first_last_ratio(self, which: Which = "residual", step: int = 0) -> float:
        """Gradient norm of the first conv (the stem ``conv1``) over that of the last conv
        before ``fc`` (the last branch conv of the last block), for ``which`` model at ``step``.

        Both are main-path layers, so the two models' ratios compare like with like. Above 1:
        gradients grow toward the input (explode); below 1: they shrink (vanish). Being a ratio,
        it cannot show all layers' gradients shrinking or growing together: read the absolute
        norms for that.
        """
        if which not in ("residual", "plain"):
            raise ValueError(f"which must be 'residual' or 'plain'; got {which!r}.")
        norms = getattr(self.history[step], which)
        shared = self.shared_layers()
        first, last_conv = shared[0], shared[-2]  # shared[-1] is the fc, the only Linear
        if norms[last_conv] == 0:
            return math.inf if norms[first] > 0 else math.nan
        return norms[first] / norms[last_conv]


def estimate_memory_bytes(
    spec: ResNetSpec, input_size: tuple[int, int, int] | None = None, batch_size: int = 16
) -> int:
    """Peak memory :func:`gradient_norms` needs, roughly, in bytes.

    The two models run one after the other and each graph is freed after its backward, so the
    peak is one model's activations (:func:`~resnet_viz.core.summary.summarize`'s total, the
    residual model's, which is the larger) times :data:`BACKWARD_FACTOR`, plus both models'
    weights, gradients and SGD momentum (3 x 4 bytes x parameters x 2 models).

    Why not a larger factor (say activations x 2 models x 3): measured peaks are at most 1.42x
    one model's activation total (see :data:`BACKWARD_FACTOR`), and with such a factor
    ResNet-50 at 224x224 and batch 4 (3.5 GiB by that rule, 1.7 GiB by this one) would be
    refused under the 3 GiB CPU budget although it fits.
    """
    rspec = residual_spec(spec)
    activations = summarize(rspec, input_size, batch_size).total_activation_bytes
    weights = parameter_count(rspec) * BYTES_PER_FLOAT32
    return BACKWARD_FACTOR * activations + 2 * 3 * weights


def _check_memory(
    spec: ResNetSpec, input_size: tuple[int, int, int], batch_size: int, budget: int
) -> None:
    memory.refuse_over_budget(
        estimate_memory_bytes(spec, input_size, batch_size),
        budget,
        f"Comparing gradients of this network and its plain twin on a batch of {batch_size} "
        f"at {input_size[1]}x{input_size[2]}",
        "Use a smaller batch, a smaller input or a shallower network.",
        wording="{doing} needs about {needed:.1f} GiB (activations for the backward pass plus "
        "weights), more than the {budget:.1f} GiB available here. {advice}",
    )


def _resolve_device(device: torch.device | str | None) -> torch.device:
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def _check_batch(
    spec: ResNetSpec, batch: Sequence[torch.Tensor], input_size: tuple[int, int, int] | None
) -> tuple[torch.Tensor, torch.Tensor]:
    if len(batch) != 2:
        raise SpecError("batch must be a pair (images, labels).")
    x, y = batch
    if not isinstance(x, torch.Tensor) or x.dim() != 4 or not x.is_floating_point():
        raise SpecError("Images must be a float tensor of shape (batch, channels, height, width).")
    if input_size is not None and tuple(x.shape[1:]) != tuple(input_size):
        raise SpecError(
            f"The images are {tuple(x.shape[1:])} but input_size says {tuple(input_size)}."
        )
    if not isinstance(y, torch.Tensor) or y.shape != (x.shape[0],) or y.is_floating_point():
        raise SpecError(f"Labels must be {x.shape[0]} whole numbers, one per image.")
    if y.numel() and (int(y.min()) < 0 or int(y.max()) >= spec.num_classes):
        raise SpecError(f"Labels must lie in 0..{spec.num_classes - 1} for this network.")
    return x.detach().float(), y.detach().long()


def _snapshot_values(
    model: nn.Module, weights: list[torch.Tensor], x: torch.Tensor, y: torch.Tensor
) -> torch.Tensor:
    """One forward + backward; returns [loss, norm of each weight's gradient] as one tensor
    (a single device sync later, not one per layer)."""
    model.zero_grad(set_to_none=True)
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    with torch.no_grad():
        grads = [w.grad for w in weights]
        # Accumulate in float64: vanishing gradients are the point of the page, and in float32
        # the squares of entries below ~1e-19 go subnormal and then to zero (a plain ResNet-56
        # without BN under PyTorch's default init reported its stem's norm as exactly 0, and
        # norms of 1e-22 came out 3x too small). One fused multi-tensor kernel, as
        # torch.nn.utils.clip_grad_norm_ uses; the per-tensor loop is the fallback.
        try:
            norms = torch._foreach_norm(grads, 2, dtype=torch.float64)
        except (AttributeError, TypeError):  # pragma: no cover (older torch)
            norms = [torch.linalg.vector_norm(g, dtype=torch.float64) for g in grads]
        return torch.stack([loss.detach().double(), *norms])


def gradient_norms(
    spec: ResNetSpec,
    *,
    input_size: tuple[int, int, int] | None = None,
    batch_size: int = 16,
    seed: int = 0,
    steps: int = 0,
    init: str = "kaiming",
    batch_norm: bool | None = None,
    batch: Sequence[torch.Tensor] | None = None,
    lr: float = DEFAULT_LR,
    momentum: float = DEFAULT_MOMENTUM,
    device: torch.device | str | None = None,
    memory_budget_bytes: int | None = None,
    progress: Progress | None = None,
) -> GradientReport:
    """Gradient norms per layer of ``spec``'s residual network and of its plain twin.

    See the module docstring for exactly what is computed and why.

    Args:
        spec: the network; ``skip`` is ignored (the residual model has skips, the twin none).
        input_size: (C, H, W); default :func:`~resnet_viz.core.spec.default_input_size`.
        batch_size: images in the random batch (ignored when ``batch`` is given).
        seed: seeds the weights and the random batch; same seed, same numbers (bitwise on CPU).
        steps: SGD steps on the fixed batch after the initial measurement (0..MAX_STEPS).
        init: ``"kaiming"`` (torchvision's, the default), ``"xavier"``, ``"orthogonal"`` or
            ``"pytorch"``; see :func:`initialize`.
        batch_norm: convenience override of ``spec.batch_norm``.
        batch: ``(x, y)`` to use instead of the random batch (a real dataset).
        lr, momentum: SGD settings for ``steps > 0`` (see :data:`DEFAULT_LR`).
        device: ``None`` means CUDA when available, else the CPU.
        memory_budget_bytes: refuse above this estimate (see :func:`estimate_memory_bytes`);
            default :func:`~resnet_viz.runtime.memory.memory_budget_bytes` of ``device``.
        progress: called as ``progress(fraction, message)`` with fraction from 0 to 1.

    Raises:
        SpecError: a bad argument.
        BudgetError: work whose memory estimate exceeds the budget (the message names both
            numbers).
    """
    if batch_norm is not None:
        spec = dataclasses.replace(spec, batch_norm=batch_norm)
    rspec = residual_spec(spec)
    if init not in INITS:
        raise SpecError(f"init must be one of {', '.join(INITS)}; got {init!r}.")
    if not isinstance(steps, int) or isinstance(steps, bool) or not 0 <= steps <= MAX_STEPS:
        raise SpecError(f"steps must be a whole number from 0 to {MAX_STEPS}; got {steps!r}.")
    if not (math.isfinite(lr) and lr >= 0 and math.isfinite(momentum) and 0 <= momentum < 1):
        raise SpecError("lr must be a non-negative number and momentum lie in [0, 1).")
    user_batch = _check_batch(rspec, batch, input_size) if batch is not None else None
    if user_batch is not None:
        batch_size = user_batch[0].shape[0]
        input_size = tuple(user_batch[0].shape[1:])  # type: ignore[assignment]
    # summarize validates input_size and batch_size with human messages.
    input_size = summarize(rspec, input_size, batch_size).input_size  # type: ignore[assignment]
    device = _resolve_device(device)
    budget = (
        memory.memory_budget_bytes(device) if memory_budget_bytes is None else memory_budget_bytes
    )
    _check_memory(rspec, input_size, batch_size, budget)

    def report(fraction: float, message: str) -> None:
        if progress is not None:
            progress(min(max(fraction, 0.0), 1.0), message)

    units = 1 + 2 * (steps + 1)  # building, then one unit per model per snapshot
    report(0.0, "Building the residual network and its plain twin")
    start = time.perf_counter()
    with torch.random.fork_rng(devices=[]), torch.inference_mode(False), torch.enable_grad():
        torch.default_generator.manual_seed(seed)
        residual, plain = make_twins(rspec, init)
        if user_batch is None:
            x = torch.randn(batch_size, *input_size)
            y = torch.randint(0, rspec.num_classes, (batch_size,))
        else:
            x, y = user_batch
        residual.to(device).train()
        plain.to(device).train()
        x, y = x.to(device), y.to(device)
        build_seconds = time.perf_counter() - start
        report(1 / units, "Built both networks")

        start = time.perf_counter()
        history = _run(residual, plain, x, y, steps, lr, momentum, report, units)
        run_seconds = time.perf_counter() - start
    report(1.0, "Done")
    return GradientReport(
        spec=rspec,
        input_size=input_size,
        batch_size=batch_size,
        seed=seed,
        init=init,
        device=str(device),
        lr=lr,
        momentum=momentum,
        history=tuple(history),
        build_seconds=build_seconds,
        run_seconds=run_seconds,
    )


def _weighted_layers(model: nn.Module) -> tuple[list[str], list[torch.Tensor]]:
    """Every Conv2d/Linear weight in registration order, which build.py keeps equal to the
    forward order (tests check it against forward hooks)."""
    names, weights = [], []
    for name, module in model.named_modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            names.append(name)
            weights.append(module.weight)
    return names, weights


def _run(
    residual: nn.Module,
    plain: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    steps: int,
    lr: float,
    momentum: float,
    report: Progress,
    units: int,
) -> list[GradientSnapshot]:
    r_names, r_weights = _weighted_layers(residual)
    p_names, p_weights = _weighted_layers(plain)
    blocks = [
        name.removesuffix(".add") for name, m in residual.named_modules() if isinstance(m, Add)
    ]
    ratios: list[torch.Tensor] = []

    def record_ratio(_module: nn.Module, inputs: tuple[torch.Tensor, ...], _output) -> None:
        branch, shortcut = inputs
        with torch.no_grad():
            ratios.append(torch.linalg.vector_norm(branch) / torch.linalg.vector_norm(shortcut))

    handles = [
        m.register_forward_hook(record_ratio) for m in residual.modules() if isinstance(m, Add)
    ]
    optimizers = []
    if steps:
        for model in (residual, plain):
            optimizers.append(torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum))
    history = []
    done = 1
    try:
        for step in range(steps + 1):
            ratios.clear()
            r_values = _snapshot_values(residual, r_weights, x, y)
            done += 1
            report(done / units, f"Step {step}: residual network done")
            p_values = _snapshot_values(plain, p_weights, x, y)
            done += 1
            report(done / units, f"Step {step}: plain network done")
            with torch.no_grad():
                block_ratios = torch.stack(ratios).double() if ratios else r_values.new_zeros(0)
                values = torch.cat([r_values, p_values, block_ratios]).tolist()  # one sync
            n_r, n_p = len(r_values), len(p_values)
            r_list, p_list, b_list = values[:n_r], values[n_r : n_r + n_p], values[n_r + n_p :]
            history.append(
                GradientSnapshot(
                    step=step,
                    residual=dict(zip(r_names, r_list[1:], strict=True)),
                    plain=dict(zip(p_names, p_list[1:], strict=True)),
                    branch_ratio=dict(zip(blocks, b_list, strict=True)),
                    residual_loss=r_list[0],
                    plain_loss=p_list[0],
                )
            )
            if step < steps:
                for optimizer in optimizers:
                    optimizer.step()
    finally:
        for handle in handles:
            handle.remove()
    return history
