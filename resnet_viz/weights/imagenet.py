"""torchvision's ImageNet weights: which networks have them, where the file is, how to get it.

Through the Weights API (``torchvision.models.get_model_weights(name).DEFAULT``): the class
names come from ``weights.meta["categories"]`` and the preprocessing from
``weights.transforms()`` (torchvision docs, "Models and pre-trained weights"). The networks are
the presets that name a torchvision builder (:data:`~resnet_viz.core.presets.PRESETS`), so the
list is kept in one place.

The file is the one torch.hub caches, in ``$TORCH_HOME/hub/checkpoints``
(``~/.cache/torch/hub/checkpoints`` by default), so a file torchvision already downloaded is
reused, and a machine without network can be given the file by hand. The download is our own
(chunked, with a progress callback the page turns into a progress bar) and verifies the SHA-256
prefix in the file name exactly as ``torch.hub.load_state_dict_from_url(check_hash=True)``
does, then renames atomically, so a half-written file is never mistaken for the weights. A
cached file is not re-hashed (torch.hub does not either).

This module does not import streamlit.
"""

from __future__ import annotations

import hashlib
import http.client
import io
import os
import re
import tempfile
import threading
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path

import torch
import torchvision

from ..core.presets import PRESETS, preset
from ..errors import WeightsError, WeightsUnavailable
from ..runtime.device import pick_device
from .assemble import assemble
from .common import LoadedModel, Preprocessing, failure_reason

Progress = Callable[[int, int], None]

#: The ImageNet networks torchvision ships weights for (the presets with a torchvision
#: builder, in the presets' order), with their DEFAULT weights.
IMAGENET_MODELS: dict[str, torchvision.models.WeightsEnum] = {
    name: torchvision.models.get_model_weights(name).DEFAULT
    for name, p in PRESETS.items()
    if p.torchvision_builder is not None
}

#: torch.hub's rule for the hash prefix in a file name (``torch.hub.HASH_REGEX``).
HASH_REGEX = re.compile(r"-([a-f0-9]*)\.")
DOWNLOAD_CHUNK = 1 << 20  # 1 MiB: about 100 progress updates for ResNet-50's 98 MB
DOWNLOAD_TIMEOUT_S = 30.0  # per blocking socket operation, not for the whole file
#: What urllib raises when the network fails: URLError/HTTPError and socket errors are
#: OSErrors (TimeoutError too); a connection cut mid-body raises http.client.IncompleteRead.
NETWORK_ERRORS = (OSError, http.client.HTTPException)


def imagenet_weights(name: str) -> torchvision.models.WeightsEnum:
    """torchvision's DEFAULT weights for ``name`` (one of :data:`IMAGENET_MODELS`)."""
    try:
        return IMAGENET_MODELS[name]
    except KeyError:
        known = ", ".join(IMAGENET_MODELS)
        raise ValueError(f"No ImageNet weights for {name!r}; available: {known}.") from None


def weights_url(name: str) -> str:
    """Where torchvision downloads ``name``'s weights from."""
    return imagenet_weights(name).url


def weights_path(name: str) -> Path:
    """Where torch.hub caches ``name``'s weights: ``<torch.hub.get_dir()>/checkpoints/<file>``.

    ``torch.hub.get_dir()`` honours ``$TORCH_HOME`` (default ``~/.cache/torch``) at each call.
    """
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(weights_url(name))


def imagenet_preprocessing(name: str) -> Preprocessing:
    """The evaluation transform of ``name``'s weights, read from ``weights.transforms()``
    (``ImageClassification``: crop 224, resize 256 for V1 weights and 232 for V2)."""
    transforms = imagenet_weights(name).transforms()
    return Preprocessing(
        size=int(transforms.crop_size[0]),
        resize=int(transforms.resize_size[0]),
        mean=tuple(float(m) for m in transforms.mean),
        std=tuple(float(s) for s in transforms.std),
    )


def load_imagenet_model(
    name: str, *, progress: Progress | None = None, device: torch.device | str | None = None
) -> LoadedModel:
    """ResNet ``name`` with torchvision's ImageNet weights, ready for the page.

    If the weights file is cached (:func:`weights_path`) nothing touches the network;
    otherwise it is downloaded there first, calling ``progress(bytes_done, bytes_total)``
    after every chunk (``bytes_total`` is 0 when the server does not send a length).

    Args:
        name: a key of :data:`IMAGENET_MODELS` (``"resnet50"``).
        progress: optional download callback.
        device: where to put the model; ``None`` picks CUDA, then MPS, then the CPU.

    Raises:
        WeightsUnavailable: not cached and the download failed (no network, HTTP error).
        WeightsError: a download that does not match its hash, or a cached file that is
            corrupt or does not fit the network.
    """
    weights = imagenet_weights(name)
    path = weights_path(name)
    if not path.is_file():
        download_weights(weights_url(name), path, progress=progress, label=PRESETS[name].label)
    spec = preset(name)
    state = _read_cached(path)
    model = assemble(spec, state, lambda message: WeightsError(f"{path}: {message}"))
    return LoadedModel(
        model=model.to(pick_device(device)),
        spec=spec,
        categories=list(weights.meta["categories"]),
        preprocessing=imagenet_preprocessing(name),
        source=f"torchvision {weights}",
        name=name,
    )


