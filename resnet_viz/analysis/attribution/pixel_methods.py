"""The pixel attribution methods, one registry entry each: its key, label, paper, the captum
attribution it runs, its options (with their ranges and defaults) and its memory estimate.
:func:`resnet_viz.analysis.attribution.pixel.attribute` runs an entry; adding a method is one
entry here plus its tests.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812 (PyTorch's own convention)
from captum.attr import (
    DeepLift,
    GuidedBackprop,
    InputXGradient,
    IntegratedGradients,
    NoiseTunnel,
    Occlusion,
    Saliency,
)
from torch import nn

from ...core.spec import SpecError
from . import lrp as _lrp_module
from .cam import grad_cam
from .methods import Paper
from .pixel_baselines import BASELINES, DEFAULT_SEED, make_baseline


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


def _saliency(c: _Call):
    model, target = c.scored()
    return Saliency(model).attribute(c.image, target=target, abs=False), None


def _input_x_gradient(c: _Call):
    model, target = c.scored()
    return InputXGradient(model).attribute(c.image, target=target), None


def _noise_tunnel(nt_type: str):
    def run(c: _Call):
        tunnel = NoiseTunnel(Saliency(c.model))
        with seeded(c.options["seed"], c.image.device):
            attribution = tunnel.attribute(
                c.image,
                nt_type=nt_type,
                nt_samples=c.options["samples"],
                nt_samples_batch_size=c.options["batch_size"],
                stdevs=c.stdevs(),
                target=c.target,
                abs=False,
            )
        return attribution, None

    return run


def _integrated_gradients(c: _Call):
    return IntegratedGradients(c.model).attribute(
        c.image,
        baselines=c.baseline(),
        target=c.target,
        n_steps=c.options["steps"],
        internal_batch_size=c.options["batch_size"],
        return_convergence_delta=True,
    )


def _occlusion(c: _Call):
    window, stride = c.options["window"], c.options["stride"]
    channels = c.image.shape[1]
    attribution = Occlusion(c.model).attribute(
        c.image,
        sliding_window_shapes=(channels, window, window),
        strides=(channels, stride, stride),
        baselines=0,  # the dataset's mean colour in normalised space (see make_baseline)
        target=c.target,
        perturbations_per_eval=c.options["batch_size"],
    )
    return attribution, None


def _guided_backprop(c: _Call):
    model, target = c.scored()
    return GuidedBackprop(model).attribute(c.image, target=target), None


def _guided_gradcam(c: _Call):
    """Grad-CAM at the layer (the app's own :func:`~resnet_viz.grad_cam`, the CAM every other
    view shows, checked against captum's LayerGradCam in its tests), its unnormalised map
    upsampled bilinearly to the input (as the paper), times captum's Guided Backprop on the
    private copy. captum's GuidedGradCam computes the same product but hooks the layer and
    upsamples by nearest neighbour by default; the tests check the two agree with
    ``interpolate_mode="bilinear"``."""
    cam = grad_cam(c.original, c.image, target_layer=c.options["layer"], target_class=c.target).raw
    cam = torch.from_numpy(cam.copy()).to(c.image.device, c.image.dtype)[None, None]
    upsampled = F.interpolate(cam, size=tuple(c.image.shape[-2:]), mode="bilinear")
    guided = GuidedBackprop(c.model).attribute(c.image, target=c.target)
    return guided * upsampled, None


def _deeplift(c: _Call):
    return DeepLift(c.model).attribute(
        c.image, baselines=c.baseline(), target=c.target, return_convergence_delta=True
    )


def _lrp(c: _Call):
    """zennit's LRP (:mod:`.lrp`) on the private copy, the whole result's signed relevance as
    the attribution; the per-block split is :func:`~resnet_viz.analysis.attribution.lrp.lrp`'s.
    A model LRP cannot explain (not the app's ResNet, squeeze-and-excitation gates) is refused
    with :func:`~resnet_viz.analysis.attribution.lrp.check`'s SpecError."""
    composite = c.options["composite"]
    _lrp_module.check(c.original, c.image, composite)
    result = _lrp_module.relevance_on_copy(
        c.model, c.image, c.image.device, c.target, composite, c.options["zero_bias"],
        c.mean, c.std,
    )  # fmt: skip
    return torch.from_numpy(result.raw.copy()).to(c.image.device)[None], None


def _lrp_memory(sizes: Sizes, options: Mapping[str, Any]) -> int:
    """One recorded pass, and as much again: zennit's rule hooks keep every layer's input and
    output for the backward pass, where each rule re-runs its layer's forward with modified
    weights; the residual sums' canonizer stacks their two inputs; the input and its
    relevance."""
    return 2 * sizes.recorded + 2 * sizes.image


def _batched_recorded(sizes: Sizes, options: Mapping[str, Any]) -> int:
    """A batch of noisy or scaled inputs, each recorded for the backward pass, with the batch
    itself and its gradient."""
    batch = min(options["batch_size"], options.get("samples", options.get("steps")))
    return batch * (sizes.recorded + 3 * sizes.image)


def _batched_forward(sizes: Sizes, options: Mapping[str, Any]) -> int:
    """Occlusion: a batch of occluded copies of the image and their forward passes."""
    return options["batch_size"] * (sizes.forward + 2 * sizes.image)


MAX_STEPS = 1000


MAX_SAMPLES = 500


MAX_BATCH = 512


_SEED = Option("seed", "The random seed", DEFAULT_SEED, 0, 2**31 - 1)


_NOISE = (
    Option("noise_level", "The noise level (sigma / input range)", 0.15, 0.0, 1.0, integer=False),
    Option("samples", "The number of noisy samples", 25, 1, MAX_SAMPLES),
    Option("batch_size", "The samples per pass", 25, 1, MAX_BATCH),
    _SEED,
)


_BASELINE = Option("baseline", "The baseline", "black", choices=BASELINES)


_SMILKOV = Paper(
    "Smilkov et al.",
    2017,
    "SmoothGrad: removing noise by adding noise",
    "arXiv:1706.03825",
)


_ADEBAYO = Paper(
    "Adebayo et al.",
    2018,
    "Sanity Checks for Saliency Maps",
    "NeurIPS, arXiv:1810.03292",
)


#: Every method, by key, in the order the page lists them. The only place a method is named.
METHODS: dict[str, PixelMethod] = {
    entry.key: entry
    for entry in (
        PixelMethod(
            key="saliency",
            label="Saliency",
            paper=Paper(
                "Simonyan et al.",
                2014,
                "Deep Inside Convolutional Networks: Visualising Image Classification Models "
                "and Saliency Maps",
                "ICLR Workshop, arXiv:1312.6034",
            ),
            captum="Saliency",
            run=_saliency,
            top1_in_pass=True,
        ),
        PixelMethod(
            key="inputxgradient",
            label="Input x Gradient",
            paper=Paper(
                "Shrikumar et al.",
                2016,
                "Not Just a Black Box: Learning Important Features Through Propagating "
                "Activation Differences",
                "arXiv:1605.01713",
            ),
            captum="InputXGradient",
            run=_input_x_gradient,
            top1_in_pass=True,
        ),
        PixelMethod(
            key="smoothgrad",
            label="SmoothGrad",
            paper=_SMILKOV,
            captum='NoiseTunnel(Saliency), "smoothgrad"',
            run=_noise_tunnel("smoothgrad"),
            options=_NOISE,
            memory=_batched_recorded,
        ),
        PixelMethod(
            key="smoothgrad2",
            label="SmoothGrad²",
            paper=_ADEBAYO,
            captum='NoiseTunnel(Saliency), "smoothgrad_sq"',
            run=_noise_tunnel("smoothgrad_sq"),
            options=_NOISE,
            memory=_batched_recorded,
        ),
        PixelMethod(
            key="vargrad",
            label="VarGrad",
            paper=_ADEBAYO,
            captum='NoiseTunnel(Saliency), "vargrad"',
            run=_noise_tunnel("vargrad"),
            options=_NOISE,
            memory=_batched_recorded,
        ),
        PixelMethod(
            key="integratedgradients",
            label="Integrated Gradients",
            paper=Paper(
                "Sundararajan et al.",
                2017,
                "Axiomatic Attribution for Deep Networks",
                "ICML, arXiv:1703.01365",
            ),
            captum="IntegratedGradients",
            run=_integrated_gradients,
            options=(
                _BASELINE,
                Option("steps", "The number of steps", 50, 1, MAX_STEPS),
                Option("batch_size", "The steps per pass", 16, 1, MAX_BATCH),
                _SEED,
            ),
            memory=_batched_recorded,
            delta=True,
        ),
        PixelMethod(
            key="occlusion",
            label="Occlusion",
            paper=Paper(
                "Zeiler & Fergus",
                2014,
                "Visualizing and Understanding Convolutional Networks",
                "ECCV, arXiv:1311.2901",
            ),
            captum="Occlusion",
            run=_occlusion,
            options=(
                Option("window", "The occlusion window (pixels)", 16, 1, 10**4),
                Option("stride", "The occlusion stride (pixels)", 8, 1, 10**4),
                Option("batch_size", "The occluded images per pass", 32, 1, MAX_BATCH),
            ),
            memory=_batched_forward,
        ),
        PixelMethod(
            key="guidedbackprop",
            label="Guided Backprop",
            paper=Paper(
                "Springenberg et al.",
                2015,
                "Striving for Simplicity: The All Convolutional Net",
                "ICLR Workshop, arXiv:1412.6806",
            ),
            captum="GuidedBackprop",
            run=_guided_backprop,
            top1_in_pass=True,
            private_copy=True,
        ),
        PixelMethod(
            key="guidedgradcam",
            label="Guided Grad-CAM",
            paper=Paper(
                "Selvaraju et al.",
                2017,
                "Grad-CAM: Visual Explanations from Deep Networks via Gradient-based Localization",
                "ICCV, arXiv:1610.02391",
            ),
            captum="GuidedBackprop x the app's Grad-CAM",
            run=_guided_gradcam,
            options=(Option("layer", "The Grad-CAM layer", None),),
            memory=lambda sizes, options: 2 * sizes.recorded,
            private_copy=True,
        ),
        PixelMethod(
            key="deeplift",
            label="DeepLift",
            paper=Paper(
                "Shrikumar et al.",
                2017,
                "Learning Important Features Through Propagating Activation Differences",
                "ICML, arXiv:1704.02685",
            ),
            captum="DeepLift (rescale rule)",
            run=_deeplift,
            options=(_BASELINE, _SEED),
            memory=lambda sizes, options: 2 * (sizes.recorded + 3 * sizes.image),
            private_copy=True,
            delta=True,
        ),
        PixelMethod(
            key="lrp",
            label="LRP",
            paper=Paper(
                "Bach et al.",
                2015,
                "On Pixel-Wise Explanations for Non-Linear Classifier Decisions by Layer-Wise "
                "Relevance Propagation",
                "PLoS ONE, doi:10.1371/journal.pone.0130140",
            ),
            captum="none: zennit's Gradient with an LRP composite (lrp.py)",
            run=_lrp,
            options=(
                Option(
                    "composite",
                    "The LRP composite",
                    "epsilon-plus-flat",
                    choices=tuple(_lrp_module.COMPOSITES),
                ),
                Option("zero_bias", "No relevance to biases", False, choices=(False, True)),
            ),
            memory=_lrp_memory,
            private_copy=True,
            own_weights=True,
        ),
    )
}


#: The pixel methods' keys, in the order the page lists them.
ATTRIBUTION_METHODS = tuple(METHODS)


METHOD_LABELS = {k: m.label for k, m in METHODS.items()}


@contextlib.contextmanager
def seeded(seed: int, device: torch.device) -> Iterator[None]:
    """The global RNG (captum's NoiseTunnel draws from it) seeded for the block, then restored,
    so the same call gives the same map and the caller's random stream is untouched."""
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        yield


def number_text(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else f"{value:,}".replace(",", " ")
