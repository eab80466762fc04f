"""How far apart Grad-CAM, HiResCAM and XGrad-CAM (or any CAMs) are at each stage and block,
and how constant the class score's gradient is over positions there, which explains it.

Why the three are one map at the last stage. Write ``A^k_ij`` for the last stage's activation
(channel k, position (i, j) of h x w) and ``g^k_ij = d y^c / d A^k_ij`` for the gradient of the
class logit. A post-activation ResNet's head is global average pooling then a linear layer,
``y^c = sum_k w_ck (1 / hw) sum_ij A^k_ij + b_c``, so

    g^k_ij = w_ck / (h w)                      for every position (i, j): constant over positions.

With a gradient ``g^k`` that does not depend on (i, j):

- Grad-CAM (Selvaraju et al. 2017, arXiv:1610.02391) weighs channel k by the mean gradient,
  ``alpha_k = (1 / hw) sum_ij g^k_ij = g^k``: the gradient itself;
- HiResCAM (Draelos & Carin 2020, arXiv:2011.08891) sums the element-wise product,
  ``M_ij = sum_k g^k_ij A^k_ij = sum_k g^k A^k_ij``: Grad-CAM's sum, term by term;
- XGrad-CAM (Fu et al. 2020, arXiv:2008.02312) weighs by
  ``alpha_k = sum_ij g^k_ij A^k_ij / sum_ab A^k_ab = g^k sum_ij A^k_ij / sum_ab A^k_ab = g^k``
  (to within its epsilon, 1e-7 next to ``sum A^k``; the stage's output comes out of a ReLU,
  so a channel with ``sum A^k = 0`` is zero everywhere and adds nothing to any of the maps).

So the three maps are the same map, before and after the ReLU, and correlate 1 up to rounding.
HiResCAM's paper makes the same point: for a CNN whose head is one pooled linear layer, HiResCAM
and Grad-CAM coincide at the last convolutional layer. At earlier blocks the gradient reaches
``A`` through further convolutions, BatchNorms and ReLUs whose on/off pattern depends on the
position, so ``g^k_ij`` varies over (i, j) and the three weighings part. A pre-activation ResNet
has a BN-ReLU between its last stage and the pooling: the gradient there is ``w_ck / (hw)``
times the BN's scale times the ReLU's mask, constant only where the mask is, so the sameness at
the last stage holds exactly for post-activation networks only. The numbers here measure it
rather than assume it.

The constancy measure, per layer: the share of the gradient's norm that is not its per-channel
spatial mean,

    variation = || g - mean_ij g || / || g ||      (norms over channels and positions),

0 when every channel's gradient is constant over positions (Grad-CAM then loses nothing by
averaging it), up to 1 when every channel's gradient averages to zero. It is what Grad-CAM's
averaging throws away and HiResCAM keeps: HiResCAM's map minus Grad-CAM's is
``sum_k (g^k_ij - mean g^k) A^k_ij``. NaN when the gradient is zero everywhere.

The maps are the CAM path's own (:func:`resnet_viz.analysis.attribution.cam.grad_cam_strip`,
``CamResult.raw``: the ReLU'd map at the layer's resolution, before upsampling); the gradient
comes from one more forward pass and one ``torch.autograd.grad`` under the model's lock, with
no hook, no ``.backward()``, no mode change: the model is left exactly as found.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ...core.build import ResNet
from ...core.split import forward_steps, run_steps, step_index, target_layers
from ...runtime.device import run_with_cpu_fallback
from ...runtime.locks import model_lock
from .cam import grad_cam_strip
from .methods import METHOD_LABELS, check_method
from .model_checks import as_normal_tensor, cpu_copy, model_device, model_dtype, spec_of
from .sanity import spearman

__all__ = ["DEFAULT_METHODS", "LayerAgreement", "MethodAgreement", "method_agreement", "pearson"]

#: The three gradient CAMs that coincide where the gradient is constant over positions.
DEFAULT_METHODS = ("gradcam", "hirescam", "xgradcam")


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson's correlation of two maps of one shape; NaN when either is constant (a blank
    map, a 1 x 1 map), since a constant map has no pattern to agree with."""
    x = np.asarray(a, np.float64).ravel()
    y = np.asarray(b, np.float64).ravel()
    if x.shape != y.shape:
        raise ValueError(f"Maps of different sizes: {np.shape(a)} and {np.shape(b)}.")
    x, y = x - x.mean(), y - y.mean()
    nx, ny = np.linalg.norm(x), np.linalg.norm(y)
    if nx == 0 or ny == 0:
        return math.nan
    return float(np.clip(x @ y / (nx * ny), -1.0, 1.0))


@dataclass(frozen=True)
class LayerAgreement:
    """The methods' raw maps compared at one layer.

    Attributes:
        layer: the layer name (``"layer4"``, ``"layer2.1"``).
        size: the map's (h, w) at the layer.
        pearson: Pearson's correlation of each pair of raw maps, keyed by the pair of method
            keys in the order given; NaN where a map is constant.
        spearman: Spearman's rank correlation of each pair (0 where a map is constant).
        gradient_variation: the share of the class score's gradient that varies over
            positions (see the module docstring); 0 where it is constant, NaN where it is zero.
        blank: the methods whose map is zero everywhere at this layer.
    """

    layer: str
    size: tuple[int, int]
    pearson: dict[tuple[str, str], float]
    spearman: dict[tuple[str, str], float]
    gradient_variation: float
    blank: tuple[str, ...] = ()

    @property
    def lowest(self) -> tuple[tuple[str, str], float]:
        """The pair that agrees least and its Pearson correlation (NaN ranks lowest)."""
        return min(self.pearson.items(), key=lambda kv: -math.inf if math.isnan(kv[1]) else kv[1])


