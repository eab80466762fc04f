"""Pixel attributions through captum: how much each input pixel counts for a class score.

Every method here explains the class score ``y^c`` (the logit) of one preprocessed image ``x``
(1 x C x H x W) with an attribution of the input's own shape, and is one entry of
:data:`METHODS` (a :class:`PixelMethod`): its key, label, paper, the captum attribution it runs,
its options (with their ranges and defaults) and its memory estimate.

[the table of METHODS: each entry's key, captum attribution and options, filled in on import]

The attribution itself is captum's (0.9, ``pip install captum``): each entry builds captum's
object and calls its ``attribute`` with the options passed through, and the tests check the
result equals captum's own call on the same model. What this module adds around it:

- the arguments checked before any work (an unknown method, a class out of range, steps or
  samples of 0 or 10^6, an occlusion window larger than the image, a stride of 0:
  :class:`~resnet_viz.core.spec.SpecError`), and the memory estimated before the batched
  methods run (:func:`estimate_memory_bytes`, refused with
  :class:`~resnet_viz.runtime.memory.BudgetError`);
- the baselines of Integrated Gradients and DeepLift (:data:`BASELINES`);
- the map for display: the absolute attribution summed over channels, min-max normalised
  (Simonyan et al. 2014 take the maximum over channels instead; the sum keeps every channel's
  share, as captum's ``visualization`` does with ``sign="absolute_value"``);
- the shared model left exactly as found. Saliency, Input x Gradient, the noise tunnels,
  Integrated Gradients and Occlusion register no hook: they run on the given model, holding
  its lock (:func:`resnet_viz.runtime.locks.model_lock`), and take gradients with
  ``torch.autograd.grad`` on the input only (no ``.grad`` on the weights). Guided Backprop and
  DeepLift change how ReLUs backpropagate through module hooks on every ``nn.ReLU``, and
  DeepLift keeps each ReLU's input and output on the module between its forward and backward,
  so a ReLU module called twice (torchvision's ``BasicBlock`` reuses ``self.relu``) or in place
  gives wrong answers. They run on a private copy
  (:func:`resnet_viz.analysis.copies.private_eval_copy`) in which every ``nn.ReLU`` is replaced
  by a new, not-in-place one; the app's own ResNet already calls each ReLU once and sums the
  residual with an ``Add`` module (:mod:`resnet_viz.core.build`). DeepLift refuses a model that
  still calls one ReLU module twice after that (a reused module cannot be told apart by
  replacing it): load such weights into the app's ResNet
  (:func:`resnet_viz.spec_from_state_dict`). captum removes its hooks when it is done, on the
  copy, which is then dropped.

Two limits of DeepLift as captum implements it: only nonlinear *modules* get the rescale rule
(``nn.ReLU``, ``nn.MaxPool2d``, ``nn.Sigmoid``, ...); a functional one such as the sigmoid
of a squeeze-and-excitation gate is backpropagated as a plain gradient, so summation-to-delta
(the delta) no longer holds exactly for SE networks.

This module does not import streamlit.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
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
from torchvision.transforms.functional import gaussian_blur

from ...core.build import ResNet
from ...core.spec import SpecError
from ...core.split import LayerNameError, step_index
from ...core.summary import summarize
from ...data.images import IMAGENET_MEAN, IMAGENET_STD
from ...runtime.device import run_with_cpu_fallback
from ...runtime.locks import model_lock
from ...runtime.memory import memory_budget_bytes, refuse_over_budget
from ..copies import private_eval_copy
from .cam import _frozen, _min_max, grad_cam
from .doc_table import rst_table, with_table
from .methods import Paper
from .model_checks import as_normal_tensor, cpu_copy, model_device, model_dtype

__all__ = [
    "ATTRIBUTION_METHODS",
    "BASELINES",
    "METHODS",
    "METHOD_LABELS",
    "Option",
    "PixelAttribution",
    "PixelMethod",
    "attribute",
    "estimate_memory_bytes",
    "make_baseline",
    "safe_relu_copy",
]

#: The baselines of Integrated Gradients and DeepLift (:func:`make_baseline`).
BASELINES = ("black", "blurred", "noise", "mean")
#: The blurred baseline's Gaussian, as a fraction of the image's shorter side (Sturmfels, Lundberg
#: & Lee 2020, "Visualizing the Impact of Feature Attribution Baselines", Distill,
#: doi:10.23915/distill.00022: a blur wide enough to remove the object's detail).
BLUR_SIGMA_FRACTION = 1 / 16
#: The seed of the noise baseline and of the noise tunnels' samples: the same call gives the
#: same map (results are cached and compared between methods).
DEFAULT_SEED = 0


# --------------------------------------------------------------------------------------------
# What a method is
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Option:
    """One option of a method: its name (the keyword of :func:`attribute`), label, default and
    allowed values: a whole number or a float from ``low`` to ``high``, or one of ``choices``."""

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
            if value not in self.choices:
                raise SpecError(
                    f"{self.label} must be one of {', '.join(self.choices)}; got {value!r}."
                )
            return value
        kind = "a whole number" if self.integer else "a number"
        number = (int,) if self.integer else (int, float)
        if not isinstance(value, number) or isinstance(value, bool) or not math.isfinite(value):
            raise SpecError(f"{self.label} must be {kind}; got {value!r}.")
        if not self.low <= value <= self.high:
            raise SpecError(
                f"{self.label} must be from {_number(self.low)} to {_number(self.high)}; "
                f"got {_number(value)}."
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
            copy whose ReLUs are distinct and not in place (:func:`safe_relu_copy`).
        delta: True when the result has a convergence delta (sum of the attributions minus
            ``f(x) - f(baseline)``).
    """

    key: str
    label: str
    paper: Paper
    captum: str
    run: Callable[[_Call], tuple[torch.Tensor, torch.Tensor | None]]
    options: tuple[Option, ...] = ()
    memory: Callable[[Sizes, Mapping[str, Any]], int] = lambda sizes, options: sizes.recorded
    private_copy: bool = False
    delta: bool = False

    def defaults(self) -> dict[str, Any]:
        return {option.name: option.default for option in self.options}


