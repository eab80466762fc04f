"""Eight class activation maps: how each method weighs a layer's feature maps.

Every method here produces a map ``L = ReLU(M)`` over the positions of one layer's activation
``A`` (shape 1 x K x h x w, K channels). They differ in how ``M`` is built:

======================  ===========================================================  =========
method                  M (before the ReLU)                                         needs
======================  ===========================================================  =========
``"gradcam"``           sum_k mean_ij(g^k) A^k                                       gradient
``"gradcam++"``         sum_k [sum_ij a^k_ij ReLU(g^k_ij)] A^k                       gradient
``"xgradcam"``          sum_k [sum_ij g^k_ij A^k_ij / sum_ij A^k_ij] A^k             gradient
``"hirescam"``          sum_k g^k ⊙ A^k                                              gradient
``"layercam"``          sum_k ReLU(g^k) ⊙ A^k                                        gradient
``"scorecam"``          sum_k softmax_k(y^c(X ⊙ H^k)) A^k                            K passes
``"ablationcam"``       sum_k (y^c - y^c_k) / y^c A^k                                K tails
``"eigencam"``          A's projection on its first principal direction              SVD
======================  ===========================================================  =========

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

No function here touches a model's parameters, registers a hook or calls ``backward``; the
caller holds the model's lock (:func:`resnet_viz.runtime.locks.model_lock`). This module does
not import streamlit.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812 (PyTorch's own convention)

from ...core.spec import ResNetSpec
from ...core.split import check_layer
from ...core.summary import summarize

__all__ = [
    "ABLATION_VALUE",
    "CAM_METHODS",
    "DEFAULT_BATCH_SIZE",
    "GRADIENT_METHODS",
    "METHOD_LABELS",
    "PER_CHANNEL_METHODS",
    "check_method",
    "estimate_memory_bytes",
    "forward_passes",
]

#: Every method, in the order the page lists them.
CAM_METHODS = (
    "gradcam",
    "gradcam++",
    "xgradcam",
    "hirescam",
    "layercam",
    "scorecam",
    "ablationcam",
    "eigencam",
)
#: The methods that weigh the activation by the class score's gradient.
GRADIENT_METHODS = CAM_METHODS[:5]
#: The methods that run the network once per channel (batched).
PER_CHANNEL_METHODS = ("scorecam", "ablationcam")
METHOD_LABELS = {
    "gradcam": "Grad-CAM",
    "gradcam++": "Grad-CAM++",
    "xgradcam": "XGrad-CAM",
    "hirescam": "HiResCAM",
    "layercam": "LayerCAM",
    "scorecam": "Score-CAM",
    "ablationcam": "Ablation-CAM",
    "eigencam": "Eigen-CAM",
}
#: Images (Score-CAM) or activations (Ablation-CAM) per forward pass: pytorch-grad-cam's
#: defaults (16 and 32), so memory matches the reference's batches.
DEFAULT_BATCH_SIZE = {"scorecam": 16, "ablationcam": 32}
MAX_BATCH_SIZE = 512
#: pytorch-grad-cam's epsilons (grad_cam_plusplus.py, xgrad_cam.py, score_cam.py).
GRADCAM_PLUSPLUS_EPS = 1e-6
XGRADCAM_EPS = 1e-7
SCORECAM_EPS = 1e-8
#: How far below the activation's minimum Ablation-CAM sets a channel when that minimum is
#: not 0 (pytorch-grad-cam's ablation_layer.py); with a minimum of 0 the channel is zeroed.
ABLATION_VALUE = 1e7

Progress = Callable[[int, int], None]


def check_method(method: object, counterfactual: bool = False) -> str:
    """``method`` if it is one of :data:`CAM_METHODS`; a ValueError naming them otherwise.

    ``counterfactual`` (the negated gradient, Selvaraju et al. 2017 Sec. 5) exists only for
    the gradient methods; asking it of another is a ValueError that says why.
    """
    if not isinstance(method, str) or method not in CAM_METHODS:
        raise ValueError(f"Unknown CAM method {method!r}; use one of {', '.join(CAM_METHODS)}.")
    if counterfactual and method not in GRADIENT_METHODS:
        raise ValueError(
            f"A counterfactual map negates the class score's gradient (Selvaraju et al. 2017, "
            f"Sec. 5), and {METHOD_LABELS[method]} uses no gradient. Counterfactual maps exist "
            f"for {', '.join(METHOD_LABELS[m] for m in GRADIENT_METHODS)}."
        )
    return method


# --------------------------------------------------------------------------------------------
# Gradient methods: (activation, gradient) -> the map before the ReLU, (1, 1, h, w)
# --------------------------------------------------------------------------------------------


def gradcam(activation: torch.Tensor, gradient: torch.Tensor) -> torch.Tensor:
    """Grad-CAM (Selvaraju et al. 2017, arXiv:1610.02391, Eq. 1-2):
    ``alpha_k = (1/Z) sum_ij g^k_ij`` and ``M = sum_k alpha_k A^k``.

    The operations and their order are those of captum's LayerGradCam.attribute (the older
    tests' oracle), so captum and pytorch-grad-cam both agree to rounding."""
    alpha = torch.mean(gradient, dim=(2, 3), keepdim=True)
    return torch.sum(alpha * activation, dim=1, keepdim=True)


