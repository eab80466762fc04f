"""Grad-CAM: which parts of an image a ResNet's decision rests on, at any stage or block.

Algorithm (Selvaraju et al. 2017, "Grad-CAM: Visual Explanations from Deep Networks via
Gradient-based Localization", arXiv:1610.02391, Eq. 1-2): for a class score y^c (the logit,
before the softmax) and the activations A^k (k = channel) of a convolutional layer,

    alpha_k = mean over positions (i, j) of d y^c / d A^k_ij      (global-average-pooled gradient)
    L^c     = ReLU( sum_k alpha_k A^k )                           (an h x w map)

One code path computes it, for one layer (:func:`grad_cam`) or several (:func:`grad_cam_strip`):

1. the network up to the earliest requested layer runs under ``torch.no_grad()``; its output
   becomes a leaf tensor that requires a gradient;
2. the rest of the network runs from there recording one autograd graph, keeping the output
   of every requested layer on the way, and ends in the logits;
3. one ``torch.autograd.grad`` call differentiates y^c with respect to all the kept
   activations at once;
4. per layer, alpha is the spatial mean of the gradient and the map is
   ``ReLU(sum_k alpha_k A^k)``: the same operations, in the same order, as captum's
   ``LayerGradCam(..., relu_attributions=True)``, which the tests use as an independent oracle
   on the whole model (agreement to 1e-5 at stages and blocks, for several classes and
   architectures);
5. the map is upsampled to the input's H x W with bilinear interpolation
   (``align_corners=False``) and min-max normalised to [0, 1] for display.

The logits of that same forward pass give the top-k probabilities and, when no class is asked
for, the top-1 class to explain.

Where it departs from the paper, and why:

- the map is upsampled bilinearly and min-max normalised; the paper upsamples bilinearly but
  does not fix a normalisation. Normalising per image makes maps of different images and layers
  comparable in colour only, not in magnitude; ``CamResult.raw`` keeps the unnormalised map.
  Whether a map is constant is decided on the map itself, before upsampling: bilinear weights
  that should sum to 1 leave an ulp or two of rounding noise on a constant map (a 1 x 1 map,
  as at ``layer4`` of an ImageNet network fed 32 x 32 pixels, would come out as {0, 0.5, 1}
  if that noise were stretched to [0, 1]). So a map that is zero everywhere (no channel votes for
  the class; common at early layers) stays all zero instead of being divided by zero, and a
  constant positive map becomes all ones;
- the whole network before the (earliest) target layer runs under ``torch.no_grad()`` and
  only the rest is recorded by autograd (see :mod:`resnet_viz.core.split`). The gradient with
  respect to layer ``l`` depends only on what comes after ``l``, so this changes nothing
  numerically but makes Grad-CAM at ``layer4`` cost about one plain forward pass
  (``bench/cam_bench.py``);
- the paper's Guided Grad-CAM (the product with guided backpropagation) is not computed: the
  sanity checks of Adebayo et al. 2018 ("Sanity Checks for Saliency Maps", arXiv:1810.03292)
  found Grad-CAM sensitive to the model's weights, as an explanation should be, but guided
  backpropagation and Guided Grad-CAM nearly unchanged when the weights are randomised.

Shared models. Streamlit serves every browser session from its own thread and caches one model
for all of them. Attribution code that puts hooks on that model breaks when two sessions run
at once: a forward hook fires for every thread's forward pass, so one call saves another
call's tensor ("The differentiated Tensor ... appears to not have been used in the graph";
captum's LayerGradCam on a shared ResNet-18, 8 threads x 3 calls: 6 of 24 failed). This module
registers no hook at all, on the model or anywhere else: the activations are the return values
of the model's own blocks, called in order. In addition, all work on one model is serialised
by its lock (:func:`resnet_viz.runtime.locks.model_lock`, kept per model in a
``WeakKeyDictionary``), so concurrent sessions do not hold several autograd graphs (GPU memory)
or oversubscribe the same CPU cores at once, and a future change that does hook the model stays
safe. The model is never put in train mode, moved, or given ``.grad``: gradients come from
``torch.autograd.grad``, never from ``.backward()``.

``torch.inference_mode`` forbids recording autograd graphs; a call made inside it leaves
inference mode for its duration (``torch.inference_mode(False)``) and copies an
inference-mode input into a normal tensor. Calls inside ``torch.no_grad()`` work: gradient
recording is switched on locally.

Other methods. ``method=`` picks one of the class activation maps of
:data:`resnet_viz.analysis.attribution.methods.METHODS`, and its entry's kind picks the path:
the other gradient methods (Grad-CAM++, XGrad-CAM, HiResCAM, LayerCAM) reuse the activation and
gradient of this same path and only weigh them differently; Score-CAM and Ablation-CAM run the
network (or the part after the layer) once per channel, in batches; Eigen-CAM needs only the
activation. Those take the activations from one ``no_grad`` forward. Either way each layer's
map is the entry's own (:func:`resnet_viz.analysis.attribution.methods.cam_map`);
:mod:`resnet_viz.analysis.attribution.methods` holds the formulas and their papers.

The pictures (coloured heatmaps, overlays) are drawn by :mod:`resnet_viz.present.heatmaps`.
This module does not import streamlit.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812 (PyTorch's own convention)

from ...core.build import ResNet
from ...core.split import (
    LayerNameError,
    Step,
    forward_steps,
    layer_label,
    run_steps,
    step_index,
    target_layers,
)
from ...runtime.device import run_with_cpu_fallback
from ...runtime.locks import model_lock
from . import methods
from .methods import CAM_METHODS, METHODS, Kind, check_method
from .model_checks import as_normal_tensor as _as_normal_tensor
from .model_checks import check_class as _check_class
from .model_checks import check_device as _check_device
from .model_checks import check_eval_mode as _check_eval_mode
from .model_checks import check_image as _check_image
from .model_checks import check_top_k as _check_top_k
from .model_checks import cpu_copy as _cpu_copy
from .model_checks import model_device as _model_device
from .model_checks import model_dtype as _model_dtype
from .model_checks import spec_of as _spec_of

__all__ = [
    "CAM_METHODS",
    "CamResult",
    "LayerNameError",
    "grad_cam",
    "grad_cam_strip",
    "layer_label",
    "target_layers",
]

DEFAULT_TOP_K = 5


@dataclass(frozen=True, eq=False)
class CamResult:
    """One class activation map (Grad-CAM or another method) and the prediction it explains.

    Attributes:
        heatmap: float32 array of the input's H x W, in [0, 1]: the ReLU'd map upsampled
            bilinearly and min-max normalised. All zeros when no position has positive
            evidence for the class (the map is not stretched from nothing); all ones when the
            map is constant and positive (a 1 x 1 map, say). Read-only.
        raw: float32 array, the map at the layer's own resolution (e.g. 7 x 7 for ``layer4``
            at 224 px) after the ReLU, before upsampling and normalisation. Read-only.
        target_class: the class explained (the top-1 prediction when none was asked for).
        top_k: ``(class_index, probability)`` pairs, most probable first, from the softmax of
            the logits of this very forward pass.
        layer: the layer name (``"layer4"``, ``"layer2.1"``).
        device: where it ran (``"cpu"``, ``"cuda:0"``).
        fell_back_to_cpu: True when the accelerator ran out of memory and a CPU copy of the
            model produced the result (the page says so).
        method: which map (one of :data:`CAM_METHODS`, ``"gradcam"`` by default).
        counterfactual: True for a counterfactual map (the negated gradient: evidence against
            the class, Selvaraju et al. 2017 Sec. 5).
    """

    heatmap: np.ndarray
    raw: np.ndarray
    target_class: int
    top_k: list[tuple[int, float]]
    layer: str
    device: str
    fell_back_to_cpu: bool = False
    method: str = "gradcam"
    counterfactual: bool = False

    @property
    def blank(self) -> bool:
        """True when the map shows no positive evidence at all: the weighted sum was <= 0 at
        every position, so the ReLU left nothing (``raw`` and ``heatmap`` are all zeros).

        Common at early layers (their features are not yet about the class), for a class the
        model finds no evidence for, and for counterfactual maps of a confident prediction.
        It says nothing about where the model looks; a later layer or another class will."""
        return not bool((self.raw > 0).any())


# --------------------------------------------------------------------------------------------
# Grad-CAM
# --------------------------------------------------------------------------------------------


def grad_cam(
    model: ResNet,
    image: torch.Tensor,
    *,
    target_layer: str | None = None,
    target_class: int | None = None,
    method: str = "gradcam",
    counterfactual: bool = False,
    device: torch.device | str | None = None,
    top_k: int = DEFAULT_TOP_K,
    batch_size: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> CamResult:
    """The class activation map of ``target_class`` at ``target_layer`` for one preprocessed
    image: Grad-CAM by default, or any of :data:`CAM_METHODS`.

    Args:
        model: a :func:`resnet_viz.build_model` network, in eval mode; left exactly as found.
        image: a float tensor of shape (1, C, H, W), already normalised
            (:func:`resnet_viz.data.images.preprocess`). It is moved to the model's device.
        target_layer: a stage (``"layer3"``) or block (``"layer2.1"``) from
            :func:`target_layers`; ``None`` means the last stage (``"layer4"`` in the ImageNet
            networks, ``"layer3"`` in the CIFAR ones), the paper's choice.
        target_class: the class to explain; ``None`` explains the top-1 prediction
            (Eigen-CAM's map does not depend on it).
        method: one of :data:`CAM_METHODS` (see :mod:`resnet_viz.analysis.attribution.methods`).
        counterfactual: negate the gradient (gradient methods only): the map of the evidence
            against the class (Selvaraju et al. 2017, Sec. 5).
        device: ``None`` runs where the model lives. Naming another device is an error: the
            shared model is never moved (move it once, when it is loaded).
        top_k: how many ``(class, probability)`` pairs to return.
        batch_size: images (Score-CAM) or activations (Ablation-CAM) per forward pass;
            ``None`` for the defaults. Ignored by the other methods.
        progress: ``progress(done, total)`` after each batch of Score-CAM or Ablation-CAM
            (channels done out of the layer's channels).

    Returns:
        A :class:`CamResult`; ``heatmap`` has the image's H x W.

    Raises:
        LayerNameError: unknown ``target_layer``.
        ValueError: a malformed image, class index, ``top_k``, device or method, or a
            counterfactual asked of a method without gradients.
    """
    layer = target_layer if target_layer is not None else _stage_names(model)[-1]
    options = _Options(method, counterfactual, batch_size, progress)
    return _run(model, image, (layer,), target_class, device, top_k, options)[0]


def grad_cam_strip(
    model: ResNet,
    image: torch.Tensor,
    layers: Sequence[str] | None = None,
    target_class: int | None = None,
    *,
    method: str = "gradcam",
    counterfactual: bool = False,
    device: torch.device | str | None = None,
    top_k: int = DEFAULT_TOP_K,
) -> list[CamResult]:
    """Grad-CAM of one class at several layers (``None``: every stage, ``layer1``..``layer4``
    for the ImageNet networks), to show the explanation sharpen or coarsen with depth.

    The same computation as :func:`grad_cam`, for all the layers at once: one forward pass
    (without autograd up to the earliest requested layer) and one ``torch.autograd.grad`` call
    over all the requested activations. The results equal separate :func:`grad_cam` calls, for
    about the cost of one :func:`grad_cam` call at the earliest requested layer. The other
    gradient methods share that single pass too; Score-CAM, Ablation-CAM and Eigen-CAM share
    the forward pass and then work layer by layer.

    Returns one :class:`CamResult` per requested layer, in the order given.
    """
    names = tuple(layers) if layers is not None else _stage_names(model)
    if not names:
        raise ValueError("Give at least one layer for the Grad-CAM strip.")
    options = _Options(method, counterfactual, None, None)
    return _run(model, image, names, target_class, device, top_k, options)


@dataclass(frozen=True)
class _Options:
    """What to compute besides the layers and the class."""

    method: str = "gradcam"
    counterfactual: bool = False
    batch_size: int | None = None
    progress: Callable[[int, int], None] | None = None


def _stage_names(model: ResNet) -> tuple[str, ...]:
    return tuple(f"layer{i}" for i in range(1, _spec_of(model).num_stages + 1))


def _run(
    model: ResNet,
    image: torch.Tensor,
    layers: tuple[str, ...],
    target_class: int | None,
    device: torch.device | str | None,
    top_k: int,
    options: _Options,
) -> list[CamResult]:
    """Validate, pick the device, leave inference mode, and run with the OOM fallback."""
    check_method(options.method, options.counterfactual)
    spec = _spec_of(model)
    _check_eval_mode(model)
    for name in layers:
        step_index(model, name)  # raises LayerNameError before any work
    _check_image(image, spec.in_channels)
    _check_class(target_class, spec.num_classes)
    k = _check_top_k(top_k, spec.num_classes)
    home = _model_device(model)
    _check_device(device, home)

    def work(where: torch.device) -> list[CamResult]:
        net = model if where == home else _cpu_copy(model)
        return _attempt(net, image, where, layers, target_class, k, options)

    done = run_with_cpu_fallback(work, home)
    where = {"device": str(done.device), "fell_back_to_cpu": done.fell_back}
    return [dataclasses.replace(result, **where) for result in done.value]


def _attempt(
    model: ResNet,
    image: torch.Tensor,
    where: torch.device,
    layers: tuple[str, ...],
    target: int | None,
    k: int,
    options: _Options = _Options(),
) -> list[CamResult]:
    """One try on one device, holding the model's lock, outside inference mode."""
    with model_lock(model), torch.inference_mode(False):
        x = _as_normal_tensor(image).to(where, _model_dtype(model))
        if METHODS[options.method].kind is Kind.GRADIENT:
            maps, logits, chosen = _gradient_maps(model, x, layers, target, options)
        else:
            maps, logits, chosen = _forward_maps(model, x, layers, target, options)
        return [
            _result(maps[step_index(model, name)], x, logits, chosen, name, k, options)
            for name in layers
        ]


def _gradient_maps(
    model: ResNet,
    image: torch.Tensor,
    layers: tuple[str, ...],
    target: int | None,
    options: _Options,
) -> tuple[dict[int, torch.Tensor], torch.Tensor, int]:
    """A gradient method's map at every layer in ``layers`` from one forward pass and one
    ``autograd.grad``, keyed by step index, with the logits and the explained class.

    The steps up to the earliest requested layer run under ``no_grad``; from its output (made
    a leaf that requires a gradient) the remaining steps record one graph, and the output of
    every requested layer is kept on the way. No hook is registered: the activations are the
    steps' own return values.
    """
    steps = forward_steps(model)
    wanted = sorted({step_index(model, name) for name in layers})
    first = wanted[0]
    with torch.no_grad():
        x = run_steps(steps[: first + 1], image)
    with torch.enable_grad():
        x = x.requires_grad_()
        kept = {first: x}
        for i in range(first + 1, len(steps)):
            x = steps[i][1](x)
            if i in wanted:
                kept[i] = x
        logits = x
        chosen = int(logits[0].argmax()) if target is None else target
        activations = [kept[i] for i in wanted]
        gradients = torch.autograd.grad(logits[0, chosen], activations)
    logits = logits.detach()
    maps = {
        i: methods.cam_map(
            options.method,
            _inputs(steps, i, image, a.detach(), g, logits, chosen, options),
            counterfactual=options.counterfactual,
        )
        for i, a, g in zip(wanted, activations, gradients, strict=True)
    }
    return maps, logits, chosen


def _forward_maps(
    model: ResNet,
    image: torch.Tensor,
    layers: tuple[str, ...],
    target: int | None,
    options: _Options,
) -> tuple[dict[int, torch.Tensor], torch.Tensor, int]:
    """A method without gradients at every layer in ``layers``: one ``no_grad`` forward keeps
    the activations and gives the logits; then each layer's map is the method's own (Score-CAM
    runs the whole network on masked images, Ablation-CAM the steps after the layer on ablated
    activations, Eigen-CAM only the activation)."""
    steps = forward_steps(model)
    wanted = sorted({step_index(model, name) for name in layers})
    kept = {}
    with torch.no_grad():
        x = image
        for i, (_, step) in enumerate(steps):
            x = step(x)
            if i in wanted:
                kept[i] = x
    logits = x
    chosen = int(logits[0].argmax()) if target is None else target
    maps = {
        i: methods.cam_map(
            options.method, _inputs(steps, i, image, kept[i], None, logits, chosen, options)
        )
        for i in wanted
    }
    return maps, logits, chosen


def _inputs(
    steps: Sequence[tuple[str, Step]],
    index: int,
    image: torch.Tensor,
    activation: torch.Tensor,
    gradient: torch.Tensor | None,
    logits: torch.Tensor,
    chosen: int,
    options: _Options,
) -> methods.CamInputs:
    """What step ``index`` offers a method: its activation (and gradient), the input, the whole
    network and the steps after it as functions of a batch, the logits and the class."""
    tail = steps[index + 1 :]
    return methods.CamInputs(
        activation=activation,
        gradient=gradient,
        image=image,
        network=lambda batch: run_steps(steps, batch),
        tail=lambda batch: run_steps(tail, batch),
        logits=logits,
        target=chosen,
        batch_size=options.batch_size,
        progress=options.progress,
    )


def _result(
    raw: torch.Tensor,
    image: torch.Tensor,
    logits: torch.Tensor,
    target: int,
    layer: str,
    k: int,
    options: _Options = _Options(),
) -> CamResult:
    """Upsample, normalise and package one (1, 1, h, w) map with the prediction."""
    raw = raw.detach()
    probabilities = torch.softmax(logits[0].float(), dim=0)
    values, indices = probabilities.topk(k)
    return CamResult(
        heatmap=_frozen(_heatmap(raw, tuple(image.shape[-2:]))),
        raw=_frozen(raw[0, 0]),
        target_class=target,
        top_k=[(int(i), float(v)) for i, v in zip(indices.tolist(), values.tolist(), strict=True)],
        layer=layer,
        device=str(image.device),
        method=options.method,
        counterfactual=options.counterfactual,
    )


def _heatmap(raw: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """The (1, 1, h, w) map upsampled bilinearly to ``size`` and min-max normalised to [0, 1].

    Constancy is decided on ``raw``, before upsampling: the bilinear weights of a constant map
    add up to 1 only to within an ulp or two, and min-max would stretch that noise to the full
    [0, 1]. A constant map becomes all ones when positive and stays all zeros otherwise.
    """
    low, high = raw.min(), raw.max()
    if not high > low:
        fill = 1.0 if high > 0 else 0.0
        return torch.full(size, fill, dtype=raw.dtype, device=raw.device)
    upsampled = F.interpolate(raw, size=size, mode="bilinear", align_corners=False)
    return _min_max(upsampled[0, 0])


def _min_max(heat: torch.Tensor) -> torch.Tensor:
    """Scale to [0, 1]; an all-zero map stays zero, a constant positive map becomes ones."""
    low, high = heat.min(), heat.max()
    if high > low:
        return (heat - low) / (high - low)
    return torch.ones_like(heat) if high > 0 else torch.zeros_like(heat)


def _frozen(tensor: torch.Tensor) -> np.ndarray:
    """A read-only float32 numpy copy (results may be cached and shared between sessions)."""
    array = tensor.detach().to("cpu", torch.float32).numpy().copy()
    array.flags.writeable = False
    return array
