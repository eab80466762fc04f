"""What a model was trained on, and whether an image lies outside it.

A classifier names one of its classes whatever it is shown: the bundled demo model calls a
photograph of a cat "cross, 99 %" because crosses are among the seven synthetic shapes it has
ever seen. The page must say so next to the answer.

The rule, defined here once, decides by where the image comes from, not by guessing from its
pixels:

- the demo model was trained on the app's synthetic shapes
  (:mod:`resnet_viz.data.synthetic_shapes`), so only the bundled shape samples (made by the
  same generator) are inside its training data; every other image (any upload, any photo) is
  outside it. Pixel statistics are not used to clear an upload: the shapes' colours are drawn
  at random, so colour statistics close to theirs would not make an image a shape;
- the ImageNet models were trained on photographs of ImageNet's 1000 classes, so a synthetic
  shape is outside their training data; a photo may or may not show one of their classes,
  which the app cannot know, so it says nothing;
- of an uploaded checkpoint the app does not know the training data, so it says nothing.

This module does not import streamlit.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass

from ..core.presets import PRESETS
from ..data.samples import bundled_samples
from .common import LoadedModel
from .imagenet import IMAGENET_MODELS

__all__ = ["TrainedOn", "bundled_shape_digests", "outside_training", "trained_on"]


@dataclass(frozen=True)
class TrainedOn:
    """A model's training data: what it was (for a sentence), and whether it was the app's
    synthetic shapes."""

    what: str
    synthetic: bool


SHAPES = "synthetic shapes"


def trained_on(loaded: LoadedModel) -> TrainedOn | None:
    """The training data of the demo model and of the ImageNet models; ``None`` for a
    checkpoint (unknown to the app)."""
    if loaded.name == "demo":
        classes = ", ".join(loaded.categories)
        return TrainedOn(f"{SHAPES} only ({len(loaded.categories)} classes: {classes})", True)
    if loaded.name in IMAGENET_MODELS:
        return TrainedOn(f"ImageNet photographs ({len(loaded.categories)} classes)", False)
    return None


@functools.cache
def bundled_shape_digests() -> frozenset[str]:
    """SHA-256 of every bundled synthetic-shape sample (``assets/samples/shapes_*.png``)."""
    return frozenset(hashlib.sha256(s.read()).hexdigest() for s in bundled_samples() if s.synthetic)


def outside_training(loaded: LoadedModel, data: bytes) -> str | None:
    """Why the image ``data`` lies outside what ``loaded`` was trained on (a sentence for the
    page), or ``None`` when it does not or the app cannot tell (the rule: module docstring)."""
    known = trained_on(loaded)
    if known is None:
        return None
    shape = hashlib.sha256(data).hexdigest() in bundled_shape_digests()
    name = model_name(loaded)
    if known.synthetic and not shape:
        return (
            f"The {name} was trained on {known.what}, and this image is not one of the "
            f"bundled shape samples: whatever it shows, the model can only name one of its "
            f"{len(loaded.categories)} shapes, so its answer and its map say nothing about "
            "this image. Pick an ImageNet model to explain a photograph."
        )
    if not known.synthetic and shape:
        return (
            f"{name} was trained on {known.what}; a synthetic shape is none of them, so "
            "its answer and its map say little. The demo model was trained on such shapes."
        )
    return None


def model_name(loaded: LoadedModel) -> str:
    """The model that actually ran, in a few words, for headings and captions."""
    if loaded.name == "demo":
        return "demo shapes ResNet"
    if loaded.name in IMAGENET_MODELS:
        return f"{PRESETS[loaded.name].label} (ImageNet)"
    return loaded.source
