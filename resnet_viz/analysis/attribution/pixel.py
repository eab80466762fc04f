"""Pixel attributions through captum: how much each input pixel counts for a class score.

Every method here explains the class score ``y^c`` (the logit) of one preprocessed image ``x``
(1 x C x H x W) with an attribution of the input's own shape, and is one entry of
:data:`METHODS` (a :class:`PixelMethod`): its key, label, paper, the captum attribution it runs,
its options (with their ranges and defaults) and its memory estimate.

[the table of METHODS: each entry's key, captum attribution and options, filled in on import]

The attribution itself is captum's (0.9, ``pip install captum``): each entry builds captum's
object and calls its ``attribute`` with the options passed through, and the tests check the
result equals captum's own call on the same model. The exception is ``"lrp"``, zennit's
(:mod:`.lrp`, the app's ResNet only), which the tests check equals :func:`.lrp.lrp`.
What this module adds around it:

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
  gives wrong answers. They run on a private copy (:func:`safe_relu_copy`: modules of its own,
  the model's weights shared and only read) in which every ``nn.ReLU`` is replaced by a new,
  not-in-place one; the app's own ResNet already calls each ReLU once and sums the
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

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from ...core.build import ResNet
from ...core.spec import SpecError
from ...core.split import LayerNameError, step_index
from ...core.summary import summarize
from ...data.images import IMAGENET_MEAN, IMAGENET_STD
from ...runtime.device import run_with_cpu_fallback
from ...runtime.locks import model_lock
from ...runtime.memory import memory_budget_bytes, refuse_over_budget
from ..copies import private_eval_copy
from .cam import _frozen, _min_max
from .doc_table import rst_table, with_table
from .model_checks import as_normal_tensor, cpu_copy, model_device, model_dtype
from .pixel_baselines import BASELINES, make_baseline
from .pixel_methods import ATTRIBUTION_METHODS, METHOD_LABELS, METHODS
from .pixel_registry import Option, PixelMethod, Sizes, _Call
from .relu_copy import _reused_relus, safe_relu_copy

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
            to logits; Guided Grad-CAM and LRP need the app's ResNet); left exactly as found.
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
        # The top-1 class needs a pass of its own unless the method's one pass is of the image
        # (it then reads the class there); another model's class range needs one too.
        top1_apart = target is None and not entry.top1_in_pass
        with model_lock(model), torch.no_grad():
            if top1_apart or (target is not None and not isinstance(model, ResNet)):
                logits = model(x.detach())
                _check_target(target, logits.shape[1])
                if target is None:
                    target = int(logits[0].argmax())
            work = model
            if entry.own_weights:
                work = private_eval_copy(model)
            elif entry.private_copy:
                work = safe_relu_copy(model)
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
    if target is None:  # read in the method's own pass (top1_in_pass)
        target = call.top1[0]
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
