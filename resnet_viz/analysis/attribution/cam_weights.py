"""How each class activation map weighs a layer's activation: the formulas, one function each.

The registry in :mod:`.methods` names each method and points at its function here; the
functions follow pytorch-grad-cam 1.5.7 down to its epsilons and default batch sizes (the tests
compare them on the same model, layer and class). Score-CAM and Ablation-CAM run the network (or
the part after the layer) once per channel, in batches; Eigen-CAM needs only the activation. No
function touches a model's parameters, registers a hook or calls ``backward``.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812 (PyTorch's own convention)

MAX_BATCH_SIZE = 512
#: pytorch-grad-cam's epsilons (grad_cam_plusplus.py, xgrad_cam.py, score_cam.py).
GRADCAM_PLUSPLUS_EPS = 1e-6
XGRADCAM_EPS = 1e-7
SCORECAM_EPS = 1e-8
#: How far below the activation's minimum Ablation-CAM sets a channel when that minimum is
#: not 0 (pytorch-grad-cam's ablation_layer.py); with a minimum of 0 the channel is zeroed.
ABLATION_VALUE = 1e7

#: Images (Score-CAM) or activations (Ablation-CAM) per forward pass by default:
#: pytorch-grad-cam's, so memory matches the reference's batches.
SCORECAM_BATCH = 16
ABLATIONCAM_BATCH = 32

Progress = Callable[[int, int], None]


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
    batch = check_batch_size(batch_size, SCORECAM_BATCH)
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
    batch = check_batch_size(batch_size, ABLATIONCAM_BATCH)
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


def check_batch_size(batch_size: int | None, default: int) -> int:
    """``batch_size`` checked, or ``default`` when None."""
    if batch_size is None:
        return default
    if not isinstance(batch_size, int) or isinstance(batch_size, bool):
        raise ValueError(f"batch_size must be a whole number; got {batch_size!r}.")
    if not 1 <= batch_size <= MAX_BATCH_SIZE:
        raise ValueError(f"batch_size must be from 1 to {MAX_BATCH_SIZE}; got {batch_size}.")
    return batch_size


def _report(progress: Progress | None, done: int, total: int) -> None:
    if progress is not None:
        progress(done, total)
