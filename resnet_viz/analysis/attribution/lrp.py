"""Layer-wise Relevance Propagation through the app's ResNet, skip connections included.

LRP (Bach et al. 2015, "On Pixel-Wise Explanations for Non-Linear Classifier Decisions by
Layer-Wise Relevance Propagation", PLoS ONE, doi:10.1371/journal.pone.0130140) starts from the
class logit ``f_c(x)`` and hands it down layer by layer: each layer splits the relevance of its
outputs among its inputs in proportion to their contributions, so the total is (ideally)
conserved down to the pixels. The rules per layer type are a *composite* (Montavon et al.
2019, "Layer-Wise Relevance Propagation: An Overview", in Explainable AI, LNCS 11700,
doi:10.1007/978-3-030-28954-6_10): :data:`COMPOSITES` names zennit's (Anders et al. 2021,
"Software for Dataset-wide XAI: From Local Explanations to Global Insights with Zennit, CoRelAy,
and ViRelAy", arXiv:2106.13200; ``pip install zennit``), which computes every rule here.

What the ResNet needs, and what this module adds to zennit:

- BatchNorm has no LRP rule of its own; zennit's ``SequentialMergeBatchNorm`` canonizer folds
  each BatchNorm into the convolution right before it (exact in eval mode). In the app's net
  that is every BN of a post-activation block, its projection and the stem. A pre-activation
  block's BNs that come before a convolution cannot be folded; zennit passes relevance through
  them unchanged (its ``Pass`` rule), which conserves it.
- The residual sum ``F(x) + shortcut(x)`` is the app's ``Add`` module
  (:mod:`resnet_viz.core.build`). zennit's ``ResNetCanonizer`` only knows torchvision's
  ``BasicBlock``/``Bottleneck``, so a canonizer written here does for ``Add`` what it does
  for them: the two inputs are stacked and summed by zennit's ``Sum`` layer, whose rule
  (``Norm``, a bias-free epsilon rule) gives each input the share of the sum's relevance that
  it contributed to the sum, position by position: ``R_branch = F(x) * R / (F(x) + s(x))``.
  The split is read from the relevance (the modified gradient) at the two stacked inputs.
- everything runs on a private copy (:func:`resnet_viz.analysis.copies.private_eval_copy`,
  taken holding the model's lock): canonizers rewrite weights and forwards, the rules register
  hooks. The shared model is never touched; the copy is dropped.

Conservation. Each rule hands down exactly what it received except for the stabilizer
``epsilon`` and what *biases* absorb (Montavon et al. 2019, Sec. 10.2): zennit's epsilon, plus
and alpha-beta rules give the bias term its share (positive biases, for the plus rule), and
folding BatchNorm creates biases. With ``zero_bias=True`` (zennit's ``zero_params="bias"``)
biases get no relevance and the input's relevance sums to the logit up to the stabilizer; the
result reports the relative error either way (:attr:`LrpResult.conservation_error`), and per
block the relevance entering the block's output and leaving at its input.

Limits: squeeze-and-excitation gates (a product of two paths of the same input) have no rule
here and are refused; the model must be the app's ResNet (load other weights into it with
:func:`resnet_viz.spec_from_state_dict`).

This module does not import streamlit.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from zennit.attribution import Gradient
from zennit.canonizers import AttributeCanonizer, SequentialMergeBatchNorm
from zennit.composites import (
    EpsilonAlpha2Beta1,
    EpsilonAlpha2Beta1Flat,
    EpsilonGammaBox,
    EpsilonPlus,
    EpsilonPlusFlat,
    LayerMapComposite,
    layer_map_base,
)
from zennit.core import Composite
from zennit.layer import Sum
from zennit.rules import Epsilon
from zennit.types import Linear

from ...core.build import Add, ResidualBlock, ResNet, SqueezeExcite
from ...core.spec import SpecError
from ...data.images import IMAGENET_MEAN, IMAGENET_STD
from ...runtime.device import run_with_cpu_fallback
from ...runtime.locks import model_lock
from ..copies import private_eval_copy
from .cam import _frozen, _min_max
from .model_checks import as_normal_tensor, cpu_copy, model_device, model_dtype

__all__ = ["COMPOSITES", "BlockRelevance", "LrpResult", "check", "lrp", "relevance_on_copy"]

#: zennit's default stabilizer, used by every rule here.
EPSILON = 1e-6


def _epsilon(low, high, zero_params):
    """LRP-epsilon on every convolution and linear layer (Bach et al. 2015, Eq. 58)."""
    rule = Epsilon(epsilon=EPSILON, zero_params=zero_params)
    return LayerMapComposite(layer_map=[*layer_map_base(EPSILON), (Linear, rule)])


#: The composites :func:`lrp` offers: key -> (label, builder from the input's bounds (low,
#: high: the normalised images of all-black and all-white pixels) and zennit's ``zero_params``).
COMPOSITES: dict[str, tuple[str, Callable[..., Composite]]] = {
    "epsilon-plus-flat": (
        "Epsilon-Plus-Flat (flat first layer, z+ convolutions, epsilon dense)",
        lambda low, high, zero: EpsilonPlusFlat(zero_params=zero),
    ),
    "epsilon-plus": (
        "Epsilon-Plus (z+ convolutions, epsilon dense)",
        lambda low, high, zero: EpsilonPlus(zero_params=zero),
    ),
    "epsilon-alpha2-beta1-flat": (
        "Epsilon-Alpha2-Beta1-Flat",
        lambda low, high, zero: EpsilonAlpha2Beta1Flat(zero_params=zero),
    ),
    "epsilon-alpha2-beta1": (
        "Epsilon-Alpha2-Beta1",
        lambda low, high, zero: EpsilonAlpha2Beta1(zero_params=zero),
    ),
    "epsilon-gamma-box": (
        "Epsilon-Gamma-Box (z-box first layer, gamma convolutions, epsilon dense)",
        lambda low, high, zero: EpsilonGammaBox(low=low, high=high, zero_params=zero),
    ),
    "epsilon": ("Epsilon (LRP-epsilon everywhere)", _epsilon),
}


@dataclass(frozen=True)
class BlockRelevance:
    """Where one residual block's relevance goes (sums over the block's whole tensors).

    Attributes:
        block: its name (``"layer2.0"``).
        entering: relevance at the block's output (what the layers above handed down).
        leaving: relevance at the block's input (what it hands to the block below);
            ``leaving / entering`` is 1 when the block conserves relevance.
        at_sum: relevance at the output of the addition (equal to ``entering`` after the
            ReLU's pass-through rule); 0 for a plain block without a skip.
        branch: relevance the residual branch F(x) received from the addition.
        shortcut: relevance the shortcut received (0 for a plain block).
        skip: False for a plain block (no shortcut: everything goes through the branch).
    """

    block: str
    entering: float
    leaving: float
    at_sum: float
    branch: float
    shortcut: float
    skip: bool = True

    @property
    def branch_share(self) -> float:
        """The branch's fraction of the relevance at the sum (1 for a plain block). Signed
        relevance can make a share negative or above 1; the two shares always sum to ~1."""
        return 1.0 if not self.skip else _ratio(self.branch, self.at_sum)

    @property
    def shortcut_share(self) -> float:
        return 0.0 if not self.skip else _ratio(self.shortcut, self.at_sum)

    @property
    def conservation_error(self) -> float:
        """``|leaving - entering| / |entering|``."""
        return abs(self.leaving - self.entering) / max(abs(self.entering), 1e-30)


@dataclass(frozen=True, eq=False)
class LrpResult:
    """One LRP explanation.

    Attributes:
        heatmap: float32 H x W in [0, 1]: |relevance| summed over channels, min-max normalised
            (as :class:`~resnet_viz.analysis.attribution.pixel.PixelAttribution`). Read-only.
        raw: float32 C x H x W, the signed relevance of each input value. Read-only.
        target_class: the class explained (the top-1 prediction when none was asked for).
        composite: the key of :data:`COMPOSITES` used.
        zero_bias: True when biases got no relevance.
        logit: the explained class logit ``f_c(x)`` (the relevance handed to the top).
        input_relevance: the sum of ``raw``.
        blocks: per residual block, in forward order.
        device: where it ran.
        fell_back_to_cpu: True when the accelerator ran out of memory and a CPU copy ran.
    """

    heatmap: np.ndarray
    raw: np.ndarray
    target_class: int
    composite: str
    zero_bias: bool
    logit: float
    input_relevance: float
    blocks: tuple[BlockRelevance, ...]
    device: str = "cpu"
    fell_back_to_cpu: bool = False

    @property
    def conservation_error(self) -> float:
        """``|sum of input relevance - logit| / |logit|`` (0: perfectly conserved)."""
        return abs(self.input_relevance - self.logit) / max(abs(self.logit), 1e-30)


def lrp(
    model: ResNet,
    image: torch.Tensor,
    target: int | None = None,
    composite: str = "epsilon-plus-flat",
    *,
    zero_bias: bool = False,
    mean: Sequence[float] = IMAGENET_MEAN,
    std: Sequence[float] = IMAGENET_STD,
) -> LrpResult:
    """LRP relevance of class ``target`` (None: the top-1 prediction) for one preprocessed image.

    Args:
        model: the app's ResNet (:func:`resnet_viz.build_model` or a weights loader), in eval
            mode; left exactly as found.
        image: a float tensor (1, C, H, W), already normalised; moved to the model's device.
        target: the class index to explain.
        composite: a key of :data:`COMPOSITES`.
        zero_bias: give biases no relevance (zennit's ``zero_params="bias"``), so relevance
            is conserved down to the input up to the stabilizer.
        mean, std: the normalisation ``image`` went through; only ``"epsilon-gamma-box"``
            reads it (the z-box rule's pixel bounds, black and white).

    Raises:
        SpecError: an unknown composite, a class out of range, a malformed image, a model that
            is not the app's ResNet, in training mode, or with squeeze-and-excitation gates.
    """
    check(model, image, composite)
    _check_target(target, model.spec.num_classes)
    home = model_device(model)
    x = as_normal_tensor(image)

    def work(where: torch.device) -> LrpResult:
        net = model if where == home else cpu_copy(model)
        return _attempt(net, x, where, target, composite, zero_bias, tuple(mean), tuple(std))

    done = run_with_cpu_fallback(work, home)
    return dataclasses.replace(done.value, device=str(done.device), fell_back_to_cpu=done.fell_back)


def _attempt(
    model: ResNet,
    image: torch.Tensor,
    where: torch.device,
    target: int | None,
    composite: str,
    zero_bias: bool,
    mean: tuple[float, ...],
    std: tuple[float, ...],
) -> LrpResult:
    with model_lock(model), torch.no_grad():
        work = private_eval_copy(model)  # frozen: no .grad on any weight, the input's only
    return relevance_on_copy(work, image, where, target, composite, zero_bias, mean, std)


def relevance_on_copy(
    work: ResNet,
    image: torch.Tensor,
    where: torch.device,
    target: int | None,
    composite: str,
    zero_bias: bool,
    mean: tuple[float, ...],
    std: tuple[float, ...],
) -> LrpResult:
    """LRP on ``work``, a private eval copy that nobody else holds (zennit rewrites it and
    hooks it; the caller drops it afterwards), the arguments already checked (:func:`check`).
    The pixel registry's ``"lrp"`` entry runs this on the copy it makes anyway."""
    with torch.inference_mode(False), torch.enable_grad():
        x = image.detach().to(where, model_dtype(work)).requires_grad_()
        if target is None:
            with torch.no_grad():
                target = int(work(x)[0].argmax())
        low, high = _bounds(x, mean, std) if composite == "epsilon-gamma-box" else (None, None)
        rules = COMPOSITES[composite][1](low, high, ["bias"] if zero_bias else None)
        recorder: dict[str, dict[str, float]] = {}
        rules.canonizers = [SequentialMergeBatchNorm(), _add_canonizer(recorder)]
        handles = [
            block.register_forward_hook(_block_hook(name, recorder))
            for name, block in work.named_modules()
            if isinstance(block, ResidualBlock)
        ]
        one_hot = torch.zeros(1, work.spec.num_classes, dtype=x.dtype, device=where)
        one_hot[0, target] = 1.0
        try:
            with Gradient(model=work, composite=rules) as attributor:
                output, relevance = attributor(x, lambda out: out.detach() * one_hot)
        finally:
            for handle in handles:
                handle.remove()
    relevance = relevance.detach()[0]
    return LrpResult(
        heatmap=_frozen(_min_max(relevance.abs().sum(0))),
        raw=_frozen(relevance),
        target_class=target,
        composite=composite,
        zero_bias=zero_bias,
        logit=float(output.detach()[0, target]),
        input_relevance=float(relevance.double().sum()),
        blocks=tuple(_block_relevance(name, parts) for name, parts in recorder.items()),
    )


# --------------------------------------------------------------------------------------------
# The canonizer of the app's residual sum, and the recording of relevance per block
# --------------------------------------------------------------------------------------------


def _add_canonizer(recorder: dict[str, dict[str, float]]) -> AttributeCanonizer:
    """zennit's ``ResNetBasicBlockCanonizer`` for the app's :class:`Add`: the two inputs are
    stacked and summed by a ``Sum`` module (rule: ``Norm``), and the relevance of the sum and
    of each input is recorded under the block's name."""

    def attributes(name: str, module: nn.Module):
        if not isinstance(module, Add):
            return None
        block = name.removesuffix(".add")

        def forward(self, residual: torch.Tensor, shortcut: torch.Tensor) -> torch.Tensor:
            stacked = torch.stack([residual, shortcut], dim=-1)
            if stacked.requires_grad:
                stacked.register_hook(lambda g: _record_split(recorder, block, g))
            out = self.canonizer_sum(stacked)
            if out.requires_grad:
                out.register_hook(lambda g: _record(recorder, block, "at_sum", g))
            return out

        return {"forward": forward.__get__(module), "canonizer_sum": Sum()}

    return AttributeCanonizer(attributes)


def _block_hook(name: str, recorder: dict[str, dict[str, float]]):
    """A forward hook (on the private copy) that records the relevance (zennit's modified
    gradient) at the block's output and input."""

    def hook(module, inputs, output):
        recorder.setdefault(name, {})
        if output.requires_grad:
            output.register_hook(lambda g: _record(recorder, name, "entering", g))
        if inputs[0].requires_grad:
            inputs[0].register_hook(lambda g: _record(recorder, name, "leaving", g))

    return hook


def _record(recorder, block: str, key: str, grad: torch.Tensor) -> None:
    recorder.setdefault(block, {})[key] = float(grad.double().sum())


def _record_split(recorder, block: str, grad: torch.Tensor) -> None:
    parts = recorder.setdefault(block, {})
    parts["branch"] = float(grad[..., 0].double().sum())
    parts["shortcut"] = float(grad[..., 1].double().sum())


def _block_relevance(name: str, parts: Mapping[str, float]) -> BlockRelevance:
    skip = "at_sum" in parts
    return BlockRelevance(
        block=name,
        entering=parts.get("entering", 0.0),
        leaving=parts.get("leaving", 0.0),
        at_sum=parts.get("at_sum", 0.0),
        branch=parts.get("branch", parts.get("entering", 0.0) if not skip else 0.0),
        shortcut=parts.get("shortcut", 0.0),
        skip=skip,
    )


# --------------------------------------------------------------------------------------------
# Checks and helpers
# --------------------------------------------------------------------------------------------


def check(model: object, image: object, composite: object) -> None:
    """Refuse, with a :class:`SpecError`, what LRP cannot explain here: an unknown composite,
    a model other than the app's ResNet, squeeze-and-excitation gates, training mode, a
    malformed image."""
    if not isinstance(composite, str) or composite not in COMPOSITES:
        raise SpecError(f"Unknown LRP composite {composite!r}; use one of {', '.join(COMPOSITES)}.")
    if not isinstance(model, ResNet):
        raise SpecError(
            f"LRP here needs the app's ResNet (its residual sum is the module the canonizer "
            f"rewrites), got {type(model).__name__}: load the weights into it "
            f"(spec_from_state_dict)."
        )
    if any(isinstance(m, SqueezeExcite) for m in model.modules()):
        raise SpecError(
            "LRP has no rule here for squeeze-and-excitation gates (the input times a gate "
            "computed from it): choose a network without SE."
        )
    training = [name or "the model" for name, m in model.named_modules() if m.training]
    if training:
        raise SpecError(
            f"The model is in training mode ({training[0]}): LRP explains a model in eval mode, "
            "and running it in training mode would update its BatchNorm statistics. Call "
            "model.eval() once when the model is loaded."
        )
    channels = model.spec.in_channels
    if (
        not isinstance(image, torch.Tensor)
        or not image.is_floating_point()
        or image.dim() != 4
        or tuple(image.shape[:2]) != (1, channels)
    ):
        shape = tuple(image.shape) if isinstance(image, torch.Tensor) else type(image).__name__
        raise SpecError(
            f"image must be a float tensor of shape (1, {channels}, H, W), preprocessed; "
            f"got {shape}."
        )


def _check_target(target: object, num_classes: int) -> None:
    if target is None:
        return
    if not isinstance(target, int) or isinstance(target, bool) or not 0 <= target < num_classes:
        raise SpecError(
            f"The class to explain must be an index from 0 to {num_classes - 1}; got {target!r}."
        )


def _bounds(x: torch.Tensor, mean: tuple[float, ...], std: tuple[float, ...]):
    """The normalised images of all-black and all-white pixels, x's shape (the z-box rule's
    bounds)."""
    channels = x.shape[1]
    if not len(mean) == len(std) == channels:
        raise SpecError(
            f"The image has {channels} channels but the normalisation has {len(mean)} means "
            f"and {len(std)} standard deviations."
        )
    m = torch.tensor(mean, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
    s = torch.tensor(std, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
    return ((0 - m) / s).expand_as(x), ((1 - m) / s).expand_as(x)


def _ratio(part: float, whole: float) -> float:
    return part / whole if whole != 0 else 0.0
