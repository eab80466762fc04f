"""Trained weights: torchvision's ImageNet models, the bundled demo model, uploaded checkpoints.

Three sources, one result (:class:`LoadedModel`, except for uploads, which give a module):

- **torchvision ImageNet weights** through the Weights API (``torchvision.models.
  get_model_weights(name).DEFAULT``): the class names come from ``weights.meta["categories"]``
  and the preprocessing from ``weights.transforms()`` (torchvision docs, "Models and
  pre-trained weights"). The file is the one torch.hub caches, in
  ``$TORCH_HOME/hub/checkpoints`` (``~/.cache/torch/hub/checkpoints`` by default), so a file
  torchvision already downloaded is reused, and a machine without network can be given the
  file by hand. The download is our own (chunked, with a progress callback the page turns into
  a progress bar) and verifies the SHA-256 prefix in the file name exactly as
  ``torch.hub.load_state_dict_from_url(check_hash=True)`` does, then renames atomically, so
  a half-written file is never mistaken for the weights. A cached file is not re-hashed
  (torch.hub does not either).
- **the bundled demo model** (``assets/demo_resnet.pt``): a small ResNet trained for this app,
  saved with its spec, class names and preprocessing in one ``torch.save`` dict
  (format ``"resnet-viz-demo/1"``, see :func:`load_demo_model`), so it works offline.
- **uploaded checkpoints** (:func:`load_checkpoint`): untrusted bytes. Only
  ``torch.load(..., weights_only=True)`` ever touches them, which refuses pickled code
  (PyTorch docs, ``torch.load``: "weights_only=True ... limits the functions executed during
  unpickling to merely those needed for loading tensors, primitive types and dictionaries").

Weights are loaded into :func:`resnet_viz.build_model` networks with ``strict=True``: the
module names are torchvision's, so every key and shape must match.

This module does not import streamlit.
"""

from __future__ import annotations

import hashlib
import http.client
import io
import os
import pickle
import re
import tempfile
import threading
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import UnionType

import torch
import torchvision
from PIL import Image

from ..assets import ASSETS_DIR
from ..core.build import ResNet, build_model
from ..core.layout import check_weight_budget
from ..core.presets import PRESETS, preset, spec_label
from ..core.spec import ResNetSpec, SpecError
from ..data.images import center_crop_for_display, describe_format, preprocess
from ..runtime.device import pick_device

Progress = Callable[[int, int], None]

#: The ImageNet networks torchvision ships weights for, with their DEFAULT weights.
IMAGENET_MODELS: dict[str, torchvision.models.WeightsEnum] = {
    name: torchvision.models.get_model_weights(name).DEFAULT
    for name in (
        "resnet18",
        "resnet34",
        "resnet50",
        "resnet101",
        "resnet152",
        "wide_resnet50_2",
        "resnext50_32x4d",
    )
}

#: torch.hub's rule for the hash prefix in a file name (``torch.hub.HASH_REGEX``).
HASH_REGEX = re.compile(r"-([a-f0-9]*)\.")
DOWNLOAD_CHUNK = 1 << 20  # 1 MiB: about 100 progress updates for ResNet-50's 98 MB
DOWNLOAD_TIMEOUT_S = 30.0  # per blocking socket operation, not for the whole file
#: What urllib raises when the network fails: URLError/HTTPError and socket errors are
#: OSErrors (TimeoutError too); a connection cut mid-body raises http.client.IncompleteRead.
NETWORK_ERRORS = (OSError, http.client.HTTPException)

DEMO_CHECKPOINT = ASSETS_DIR / "demo_resnet.pt"
DEMO_FORMAT = "resnet-viz-demo/1"

MAX_CHECKPOINT_BYTES = 1_000_000_000
"""Largest checkpoint upload accepted (1 GB). The biggest preset, Wide ResNet-50-2, is 264 MB
of float32 weights; a file several times larger is not a checkpoint of these networks."""


class WeightsError(RuntimeError):
    """Weights that could not be obtained or read; ``str(error)`` is meant for the user."""


class WeightsUnavailable(WeightsError):  # noqa: N818 (the name the issue and the page use)
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


