"""Where a network puts each image: its pooled penultimate features, projected to two dimensions.

The features are the global-average-pooled output of the last stage (the vector ``fc`` reads:
512 numbers for ResNet-18, 2,048 for ResNet-50), computed in eval mode under
``torch.inference_mode`` in batches, on the model's device, with the model left as found (no
mode change, no gradient). The projection is PCA (Pearson 1901): the features centred, the two
right singular vectors of the largest singular values (``torch.linalg.svd``), each oriented so
that its largest-magnitude entry is positive (a singular vector's sign is arbitrary; fixing it
makes the picture the same on every run). t-SNE and UMAP are not offered: neither scikit-learn
nor umap-learn is a dependency, and PCA's axes mean the same thing before and after training
(a linear map of the features), which is what a before/after picture needs.

This module does not import streamlit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from ..core.build import ResNet
from ..core.spec import SpecError
from .attribution.model_checks import model_device

__all__ = ["DEFAULT_BATCH_SIZE", "Embedding", "embed", "pca_2d", "pooled_features"]

DEFAULT_BATCH_SIZE = 64


@dataclass(frozen=True, eq=False)
class Embedding:
    """Pooled features and their 2-D PCA projection.

    Attributes:
        features: float32 N x F, the pooled penultimate features.
        points: float32 N x 2, the features' coordinates on the first two principal axes.
        explained: the share of the features' variance each axis carries (two numbers).
    """

    features: np.ndarray
    points: np.ndarray
    explained: tuple[float, float]


def pooled_features(
    model: ResNet, images: torch.Tensor, *, batch_size: int = DEFAULT_BATCH_SIZE
) -> torch.Tensor:
    """The pooled features (N x F, float32, on the CPU) of a batch of preprocessed images."""
    if not isinstance(images, torch.Tensor) or images.dim() != 4:
        raise SpecError("images must be a batch of preprocessed images, shape (N, C, H, W).")
    if model.training:
        raise SpecError("The model must be in eval mode (call .eval() on it first).")
    device = model_device(model)
    out = []
    with torch.inference_mode():
        for start in range(0, len(images), batch_size):
            x = images[start : start + batch_size].to(device)
            out.append(model.pooled(model.features(x)).float().cpu())
    if not out:
        return torch.zeros(0, model.fc.in_features)
    return torch.cat(out)


def pca_2d(features: np.ndarray | torch.Tensor) -> tuple[np.ndarray, tuple[float, float]]:
    """The N x 2 PCA coordinates of ``features`` (N x F) and each axis's share of the variance
    (see the module docstring for the sign convention). Fewer than two images, or features
    with no variance, give zeros."""
    x = torch.as_tensor(np.asarray(features, dtype=np.float64))
    if x.dim() != 2:
        raise SpecError("features must be a matrix, one row per image.")
    centred = x - x.mean(0, keepdim=True)
    if len(x) < 2 or not bool(centred.abs().max() > 0):
        return np.zeros((len(x), 2), dtype=np.float32), (0.0, 0.0)
    _, singular, vh = torch.linalg.svd(centred, full_matrices=False)
    axes = vh[:2]
    flip = torch.sign(axes.gather(1, axes.abs().argmax(1, keepdim=True)))
    axes = axes * flip
    points = centred @ axes.T
    if points.shape[1] < 2:
        points = torch.cat([points, torch.zeros(len(x), 2 - points.shape[1], dtype=x.dtype)], 1)
    variance = singular**2
    shares = [*(variance[:2] / variance.sum()).tolist(), 0.0]
    return points.numpy().astype(np.float32), (float(shares[0]), float(shares[1]))


def embed(
    model: ResNet,
    images: torch.Tensor | Sequence[Image.Image],
    *,
    preprocessing=None,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> Embedding:
    """The pooled features of ``images`` under ``model`` and their 2-D PCA projection.

    Args:
        model: the app's ResNet in eval mode (left as found).
        images: a preprocessed batch (N, C, H, W), or PIL images with ``preprocessing`` (a
            :class:`~resnet_viz.weights.common.Preprocessing`: its evaluation transform).
        batch_size: images per forward pass.

    Raises:
        SpecError: malformed images, PIL images without a preprocessing, a model in train mode.
    """
    if not isinstance(images, torch.Tensor):
        if preprocessing is None:
            raise SpecError("PIL images need the model's preprocessing to become tensors.")
        images = (
            torch.cat([preprocessing.tensor(image) for image in images])
            if len(images)
            else torch.zeros(0, model.spec.in_channels, preprocessing.size, preprocessing.size)
        )
    features = pooled_features(model, images, batch_size=batch_size)
    points, explained = pca_2d(features.numpy())
    return Embedding(features=features.numpy(), points=points, explained=explained)
