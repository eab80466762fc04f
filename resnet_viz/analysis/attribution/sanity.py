"""The model-randomisation sanity check for saliency maps.

Adebayo et al. 2018, "Sanity Checks for Saliency Maps" (NeurIPS, arXiv:1810.03292), Sec. 3.1,
cascading randomisation: re-initialise the network's weights from the top down, the
classifier first, then each block from the last to the first, then the stem, and after each
step draw the map again for the same image and class. An explanation of *the model* must
change when the model is destroyed: its rank correlation with the original map should fall as
the randomisation reaches deeper. A map that stays the same is explaining the image (edges,
contrast), not the model.

How it is done here:

- the given model is never touched: a private copy (same weights, same device) is built once
  and randomised step by step; the copy is dropped at the end;
- "re-initialise" means: take the parameters and buffers of the unit from a freshly built
  network of the same spec (:func:`resnet_viz.build_model`, torchvision's initialisation:
  Kaiming-normal convolutions, BatchNorm at weight 1, bias 0, running mean 0 and variance 1,
  PyTorch's default ``nn.Linear`` initialisation), built under a fixed ``seed``;
- units, in order: ``"fc"`` (the classifier, with the final BN-ReLU of a pre-activation
  network), every block ``"layerS.B"`` from the last to the first, then ``"stem"``;
- the class stays the one the original map explains (the original model's top-1 unless
  given), as in the paper;
- similarity: Spearman's rank correlation between the two heatmaps (as shown: upsampled,
  min-max normalised; ties get their average rank; a constant map shares no ordering with
  anything, so its correlation is 0), and SSIM (Wang et al. 2004: 11 x 11 Gaussian window,
  sigma 1.5, C1 = 0.01^2, C2 = 0.03^2 on [0, 1], averaged over the positions where the window
  fits), both of which the paper reports.

The map may be a CAM (:data:`~resnet_viz.analysis.attribution.methods.CAM_METHODS`, drawn by
:func:`resnet_viz.grad_cam`, a :class:`~resnet_viz.analysis.attribution.cam.CamResult`) or a
pixel attribution (:data:`resnet_viz.ATTRIBUTION_METHODS`, drawn by captum through
:func:`resnet_viz.analysis.attribution.pixel.attribute`, a
:class:`~resnet_viz.analysis.attribution.pixel.PixelAttribution`, compared on its ``heatmap``:
the absolute attribution summed over channels, min-max normalised, the absolute-value maps of
the paper's Fig. 4). The paper's lesson is about the second kind: on Inception v3 (ImageNet),
Guided Backprop and Guided Grad-CAM stay much the same as the cascade destroys the weights,
while the gradient (Saliency) and Grad-CAM change. How far that holds on a given network is
measured, not assumed: :mod:`.sanity_lesson` measures it step by step.

Cost: one map per unit (18 maps for ResNet-50 besides the original), each as expensive as the
method; building the fresh network once. This module does not import streamlit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812 (PyTorch's own convention)

from ...core.build import ResNet, build_model
from ...core.spec import SpecError
from ...data.images import IMAGENET_MEAN, IMAGENET_STD
from .cam import CamResult, grad_cam
from .methods import CAM_METHODS
from .model_checks import check_eval_mode, spec_of
from .pixel import METHODS as PIXEL_METHODS
from .pixel import PixelAttribution, attribute

__all__ = [
    "AnyMap",
    "SanityCheck",
    "SanityStep",
    "draw_map",
    "randomisable_copy",
    "sanity_check",
    "spearman",
    "ssim",
]

#: What a sanity check compares: a CAM (:func:`resnet_viz.grad_cam`) or a pixel attribution
#: (:func:`resnet_viz.analysis.attribution.pixel.attribute`); both have an H x W ``heatmap`` in
#: [0, 1] at the image's size and the ``target_class`` they explain.
AnyMap = CamResult | PixelAttribution

SSIM_WINDOW = 11
SSIM_SIGMA = 1.5
SSIM_C1 = 0.01**2
SSIM_C2 = 0.03**2


@dataclass(frozen=True, eq=False)
class SanityStep:
    """The map after randomising the network from the classifier down to ``randomized``.

    Attributes:
        randomized: the unit re-initialised last (``"fc"``, ``"layer4.2"``, ``"stem"``);
            every unit above it is random too.
        label: the same for a reader ("classifier", "stage 4, block 3", "stem").
        depth: how many units are random now (1 for the classifier alone).
        rank_correlation: Spearman's rho between this map and the original map.
        ssim: structural similarity between the two heatmaps.
        result: the map of the randomised network (``result.heatmap``, ``result.raw``): a
            :class:`CamResult` for a CAM method, a :class:`PixelAttribution` for a pixel one.
    """

    randomized: str
    label: str
    depth: int
    rank_correlation: float
    ssim: float
    result: AnyMap


@dataclass(frozen=True, eq=False)
class SanityCheck:
    """The original map and one :class:`SanityStep` per randomised unit, top down.

    Attributes:
        original: the trained model's map, a :class:`CamResult` (CAM method) or a
            :class:`PixelAttribution` (pixel method).
        steps: one per unit, in cascade order.
        method: the method's key.
        layer: the CAM's layer (Guided Grad-CAM's Grad-CAM layer); None for a pixel method
            without one.
        target_class: the class every map explains.
        seed: the seed of the fresh network.
    """

    original: AnyMap
    steps: tuple[SanityStep, ...]
    method: str
    layer: str | None
    target_class: int
    seed: int


def sanity_check(
    model: ResNet,
    image: torch.Tensor,
    *,
    target_layer: str | None = None,
    target_class: int | None = None,
    method: str = "gradcam",
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
    mean: Sequence[float] = IMAGENET_MEAN,
    std: Sequence[float] = IMAGENET_STD,
    options: Mapping[str, Any] | None = None,
) -> SanityCheck:
    """Cascading model randomisation (Adebayo et al. 2018) for one map.

    Args:
        model: a :func:`resnet_viz.build_model` network in eval mode; never modified (a private
            copy is randomised).
        image, target_layer, target_class: as :func:`resnet_viz.grad_cam`.
        method: one of :data:`~resnet_viz.analysis.attribution.methods.CAM_METHODS` or of
            :data:`resnet_viz.ATTRIBUTION_METHODS` (see :func:`draw_map`).
        seed: the seed of the fresh network whose weights replace the trained ones.
        progress: ``progress(done, total)`` after the original map and after each step.
        mean, std, options: a pixel method's normalisation and options, passed through to
            :func:`~resnet_viz.analysis.attribution.pixel.attribute` (Guided Grad-CAM's
            ``layer`` defaults to ``target_layer``); a CAM method takes no options.

    Raises:
        the errors of :func:`resnet_viz.grad_cam` or of
        :func:`~resnet_viz.analysis.attribution.pixel.attribute` for bad arguments, before any
        work.
    """
    spec_of(model)
    check_eval_mode(model)
    original = draw_map(
        model, image, method, target_class=target_class, layer=target_layer,
        options=options, mean=mean, std=std,
    )  # fmt: skip
    layer = map_layer(original)
    units = cascade(model)
    total = 1 + len(units)
    if progress is not None:
        progress(1, total)
    private, fresh_state = randomisable_copy(model, seed)
    steps = []
    for depth, (unit, label, prefixes) in enumerate(units, start=1):
        with torch.inference_mode(False):
            _reinitialise(private, fresh_state, prefixes)
        result = redraw(private, image, original, mean=mean, std=std)
        steps.append(
            SanityStep(
                randomized=unit,
                label=label,
                depth=depth,
                rank_correlation=spearman(original.heatmap, result.heatmap),
                ssim=ssim(original.heatmap, result.heatmap),
                result=result,
            )
        )
        if progress is not None:
            progress(1 + depth, total)
    return SanityCheck(
        original=original,
        steps=tuple(steps),
        method=original.method,
        layer=layer,
        target_class=original.target_class,
        seed=seed,
    )


def draw_map(
    model: ResNet,
    image: torch.Tensor,
    method: str,
    *,
    target_class: int | None = None,
    layer: str | None = None,
    options: Mapping[str, Any] | None = None,
    mean: Sequence[float] = IMAGENET_MEAN,
    std: Sequence[float] = IMAGENET_STD,
) -> AnyMap:
    """The map of ``method`` for one image: :func:`resnet_viz.grad_cam` at ``layer`` for a CAM
    method, :func:`~resnet_viz.analysis.attribution.pixel.attribute` (``mean``, ``std`` and
    ``options`` passed through; ``layer`` is Guided Grad-CAM's ``layer`` unless ``options``
    names one) for a pixel method.

    Raises:
        SpecError: a method in neither registry, options given to a CAM method, and the errors
            of the function that draws the map.
    """
    options = dict(options or {})
    if method in PIXEL_METHODS:
        takes_layer = any(o.name == "layer" for o in PIXEL_METHODS[method].options)
        if takes_layer and layer is not None:
            options.setdefault("layer", layer)
        return attribute(model, image, method, target_class, mean=mean, std=std, **options)
    if method not in CAM_METHODS:
        raise SpecError(
            f"Unknown CAM method or pixel attribution method {method!r}; use one of "
            f"{', '.join((*CAM_METHODS, *PIXEL_METHODS))}."
        )
    if options:
        raise SpecError(f"A CAM method takes no options; got {', '.join(sorted(options))}.")
    return grad_cam(model, image, target_layer=layer, target_class=target_class, method=method)


def map_layer(result: AnyMap) -> str | None:
    """The layer a map was drawn at: a CAM's layer, Guided Grad-CAM's ``layer`` option, or None
    for a pixel method without one."""
    if isinstance(result, CamResult):
        return result.layer
    return result.options.get("layer")


def redraw(
    model: ResNet,
    image: torch.Tensor,
    original: AnyMap,
    *,
    mean: Sequence[float] = IMAGENET_MEAN,
    std: Sequence[float] = IMAGENET_STD,
) -> AnyMap:
    """The same method, class, layer and options as ``original``, on another network (the
    randomised copy)."""
    options = {} if isinstance(original, CamResult) else original.options
    return draw_map(
        model, image, original.method, target_class=original.target_class,
        layer=map_layer(original), options=options, mean=mean, std=std,
    )  # fmt: skip


def randomisable_copy(model: ResNet, seed: int) -> tuple[ResNet, dict[str, torch.Tensor]]:
    """A private copy of ``model`` (same weights, memory of its own) and the state of a fresh
    network of the same spec built under ``seed``, whose units :func:`cascade` names; the
    caller's random stream is left as it was."""
    with torch.inference_mode(False):  # a copy made in inference mode could not be explained
        private = _private_copy(model)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            fresh = build_model(model.spec)
    return private, fresh.state_dict()