@dataclass(frozen=True, eq=False)
class PixelAttribution:
    """One pixel attribution and what it explains.

    Attributes:
        heatmap: float32 H x W in [0, 1]: the absolute attribution summed over channels,
            min-max normalised (all zeros when the attribution is zero everywhere; all ones
            when it is constant and not zero). Read-only.
        raw: float32 C x H x W, the signed attribution as captum returns it (for SmoothGrad²
            and VarGrad it is non-negative by construction). Read-only.
        target_class: the class explained (the top-1 prediction when none was asked for).
        method: one of :data:`ATTRIBUTION_METHODS`.
        options: every option the method ran with, defaults filled in.
        delta: Integrated Gradients' and DeepLift's convergence delta, ``sum(raw) - (f(x) -
            f(baseline))`` for the class logit ``f`` (0 for perfect completeness); None for the
            other methods.
        device: where it ran (``"cpu"``, ``"cuda:0"``).
        fell_back_to_cpu: True when the accelerator ran out of memory and a CPU copy of the
            model produced the result.
    """

    heatmap: np.ndarray
    raw: np.ndarray
    target_class: int
    method: str
    options: Mapping[str, Any]
    delta: float | None = None
    device: str = "cpu"
    fell_back_to_cpu: bool = False


@dataclass(frozen=True, eq=False)
class _Call:
    """What a method's ``run`` gets: the model (or its private copy), the input on its device,
    the class, the checked options and the baseline's normalisation."""

    model: nn.Module
    image: torch.Tensor
    target: int
    options: Mapping[str, Any]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    original: nn.Module

    def baseline(self) -> torch.Tensor:
        return make_baseline(
            self.image, self.options["baseline"], mean=self.mean, std=self.std,
            seed=self.options["seed"],
        )  # fmt: skip

    def stdevs(self) -> float:
        """The noise tunnels' standard deviation: the noise level times the input's range
        (Smilkov et al. 2017, Sec. 3: sigma / (x_max - x_min))."""
        return float(self.options["noise_level"] * (self.image.max() - self.image.min()))


# --------------------------------------------------------------------------------------------
# Baselines
# --------------------------------------------------------------------------------------------


