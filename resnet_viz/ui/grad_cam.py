"""Models, controls and drawing for the Grad-CAM page.

Models are loaded once per server (``st.cache_resource``) and shared by every session (never
mutated: grad_cam leaves them as found and serialises its work per model). An uploaded
checkpoint belongs to its session only (a session-scoped ``st.cache_resource``). The maps of
every method are kept per (image, model, layer, class, method) by :mod:`.attention`, which also
draws the workbench's studies; the per-stage strip is cached here.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
from dataclasses import dataclass

import streamlit as st
from PIL import Image

from ..analysis.attribution.cam import CamResult, grad_cam_strip
from ..analysis.attribution.methods import METHOD_LABELS, PER_CHANNEL_METHODS
from ..core.presets import PRESETS, preset_for
from ..core.spec import ResNetSpec, default_input_size
from ..core.split import layer_label, target_layers
from ..core.summary import summarize
from ..data.images import IMAGENET_MEAN, IMAGENET_STD, load_image
from ..data.samples import Sample, bundled_samples
from ..present.cam import top_k_figure
from ..present.heatmaps import heatmap_image, overlay
from ..runtime.device import pick_device
from ..runtime.workload import heavy_work_slot
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
from ..weights.domain import model_name, outside_training, trained_on
from . import attention, site
from .checkpoint import (
    CHECKPOINT_TYPES,
    MAX_CHECKPOINT_MB,
    OpenedCheckpoint,
    open_checkpoint_control,
    opened_checkpoint,
)
from .common import shown_errors
from .lecture import show_chart
from .network_controls import url_params_for

BIND = "query-params"
DEMO, CHECKPOINT = "demo", "checkpoint"
MODEL_KEYS = [DEMO, *IMAGENET_MODELS, CHECKPOINT]
IMAGE_TYPES = ["jpg", "jpeg", "png", "webp", "gif", "bmp", "tif", "tiff"]
MAX_IMAGE_MB = 20
READ_FROM_FILE = "auto"
COLORMAPS = ["jet", "turbo", "inferno", "viridis"]


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


@st.cache_resource(max_entries=1 + len(IMAGENET_MODELS), show_spinner=False)
def _cached_model(key: str) -> LoadedModel:
    """One model per key for the whole server. st.cache_resource lets one thread load a key
    while the others asking for it wait, and does not cache a load that raised."""
    if key == DEMO:
        return load_demo_model(device=pick_device())
    return load_imagenet_model(key, device=pick_device())


def _download_with_progress(key: str) -> None:
    """Download ``key``'s weights file with a progress bar.

    Outside the cached loader on purpose: streamlit records every element call made while a
    cached function runs, to replay it on later cache hits. A progress callback passed into
    _cached_model (as an unhashed ``_progress`` argument) draws on a bar created outside it, so
    every later hit failed with CacheReplayClosureError ("a streamlit element is called on some
    layout block created outside the function"; streamlit 1.67, measured in AppTest). The file
    on disk is the download's cache, and download_weights lets one session fetch it while the
    others asking for it wait.
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


# Uploaded checkpoints (one session's own) ------------------------------------------------------


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
    """The session's opened checkpoint as a model source: ImageNet class names and preprocessing
    when it is a torchvision network with 1000 classes, numbered classes otherwise."""
    spec = opened.reading.spec
    twin = preset_for(spec)
    arch = twin.name if twin is not None else None
    side = default_input_size(spec)[1]
    return LoadedModel(
        model=opened.model.to(pick_device()),  # the session's own model, not a shared one
        spec=spec,
        categories=_categories_for(arch, spec.num_classes),
        preprocessing=_preprocessing_for(arch) if arch else _imagenet_statistics(side),
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


# Controls -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CamSettings:
    layer: str
    target: int | None
    alpha: float
    colormap: str


def cam_controls(loaded: LoadedModel) -> CamSettings:
    """Target layer, class and overlay settings for this model."""
    spec = loaded.spec
    input_size = (spec.in_channels, loaded.preprocessing.size, loaded.preprocessing.size)
    layers = target_layers(spec)
    asked = st.query_params.get("layer")
    if asked in layers and "layer" not in st.session_state:
        # A hand-written link names the layer ("layer3.0"), not the menu's label for it.
        st.session_state["layer"] = asked
    layer = st.selectbox(
        "Target layer",
        layers,
        index=layers.index(f"layer{spec.num_stages}"),
        format_func=lambda n: layer_label(spec, n, input_size),
        key="layer",
        bind=BIND,
        help="Grad-CAM weighs this layer's feature maps by the class score's gradient. The "
        "last stage is the paper's choice: the most semantic, and the coarsest.",
    )
    options = [None, *range(len(loaded.categories))]
    target = st.selectbox(
        "Class to explain",
        options,
        format_func=lambda i: "Top-1 prediction" if i is None else loaded.categories[i],
        key="cls",
        bind=BIND,
        help="Type to search the class names.",
    )
    alpha = st.slider("Heatmap opacity", 0.0, 1.0, 0.5, 0.05, key="alpha", bind=BIND)
    colormap = st.selectbox("Colour map", COLORMAPS, key="cmap", bind=BIND)
    return CamSettings(layer, target, alpha, colormap)


def image_inputs(loaded: LoadedModel) -> list[tuple[str, bytes]]:
    """Uploaded files and chosen bundled samples, as (name, bytes) pairs."""
    uploads = st.file_uploader(
        "Upload images",
        type=IMAGE_TYPES,
        accept_multiple_files=True,
        key="images",
        max_upload_size=MAX_IMAGE_MB,
        help=f"JPEG, PNG, WebP, GIF, BMP or TIFF, up to {MAX_IMAGE_MB} MB each.",
    )
    samples = bundled_samples()
    suits_demo = loaded.name == DEMO
    default = [s.label for s in samples if s.synthetic == suits_demo][:2]
    key = f"samples_{'demo' if suits_demo else 'photo'}"
    if uploads and st.session_state.get(key) == default:
        # The student brought their own images: drop the untouched default samples.
        st.session_state[key] = []
    chosen = st.multiselect(
        "…or bundled samples",
        [s.label for s in samples],
        default=default,
        key=key,
        help="Photos suit the ImageNet models; synthetic shapes suit the demo model.",
    )
    by_label: dict[str, Sample] = {s.label: s for s in samples}
    items = [(u.name, u.getvalue()) for u in uploads or []]
    items += [(label, by_label[label].read()) for label in chosen]
    return items


# One image -------------------------------------------------------------------------------------


@st.cache_data(max_entries=256, show_spinner=False)
def _strip_maps(
    image_digest: str, model_key: str, target: int, method: str, _model, _tensor
) -> list[CamResult]:
    """The map of ``method`` at every stage (one cached entry per image, model, class and
    method; the underscored arguments are not part of the key)."""
    with heavy_work_slot():
        return grad_cam_strip(_model, _tensor, target_class=target, method=method)


def container_key(data: bytes) -> str:
    """A stable key for one image's section (CSS class ``st-key-<key>``, used by tests)."""
    return f"cam-{hashlib.sha256(data).hexdigest()[:16]}"


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def explain_image(
    name: str,
    data: bytes,
    loaded: LoadedModel,
    settings: CamSettings,
    workbench: attention.Workbench | None = None,
) -> None:
    """The image as the model sees it, the first method's heatmap and overlay, the top-5
    classes, a download, every chosen method's overlay with its time, the per-stage strip, and
    the workbench's studies (receptive field, faithfulness, sanity check).

    Raises ImageError for a bad file; the caller shows it next to this file only.
    """
    workbench = workbench or attention.Workbench(("gradcam",), False)
    image = load_image(data)
    crop = loaded.preprocessing.crop(image)
    tensor = loaded.preprocessing.tensor(image)
    digest = hashlib.sha256(data).hexdigest()
    outside = outside_training(loaded, data)
    if outside is not None:
        st.warning(outside, icon=":material/report:")
    top = st.container()
    shown = []
    for method in workbench.methods:
        with shown_errors(f"computing {METHOD_LABELS[method]}"):
            shown.append(attention.compute(
                loaded, tensor, digest, settings.layer, settings.target, method,
                workbench.counterfactual,
            ))  # fmt: skip
    if not shown:
        return
    main = shown[0].result
    composite = overlay(crop, main.heatmap, alpha=settings.alpha, colormap=settings.colormap)
    label = METHOD_LABELS[main.method] + (" counter-evidence" if main.counterfactual else "")
    left, middle, right = top.columns(3)
    left.image(crop, caption=f"As the model sees it ({crop.width}×{crop.height})", width="stretch")
    middle.image(
        heatmap_image(main.heatmap, settings.colormap),
        caption=f"{label} at {main.layer} ({main.raw.shape[0]}×{main.raw.shape[1]} map, "
        f"{attention.seconds_text(shown[0].seconds)})",
        width="stretch",
    )
    right.image(
        composite,
        caption=f"The {model_name(loaded)} explaining “{loaded.categories[main.target_class]}”",
        width="stretch",
    )
    chart, actions = top.columns([3, 1])
    with chart:
        show_chart(
            top_k_figure(main.top_k, loaded.categories, main.target_class),
            key=f"topk_{digest[:16]}",
        )
    actions.download_button(
        "Download overlay (PNG)",
        _png(composite),
        file_name=f"{main.method.replace('+', 'p')}_{name.rsplit('.', 1)[0]}_{main.layer}.png",
        mime="image/png",
        key=f"download_{digest[:16]}",
        icon=":material/download:",
        # No rerun on click. A rerun drops this session's reference to the file, and another
        # session's run finishing meanwhile may delete it before the browser's request for it
        # arrives: 3 of 30 simultaneous users saw "download failed" (bench/load_test.py).
        on_click="ignore",
    )
    where = "the CPU (the GPU ran out of memory)" if main.fell_back_to_cpu else main.device
    actions.caption(f"Ran on {where}.")
    if len(shown) > 1:
        attention.method_grid(crop, shown, loaded, settings, workbench)
    elif main.blank:
        last = f"layer{loaded.spec.num_stages}"
        name = loaded.categories[main.target_class]
        st.info(attention.blank_map_message(main, name, last), icon=":material/blur_off:")
    cheap = main.method if main.method not in PER_CHANNEL_METHODS else "gradcam"
    strip = _strip_maps(digest, loaded.name, main.target_class, cheap, loaded.model, tensor)
    _strip(crop, strip, loaded, settings)
    attention.workbench_sections(crop, tensor, shown, loaded, digest, settings)


def _strip(crop: Image.Image, strip: list[CamResult], loaded: LoadedModel, settings: CamSettings):
    spec = loaded.spec
    size = loaded.preprocessing.size
    stages = {s.name: s for s in summarize(spec, (spec.in_channels, size, size)).stages}
    method = METHOD_LABELS[strip[0].method]
    with st.expander(f"The same class at every stage ({method}): why the last stage's map is "
                     "coarse"):  # fmt: skip
        st.markdown(
            "Early stages have fine maps but small receptive fields: each position sees a small "
            "patch and responds to edges and textures. The last stage sees (almost) the whole "
            "image, so its evidence is about the object, but its map is only a few positions "
            "wide: upsampled, it looks blurry."
        )
        columns = st.columns(len(strip))
        for column, result in zip(columns, strip, strict=True):
            stage = stages[result.layer]
            column.image(
                overlay(crop, result.heatmap, alpha=settings.alpha, colormap=settings.colormap),
                caption=f"{stage.label}: {result.raw.shape[0]}×{result.raw.shape[1]} map, "
                f"receptive field {stage.receptive_field} px",
                width="stretch",
            )
        st.page_link(
            site.ARCHITECTURE.file,
            label="Receptive fields stage by stage, on the architecture page",
            icon=site.ARCHITECTURE.icon,
            query_params=url_params_for(loaded.spec, (loaded.spec.in_channels, size, size)),
        )