def gradcam_plusplus(activation: torch.Tensor, gradient: torch.Tensor) -> torch.Tensor:
    """Grad-CAM++ (Chattopadhay et al. 2018, "Grad-CAM++: Improved Visual Explanations for Deep
    Convolutional Networks", WACV, arXiv:1710.11063), Eq. 19 as pytorch-grad-cam implements it:

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
    """XGrad-CAM (Fu et al. 2020, "Axiom-based Grad-CAM: Towards Accurate Visualization and
    Explanation of CNNs", BMVC, arXiv:2008.02312), the axiom-derived weight:
    ``alpha_k = sum_ij (A^k_ij / (sum_ab A^k_ab + 1e-7)) g^k_ij``, ``M = sum_k alpha_k A^k``
    (the epsilon is pytorch-grad-cam's)."""
    total = torch.sum(activation, dim=(2, 3), keepdim=True)
    alpha = torch.sum(gradient * activation / (total + XGRADCAM_EPS), dim=(2, 3), keepdim=True)
    return torch.sum(alpha * activation, dim=1, keepdim=True)


def hirescam(activation: torch.Tensor, gradient: torch.Tensor) -> torch.Tensor:
    """HiResCAM (Draelos & Carin 2020, "Use HiResCAM instead of Grad-CAM for faithful
    explanations of convolutional neural networks", arXiv:2011.08891): the element-wise
    product, ``M = sum_k g^k ⊙ A^k``, with no averaging of the gradient over positions (so a
    position's score is its exact first-order contribution when the head is a pooled linear
    layer)."""
    return torch.sum(gradient * activation, dim=1, keepdim=True)


def layercam(activation: torch.Tensor, gradient: torch.Tensor) -> torch.Tensor:
    """LayerCAM (Jiang et al. 2021, "LayerCAM: Exploring Hierarchical Class Activation Maps
    for Localization", IEEE Trans. Image Processing 30, doi:10.1109/TIP.2021.3089943): each
    position weighted by its own positive gradient, ``M = sum_k ReLU(g^k) ⊙ A^k``."""
    return torch.sum(F.relu(gradient) * activation, dim=1, keepdim=True)


_GRADIENT_WEIGHTING = {
    "gradcam": gradcam,
    "gradcam++": gradcam_plusplus,
    "xgradcam": xgradcam,
    "hirescam": hirescam,
    "layercam": layercam,
}


def gradient_map(
    method: str, activation: torch.Tensor, gradient: torch.Tensor, *, counterfactual: bool = False
) -> torch.Tensor:
    """``ReLU(M)`` for a gradient method, a (1, 1, h, w) map.

    ``counterfactual=True`` negates the gradient first (Selvaraju et al. 2017, Sec. 5,
    "Counterfactual explanations"): the map then shows the regions whose presence lowers the
    class score, the evidence *against* the class."""
    if counterfactual:
        gradient = -gradient
    return F.relu(_GRADIENT_WEIGHTING[method](activation, gradient))


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
    """Score-CAM's channel weights (Wang et al. 2020, "Score-CAM: Score-Weighted Visual
    Explanations for Convolutional Neural Networks", CVPR Workshops, arXiv:1910.01279):

        H^k   = s(Up(A^k)),  s = min-max to [0, 1]       (the upsampled, normalised map)
        C_k   = y^c(X ⊙ H^k)                              (the score of the masked input)
        alpha = softmax_k(C_k),  M = sum_k alpha_k A^k

    As pytorch-grad-cam: ``Up`` is ``nn.UpsamplingBilinear2d`` to the input's size (that is
    ``align_corners=True``), ``s(u) = (u - min u) / (max u - min u + 1e-8)``, ``y^c`` is the
    logit and the softmax runs over the channels (the paper's baseline ``y^c(X_b)`` is dropped:
    a constant shift that the softmax ignores).

    Channels whose upsampled map is exactly constant (all-zero channels, common after a ReLU)
    get a mask of exact zeros, hence the same masked image ``X ⊙ 0``: it is scored once for
    all of them. The others run in batches of ``batch_size`` masked images (default 16, the
    library's), built one batch at a time. ``progress(done, total)`` is called after every
    batch, counting channels. Returns K weights.
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
    """Ablation-CAM's channel weights (Desai & Ramaswamy 2020, "Ablation-CAM: Visual
    Explanations for Deep Convolutional Network via Gradient-free Localization", WACV): the
    relative drop of the class score when channel k is removed,

        w_k = (y^c - y^c_k) / y^c,   M = sum_k w_k A^k

    where ``y^c_k`` is the logit with channel k of the layer's activation set to the ablation
    value. ``tail`` maps the layer's activation to the logits (the part of the network after
    the layer, :func:`resnet_viz.core.split.split_at`'s ``after``): the activation is ablated
    in place of re-running the network before it, ``batch_size`` ablated copies (default 32)
    at a time. A channel already equal to the ablation value everywhere is not run: removing
    it changes nothing, so its weight is exactly 0.

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
    """Eigen-CAM (Muhammad & Yeasin 2020, "Eigen-CAM: Class Activation Map using Principal
    Components", IJCNN, arXiv:2008.00299): the activation's projection on its first principal
    direction,

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
    the cores torch's threads hold: on a 2-core machine the 49 x 2048 SVD of ResNet-50's layer4
    took 0.2-0.7 s that way and 5 ms on one BLAS thread. So the SVD runs on one BLAS thread
    when threadpoolctl is installed (it comes with scikit-learn; same result either way).
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
    return F.relu(result.to(activation.device)[None, None])


# --------------------------------------------------------------------------------------------
# Costs
# --------------------------------------------------------------------------------------------


def forward_passes(method: str, channels: int) -> int:
    """Forward passes (of the whole network, or for Ablation-CAM of the part after the layer)
    one map costs beyond the first forward, at most: K for the per-channel methods, 0 else."""
    return channels if check_method(method) in PER_CHANNEL_METHODS else 0


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

    - every method: the forward pass before the layer keeps about three activations alive at
      once (a block's input, its branch and its shortcut): 3 x the largest layer output;
    - gradient methods: the part after the layer is recorded for ``autograd.grad``: twice its
      layer outputs (saved tensors and their gradients);
    - Score-CAM: ``batch_size`` masked images, their masks, and the forward of that batch
      (3 x the largest layer output per image);
    - Ablation-CAM: ``batch_size`` copies of the activation and the tail's forward on them;
    - Eigen-CAM: three copies of the activation (numpy copy, centred matrix, SVD work).
    """
    method = check_method(method)
    stage, block = check_layer(spec, layer)
    layers = summarize(spec, input_size=input_size).layers
    mine = [i for i, r in enumerate(layers) if (r.stage, r.block) == (f"layer{stage + 1}", block)]
    output = layers[mine[-1]].activation_bytes  # the layer's activation A
    tail = layers[mine[-1] + 1 :]
    largest = max(r.activation_bytes for r in layers)
    tail_largest = max((r.activation_bytes for r in tail), default=0)
    base = 3 * largest
    if method in GRADIENT_METHODS:
        return base + 2 * sum(r.activation_bytes for r in tail)
    if method == "eigencam":
        return base + 3 * output
    batch = _batch_size(batch_size, method)
    if method == "scorecam":
        _, height, width = input_size
        image = 4 * input_size[0] * height * width
        return base + batch * (2 * image + 4 * height * width + 3 * largest)
    return base + batch * (output + 3 * tail_largest)


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
    if batch_size is None:
        return DEFAULT_BATCH_SIZE[method]
    if not isinstance(batch_size, int) or isinstance(batch_size, bool):
        raise ValueError(f"batch_size must be a whole number; got {batch_size!r}.")
    if not 1 <= batch_size <= MAX_BATCH_SIZE:
        raise ValueError(f"batch_size must be from 1 to {MAX_BATCH_SIZE}; got {batch_size}.")
    return batch_size


def _report(progress: Progress | None, done: int, total: int) -> None:
    if progress is not None:
        progress(done, total)