def make_baseline(
    image: torch.Tensor,
    kind: str,
    *,
    mean: Sequence[float] = IMAGENET_MEAN,
    std: Sequence[float] = IMAGENET_STD,
    seed: int = DEFAULT_SEED,
) -> torch.Tensor:
    """The reference input ``b`` of Integrated Gradients and DeepLift, the shape of ``image``
    (already normalised with ``mean`` and ``std``):

    - ``"black"``: pixels of 0 in every channel, normalised: ``-mean / std``;
    - ``"blurred"``: the image under a Gaussian blur of sigma = the shorter side x
      :data:`BLUR_SIGMA_FRACTION` (blurring commutes with the per-channel normalisation, so the
      normalised image is blurred directly);
    - ``"noise"``: pixels drawn uniformly from [0, 1] (seeded), normalised;
    - ``"mean"``: a zero tensor. In normalised space zero *is* the dataset's mean colour
      (``(mean - mean) / std``): the baseline many papers and captum's examples call "zero"
      is a flat image of the training set's average colour, not a black one.
    """
    if kind not in BASELINES:
        raise SpecError(f"The baseline must be one of {', '.join(BASELINES)}; got {kind!r}.")
    channels = image.shape[1]
    if kind != "blurred" and not len(mean) == len(std) == channels:
        raise SpecError(
            f"The image has {channels} channels but the normalisation has {len(mean)} means "
            f"and {len(std)} standard deviations."
        )
    shape = (1, channels, 1, 1)
    mean_t = torch.tensor(mean, dtype=image.dtype, device=image.device).view(shape)
    std_t = torch.tensor(std, dtype=image.dtype, device=image.device).view(shape)
    if kind == "mean":
        return torch.zeros_like(image)
    if kind == "black":
        return (torch.zeros_like(image) - mean_t) / std_t
    if kind == "noise":
        generator = torch.Generator().manual_seed(seed)
        pixels = torch.rand(image.shape, generator=generator, dtype=image.dtype)
        return (pixels.to(image.device) - mean_t) / std_t
    sigma = max(min(image.shape[-2:]) * BLUR_SIGMA_FRACTION, 0.5)
    side = 2 * math.ceil(3 * sigma) + 1
    return gaussian_blur(image, kernel_size=[side, side], sigma=[sigma, sigma])


# --------------------------------------------------------------------------------------------
# The private copy for the methods that hook ReLUs
# --------------------------------------------------------------------------------------------


def safe_relu_copy(model: nn.Module) -> nn.Module:
    """A private eval copy of ``model`` (frozen, without hooks) in which every ``nn.ReLU`` is
    a new, not-in-place module of its own: captum's Guided Backprop and DeepLift hook each
    ReLU module, which in-place ReLUs and one module registered under several names break.
    The given model is not changed."""
    work = private_eval_copy(model)
    for parent in list(work.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, nn.ReLU):
                setattr(parent, name, nn.ReLU(inplace=False))
    return work


def _reused_relus(model: nn.Module, image: torch.Tensor) -> list[str]:
    """The ReLU modules of ``model`` (a private copy) that one forward pass calls more than once.
    The app's ResNet calls each once by construction, so it is not run for it."""
    if type(model) is ResNet:
        return []
    calls: dict[str, int] = {}
    handles = [
        module.register_forward_hook(
            lambda *_, name=name: calls.__setitem__(name, calls.get(name, 0) + 1)
        )
        for name, module in model.named_modules()
        if isinstance(module, nn.ReLU)
    ]
    try:
        with torch.no_grad():
            model(image)
    finally:
        for handle in handles:
            handle.remove()
    return [name for name, count in calls.items() if count > 1]


# --------------------------------------------------------------------------------------------
# The methods: captum's call, options passed through
# --------------------------------------------------------------------------------------------


def _saliency(c: _Call):
    return Saliency(c.model).attribute(c.image, target=c.target, abs=False), None


def _input_x_gradient(c: _Call):
    return InputXGradient(c.model).attribute(c.image, target=c.target), None


def _noise_tunnel(nt_type: str):
    def run(c: _Call):
        tunnel = NoiseTunnel(Saliency(c.model))
        with _seeded(c.options["seed"], c.image.device):
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
    return GuidedBackprop(c.model).attribute(c.image, target=c.target), None


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


# --------------------------------------------------------------------------------------------
# Memory: bytes per call, from one image's sizes and the options
# --------------------------------------------------------------------------------------------


def _batched_recorded(sizes: Sizes, options: Mapping[str, Any]) -> int:
    """A batch of noisy or scaled inputs, each recorded for the backward pass, with the batch
    itself and its gradient."""
    batch = min(options["batch_size"], options.get("samples", options.get("steps")))
    return batch * (sizes.recorded + 3 * sizes.image)


def _batched_forward(sizes: Sizes, options: Mapping[str, Any]) -> int:
    """Occlusion: a batch of occluded copies of the image and their forward passes."""
    return options["batch_size"] * (sizes.forward + 2 * sizes.image)


# --------------------------------------------------------------------------------------------
# The registry
# --------------------------------------------------------------------------------------------

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
    )
}

#: The pixel methods' keys, in the order the page lists them.
ATTRIBUTION_METHODS = tuple(METHODS)
METHOD_LABELS = {k: m.label for k, m in METHODS.items()}