# --------------------------------------------------------------------------------------------
# torchvision ImageNet weights
# --------------------------------------------------------------------------------------------


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
    model = _assemble(spec, state, lambda message: WeightsError(f"{path}: {message}"))
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
        raise WeightsError(
            f"The weights file {path} is corrupt or not a PyTorch checkpoint ({_reason(exc)}). "
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
        raise WeightsError(f"Cannot write to {dest.parent}: {_reason(exc)}.") from exc
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
            raise WeightsError(f"Cannot write {dest}: {_reason(exc)}.") from exc
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
                raise WeightsError(f"Cannot write {dest}: {_reason(exc)}.") from exc
            sha256.update(chunk)
            done += len(chunk)
            progress(done, total)
    if total and done != total:
        reason = f"the download stopped at {done:,} of {total:,} bytes"
        raise _unavailable(url, dest, label, reason)
    return sha256.hexdigest()


def _unavailable(url: str, dest: Path, label: str, cause: object) -> WeightsUnavailable:
    reason = cause if isinstance(cause, str) else _reason(cause)
    return WeightsUnavailable(
        f"Could not download {dest.name} from {url} (no network? {reason}). To use {label} "
        f"offline, put that file in {dest.parent}.",
        filename=dest.name,
        folder=dest.parent,
        url=url,
    )


def _reason(exc: object) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        return str(exc.reason)
    text = str(exc).strip()
    return text[:200] if text else type(exc).__name__


# --------------------------------------------------------------------------------------------
# The bundled demo model
# --------------------------------------------------------------------------------------------


def load_demo_model(
    device: torch.device | str | None = None, *, path: Path | str | None = None
) -> LoadedModel:
    """The small bundled model, which needs no download.

    The file is one ``torch.save`` dict of plain types, read with ``weights_only=True``::

        {"format": "resnet-viz-demo/1", "spec": dataclasses.asdict(spec),
         "classes": ["airplane", ...], "input_size": 64, "mean": [...], "std": [...],
         "state_dict": {...}}

    Images are squashed to ``input_size`` x ``input_size`` (no crop) and normalised with
    ``mean``/``std``. ``path`` defaults to :data:`DEMO_CHECKPOINT`.

    Raises:
        WeightsError: the file is missing, unreadable, or not in this format.
    """
    path = Path(path) if path is not None else DEMO_CHECKPOINT
    if not path.is_file():
        raise WeightsError(
            f"The bundled demo model is missing: expected {path}. Reinstall the app or "
            "restore that file."
        )
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise WeightsError(f"The demo model {path} cannot be read ({_reason(exc)}).") from exc
    spec, classes, preprocessing = _demo_metadata(data, path)
    model = _assemble(spec, data["state_dict"], lambda m: WeightsError(f"Demo model: {m}"))
    return LoadedModel(
        model=model.to(pick_device(device)),
        spec=spec,
        categories=classes,
        preprocessing=preprocessing,
        source=f"bundled demo model ({spec_label(spec)}, {len(classes)} classes, {path.name})",
        name="demo",
    )


def _demo_metadata(data: object, path: Path) -> tuple[ResNetSpec, list[str], Preprocessing]:
    def bad(what: str) -> WeightsError:
        return WeightsError(f"The demo model {path} is not a {DEMO_FORMAT} file: {what}.")

    if not isinstance(data, Mapping) or data.get("format") != DEMO_FORMAT:
        found = data.get("format") if isinstance(data, Mapping) else type(data).__name__
        raise bad(f"format is {found!r}")
    missing = {"spec", "classes", "input_size", "mean", "std", "state_dict"} - set(data)
    if missing:
        raise bad(f"missing {', '.join(sorted(missing))}")
    try:
        spec = ResNetSpec(**data["spec"])
    except (TypeError, SpecError) as exc:
        raise bad(f"invalid spec ({exc})") from exc
    classes = data["classes"]
    if not _is_list_of(classes, str) or len(classes) != spec.num_classes:
        raise bad(f"classes must be {spec.num_classes} names, one per output of the network")
    size = data["input_size"]
    if not isinstance(size, int) or isinstance(size, bool) or size < 1:
        raise bad(f"input_size must be a positive whole number, got {size!r}")
    mean, std = data["mean"], data["std"]
    for name, values in (("mean", mean), ("std", std)):
        if not _is_list_of(values, int | float) or len(values) != spec.in_channels:
            raise bad(f"{name} must hold {spec.in_channels} numbers")
    if any(s <= 0 for s in std):
        raise bad("std must be positive")
    if not isinstance(data["state_dict"], Mapping):
        raise bad("state_dict must be a dict of tensors")
    preprocessing = Preprocessing(size, None, tuple(map(float, mean)), tuple(map(float, std)))
    return spec, list(classes), preprocessing


def _is_list_of(values: object, kind: type | UnionType) -> bool:
    """A list or tuple whose items are all ``kind`` (booleans never count as numbers)."""
    if not isinstance(values, list | tuple):
        return False
    return all(isinstance(v, kind) and not isinstance(v, bool) for v in values)


# --------------------------------------------------------------------------------------------
# Uploaded checkpoints
# --------------------------------------------------------------------------------------------

#: Keys under which training scripts commonly nest the state_dict.
NESTED_KEYS = ("state_dict", "model", "model_state_dict", "net", "network")
#: Prefixes added by wrappers: nn.DataParallel/DistributedDataParallel, torch.compile.
WRAPPER_PREFIXES = ("module.", "_orig_mod.")
LIST_LIMIT = 10


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
    raw = _check_container(data, max_bytes)
    try:
        loaded = torch.load(io.BytesIO(raw), map_location="cpu", weights_only=True)
    except Exception as exc:
        raise CheckpointError(_load_failure(raw, exc)) from exc
    state = _state_dict_of(loaded)
    check_weight_budget(spec)
    return _assemble(spec, state, CheckpointError)


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
    return f"This file could not be read as a PyTorch checkpoint ({_reason(exc)})."


def _state_dict_of(loaded: object) -> dict[str, torch.Tensor]:
    """The state_dict in ``loaded``: itself, or nested under a usual key; prefixes stripped."""
    if not isinstance(loaded, Mapping):
        raise CheckpointError(
            f"This checkpoint holds a {type(loaded).__name__}, not a state_dict (a dict of "
            "tensors)."
        )
    if not any(isinstance(v, torch.Tensor) for v in loaded.values()):
        nested = next((loaded[k] for k in NESTED_KEYS if isinstance(loaded.get(k), Mapping)), None)
        if nested is None:
            keys = ", ".join(repr(k) for k in list(loaded)[:LIST_LIMIT]) or "nothing"
            raise CheckpointError(
                f"This checkpoint holds no tensors and no state_dict under "
                f"{', '.join(repr(k) for k in NESTED_KEYS)}; its top-level keys are {keys}."
            )
        loaded = nested
    state: dict[str, torch.Tensor] = {}
    for key, value in loaded.items():
        if not isinstance(key, str):
            raise CheckpointError(f"State_dict keys must be names; found {key!r}.")
        if not isinstance(value, torch.Tensor):
            raise CheckpointError(
                f"{key} holds a {type(value).__name__}, not a tensor: a state_dict holds only "
                "tensors."
            )
        state[key] = value
    return _strip_prefixes(state)


def _strip_prefixes(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    for prefix in WRAPPER_PREFIXES:
        if state and all(k.startswith(prefix) for k in state):
            state = {k.removeprefix(prefix): v for k, v in state.items()}
    return state


def _assemble(
    spec: ResNetSpec, state: Mapping[str, object], error: Callable[[str], Exception]
) -> ResNet:
    """``build_model(spec)`` holding ``state``, strictly checked; raises ``error(message)``.

    The network is built on the meta device and the checked tensors are assigned to it
    (``load_state_dict(assign=True)``, cast to the expected dtype), so no random
    initialisation is computed only to be overwritten.
    """
    expected = _expected_shapes(spec)
    state = _with_batch_counters(state, expected)
    problem = describe_mismatch(spec, state, expected)
    if problem:
        raise error(problem)
    for key, value in state.items():
        _check_tensor(key, value, error)
    dtypes = _expected_dtypes(spec)
    tensors = {k: v.to(dtypes[k]) for k, v in state.items()}  # type: ignore[union-attr]
    model = build_model(spec, device="meta")
    model.load_state_dict(tensors, strict=True, assign=True)
    return model.eval()


def _with_batch_counters(
    state: Mapping[str, object], expected: Mapping[str, tuple[int, ...]]
) -> Mapping[str, object]:
    """Add the BatchNorm ``num_batches_tracked`` counters a checkpoint lacks, as 0.

    Checkpoints saved before PyTorch 0.4.1 have no such key, and ``BatchNorm``'s own
    ``_load_from_state_dict`` fills it in the same way; the counter only matters in training
    with ``momentum=None``.
    """
    if any(k.endswith(".num_batches_tracked") for k in state):
        return state  # a checkpoint from PyTorch 0.4.1 or later: missing counters are missing
    suffix = ".num_batches_tracked"
    counters = [
        k
        for k in expected
        if k.endswith(suffix) and f"{k.removesuffix(suffix)}.running_mean" in state
    ]
    return {**state, **{k: torch.tensor(0, dtype=torch.long) for k in counters}}


def _check_tensor(key: str, value: object, error: Callable[[str], Exception]) -> None:
    if not isinstance(value, torch.Tensor):
        raise error(f"{key} holds a {type(value).__name__}, not a tensor.")
    if value.layout != torch.strided or value.is_quantized:
        raise error(f"{key} is a {value.layout} tensor; only plain dense tensors are accepted.")
    if value.is_complex() or value.dtype == torch.bool:
        raise error(f"{key} has dtype {value.dtype}; weights are real numbers.")
    if value.is_floating_point() and not bool(torch.isfinite(value).all()):
        raise error(f"{key} contains NaN or infinite values: these weights are broken.")


@cache
def _expected_shapes(spec: ResNetSpec) -> dict[str, tuple[int, ...]]:
    state = build_model(spec, device="meta").state_dict()
    return {k: tuple(v.shape) for k, v in state.items()}


@cache
def _expected_dtypes(spec: ResNetSpec) -> dict[str, torch.dtype]:
    return {k: v.dtype for k, v in build_model(spec, device="meta").state_dict().items()}


def _shape_text(shape: Sequence[int]) -> str:
    return "x".join(str(s) for s in shape) if len(shape) else "scalar"


def describe_mismatch(
    spec: ResNetSpec,
    state: Mapping[str, object],
    expected: Mapping[str, tuple[int, ...]] | None = None,
) -> str | None:
    """``None`` if ``state``'s keys and shapes are exactly ``build_model(spec)``'s; otherwise a
    message listing (at most :data:`LIST_LIMIT` of each, with counts) the missing keys, the
    unexpected keys and the shape differences, and naming a preset the checkpoint fits."""
    expected = expected if expected is not None else _expected_shapes(spec)
    label = spec_label(spec)
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    shapes = [
        f"{k}: checkpoint {_shape_text(_shape(state[k]))}, {label} expects "
        f"{_shape_text(expected[k])}"
        for k in expected
        if k in state and _shape(state[k]) != expected[k]
    ]
    if not (missing or unexpected or shapes):
        return None
    parts = [f"These weights do not fit {label}."]
    for title, items in (
        ("missing from the checkpoint", missing),
        ("unexpected in the checkpoint", unexpected),
        ("with a different shape", shapes),
    ):
        if items:
            shown = "; ".join(items[:LIST_LIMIT])
            more = f"; and {len(items) - LIST_LIMIT} more" if len(items) > LIST_LIMIT else ""
            parts.append(
                f"{len(items)} {'key' if len(items) == 1 else 'keys'} {title}: {shown}{more}."
            )
    hint = suggest_architecture(state)
    if hint:
        parts.append(f"They do fit {hint}: choose that network and upload again.")
    return " ".join(parts)


def _shape(value: object) -> tuple[int, ...] | None:
    return tuple(value.shape) if isinstance(value, torch.Tensor) else None


def suggest_architecture(state: Mapping[str, object]) -> str | None:
    """The preset whose keys and shapes ``state`` matches exactly, as a label
    (``"ResNet-50"``, or ``"ResNet-18 with 10 classes"`` when only the classifier differs).

    Presets whose blocks per stage differ from the checkpoint's ``layerS.B.`` keys are skipped
    without building them (ResNet-1202's 600 blocks take a second even on the meta device).
    """
    layout = _block_layout(state)
    for p in PRESETS.values():
        if p.spec.layers != layout:
            continue
        expected = dict(_expected_shapes(p.spec))
        if _fits(expected, state):
            return p.label
        fc = _shape(state.get("fc.weight"))
        if fc is not None and len(fc) == 2 and fc[1:] == expected["fc.weight"][1:]:
            expected["fc.weight"], expected["fc.bias"] = fc, fc[:1]
            if _fits(expected, state):
                return f"{p.label} with {fc[0]} classes"
    return None


_BLOCK_KEY = re.compile(r"layer(\d+)\.(\d+)\.")


def _block_layout(state: Mapping[str, object]) -> tuple[int, ...]:
    """Blocks per stage as the keys name them: ``(2, 2, 2, 2)`` for a ResNet-18 state_dict."""
    last: dict[int, int] = {}
    for key in state:
        match = _BLOCK_KEY.match(key) if isinstance(key, str) else None
        if match:
            stage, block = int(match.group(1)), int(match.group(2))
            last[stage] = max(last.get(stage, -1), block)
    return tuple(last[s] + 1 for s in sorted(last))


def _fits(expected: Mapping[str, tuple[int, ...]], state: Mapping[str, object]) -> bool:
    return len(expected) == len(state) and all(
        _shape(state.get(k)) == s for k, s in expected.items()
    )
