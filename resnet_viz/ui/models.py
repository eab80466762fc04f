"""The models the pages explain: the bundled demo, the ImageNet networks, a checkpoint.

Shared models are loaded once per server (``st.cache_resource``) and shared by every session
(never mutated: the analyses leave them as found and serialise their work per model). A
checkpoint belongs to its session only: an uploaded state_dict in a session-scoped
``st.cache_resource``, or the checkpoint opened with :mod:`.checkpoint`'s widget on any page.
"""

from __future__ import annotations

import dataclasses
import hashlib

import streamlit as st

from ..core.presets import PRESETS, preset_for
from ..core.spec import ResNetSpec, default_input_size
from ..data.images import IMAGENET_MEAN, IMAGENET_STD
from ..runtime.device import pick_device
from ..weights import (
    IMAGENET_MODELS,
    LoadedModel,
    Preprocessing,
    WeightsUnavailable,
    download_weights,
    imagenet_preprocessing,
    imagenet_weights,
    load_checkpoint,
    load_demo_model,
    load_imagenet_model,
    weights_path,
    weights_url,
)
from ..weights.domain import model_name, trained_on
from .checkpoint import (
    CHECKPOINT_TYPES,
    MAX_CHECKPOINT_MB,
    OpenedCheckpoint,
    open_checkpoint_control,
    opened_checkpoint,
)
from .common import say_unknown_link_value

BIND = "query-params"
#: Menu keys besides the ImageNet networks': the bundled demo, a state_dict uploaded for a
#: chosen preset (the Grad-CAM page), the checkpoint this session opened (other pages).
DEMO, CHECKPOINT, OPENED = "demo", "checkpoint", "opened"
#: The models shared by every session.
SHARED_MODELS = [DEMO, *IMAGENET_MODELS]
READ_FROM_FILE = "auto"


def model_label(key: str) -> str:
    if key == DEMO:
        return "Demo: shapes ResNet (offline, bundled)"
    if key == CHECKPOINT:
        return "Upload a checkpoint…"
    cached = " (weights cached)" if weights_path(key).is_file() else " (downloads weights)"
    return f"{PRESETS[key].label}, ImageNet{cached}"


# Shared models -------------------------------------------------------------------------------


def shared_model(key: str, notice=None) -> LoadedModel:
    """The demo or an ImageNet model, loaded once per server onto the compute device.

    A missing ImageNet weights file is downloaded with a progress bar in the page. If that
    fails, the demo model is used instead, and the page says so in ``notice`` (a container in
    the main area, where the results are; by default where this is called): which weights are
    missing, where to put the file, and that the demo model knows only its synthetic shapes.
    """
    if key == DEMO:
        return _cached_model(DEMO)
    try:
        if not weights_path(key).is_file():
            _download_with_progress(key)
        with st.spinner(f"Loading {PRESETS[key].label} weights…"):  # shown after 0.5 s only
            return _cached_model(key)
    except WeightsUnavailable as error:
        demo = _cached_model(DEMO)
        label = PRESETS[key].label
        where = notice if notice is not None else st
        where.warning(
            f"**{label} is not available here.** {error} Showing the bundled demo model "
            f"instead (the {model_name(demo)}): it was trained on {trained_on(demo).what}, so "
            "it cannot explain photographs.",
            icon=":material/wifi_off:",
        )
        if notice is not None:
            st.caption(f"{label}: no weights here (see the page).")
        return demo


@st.cache_resource(max_entries=len(SHARED_MODELS), show_spinner=False)
def _cached_model(key: str) -> LoadedModel:
    """One model per key for the whole server. st.cache_resource lets one thread load a key
    while the others asking for it wait, and does not cache a load that raised."""
    if key == DEMO:
        return load_demo_model(device=pick_device())
    return load_imagenet_model(key, device=pick_device())


def _download_with_progress(key: str) -> None:
    """Download ``key``'s weights file with a progress bar.

    Outside the cached loader on purpose: a progress bar cannot be drawn from inside a cached
    function (:mod:`.shared_results` says why). The file on disk is the download's cache, and
    download_weights lets one session fetch it while the others asking for it wait.
    """
    name = weights_path(key).name
    bar = st.progress(0.0, text=f"Downloading {name}…")

    def progress(done: int, total: int) -> None:
        fraction = done / total if total else 0.0
        bar.progress(min(fraction, 1.0), text=f"Downloading {name}: "
                     f"{done / 1e6:.0f} of {total / 1e6:.0f} MB")  # fmt: skip

    try:
        download_weights(
            weights_url(key), weights_path(key), progress=progress, label=PRESETS[key].label
        )
    finally:
        bar.empty()


# A shared model or the checkpoint this session opened ------------------------------------------


