"""Uploaded checkpoints: untrusted bytes that should hold a state_dict for a chosen network.

Only ``torch.load(..., weights_only=True)`` ever touches them, which refuses pickled code
(PyTorch docs, ``torch.load``: "weights_only=True ... limits the functions executed during
unpickling to merely those needed for loading tensors, primitive types and dictionaries").
Before that, the size is capped and the container must look like a PyTorch file (no zip
bombs); after it, :func:`~resnet_viz.weights.assemble.assemble` checks every key, shape and
value against the network.

This module does not import streamlit.
"""

from __future__ import annotations

import io
import pickle
import zipfile
from dataclasses import dataclass

import torch

from ..core.build import ResNet
from ..core.from_weights import (
    SpecReading,
    read_state_dict,
    unwrap_state_dict,
)
from ..core.layout import check_weight_budget
from ..core.spec import ResNetSpec, SpecError
from ..data.images import describe_format
from ..errors import CheckpointError
from .assemble import assemble
from .checkpoint import app_fields
from .common import Preprocessing, failure_reason

MAX_CHECKPOINT_BYTES = 1_000_000_000
"""Largest checkpoint upload accepted (1 GB). The biggest preset, Wide ResNet-50-2, is 264 MB
of float32 weights; a file several times larger is not a checkpoint of these networks."""


def load_checkpoint(
    data: bytes, spec: ResNetSpec, *, max_bytes: int = MAX_CHECKPOINT_BYTES
) -> ResNet:
    """A ``build_model(spec)`` network (eval mode, CPU) with the weights in uploaded ``data``.

    Accepts what ``torch.save(model.state_dict(), f)`` writes, also nested in a dict under
    ``"state_dict"``, ``"model"``, ``"model_state_dict"``, ``"net"`` or ``"network"`` (other
    entries such as ``"epoch"`` or ``"optimizer"`` are ignored), with or without the
    ``"module."`` prefix of ``nn.DataParallel`` (or torch.compile's ``"_orig_mod."``).

    Safety: the bytes are only ever read by ``torch.load(..., weights_only=True)``, which
    refuses anything but tensors and plain containers, so a pickle carrying code is rejected
    without running it. Before that, the size is capped, the container must look like a
    PyTorch file, and a ZIP's declared contents may not exceed ``max_bytes`` either (no zip
    bombs). Every value must be a dense, finite tensor.

    Raises:
        CheckpointError: anything else, with a message that says what differs (keys and
            shapes, first few of each) and, when the weights fit another preset, which.
    """
    state = read_uploaded_state_dict(data, max_bytes=max_bytes)
    check_weight_budget(spec)
    return assemble(spec, state, CheckpointError)


def _check_container(data: object, max_bytes: int) -> bytes:
    if not isinstance(data, bytes | bytearray | memoryview):
        raise CheckpointError(f"Expected the bytes of a file, got {type(data).__name__}.")
    raw = bytes(data)
    if not raw:
        raise CheckpointError("This file is empty.")
    if len(raw) > max_bytes:
        raise CheckpointError(
            f"This file is {len(raw) / 1e6:,.1f} MB; the limit is {max_bytes / 1e6:,.0f} MB."
        )
    if raw.startswith(b"PK\x03\x04"):
        _check_zip(raw, max_bytes)
    elif not raw.startswith(b"\x80"):  # torch's legacy format is a protocol-2 pickle
        what = describe_format(raw)
        looks = f" (it looks like {what})" if what else ""
        raise CheckpointError(
            f"This file is not a PyTorch checkpoint{looks}. Upload the .pt/.pth file written by "
            "torch.save(model.state_dict(), path)."
        )
    return raw