def _read_cached(path: Path) -> dict[str, torch.Tensor]:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        why = failure_reason(exc)
        raise WeightsError(
            f"The weights file {path} is corrupt or not a PyTorch checkpoint ({why}). "
            "Delete it so that it is downloaded again."
        ) from exc
    if not isinstance(state, Mapping):
        raise WeightsError(f"The weights file {path} does not hold a state_dict.")
    return dict(state)


_DOWNLOAD_LOCKS: dict[Path, threading.Lock] = {}
_DOWNLOAD_LOCKS_GUARD = threading.Lock()


def download_weights(
    url: str, dest: Path, *, progress: Progress | None = None, label: str | None = None
) -> Path:
    """Download ``url`` to ``dest`` with progress, verify its hash prefix, rename atomically.

    As ``torch.hub.load_state_dict_from_url(check_hash=True)``: the SHA-256 of the file must
    start with the hex digits between ``-`` and ``.`` in its name (:data:`HASH_REGEX`;
    ``resnet50-11ad3fa6.pth``: ``11ad3fa6``); the file
    is written to a temporary name in the same folder and renamed only once complete and
    verified, and the temporary file is removed on any failure. Concurrent calls for the same
    file (two browser sessions) download it once.

    Raises:
        WeightsUnavailable: the network failed (no connection, timeout, HTTP error, cut short).
        WeightsError: the file does not match its hash, or could not be written.
    """
    dest = Path(dest)
    with _DOWNLOAD_LOCKS_GUARD:
        lock = _DOWNLOAD_LOCKS.setdefault(dest, threading.Lock())
    with lock:
        if dest.is_file():  # another session finished it while we waited
            return dest
        _download(url, dest, progress or (lambda done, total: None), label or dest.name)
    return dest


def _download(url: str, dest: Path, progress: Progress, label: str) -> None:
    match = HASH_REGEX.search(dest.name)
    hash_prefix = match.group(1) if match else None
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        handle, temp_name = tempfile.mkstemp(
            prefix=f".{dest.name}.", suffix=".partial", dir=dest.parent
        )
    except OSError as exc:
        raise WeightsError(f"Cannot write to {dest.parent}: {failure_reason(exc)}.") from exc
    temp = Path(temp_name)
    try:
        with os.fdopen(handle, "wb") as out:
            digest = _fetch(url, out, progress, dest, label)
        if hash_prefix is not None and digest[: len(hash_prefix)] != hash_prefix:
            raise WeightsError(
                f"The download of {dest.name} is corrupt: its SHA-256 starts with "
                f"{digest[:12]}, not {hash_prefix} as the file name says. It was deleted; "
                "try again."
            )
        try:
            os.replace(temp, dest)
        except OSError as exc:
            raise WeightsError(f"Cannot write {dest}: {failure_reason(exc)}.") from exc
    finally:
        temp.unlink(missing_ok=True)


def _fetch(url: str, out: io.BufferedWriter, progress: Progress, dest: Path, label: str) -> str:
    """Stream ``url`` into ``out``; returns the SHA-256 hex digest of what was written.

    Network failures (while connecting or reading) become :class:`WeightsUnavailable`; a
    failure to write is the disk's and stays a plain :class:`WeightsError`.
    """
    sha256 = hashlib.sha256()
    request = urllib.request.Request(url, headers={"User-Agent": "resnet-viz"})
    try:
        response = urllib.request.urlopen(request, timeout=DOWNLOAD_TIMEOUT_S)
    except NETWORK_ERRORS as exc:
        raise _unavailable(url, dest, label, exc) from exc
    with response:
        total = int(response.headers.get("Content-Length") or 0)
        done = 0
        progress(0, total)
        while True:
            try:
                chunk = response.read(DOWNLOAD_CHUNK)
            except NETWORK_ERRORS as exc:
                raise _unavailable(url, dest, label, exc) from exc
            if not chunk:
                break
            try:
                out.write(chunk)
            except OSError as exc:
                raise WeightsError(f"Cannot write {dest}: {failure_reason(exc)}.") from exc
            sha256.update(chunk)
            done += len(chunk)
            progress(done, total)
    if total and done != total:
        reason = f"the download stopped at {done:,} of {total:,} bytes"
        raise _unavailable(url, dest, label, reason)
    return sha256.hexdigest()


def _unavailable(url: str, dest: Path, label: str, cause: object) -> WeightsUnavailable:
    reason = cause if isinstance(cause, str) else failure_reason(cause)
    return WeightsUnavailable(
        f"Could not download {dest.name} from {url} (no network? {reason}). To use {label} "
        f"offline, put that file in {dest.parent}.",
        filename=dest.name,
        folder=dest.parent,
        url=url,
    )