# --------------------------------------------------------------------------------------------
# The public function
# --------------------------------------------------------------------------------------------


def attribute(
    model: nn.Module,
    image: torch.Tensor,
    method: str,
    target: int | None = None,
    *,
    mean: Sequence[float] = IMAGENET_MEAN,
    std: Sequence[float] = IMAGENET_STD,
    **options: Any,
) -> PixelAttribution:
    """The pixel attribution of ``method`` (one of :data:`ATTRIBUTION_METHODS`) for class
    ``target`` (None: the top-1 prediction) of one preprocessed image.

    Args:
        model: a network in eval mode (the app's ResNet, or any module from a batch of images
            to logits; Guided Grad-CAM needs the app's ResNet); left exactly as found.
        image: a float tensor (1, C, H, W), already normalised; moved to the model's device.
        method: a key of :data:`METHODS`.
        target: the class index to explain.
        mean, std: the normalisation ``image`` went through; only the ``"black"`` and
            ``"noise"`` baselines read it.
        **options: the method's options (:attr:`PixelMethod.options`; the defaults otherwise),
            e.g. ``steps=200, baseline="blurred"`` for Integrated Gradients.

    Raises:
        SpecError: an unknown method or option, an option out of its range, a class out of
            range, a malformed image, a model in training mode.
        BudgetError: the estimated memory is over the device's budget.
    """
    entry, checked = _check(model, image, method, options)
    spec = model.spec if isinstance(model, ResNet) else None
    home = model_device(model)
    x = as_normal_tensor(image)
    if spec is not None:
        _check_target(target, spec.num_classes)
        _refuse_over_budget(entry, checked, spec, tuple(x.shape[1:]), home)

    def work(where: torch.device) -> PixelAttribution:
        net = model if where == home else cpu_copy(model)
        return _attempt(net, x, where, entry, target, checked, tuple(mean), tuple(std))

    done = run_with_cpu_fallback(work, home)
    return dataclasses.replace(done.value, device=str(done.device), fell_back_to_cpu=done.fell_back)


def _attempt(
    model: nn.Module,
    image: torch.Tensor,
    where: torch.device,
    entry: PixelMethod,
    target: int | None,
    options: Mapping[str, Any],
    mean: tuple[float, ...],
    std: tuple[float, ...],
) -> PixelAttribution:
    """One try on one device: the class, then the method, holding the model's lock for every
    pass on the given model (Guided Grad-CAM's own Grad-CAM takes the lock itself)."""
    with torch.inference_mode(False):
        x = image.detach().to(where, model_dtype(model))
        x.requires_grad_()  # captum's attributions differentiate with respect to it
        with model_lock(model), torch.no_grad():
            if target is None or not isinstance(model, ResNet):
                logits = model(x.detach())
                _check_target(target, logits.shape[1])
                if target is None:
                    target = int(logits[0].argmax())
            work = safe_relu_copy(model) if entry.private_copy else model
        if entry.private_copy and entry.key == "deeplift":
            reused = _reused_relus(work, x)
            if reused:
                raise SpecError(
                    f"DeepLift needs each ReLU module called once per forward pass, and this "
                    f"model calls {', '.join(reused)} more than once (as torchvision's "
                    f"BasicBlock does): load its weights into the app's ResNet instead "
                    f"(spec_from_state_dict)."
                )
        call = _Call(work, x, target, options, mean, std, model)
        if entry.private_copy:  # private: no lock needed (Grad-CAM locks the model itself)
            with torch.enable_grad():
                attribution, delta = entry.run(call)
        else:
            with model_lock(model), torch.enable_grad():
                attribution, delta = entry.run(call)
    attribution = attribution.detach()[0]
    heat = _min_max(attribution.abs().sum(0))
    return PixelAttribution(
        heatmap=_frozen(heat),
        raw=_frozen(attribution),
        target_class=target,
        method=entry.key,
        options=dict(options),
        delta=None if delta is None else float(delta.reshape(-1)[0]),
    )


# --------------------------------------------------------------------------------------------
# Checks and the memory estimate
# --------------------------------------------------------------------------------------------