def model_control(key: str, notice=None) -> str:
    """The model menu (widget ``key``, in the URL): the demo, an ImageNet network, or the
    checkpoint this session opened. A link's unknown model is said in ``notice`` (a main-area
    container)."""
    opened = opened_checkpoint()
    keys = [*SHARED_MODELS, OPENED] if opened is not None else SHARED_MODELS

    def label(choice: str) -> str:
        return f"Your checkpoint: {opened.label}" if choice == OPENED else model_label(choice)

    labels = [label(k) for k in keys]
    say_unknown_link_value(notice, key, "the model", labels, labels[0])
    return st.selectbox("Model", keys, format_func=label, key=key, bind=BIND)


def load_model(choice: str, notice=None) -> LoadedModel:
    """The model :func:`model_control` chose (a shared one, or this session's opened
    checkpoint). Missing ImageNet weights are explained in ``notice`` (a main-area container),
    as by :func:`shared_model`."""
    opened = opened_checkpoint()
    if choice == OPENED and opened is not None:
        return loaded_from_opened(opened)
    return shared_model(choice, notice)


# Checkpoints (one session's own) ---------------------------------------------------------------


def checkpoint_controls() -> LoadedModel | None:
    """A state_dict for a chosen preset, or a checkpoint of any ResNet (the network read from its
    weights: the last choice, and the checkpoint opened on another page if there is one); the
    model lives in this session only."""
    choices = [*PRESETS, READ_FROM_FILE]
    arch = st.selectbox(
        "Architecture of the checkpoint",
        choices,
        index=len(PRESETS) if opened_checkpoint() is not None else 0,
        format_func=lambda n: "Read it from the file" if n == READ_FROM_FILE else PRESETS[n].label,
        key="ckpt_arch",
    )
    if arch == READ_FROM_FILE:
        opened = open_checkpoint_control(key="ckpt_open")
        if opened is None:
            st.info("Upload a checkpoint to explain its predictions.", icon=":material/upload:")
            return None
        return loaded_from_opened(opened)
    classes = st.number_input(
        "Classes in its fc layer",
        min_value=1,
        max_value=100_000,
        value=PRESETS[arch].spec.num_classes,
        key="ckpt_classes",
    )
    upload = st.file_uploader(
        "State dict (.pt / .pth, torch.save of model.state_dict())",
        type=CHECKPOINT_TYPES,
        key="ckpt_file",
        max_upload_size=MAX_CHECKPOINT_MB,
        help="Read with torch.load(weights_only=True): tensors only, never pickled code.",
    )
    if upload is None:
        st.info("Upload a checkpoint to explain its predictions.", icon=":material/upload:")
        return None
    data = upload.getvalue()
    spec = dataclasses.replace(PRESETS[arch].spec, num_classes=classes)
    return _session_checkpoint(hashlib.sha256(data).hexdigest(), arch, spec, data, upload.name)


def loaded_from_opened(opened: OpenedCheckpoint) -> LoadedModel:
    """The session's opened checkpoint as a model source: the class names and preprocessing the
    file carries (the app's own format, e.g. a network trained on the transfer-learning page);
    else ImageNet's when it is a torchvision network with 1000 classes, numbered classes
    otherwise."""
    spec = opened.reading.spec
    twin = preset_for(spec)
    arch = twin.name if twin is not None else None
    side = default_input_size(spec)[1]
    preprocessing = opened.preprocessing or (
        _preprocessing_for(arch) if arch else _imagenet_statistics(side)
    )
    return LoadedModel(
        model=opened.model.to(pick_device()),  # the session's own model, not a shared one
        spec=spec,
        categories=list(opened.classes or _categories_for(arch, spec.num_classes)),
        preprocessing=preprocessing,
        source=f"checkpoint {opened.label}",
        name=f"checkpoint-{opened.digest[:12]}",
    )


@st.cache_resource(scope="session", max_entries=1, show_spinner=False)
def _session_checkpoint(
    digest: str, arch: str, spec: ResNetSpec, _data: bytes, _file_name: str
) -> LoadedModel:
    """The uploaded model, kept for this session only and one at a time (a new upload replaces
    it; the session's end drops it). Keyed by the file's SHA-256 and the spec: the bytes
    themselves are not hashed again, and a re-upload under another name reuses the model."""
    return LoadedModel(
        model=load_checkpoint(_data, spec).to(pick_device()),
        spec=spec,
        categories=_categories_for(arch, spec.num_classes),
        preprocessing=_preprocessing_for(arch),
        source=f"uploaded checkpoint {_file_name} ({PRESETS[arch].label})",
        name=f"checkpoint-{digest[:12]}",
    )


def _categories_for(arch: str | None, classes: int) -> list[str]:
    if arch in IMAGENET_MODELS and classes == 1000:
        return list(imagenet_weights(arch).meta["categories"])
    return [f"class {i}" for i in range(classes)]


def _preprocessing_for(arch: str) -> Preprocessing:
    if arch in IMAGENET_MODELS:
        return imagenet_preprocessing(arch)
    return _imagenet_statistics(PRESETS[arch].input_size[1])


def _imagenet_statistics(side: int) -> Preprocessing:
    return Preprocessing(size=side, resize=None, mean=IMAGENET_MEAN, std=IMAGENET_STD)
