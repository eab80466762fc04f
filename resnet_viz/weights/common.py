"""What every source of weights shares: the errors, the preprocessing, the loaded model.

This module does not import streamlit.
"""

from __future__ import annotations

import urllib.error
from dataclasses import dataclass

import torch
from PIL import Image

from ..core.build import ResNet
from ..core.spec import ResNetSpec
from ..data.images import center_crop_for_display, preprocess


@dataclass(frozen=True)
class Preprocessing:
    """How images are prepared for a model: :func:`resnet_viz.data.images.preprocess`'s arguments.

    ``resize=None`` squashes the whole image to ``size`` x ``size`` (the small demo model);
    otherwise the shorter side is resized to ``resize`` and the centre ``size`` square kept.
    """

    size: int
    resize: int | None
    mean: tuple[float, ...]
    std: tuple[float, ...]

    def tensor(self, image: Image.Image) -> torch.Tensor:
        """The (1, 3, size, size) normalised batch the model takes."""
        return preprocess(image, size=self.size, resize=self.resize, mean=self.mean, std=self.std)

    def crop(self, image: Image.Image) -> Image.Image:
        """The RGB image as the model sees it (draw Grad-CAM overlays on this)."""
        return center_crop_for_display(image, size=self.size, resize=self.resize)


@dataclass(frozen=True)
class LoadedModel:
    """A ready model and what the page needs to use and describe it.

    ``model`` is in eval mode on the requested device; ``source`` is a human sentence such as
    ``"torchvision ResNet50_Weights.IMAGENET1K_V2"``; ``name`` is the preset name
    (``"resnet50"``) or ``"demo"``.
    """

    model: ResNet
    spec: ResNetSpec
    categories: list[str]
    preprocessing: Preprocessing
    source: str
    name: str


def failure_reason(exc: object) -> str:
    """A short, user-readable cause for ``exc`` (HTTP status, URL error, or its message)."""
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        return str(exc.reason)
    text = str(exc).strip()
    return text[:200] if text else type(exc).__name__
