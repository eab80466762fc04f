"""What every source of weights shares: the errors, the preprocessing, the loaded model.

This module does not import streamlit.
"""

from __future__ import annotations

import urllib.error
from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image

from ..core.build import ResNet
from ..core.spec import ResNetSpec
from ..data.images import center_crop_for_display, preprocess


class WeightsError(RuntimeError):
    """Weights that could not be obtained or read; ``str(error)`` is meant for the user."""


class WeightsUnavailable(WeightsError):  # noqa: N818 (the name the page uses)
    """The weights file is not cached and could not be downloaded (usually: no network).

    ``filename``, ``folder`` and ``url`` say where the file comes from and where to put it by
    hand; the page adds what it does instead (show the demo model).
    """

    def __init__(self, message: str, *, filename: str, folder: Path, url: str) -> None:
        super().__init__(message)
        self.filename = filename
        self.folder = folder
        self.url = url


class CheckpointError(ValueError):
    """An uploaded file that is not a usable checkpoint for the chosen network."""


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
