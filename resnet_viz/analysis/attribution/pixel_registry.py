"""What a pixel attribution method is made of, for the registry of
:mod:`.pixel_methods`: its options with their ranges (:class:`Option`), the sizes its memory
estimate reads (:class:`Sizes`), the entry itself (:class:`PixelMethod`) and what its ``run``
is called with (:class:`_Call`). No captum here: the methods' calls are the registry's.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from ...core.spec import SpecError
from .methods import Paper
from .pixel_baselines import make_baseline


@dataclass(frozen=True)
class Option:
    """One option of a method: its name (the keyword of :func:`attribute`), label, default and
    allowed values: a whole number or a float from ``low`` to ``high``, or one of ``choices``
    (strings, or ``(False, True)`` for a switch)."""

    name: str
    label: str
    default: Any
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] | None = None
    integer: bool = True

    def check(self, value: object) -> object:
        """``value`` if allowed; a :class:`SpecError` saying what is otherwise."""
        if self.choices is not None:
            # by type too: 1 == True, but 1 is not the choice True
            if not any(type(value) is type(c) and value == c for c in self.choices):
                raise SpecError(
                    f"{self.label} must be one of {', '.join(map(str, self.choices))}; "
                    f"got {value!r}."
                )
            return value
        kind = "a whole number" if self.integer else "a number"
        number = (int,) if self.integer else (int, float)
        if not isinstance(value, number) or isinstance(value, bool) or not math.isfinite(value):
            raise SpecError(f"{self.label} must be {kind}; got {value!r}.")
        if not self.low <= value <= self.high:
            raise SpecError(
                f"{self.label} must be from {number_text(self.low)} to {number_text(self.high)}; "
                f"got {number_text(value)}."
            )
        return value


@dataclass(frozen=True)
class Sizes:
    """What a memory estimate reads, in bytes (float32), for one image.

    Attributes:
        image: the input (C x H x W).
        recorded: one forward and backward pass: every layer output twice (saved for the
            backward pass and its gradient).
        forward: one forward pass without autograd: about three layer outputs alive at once
            (a block's input, branch and shortcut), 3 x the largest.
    """

    image: int
    recorded: int
    forward: int


@dataclass(frozen=True)
class PixelMethod:
    """One pixel attribution method: everything the code, the pages and the tests know.

    Attributes:
        key: the name callers pass (``method="integratedgradients"``).
        label: the name the pages show (``"Integrated Gradients"``).
        paper: where it was published.
        captum: the captum attribution it runs, for the table of the module's docstring.
        run: the attribution, from the :class:`_Call` (the model, the input, the class and the
            checked options) to ``(attribution, delta)``, the delta None when it has none.
        options: its options, in the order a page shows them.
        memory: bytes one call needs, from the :class:`Sizes` and the checked options.
        private_copy: True when captum hooks the model's ReLUs: the method runs on a private
            copy whose ReLUs are distinct and not in place (:func:`safe_relu_copy`, which
            shares the model's weight tensors, read only).
        own_weights: True when the method writes to its copy's weights (zennit's canonizers
            fold each BatchNorm into the convolution before it, ``weight.data = ...``, and
            restore it afterwards): it runs on a copy with weights of its own
            (:func:`~resnet_viz.analysis.copies.private_eval_copy`), never on tensors the
            shared model holds.
        delta: True when the result has a convergence delta (sum of the attributions minus
            ``f(x) - f(baseline)``).
        top1_in_pass: True when the method's one forward pass is of the image itself, so the
            top-1 class is read from that pass (:meth:`_Call.scored`) instead of a pass of its
            own before: a third of the method's cost at 224 pixels.
    """

    key: str
    label: str
    paper: Paper
    captum: str
    run: Callable[[_Call], tuple[torch.Tensor, torch.Tensor | None]]
    options: tuple[Option, ...] = ()
    memory: Callable[[Sizes, Mapping[str, Any]], int] = lambda sizes, options: sizes.recorded
    private_copy: bool = False
    own_weights: bool = False
    delta: bool = False
    top1_in_pass: bool = False

    def defaults(self) -> dict[str, Any]:
        return {option.name: option.default for option in self.options}


@dataclass(frozen=True, eq=False)
class _Call:
    """What a method's ``run`` gets: the model (or its private copy), the input on its device,
    the class (None only for a ``top1_in_pass`` method asked for the top-1 class: see
    :meth:`scored`), the checked options and the baseline's normalisation."""

    model: nn.Module
    image: torch.Tensor
    target: int | None
    options: Mapping[str, Any]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    original: nn.Module
    top1: list[int] = field(default_factory=list)

    def scored(self) -> tuple[nn.Module, int | None]:
        """The module and target to give captum: the model and the class, or, when the class
        is the top-1 one (None), a module returning each input's top-1 logit (captum then
        takes no target), which records the image's class in :attr:`top1`. The gradient is
        the same: the top-1 logit is the logit of that class."""
        if self.target is not None:
            return self.model, self.target
        return _TopOneLogit(self.model, self.top1), None

    def baseline(self) -> torch.Tensor:
        return make_baseline(
            self.image, self.options["baseline"], mean=self.mean, std=self.std,
            seed=self.options["seed"],
        )  # fmt: skip

    def stdevs(self) -> float:
        """The noise tunnels' standard deviation: the noise level times the input's range
        (Smilkov et al. 2017, Sec. 3: sigma / (x_max - x_min))."""
        image = self.image.detach()
        return float(self.options["noise_level"] * (image.max() - image.min()))


class _TopOneLogit(nn.Module):
    """``net``'s logit of each input's top-1 class (ties: the first, as ``argmax``); the
    classes found are appended to ``found``."""

    def __init__(self, net: nn.Module, found: list[int]) -> None:
        super().__init__()
        self.net = net
        self.found = found

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        logits = self.net(inputs)
        best = logits.detach().argmax(1)
        self.found.extend(int(c) for c in best)
        return logits.gather(1, best[:, None])[:, 0]


@contextlib.contextmanager
def seeded(seed: int, device: torch.device) -> Iterator[None]:
    """The global RNG (captum's NoiseTunnel draws from it) seeded for the block, then restored,
    so the same call gives the same map and the caller's random stream is untouched."""
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        yield


def number_text(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else f"{value:,}".replace(",", " ")
