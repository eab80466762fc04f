"""Trained weights: torchvision's ImageNet models, the app's own checkpoints, uploaded files.

Three sources, one result (:class:`LoadedModel`, except for uploads, which give a module):

- :mod:`.imagenet`: torchvision's ImageNet weights, from the torch.hub cache or downloaded with
  progress and a SHA-256 check (:func:`load_imagenet_model`).
- :mod:`.checkpoint`: the app's own format ``"resnet-viz-demo/1"`` (the bundled demo model and
  the lesion page's pair), its one writer and its reader (:func:`load_demo_model`).
- :mod:`.uploads`: uploaded checkpoints, untrusted bytes read only with
  ``torch.load(..., weights_only=True)`` (:func:`load_checkpoint`).

All of them load into :func:`resnet_viz.build_model` networks with ``strict=True``
(:mod:`.assemble`): the module names are torchvision's, so every key and shape must match.

This package does not import streamlit.
"""

from __future__ import annotations

from ..core.from_weights import NESTED_KEYS, WRAPPER_PREFIXES
from ..errors import CheckpointError, WeightsError, WeightsUnavailable
from .assemble import LIST_LIMIT, assemble, describe_mismatch, suggest_architecture
from .checkpoint import (
    CHECKPOINT_FORMAT,
    DEMO_CHECKPOINT,
    Checkpoint,
    load_demo_model,
    read_checkpoint,
    write_checkpoint,
)
from .common import LoadedModel, Preprocessing
from .imagenet import (
    DOWNLOAD_CHUNK,
    DOWNLOAD_TIMEOUT_S,
    HASH_REGEX,
    IMAGENET_MODELS,
    NETWORK_ERRORS,
    Progress,
    download_weights,
    imagenet_preprocessing,
    imagenet_weights,
    load_imagenet_model,
    weights_path,
    weights_url,
)
from .uploads import (
    MAX_CHECKPOINT_BYTES,
    OpenedFile,
    load_checkpoint,
    open_checkpoint,
    open_checkpoint_file,
    read_uploaded_state_dict,
)

#: The format tag of the bundled demo model (the one format the app writes).
DEMO_FORMAT = CHECKPOINT_FORMAT

__all__ = [
    "CHECKPOINT_FORMAT",
    "DEMO_CHECKPOINT",
    "DEMO_FORMAT",
    "DOWNLOAD_CHUNK",
    "DOWNLOAD_TIMEOUT_S",
    "HASH_REGEX",
    "IMAGENET_MODELS",
    "LIST_LIMIT",
    "MAX_CHECKPOINT_BYTES",
    "NESTED_KEYS",
    "NETWORK_ERRORS",
    "WRAPPER_PREFIXES",
    "Checkpoint",
    "CheckpointError",
    "LoadedModel",
    "OpenedFile",
    "Preprocessing",
    "Progress",
    "WeightsError",
    "WeightsUnavailable",
    "assemble",
    "describe_mismatch",
    "download_weights",
    "imagenet_preprocessing",
    "imagenet_weights",
    "load_checkpoint",
    "load_demo_model",
    "load_imagenet_model",
    "open_checkpoint",
    "open_checkpoint_file",
    "read_checkpoint",
    "read_uploaded_state_dict",
    "suggest_architecture",
    "weights_path",
    "weights_url",
    "write_checkpoint",
]