def _check(
    model: nn.Module, image: object, method: object, options: Mapping[str, Any]
) -> tuple[PixelMethod, dict[str, Any]]:
    """The method's entry and its options with the defaults filled in, all checked."""
    if not isinstance(method, str) or method not in METHODS:
        raise SpecError(f"Unknown attribution method {method!r}; use one of {', '.join(METHODS)}.")
    entry = METHODS[method]
    if not isinstance(model, nn.Module):
        raise SpecError(f"model must be a torch.nn.Module, got {type(model).__name__}.")
    training = [name or "the model" for name, m in model.named_modules() if m.training]
    if training:  # switching it would change a shared model; running it, its BatchNorm stats
        raise SpecError(
            f"The model is in training mode ({training[0]}): attributions explain a model in "
            "eval mode, and running it in training mode would update its BatchNorm "
            "statistics. Call model.eval() once when the model is loaded."
        )
    if not isinstance(image, torch.Tensor) or not image.is_floating_point():
        raise SpecError("image must be a float tensor of shape (1, C, H, W), preprocessed.")
    if image.dim() != 4 or image.shape[0] != 1:
        raise SpecError(f"image must have shape (1, C, H, W); got {tuple(image.shape)}.")
    known = {option.name: option for option in entry.options}
    unknown = sorted(set(options) - set(known))
    if unknown:
        allowed = ", ".join(known) if known else "none"
        raise SpecError(
            f"{entry.label} has no option {', '.join(unknown)} (its options: {allowed})."
        )
    checked = entry.defaults() | dict(options)
    for name, option in known.items():
        if name == "layer":
            checked[name] = _check_layer(model, checked[name])
        else:
            checked[name] = option.check(checked[name])
    if entry.key == "occlusion":
        side = min(image.shape[-2:])
        if checked["window"] > side:
            raise SpecError(
                f"The occlusion window ({checked['window']} pixels) must fit in the image "
                f"({image.shape[-1]} x {image.shape[-2]}): at most {side}."
            )
        if checked["stride"] > side:
            raise SpecError(
                f"The occlusion stride ({checked['stride']} pixels) must be at most the image's "
                f"shorter side, {side}."
            )
    return entry, checked


def _check_layer(model: nn.Module, layer: object) -> str:
    """Guided Grad-CAM's layer: a stage or block of the app's ResNet (None: the last stage)."""
    if not isinstance(model, ResNet):
        raise SpecError(
            f"Guided Grad-CAM needs the app's ResNet (its Grad-CAM runs on the network's "
            f"stages); got {type(model).__name__}."
        )
    name = f"layer{model.spec.num_stages}" if layer is None else layer
    try:
        step_index(model, name)
    except LayerNameError as error:
        raise SpecError(str(error)) from None
    return name


def _check_target(target: object, num_classes: int) -> None:
    if target is None:
        return
    if not isinstance(target, int) or isinstance(target, bool) or not 0 <= target < num_classes:
        raise SpecError(
            f"The class to explain must be an index from 0 to {num_classes - 1}; got {target!r}."
        )


def estimate_memory_bytes(
    spec, input_size: tuple[int, int, int], method: str, **options: Any
) -> int:
    """Rough peak memory, in bytes (float32), of one ``method`` call on the app's ResNet built
    from ``spec`` at ``input_size`` (C, H, W), beyond the weights, from
    :func:`resnet_viz.summarize`'s activation sizes: the entry's ``memory`` of one image's
    :class:`Sizes` and the options (defaults filled in)."""
    entry = METHODS[method]
    checked = entry.defaults() | dict(options)
    layers = summarize(spec, input_size=input_size).layers
    channels, height, width = input_size
    sizes = Sizes(
        image=4 * channels * height * width,
        recorded=2 * sum(r.activation_bytes for r in layers),
        forward=3 * max(r.activation_bytes for r in layers),
    )
    return entry.memory(sizes, checked)


def _refuse_over_budget(
    entry: PixelMethod,
    options: Mapping[str, Any],
    spec,
    input_size: tuple[int, int, int],
    device: torch.device,
) -> None:
    needed = estimate_memory_bytes(spec, input_size, entry.key, **options)
    refuse_over_budget(
        needed,
        memory_budget_bytes(device),
        f"{entry.label} at {input_size[2]}x{input_size[1]} pixels",
        "Use fewer samples or steps per pass (the batch size), or a smaller image.",
    )


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _seeded(seed: int, device: torch.device) -> Iterator[None]:
    """The global RNG (captum's NoiseTunnel draws from it) seeded for the block, then restored,
    so the same call gives the same map and the caller's random stream is untouched."""
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        yield


def _number(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else f"{value:,}".replace(",", " ")


__doc__ = with_table(
    __doc__,
    "[the table of METHODS: each entry's key, captum attribution and options, filled in on import]",
    rst_table(
        ("method", "captum", "options"),
        [
            (f'``"{m.key}"``', m.captum, ", ".join(o.name for o in m.options) or "-")
            for m in METHODS.values()
        ],
    ),
)
