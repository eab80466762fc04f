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

import dataclasses
import enum
from collections.abc import Callable
from dataclasses import dataclass

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

from .cam_weights import (
    ABLATION_VALUE,
    ABLATIONCAM_BATCH,
    SCORECAM_BATCH,
    Progress,
    ablationcam_weights,
    check_batch_size,
    eigencam,
    gradcam,
    gradcam_plusplus,
    hirescam,
    layercam,
    scorecam_weights,
    xgradcam,
)

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
    batch = (
        None
        if entry.default_batch_size is None
        else check_batch_size(batch_size, entry.default_batch_size)
    )
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
            default_batch_size=SCORECAM_BATCH,
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
            default_batch_size=ABLATIONCAM_BATCH,
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
