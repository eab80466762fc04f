"""Class activation maps: how each method weighs a layer's feature maps.

Every method here produces a map ``L = ReLU(M)`` over the positions of one layer's activation
``A`` (shape 1 x K x h x w, K channels). They differ in how ``M`` is built:

[the table of METHODS: each entry's key, formula and cost, filled in on import]

``g^k = d y^c / d A^k`` is the gradient of the class score (the logit) with respect to the
activation. The gradient methods take ``A`` and ``g`` from the one Grad-CAM code path of
:mod:`resnet_viz.analysis.attribution.cam` (the network before the layer under ``no_grad``, one
``torch.autograd.grad`` through the rest), so each costs about one forward pass. Score-CAM and
Ablation-CAM need one forward pass per channel and batch them; Eigen-CAM needs no class at all.

Every formula follows pytorch-grad-cam 1.5.7 (``pip install grad-cam``), the reference the
tests compare against on the same model, layer and class, down to its epsilons; where that
library departs from the paper, so does this module, and the function says so. Two deliberate
differences in *how* (not *what*) is computed, both faster and numerically the same:

- Ablation-CAM ablates the channel in the stored activation and runs only the part of the
  network after the layer (:func:`resnet_viz.core.split.split_at`'s ``after``) on a batch of
  ablated activations; pytorch-grad-cam re-runs the whole network for every batch.
- Score-CAM skips the channels whose upsampled map is exactly constant: the library's min-max
  turns them into a mask of exact zeros, so their masked inputs are all the same (zero) image,
  scored once here instead of once per channel. It also builds the masked inputs one batch at
  a time (the library materialises all K of them: 1.2 GB for ResNet-50's layer4 at 224 px),
  and on the CPU feeds them to the network in channels-last memory order (about 10 % faster).

One method is one entry of :data:`METHODS` (a :class:`CamMethod`): its key, label, kind, the
function that builds ``M`` from what the layer offers (:class:`CamInputs`), its default batch, its
memory estimate, its paper and its formula. The tuples the pages and tests read
(:data:`CAM_METHODS`, :data:`GRADIENT_METHODS`, :data:`PER_CHANNEL_METHODS`, :data:`METHOD_LABELS`,
:data:`DEFAULT_BATCH_SIZE`), the table above and the dispatch in
:mod:`resnet_viz.analysis.attribution.cam` are all read from it. Adding a method is one entry in
:data:`METHODS`, in the place the page should list it, plus its tests in
``tests/unit/analysis/attribution/test_methods.py``: add its pytorch-grad-cam class to ``LIBRARY``
there (the comparison then covers it) or, for a method the library lacks, a test by hand. The pages
list it from :data:`CAM_METHODS`. Only a method that needs what :class:`CamInputs` does not offer
changes :mod:`~resnet_viz.analysis.attribution.cam` too.

No function here touches a model's parameters, registers a hook or calls ``backward``; the
caller holds the model's lock (:func:`resnet_viz.runtime.locks.model_lock`). This module does
not import streamlit.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812 (PyTorch's own convention)

from ...core.spec import ResNetSpec
from ...core.split import check_layer
from ...core.summary import summarize
from .doc_table import rst_table, with_table

__all__ = [
    "ABLATION_VALUE",
    "CAM_METHODS",
    "DEFAULT_BATCH_SIZE",
    "GRADIENT_METHODS",
    "METHODS",
    "METHOD_LABELS",
    "PER_CHANNEL_METHODS",
    "CamInputs",
    "CamMethod",
    "Kind",
    "LayerSizes",
    "Paper",
    "cam_map",
    "check_method",
    "estimate_memory_bytes",
]

MAX_BATCH_SIZE = 512
#: pytorch-grad-cam's epsilons (grad_cam_plusplus.py, xgrad_cam.py, score_cam.py).
GRADCAM_PLUSPLUS_EPS = 1e-6
XGRADCAM_EPS = 1e-7
SCORECAM_EPS = 1e-8
#: How far below the activation's minimum Ablation-CAM sets a channel when that minimum is
#: not 0 (pytorch-grad-cam's ablation_layer.py); with a minimum of 0 the channel is zeroed.
ABLATION_VALUE = 1e7

Progress = Callable[[int, int], None]


# --------------------------------------------------------------------------------------------
# What a method is
# --------------------------------------------------------------------------------------------


class Kind(enum.Enum):
    """What a method needs beyond the one forward pass, which decides how it is computed."""

    #: The class score's gradient at the layer: one ``autograd.grad`` through the rest.
    GRADIENT = "gradient"
    #: One forward pass per channel (of the network or of the part after the layer), batched.
    PER_CHANNEL = "per-channel"
    #: The activation alone (no gradient, no extra pass, possibly no class).
    ACTIVATION_ONLY = "activation-only"


@dataclass(frozen=True)
class Paper:
    """Where a method was published."""

    authors: str  # "Selvaraju et al."
    year: int
    title: str
    where: str  # venue and/or arXiv number or DOI

    @property
    def short(self) -> str:
        """``"Selvaraju et al. 2017"``."""
        return f"{self.authors} {self.year}"


@dataclass(frozen=True, eq=False)
class CamInputs:
    """What one layer offers a method, from the one code path of
    :mod:`resnet_viz.analysis.attribution.cam`.

    Attributes:
        activation: the layer's activation ``A``, (1, K, h, w), detached.
        gradient: ``d y^c / d A`` (same shape) for the gradient methods, else None.
        image: the preprocessed input ``X``, (1, C, H, W).
        network: the whole network, from a batch of images to their logits.
        tail: the part of the network after the layer, from a batch of activations to logits.
        logits: the logits of ``X``, (1, classes), detached.
        target: the explained class ``c``.
        batch_size: the caller's batch for the per-channel methods (None: the method's own).
        progress: ``progress(done, total)`` after each batch, counting channels.
    """

    activation: torch.Tensor
    gradient: torch.Tensor | None
    image: torch.Tensor
    network: Callable[[torch.Tensor], torch.Tensor]
    tail: Callable[[torch.Tensor], torch.Tensor]
    logits: torch.Tensor
    target: int
    batch_size: int | None = None
    progress: Progress | None = None

    @property
    def score(self) -> float:
        """``y^c``, the logit of the explained class on ``X``."""
        return float(self.logits[0, self.target])


@dataclass(frozen=True)
class LayerSizes:
    """The sizes, in bytes (float32), a memory estimate reads (:func:`estimate_memory_bytes`).

    Attributes:
        input_size: the input's (C, H, W).
        activation: the layer's activation ``A``.
        largest: the largest layer output of the whole network.
        tail: every layer output after the layer, in order.
    """

    input_size: tuple[int, int, int]
    activation: int
    largest: int
    tail: tuple[int, ...]


@dataclass(frozen=True)
class CamMethod:
    """One class activation map method: everything the code, the pages and the tests know.

    Attributes:
        key: the name callers pass (``method="gradcam"``).
        label: the name the pages show (``"Grad-CAM"``).
        kind: what it needs (:class:`Kind`), which picks the code path.
        weigh: ``M`` (before the ReLU, (1, 1, h, w)) from the layer's :class:`CamInputs`.
        formula: ``M`` in one line, for the table of the module's docstring.
        needs: its cost in one word or two, for the same table.
        paper: where it was published.
        memory: bytes beyond the shared forward pass, from the :class:`LayerSizes` and the
            batch (None when ``default_batch_size`` is None).
        default_batch_size: inputs per forward pass for a per-channel method (pytorch-grad-cam's
            default, so memory matches the reference's batches); None for the others.
    """

    key: str
    label: str
    kind: Kind
    weigh: Callable[[CamInputs], torch.Tensor]
    formula: str
    needs: str
    paper: Paper
    memory: Callable[[LayerSizes, int | None], int]
    default_batch_size: int | None = None


def check_method(method: object, counterfactual: bool = False) -> str:
    """``method`` if it is a key of :data:`METHODS`; a ValueError naming them otherwise.

    ``counterfactual`` (the negated gradient, Selvaraju et al. 2017 Sec. 5) exists only for
    the gradient methods; asking it of another is a ValueError that says why.
    """
    if not isinstance(method, str) or method not in METHODS:
        raise ValueError(f"Unknown CAM method {method!r}; use one of {', '.join(METHODS)}.")
    if counterfactual and METHODS[method].kind is not Kind.GRADIENT:
        gradient = [m.label for m in METHODS.values() if m.kind is Kind.GRADIENT]
        raise ValueError(
            f"A counterfactual map negates the class score's gradient "
            f"({METHODS['gradcam'].paper.short}, Sec. 5), and {METHODS[method].label} uses no "
            f"gradient. Counterfactual maps exist for {', '.join(gradient)}."
        )
    return method


def cam_map(method: str, inputs: CamInputs, *, counterfactual: bool = False) -> torch.Tensor:
    """``ReLU(M)``, the (1, 1, h, w) map of ``method`` (a key of :data:`METHODS`) at a layer.

    ``counterfactual=True`` negates the gradient first (Selvaraju et al. 2017, Sec. 5,
    "Counterfactual explanations"): the map then shows the regions whose presence lowers the
    class score, the evidence *against* the class."""
    if counterfactual:
        inputs = dataclasses.replace(inputs, gradient=-inputs.gradient)
    return F.relu(METHODS[method].weigh(inputs))


# --------------------------------------------------------------------------------------------
# Gradient methods: (activation, gradient) -> the map before the ReLU, (1, 1, h, w)
# --------------------------------------------------------------------------------------------


def gradcam(activation: torch.Tensor, gradient: torch.Tensor) -> torch.Tensor:
    """Grad-CAM (Selvaraju et al. 2017, Eq. 1-2):
    ``alpha_k = (1/Z) sum_ij g^k_ij`` and ``M = sum_k alpha_k A^k``.

    The operations and their order are those of captum's LayerGradCam.attribute (the older
    tests' oracle), so captum and pytorch-grad-cam both agree to rounding."""
    alpha = torch.mean(gradient, dim=(2, 3), keepdim=True)
    return torch.sum(alpha * activation, dim=1, keepdim=True)


def gradcam_plusplus(activation: torch.Tensor, gradient: torch.Tensor) -> torch.Tensor:
    """Grad-CAM++ (Chattopadhay et al. 2018), Eq. 19 as pytorch-grad-cam implements it:

        a^k_ij = g^2 / (2 g^2 + sum_ab A^k_ab g^3 + 1e-6),  zero where g^k_ij == 0
        w_k    = sum_ij a^k_ij ReLU(g^k_ij),                 M = sum_k w_k A^k

    Eq. 19 writes the second and third derivatives of exp(y^c) as powers of the first
    derivative; like the library, the powers are applied to the gradient of the logit itself.
    """
    g2 = gradient**2
    g3 = g2 * gradient
    total = torch.sum(activation, dim=(2, 3), keepdim=True)
    aij = g2 / (2 * g2 + total * g3 + GRADCAM_PLUSPLUS_EPS)
    aij = torch.where(gradient != 0, aij, torch.zeros_like(aij))
    weights = torch.sum(F.relu(gradient) * aij, dim=(2, 3), keepdim=True)
    return torch.sum(weights * activation, dim=1, keepdim=True)


def xgradcam(activation: torch.Tensor, gradient: torch.Tensor) -> torch.Tensor:
    """XGrad-CAM (Fu et al. 2020), the axiom-derived weight:
    ``alpha_k = sum_ij (A^k_ij / (sum_ab A^k_ab + 1e-7)) g^k_ij``, ``M = sum_k alpha_k A^k``
    (the epsilon is pytorch-grad-cam's)."""
    total = torch.sum(activation, dim=(2, 3), keepdim=True)
    alpha = torch.sum(gradient * activation / (total + XGRADCAM_EPS), dim=(2, 3), keepdim=True)
    return torch.sum(alpha * activation, dim=1, keepdim=True)


def hirescam(activation: torch.Tensor, gradient: torch.Tensor) -> torch.Tensor:
    """HiResCAM (Draelos & Carin 2020): the element-wise product, ``M = sum_k g^k ⊙ A^k``,
    with no averaging of the gradient over positions (so a position's score is its exact
    first-order contribution when the head is a pooled linear layer)."""
    return torch.sum(gradient * activation, dim=1, keepdim=True)


def layercam(activation: torch.Tensor, gradient: torch.Tensor) -> torch.Tensor:
    """LayerCAM (Jiang et al. 2021): each position weighted by its own positive gradient,
    ``M = sum_k ReLU(g^k) ⊙ A^k``."""
    return torch.sum(F.relu(gradient) * activation, dim=1, keepdim=True)


# --------------------------------------------------------------------------------------------
# Score-CAM
# --------------------------------------------------------------------------------------------


def scorecam_weights(
    model: Callable[[torch.Tensor], torch.Tensor],
    image: torch.Tensor,
    activation: torch.Tensor,
    target: int,
    *,
    batch_size: int | None = None,
    progress: Progress | None = None,
) -> torch.Tensor:
    """Score-CAM's channel weights (Wang et al. 2020):

        H^k   = s(Up(A^k)),  s = min-max to [0, 1]       (the upsampled, normalised map)
        C_k   = y^c(X ⊙ H^k)                              (the score of the masked input)
        alpha = softmax_k(C_k),  M = sum_k alpha_k A^k

    As pytorch-grad-cam: ``Up`` is ``nn.UpsamplingBilinear2d`` to the input's size (that is
    ``align_corners=True``), ``s(u) = (u - min u) / (max u - min u + 1e-8)``, ``y^c`` is the
    logit and the softmax runs over the channels (the paper's baseline ``y^c(X_b)`` is dropped:
    a constant shift that the softmax ignores).

    Channels whose upsampled map is exactly constant (all-zero channels, common after a ReLU)
    get a mask of exact zeros, hence the same masked image ``X ⊙ 0``: it is scored once for
    all of them. The others run in batches of ``batch_size`` masked images (default: the
    entry's, the library's), built one batch at a time. ``progress(done, total)`` is called
    after every batch, counting channels. Returns K weights.
    """
    size = tuple(image.shape[-2:])
    channels = activation.shape[1]
    batch = _batch_size(batch_size, "scorecam")
    with torch.no_grad():
        lows = torch.empty(channels, dtype=activation.dtype, device=activation.device)
        highs = torch.empty_like(lows)
        for start in range(0, channels, batch):
            up = _upsample(activation[:, start : start + batch], size)[0]
            lows[start : start + batch] = up.flatten(1).min(1).values
            highs[start : start + batch] = up.flatten(1).max(1).values
        constant = highs == lows
        varying = torch.nonzero(~constant).flatten().tolist()
        scores = torch.empty(channels, dtype=torch.float32, device=activation.device)
        done = 0
        if bool(constant.any()):
            zero_mask = torch.zeros((1, 1, *size), dtype=image.dtype, device=image.device)
            scores[constant] = model(_layout(image * zero_mask))[0, target].float()
            done = int(constant.sum())
            _report(progress, done, channels)
        for start in range(0, len(varying), batch):
            index = torch.tensor(varying[start : start + batch], device=activation.device)
            up = _upsample(activation[:, index], size)[0]  # (b, H, W)
            low, high = lows[index, None, None], highs[index, None, None]
            masks = (up - low) / (high - low + SCORECAM_EPS)
            scores[index] = model(_layout(image * masks[:, None]))[:, target].float()
            done += len(index)
            _report(progress, done, channels)
    return torch.softmax(scores, dim=0).to(activation.dtype)


def _layout(batch: torch.Tensor) -> torch.Tensor:
    """The masked images in channels-last memory order on the CPU, where oneDNN's convolutions
    run about 10 % faster on it (ResNet-18 at 112 px, batch 16: 10.5 against 11.4 ms per
    image); the values agree to float rounding. Other devices keep their order."""
    if batch.device.type != "cpu":
        return batch
    return batch.contiguous(memory_format=torch.channels_last)


def _upsample(activation: torch.Tensor, size: tuple[int, ...]) -> torch.Tensor:
    """``nn.UpsamplingBilinear2d(size)``, the upsampling pytorch-grad-cam's Score-CAM uses."""
    return F.interpolate(activation, size=size, mode="bilinear", align_corners=True)


# --------------------------------------------------------------------------------------------
# Ablation-CAM
# --------------------------------------------------------------------------------------------


def ablationcam_weights(
    tail: Callable[[torch.Tensor], torch.Tensor],
    activation: torch.Tensor,
    score: float,
    target: int,
    *,
    batch_size: int | None = None,
    progress: Progress | None = None,
) -> torch.Tensor:
    """Ablation-CAM's channel weights (Desai & Ramaswamy 2020): the relative drop of the class
    score when channel k is removed,

        w_k = (y^c - y^c_k) / y^c,   M = sum_k w_k A^k

    where ``y^c_k`` is the logit with channel k of the layer's activation set to the ablation
    value. ``tail`` maps the layer's activation to the logits (the part of the network after
    the layer, :func:`resnet_viz.core.split.split_at`'s ``after``): the activation is ablated
    in place of re-running the network before it, ``batch_size`` ablated copies (default: the
    entry's, the library's) at a time. A channel already equal to the ablation value
    everywhere is not run: removing it changes nothing, so its weight is exactly 0.

    The ablation value, as pytorch-grad-cam's AblationLayer: 0 when the activation's minimum is
    0 (the paper's zeroing; every block of a post-activation ResNet ends in a ReLU), otherwise
    the minimum minus 1e7. One difference: the library evaluates that minimum on the batch
    being ablated, so inside one batch its i-th ablated channel goes to ``min - (i + 1) 1e7``
    and its weights depend on its batch size; here every channel goes to ``min - 1e7``, which
    is the library's result with ``batch_size=1``. ``progress(done, total)`` counts channels.
    """
    channels = activation.shape[1]
    batch = _batch_size(batch_size, "ablationcam")
    with torch.no_grad():
        low = activation.min()
        value = torch.zeros_like(low) if low == 0 else low - ABLATION_VALUE
        unchanged = (activation[0] == value).flatten(1).all(1)
        todo = torch.nonzero(~unchanged).flatten()
        ablated = torch.full((channels,), float(score), dtype=torch.float32)
        ablated = ablated.to(activation.device)
        done = int(unchanged.sum())
        for start in range(0, len(todo), batch):
            index = todo[start : start + batch]
            copies = activation.repeat(len(index), 1, 1, 1)
            copies[torch.arange(len(index), device=copies.device), index] = value
            ablated[index] = tail(copies)[:, target].float()
            done += len(index)
            _report(progress, done, channels)
        weights = (float(score) - ablated) / float(score)
    return weights.to(activation.dtype)


# --------------------------------------------------------------------------------------------
# Eigen-CAM
# --------------------------------------------------------------------------------------------


def eigencam(activation: torch.Tensor) -> torch.Tensor:
    """Eigen-CAM (Muhammad & Yeasin 2020): the activation's projection on its first principal
    direction, before the ReLU,

        A' = the (h w) x K matrix of A with each channel's mean removed,
        A' = U S V^T,   M = A' v_1   (v_1 the first right-singular vector),

    as pytorch-grad-cam's ``get_2d_projection`` computes it (numpy's SVD, NaNs set to 0). It
    uses no class: every class gets the same map.

    Sign: a singular vector is defined only up to its sign (``U S V^T = (-U) S (-V^T)``), and
    the ReLU keeps one side of the projection, so the map can show the complement of what one
    expects. This follows the library exactly (numpy's sign, no correction), so it equals
    pytorch-grad-cam's EigenCAM; ``full_matrices=False`` gives the same first row of ``V^T``
    as the library's ``full_matrices=True`` (checked against the library in the tests) without
    building the (h w) x (h w) matrix ``U``.

    Speed: numpy's OpenBLAS splits this small SVD over its own threads, which then wait on
    the cores torch's threads hold, so it is about a hundred times slower than on one BLAS
    thread (figures: bench/README.md, the CAM methods bench). So the SVD runs on one BLAS
    thread when threadpoolctl is installed (it comes with scikit-learn; same result either way).
    """
    values = activation[0].detach().to("cpu").numpy().copy()
    values[np.isnan(values)] = 0
    channels = values.shape[0]
    matrix = values.reshape(channels, -1).transpose()
    matrix = matrix - matrix.mean(axis=0)
    with _one_blas_thread():
        _, _, vt = np.linalg.svd(matrix, full_matrices=False)
    projection = (matrix @ vt[0, :]).reshape(values.shape[1:])
    result = torch.from_numpy(np.ascontiguousarray(projection, dtype=values.dtype))
    return result.to(activation.device)[None, None]


# --------------------------------------------------------------------------------------------
# Memory: bytes beyond the shared forward pass, per method
# --------------------------------------------------------------------------------------------


def estimate_memory_bytes(
    spec: ResNetSpec,
    input_size: tuple[int, int, int],
    method: str,
    layer: str,
    batch_size: int | None = None,
) -> int:
    """Rough peak memory, in bytes, one map of ``method`` at ``layer`` needs beyond the model's
    weights (float32), from :func:`resnet_viz.summarize`'s activation sizes. The page checks it
    against the device's budget before starting.

    Every method runs the forward pass before the layer, which keeps about three activations
    alive at once (a block's input, its branch and its shortcut): 3 x the largest layer output.
    The method's entry adds its own (its ``memory``), for ``batch_size`` inputs per pass when
    it is batched (None: its default).
    """
    entry = METHODS[check_method(method)]
    stage, block = check_layer(spec, layer)
    layers = summarize(spec, input_size=input_size).layers
    mine = [i for i, r in enumerate(layers) if (r.stage, r.block) == (f"layer{stage + 1}", block)]
    sizes = LayerSizes(
        input_size=input_size,
        activation=layers[mine[-1]].activation_bytes,
        largest=max(r.activation_bytes for r in layers),
        tail=tuple(r.activation_bytes for r in layers[mine[-1] + 1 :]),
    )
    batch = None if entry.default_batch_size is None else _batch_size(batch_size, entry.key)
    return 3 * sizes.largest + entry.memory(sizes, batch)


def _recorded_tail_bytes(sizes: LayerSizes, batch: int | None) -> int:
    """Gradient methods: the part after the layer is recorded for ``autograd.grad``, twice its
    layer outputs (saved tensors and their gradients)."""
    return 2 * sum(sizes.tail)


def _masked_images_bytes(sizes: LayerSizes, batch: int | None) -> int:
    """Score-CAM: per masked image, the image twice (input and product), its mask and its
    forward pass (3 x the largest layer output)."""
    channels, height, width = sizes.input_size
    image = 4 * channels * height * width
    return batch * (2 * image + 4 * height * width + 3 * sizes.largest)


def _ablated_copies_bytes(sizes: LayerSizes, batch: int | None) -> int:
    """Ablation-CAM: per ablated copy of the activation, the copy and the tail's forward on it
    (3 x the tail's largest layer output)."""
    return batch * (sizes.activation + 3 * max(sizes.tail, default=0))


def _svd_copies_bytes(sizes: LayerSizes, batch: int | None) -> int:
    """Eigen-CAM: three copies of the activation (numpy copy, centred matrix, SVD work)."""
    return 3 * sizes.activation


def _channel_weighted(weights: torch.Tensor, activation: torch.Tensor) -> torch.Tensor:
    """``M = sum_k w_k A^k`` from K channel weights."""
    return torch.sum(weights[None, :, None, None] * activation, dim=1, keepdim=True)


def _scorecam(x: CamInputs) -> torch.Tensor:
    """Score-CAM's ``M``: the whole network scores the masked images."""
    weights = scorecam_weights(
        x.network, x.image, x.activation, x.target, batch_size=x.batch_size, progress=x.progress
    )
    return _channel_weighted(weights, x.activation)


def _ablationcam(x: CamInputs) -> torch.Tensor:
    """Ablation-CAM's ``M``: the part after the layer scores the ablated activations."""
    weights = ablationcam_weights(
        x.tail, x.activation, x.score, x.target, batch_size=x.batch_size, progress=x.progress
    )
    return _channel_weighted(weights, x.activation)


# --------------------------------------------------------------------------------------------
# The registry: one entry per method, in the order the page lists them
# --------------------------------------------------------------------------------------------

#: Every method, by key, in the order the page lists them. The only place a method is named.
METHODS: dict[str, CamMethod] = {
    entry.key: entry
    for entry in (
        CamMethod(
            key="gradcam",
            label="Grad-CAM",
            kind=Kind.GRADIENT,
            weigh=lambda x: gradcam(x.activation, x.gradient),
            formula="sum_k mean_ij(g^k) A^k",
            needs="gradient",
            paper=Paper(
                "Selvaraju et al.",
                2017,
                "Grad-CAM: Visual Explanations from Deep Networks via Gradient-based Localization",
                "ICCV, arXiv:1610.02391",
            ),
            memory=_recorded_tail_bytes,
        ),
        CamMethod(
            key="gradcam++",
            label="Grad-CAM++",
            kind=Kind.GRADIENT,
            weigh=lambda x: gradcam_plusplus(x.activation, x.gradient),
            formula="sum_k [sum_ij a^k_ij ReLU(g^k_ij)] A^k",
            needs="gradient",
            paper=Paper(
                "Chattopadhay et al.",
                2018,
                "Grad-CAM++: Improved Visual Explanations for Deep Convolutional Networks",
                "WACV, arXiv:1710.11063",
            ),
            memory=_recorded_tail_bytes,
        ),
        CamMethod(
            key="xgradcam",
            label="XGrad-CAM",
            kind=Kind.GRADIENT,
            weigh=lambda x: xgradcam(x.activation, x.gradient),
            formula="sum_k [sum_ij g^k_ij A^k_ij / sum_ij A^k_ij] A^k",
            needs="gradient",
            paper=Paper(
                "Fu et al.",
                2020,
                "Axiom-based Grad-CAM: Towards Accurate Visualization and Explanation of CNNs",
                "BMVC, arXiv:2008.02312",
            ),
            memory=_recorded_tail_bytes,
        ),
        CamMethod(
            key="hirescam",
            label="HiResCAM",
            kind=Kind.GRADIENT,
            weigh=lambda x: hirescam(x.activation, x.gradient),
            formula="sum_k g^k ⊙ A^k",
            needs="gradient",
            paper=Paper(
                "Draelos & Carin",
                2020,
                "Use HiResCAM instead of Grad-CAM for faithful explanations of convolutional "
                "neural networks",
                "arXiv:2011.08891",
            ),
            memory=_recorded_tail_bytes,
        ),
        CamMethod(
            key="layercam",
            label="LayerCAM",
            kind=Kind.GRADIENT,
            weigh=lambda x: layercam(x.activation, x.gradient),
            formula="sum_k ReLU(g^k) ⊙ A^k",
            needs="gradient",
            paper=Paper(
                "Jiang et al.",
                2021,
                "LayerCAM: Exploring Hierarchical Class Activation Maps for Localization",
                "IEEE Trans. Image Processing 30, doi:10.1109/TIP.2021.3089943",
            ),
            memory=_recorded_tail_bytes,
        ),
        CamMethod(
            key="scorecam",
            label="Score-CAM",
            kind=Kind.PER_CHANNEL,
            weigh=_scorecam,
            formula="sum_k softmax_k(y^c(X ⊙ H^k)) A^k",
            needs="K passes",
            paper=Paper(
                "Wang et al.",
                2020,
                "Score-CAM: Score-Weighted Visual Explanations for Convolutional Neural Networks",
                "CVPR Workshops, arXiv:1910.01279",
            ),
            memory=_masked_images_bytes,
            default_batch_size=16,
        ),
        CamMethod(
            key="ablationcam",
            label="Ablation-CAM",
            kind=Kind.PER_CHANNEL,
            weigh=_ablationcam,
            formula="sum_k (y^c - y^c_k) / y^c A^k",
            needs="K tails",
            paper=Paper(
                "Desai & Ramaswamy",
                2020,
                "Ablation-CAM: Visual Explanations for Deep Convolutional Network via "
                "Gradient-free Localization",
                "WACV",
            ),
            memory=_ablated_copies_bytes,
            default_batch_size=32,
        ),
        CamMethod(
            key="eigencam",
            label="Eigen-CAM",
            kind=Kind.ACTIVATION_ONLY,
            weigh=lambda x: eigencam(x.activation),
            formula="A's projection on its first principal direction",
            needs="SVD",
            paper=Paper(
                "Muhammad & Yeasin",
                2020,
                "Eigen-CAM: Class Activation Map using Principal Components",
                "IJCNN, arXiv:2008.00299",
            ),
            memory=_svd_copies_bytes,
        ),
    )
}

#: Every method, in the order the page lists them.
CAM_METHODS = tuple(METHODS)
#: The methods that weigh the activation by the class score's gradient.
GRADIENT_METHODS = tuple(k for k, m in METHODS.items() if m.kind is Kind.GRADIENT)
#: The methods that run the network once per channel (batched).
PER_CHANNEL_METHODS = tuple(k for k, m in METHODS.items() if m.kind is Kind.PER_CHANNEL)
METHOD_LABELS = {k: m.label for k, m in METHODS.items()}
#: Images (Score-CAM) or activations (Ablation-CAM) per forward pass: pytorch-grad-cam's
#: defaults, so memory matches the reference's batches.
DEFAULT_BATCH_SIZE = {
    k: m.default_batch_size for k, m in METHODS.items() if m.default_batch_size is not None
}


__doc__ = with_table(
    __doc__,
    "[the table of METHODS: each entry's key, formula and cost, filled in on import]",
    rst_table(
        ("method", "M (before the ReLU)", "needs"),
        [(f'``"{m.key}"``', m.formula, m.needs) for m in METHODS.values()],
    ),
)


@functools.cache
def _thread_pools():
    """threadpoolctl's view of the loaded BLAS libraries (found once: 5 ms), or None."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return None
    return ThreadpoolController()


def _one_blas_thread():
    """One BLAS thread for the block, if threadpoolctl is there to set it; else nothing."""
    pools = _thread_pools()
    if pools is None:
        return contextlib.nullcontext()
    return pools.limit(limits=1, user_api="blas")


def _batch_size(batch_size: int | None, method: str) -> int:
    """``batch_size`` checked, or the default of ``method``'s entry when None."""
    if batch_size is None:
        return METHODS[method].default_batch_size
    if not isinstance(batch_size, int) or isinstance(batch_size, bool):
        raise ValueError(f"batch_size must be a whole number; got {batch_size!r}.")
    if not 1 <= batch_size <= MAX_BATCH_SIZE:
        raise ValueError(f"batch_size must be from 1 to {MAX_BATCH_SIZE}; got {batch_size}.")
    return batch_size


def _report(progress: Progress | None, done: int, total: int) -> None:
    if progress is not None:
        progress(done, total)