def cascade(model: ResNet) -> list[tuple[str, str, tuple[str, ...]]]:
    """``(unit, label, module prefixes)`` in the order the randomisation reaches them: the
    classifier (with the head's BatchNorm, if any), the blocks from the last to the first,
    the stem."""
    spec = model.spec
    head = (*(name for name in model._head if _has_state(model, name)), "fc")
    units = [("fc", "classifier", head)]
    for stage in range(spec.num_stages, 0, -1):
        blocks = spec.layers[stage - 1]
        for block in range(blocks - 1, -1, -1):
            name = f"layer{stage}.{block}"
            units.append((name, f"stage {stage}, block {block + 1}", (name,)))
    stem = tuple(name for name in model._stem if _has_state(model, name))
    units.append(("stem", "stem", stem))
    return units


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rank correlation of two maps (ties get their average rank); 0 when either
    map is constant, since it shares no ordering with anything."""
    ra, rb = _ranks(np.asarray(a, np.float64).ravel()), _ranks(np.asarray(b, np.float64).ravel())
    if ra.std() == 0 or rb.std() == 0:
        return 0.0
    return float(np.corrcoef(ra, rb)[0, 1])


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean structural similarity (Wang et al. 2004) of two maps with values in [0, 1]: local
    statistics under an 11 x 11 Gaussian window (sigma 1.5; smaller maps use a window of
    their size), averaged over the positions where the window fits."""
    x = torch.as_tensor(np.asarray(a, np.float64))[None, None]
    y = torch.as_tensor(np.asarray(b, np.float64))[None, None]
    if x.shape != y.shape or x.dim() != 4:
        raise ValueError(f"ssim needs two 2-D maps of one shape; got {a.shape} and {b.shape}.")
    size = min(SSIM_WINDOW, *x.shape[-2:])
    taps = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-(taps**2) / (2 * SSIM_SIGMA**2))
    window = torch.outer(g, g)
    window = (window / window.sum())[None, None]

    def local(t: torch.Tensor) -> torch.Tensor:
        return F.conv2d(t, window)

    mx, my = local(x), local(y)
    vx = local(x * x) - mx * mx
    vy = local(y * y) - my * my
    cxy = local(x * y) - mx * my
    numerator = (2 * mx * my + SSIM_C1) * (2 * cxy + SSIM_C2)
    denominator = (mx * mx + my * my + SSIM_C1) * (vx + vy + SSIM_C2)
    return float((numerator / denominator).mean())


def _ranks(values: np.ndarray) -> np.ndarray:
    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values))
    ranks[order] = np.arange(len(values))
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    return (np.bincount(inverse, weights=ranks) / counts)[inverse]


def _has_state(model: ResNet, name: str) -> bool:
    module = model.get_submodule(name)
    return any(True for _ in module.parameters()) or any(True for _ in module.buffers())


def _private_copy(model: ResNet) -> ResNet:
    """The same network and weights, in memory of its own, on the model's device."""
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    twin = build_model(model.spec, device="meta")
    twin.load_state_dict(state, strict=True, assign=True)
    return twin.eval()


def _reinitialise(model: ResNet, fresh: dict[str, torch.Tensor], prefixes: tuple[str, ...]):
    """Copy the fresh network's parameters and buffers under ``prefixes`` into ``model``."""
    with torch.no_grad():
        for key, value in model.state_dict().items():
            if any(key.startswith(f"{prefix}.") for prefix in prefixes):
                value.copy_(fresh[key])
