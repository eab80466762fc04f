"""The pixel attribution methods, one registry entry each: its key, label, paper, the captum
attribution it runs, its options (with their ranges and defaults) and its memory estimate.
:func:`resnet_viz.analysis.attribution.pixel.attribute` runs an entry; adding a method is one
entry here plus its tests. What an entry is made of (its options, sizes, call) is in
:mod:`.pixel_registry`.
"""

from __future__ import annotations

from collections.abc import Mapping
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

from . import lrp as _lrp_module
from .cam import grad_cam
from .methods import Paper
from .pixel_baselines import BASELINES, DEFAULT_SEED
from .pixel_registry import Option, PixelMethod, Sizes, _Call, seeded


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