def _check_zip(raw: bytes, max_bytes: int) -> None:
    """A PyTorch zip stores its tensors uncompressed; refuse archives that would inflate."""
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise CheckpointError(
            "This file starts like a ZIP archive (the format torch.save writes) but is "
            "truncated or corrupt."
        ) from exc
    if sum(e.file_size for e in entries) > max_bytes:
        raise CheckpointError(
            f"This archive would unpack to more than {max_bytes / 1e6:,.0f} MB; refused."
        )
    if not any(e.filename.endswith("data.pkl") for e in entries):
        raise CheckpointError(
            "This is a ZIP archive but not a PyTorch checkpoint (it has no data.pkl). Upload "
            "the .pt/.pth file written by torch.save(model.state_dict(), path)."
        )


def _load_failure(raw: bytes, exc: Exception) -> str:
    if isinstance(exc, pickle.UnpicklingError) or "weights_only" in str(exc):
        return (
            "This file contains Python objects other than tensors (for example a whole model "
            "saved with torch.save(model), or code), and uploads may only hold weights. Save "
            "model.state_dict() instead. Nothing in the file was run."
        )
    return f"This file could not be read as a PyTorch checkpoint ({failure_reason(exc)})."


def _state_dict_of(loaded: object) -> dict[str, torch.Tensor]:
    """The state_dict in ``loaded``: itself, or nested under a usual key; prefixes stripped."""
    try:
        return unwrap_state_dict(loaded)
    except SpecError as error:
        raise CheckpointError(str(error)) from None


def read_uploaded_state_dict(data: bytes, *, max_bytes: int = MAX_CHECKPOINT_BYTES) -> dict:
    """The state_dict in uploaded ``data``, read as :func:`load_checkpoint` reads it (size cap,
    container check, ``torch.load(weights_only=True)``, unwrapping), without a network yet.

    Raises:
        CheckpointError: with a message for the user; nothing in the file was run.
    """
    return _state_dict_of(_loaded(data, max_bytes))


def _loaded(data: bytes, max_bytes: int) -> object:
    """What ``torch.load(weights_only=True)`` reads from checked ``data``."""
    raw = _check_container(data, max_bytes)
    try:
        return torch.load(io.BytesIO(raw), map_location="cpu", weights_only=True)
    except Exception as exc:
        raise CheckpointError(_load_failure(raw, exc)) from exc


@dataclass(frozen=True, eq=False)
class OpenedFile:
    """An opened checkpoint: the network read from its weights, the model holding them, and
    the class names and preprocessing the file carries when it is in the app's own format
    (:func:`~resnet_viz.weights.checkpoint.app_fields`; ``None`` otherwise)."""

    reading: SpecReading
    model: ResNet
    classes: tuple[str, ...] | None = None
    preprocessing: Preprocessing | None = None


def open_checkpoint_file(data: bytes, *, max_bytes: int = MAX_CHECKPOINT_BYTES) -> OpenedFile:
    """:func:`open_checkpoint`, with the class names and preprocessing an app-format file
    carries (the file read once).

    Raises:
        CheckpointError: unreadable, hostile or not a buildable ResNet, said in plain words.
    """
    loaded = _loaded(data, max_bytes)
    state = _state_dict_of(loaded)
    try:
        reading = read_state_dict(state)
        check_weight_budget(reading.spec)
    except SpecError as error:
        raise CheckpointError(str(error)) from None
    model = assemble(reading.spec, state, CheckpointError)
    classes, preprocessing = app_fields(loaded, reading.spec)
    return OpenedFile(reading, model, classes, preprocessing)


def open_checkpoint(
    data: bytes, *, max_bytes: int = MAX_CHECKPOINT_BYTES
) -> tuple[SpecReading, ResNet]:
    """An uploaded checkpoint of any ResNet this app can build: the network read from its keys
    and shapes (:func:`~resnet_viz.core.from_weights.read_state_dict`, with what it had to
    assume) and the model holding its weights (eval mode, CPU).

    Raises:
        CheckpointError: unreadable, hostile or not a buildable ResNet, said in plain words.
    """
    opened = open_checkpoint_file(data, max_bytes=max_bytes)
    return opened.reading, opened.model