@dataclass(frozen=True)
class MethodAgreement:
    """Every layer's :class:`LayerAgreement`, in forward order, for one image and class."""

    methods: tuple[str, ...]
    target_class: int
    layers: tuple[LayerAgreement, ...]
    #: The measured layers whose output goes straight into global average pooling and the
    #: linear classifier: the last stage (``"layer4"``, ``"layer4.1"``) of a post-activation
    #: network; none in a pre-activation one, whose head starts with a BN-ReLU.
    before_pooling: tuple[str, ...] = ()

    def layer(self, name: str) -> LayerAgreement:
        """The row of layer ``name``; KeyError when it was not measured."""
        for row in self.layers:
            if row.layer == name:
                return row
        raise KeyError(name)

    @property
    def labels(self) -> dict[str, str]:
        """The methods' display names (``"gradcam"`` -> ``"Grad-CAM"``)."""
        return {m: METHOD_LABELS[m] for m in self.methods}


def method_agreement(
    model: ResNet,
    image: torch.Tensor,
    methods: Sequence[str] = DEFAULT_METHODS,
    layers: Sequence[str] | None = None,
    target: int | None = None,
) -> MethodAgreement:
    """Each pair of ``methods``' raw maps correlated at each of ``layers`` (``None``: every
    stage and block, :func:`resnet_viz.core.split.target_layers`), with the gradient's spatial
    variation there, for class ``target`` (``None``: the top-1 prediction).

    Raises:
        ValueError: fewer than two distinct methods, an unknown method, or what
            :func:`~resnet_viz.analysis.attribution.cam.grad_cam_strip` refuses (a malformed
            image or class, a model in train mode).
        LayerNameError: an unknown layer.
    """
    keys = tuple(dict.fromkeys(check_method(m) for m in methods))
    if len(keys) < 2:
        raise ValueError("Compare at least two different CAM methods.")
    names = tuple(layers) if layers is not None else tuple(target_layers(spec_of(model)))
    first = grad_cam_strip(model, image, names, target, method=keys[0])
    chosen = first[0].target_class
    raws = {keys[0]: [r.raw for r in first]}
    for key in keys[1:]:
        raws[key] = [r.raw for r in grad_cam_strip(model, image, names, chosen, method=key)]
    variation = _gradient_variation(model, image, names, chosen)
    rows = []
    for i, name in enumerate(names):
        pairs = list(itertools.combinations(keys, 2))
        rows.append(
            LayerAgreement(
                layer=name,
                size=tuple(raws[keys[0]][i].shape),
                pearson={(a, b): pearson(raws[a][i], raws[b][i]) for a, b in pairs},
                spearman={(a, b): spearman(raws[a][i], raws[b][i]) for a, b in pairs},
                gradient_variation=variation[name],
                blank=tuple(k for k in keys if not (raws[k][i] > 0).any()),
            )
        )
    spec = spec_of(model)
    last = -1 if spec.preact else len(forward_steps(model)) - 2  # the step before the head
    return MethodAgreement(
        methods=keys,
        target_class=chosen,
        layers=tuple(rows),
        before_pooling=tuple(n for n in names if step_index(model, n) == last),
    )


def spatial_variation(gradient: torch.Tensor) -> float:
    """``|| g - mean_ij g || / || g ||`` of a (1, K, h, w) gradient (module docstring)."""
    g = gradient.detach().to(torch.float64)
    total = torch.linalg.vector_norm(g)
    if total == 0:
        return math.nan
    rest = g - g.mean(dim=(2, 3), keepdim=True)
    return float(torch.linalg.vector_norm(rest) / total)


def _gradient_variation(
    model: ResNet, image: torch.Tensor, layers: tuple[str, ...], target: int
) -> dict[str, float]:
    """The gradient's spatial variation at each layer: one forward pass (no autograd before
    the earliest layer) and one ``autograd.grad``, under the model's lock, no hooks."""
    home = model_device(model)

    def work(where: torch.device) -> dict[str, float]:
        net = model if where == home else cpu_copy(model)
        with model_lock(net), torch.inference_mode(False):
            steps = forward_steps(net)
            index = {name: step_index(net, name) for name in layers}
            wanted = sorted(set(index.values()))
            x = as_normal_tensor(image).to(where, model_dtype(net))
            with torch.no_grad():
                x = run_steps(steps[: wanted[0] + 1], x)
            with torch.enable_grad():
                x = x.requires_grad_()
                kept = {wanted[0]: x}
                for i in range(wanted[0] + 1, len(steps)):
                    x = steps[i][1](x)
                    if i in wanted:
                        kept[i] = x
                grads = torch.autograd.grad(x[0, target], [kept[i] for i in wanted])
            by_step = {i: spatial_variation(g) for i, g in zip(wanted, grads, strict=True)}
            return {name: by_step[i] for name, i in index.items()}

    return run_with_cpu_fallback(work, home).value
