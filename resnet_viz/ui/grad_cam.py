"""Controls and drawing for the Grad-CAM page.

The page's model comes from :mod:`.models`. The maps of every method are kept per (image,
model, layer, class, method) by :mod:`.attention`, the workbench this module calls, which also
draws the workbench's studies; the per-stage strip is cached here.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass

import streamlit as st
from PIL import Image

from ..analysis.attribution.cam import CamResult, grad_cam_strip
from ..analysis.attribution.methods import CAM_METHODS, METHOD_LABELS, PER_CHANNEL_METHODS
from ..core.split import layer_label, target_layers
from ..core.summary import shared_summary
from ..data.images import load_image
from ..data.samples import Sample, bundled_samples
from ..errors import UserError
from ..present.cam import top_k_figure
from ..present.heatmaps import heatmap_image, overlay
from ..weights import LoadedModel
from ..weights.domain import model_name, outside_training
from . import attention, pixel_workbench, site, workbench_common
from .common import IMAGE_TYPES, MAX_IMAGE_MB, shown_errors
from .lecture import show_chart
from .models import CHECKPOINT, DEMO, SHARED_MODELS
from .network_controls import url_params_for
from .shared_results import computed_once, shared_results

BIND = "query-params"
#: The model menu: the shared models, then a state_dict uploaded for a chosen preset.
MODEL_KEYS = [*SHARED_MODELS, CHECKPOINT]
COLORMAPS = ["jet", "turbo", "inferno", "viridis"]


# Controls -------------------------------------------------------------------------------------


def link_values() -> dict[str, list[str]]:
    """The bound parameters of the link as it was opened. Call it before any widget: a widget
    bound to the URL drops an invalid value from it when it is created."""
    keys = ("layer", "methods", "cls", "pixel", *pixel_workbench.PIXEL_CONTROLS.values())
    return {key: st.query_params.get_all(key) for key in keys}


def url_messages(loaded: LoadedModel, link: dict[str, list[str]]) -> None:
    """Say when a link asks for what this model cannot do. Streamlit ignores an invalid bound
    value silently (the widget falls back to its default); the user should know why."""
    spec = loaded.spec
    size = (spec.in_channels, loaded.preprocessing.size, loaded.preprocessing.size)
    names = target_layers(spec)
    labels = {layer_label(spec, name, size) for name in names} | set(names)
    bad_layers = [v for v in link.get("layer", []) if v not in labels]
    if bad_layers:
        st.warning(
            f"The link asks for layer “{bad_layers[0]}”, which this network does not have: "
            f"showing its last stage, layer{spec.num_stages}. It has layer1 to "
            f"layer{spec.num_stages} and their blocks (layer2.0, layer2.1, …).",
            icon=":material/link_off:",
        )
    unknown = [m for m in link.get("methods", []) if m not in attention.LABEL_TO_METHOD]
    unknown = [m for m in unknown if m not in CAM_METHODS]
    if unknown:
        st.warning(
            f"Unknown CAM method in the link: {', '.join(repr(m) for m in unknown)}. The "
            f"methods are {', '.join(METHOD_LABELS.values())}.",
            icon=":material/link_off:",
        )
    _pixel_url_messages(loaded, link)
    classes = ("Top-1 prediction", *loaded.categories)
    bad_classes = [c for c in link.get("cls", []) if c not in classes]
    if bad_classes:
        st.warning(
            f"The link asks to explain class “{bad_classes[0]}”, which this model does not "
            f"have ({len(loaded.categories)} classes): explaining its top-1 prediction instead.",
            icon=":material/link_off:",
        )


def _pixel_url_messages(loaded: LoadedModel, link: dict[str, list[str]]) -> None:
    """Unknown pixel methods and pixel-method settings out of their range, named."""
    pixel = pixel_workbench.PIXEL_METHODS
    unknown = [m for m in link.get("pixel", []) if m not in pixel]
    unknown = [m for m in unknown if m not in pixel_workbench.PIXEL_LABEL_TO_METHOD]
    if unknown:
        st.warning(
            f"Unknown pixel method in the link: {', '.join(repr(m) for m in unknown)}. The "
            f"methods are {', '.join(entry.label for entry in pixel.values())}.",
            icon=":material/link_off:",
        )
    asked = [pixel_workbench.PIXEL_LABEL_TO_METHOD.get(m, m) for m in link.get("pixel", [])]
    entries = [pixel[m] for m in asked if m in pixel] or list(pixel.values())
    side = loaded.preprocessing.size
    for name, key in pixel_workbench.PIXEL_CONTROLS.items():
        # Several methods may have an option of this name, each with its own range and default
        # (the batch sizes): the value must suit every linked method that has it.
        same_name = [o for entry in entries for o in entry.options if o.name == name]
        for value in link.get(key, []) if same_name else []:
            problem = next(filter(None, (_option_problem(o, value, side) for o in same_name)),
                           None)  # fmt: skip
            if problem:
                defaults = {o.default for o in same_name}
                default = (f"the default, {same_name[0].default}" if len(defaults) == 1
                           else "each method's own default")  # fmt: skip
                st.warning(f"The link's {key}={value!r}: {problem} Using {default}.",
                           icon=":material/link_off:")  # fmt: skip


def _option_problem(option, value: str, side: int) -> str | None:
    """Why a link's text for a pixel-method option cannot be used, or None."""
    if option.choices == (False, True):
        if value.lower() not in ("true", "false"):
            return f"{pixel_workbench.option_text(option.label)} must be true or false."
        parsed: object = value.lower() == "true"
    elif option.choices is not None:
        parsed = pixel_workbench.LABEL_TO_BASELINE.get(value, value)
    else:
        try:
            parsed = int(value) if option.integer else float(value)
        except ValueError:
            kind = "a whole number" if option.integer else "a number"
            return f"{pixel_workbench.option_text(option.label)} must be {kind}."
    try:
        option.check(parsed)
    except UserError as error:
        return str(error)
    if option.name in ("window", "stride") and parsed > side:
        return (
            f"{pixel_workbench.option_text(option.label)} must be at most the image's side, {side}."
        )
    return None


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


def explanation_controls(loaded: LoadedModel) -> tuple[CamSettings, attention.Workbench]:
    """The sidebar's explanation settings: :func:`cam_controls`, then the workbench's methods,
    counter-evidence toggle and pixel methods."""
    return cam_controls(loaded), attention.workbench_controls(loaded.preprocessing.size)


#: The name a camera frame goes by on the page.
CAMERA = "Camera"


def camera_item(frame) -> tuple[str, bytes]:
    """A camera frame (``st.camera_input``'s file) as an image of the page, checked now, so
    that a frame that is not an image is named beside the camera.

    Raises ImageError (a UserError) with the loader's sentence for bad bytes."""
    data = frame.getvalue()
    load_image(data)
    return CAMERA, data


def _camera() -> list[tuple[str, bytes]]:
    """The camera, off by default (the URL keeps the toggle): turned on, the browser asks for
    permission, so it never opens on load."""
    if not st.toggle(
        "Use the camera",
        key="camera",
        bind=BIND,
        help="Hold an object up to the camera: every chosen method explains the picture.",
    ):
        return []
    frame = st.camera_input("Take a picture", key="camera_frame")
    if frame is None:
        return []
    with shown_errors("reading the camera's picture"):
        return [camera_item(frame)]
    return []


def image_inputs(loaded: LoadedModel) -> list[tuple[str, bytes]]:
    """Uploaded files, chosen bundled samples and the camera's picture (when it is on), as
    (name, bytes) pairs."""
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
    return items + _camera()


# One image -------------------------------------------------------------------------------------


def _strip_maps(
    image_digest: str, model_key: str, target: int, method: str, model, tensor
) -> list[CamResult]:
    """The map of ``method`` at every stage, shared by the sessions (256 kept, one per image,
    model, class and method): computed outside ``st.cache_data`` so that a student waiting for
    a heavy-work slot sees its place in the queue (see :mod:`resnet_viz.ui.shared_results`)."""
    return computed_once(
        shared_results("Grad-CAM strips", 256),
        (image_digest, model_key, target, method),
        lambda _progress: grad_cam_strip(model, tensor, target_class=target, method=method),
        progress_text=None,
        waiting_text="Another session is computing these same maps…",
        kind="Grad-CAM",
    )


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
    shown = attention.computed_maps(loaded, tensor, digest, settings, workbench)
    if not shown:
        return
    pixels = pixel_workbench.pixel_maps(loaded, tensor, digest, settings, workbench)
    main = shown[0].result
    composite = overlay(crop, main.heatmap, alpha=settings.alpha, colormap=settings.colormap)
    label = METHOD_LABELS[main.method] + (" counter-evidence" if main.counterfactual else "")
    left, middle, right = top.columns(3)
    left.image(crop, caption=f"As the model sees it ({crop.width}×{crop.height})", width="stretch")
    middle.image(
        heatmap_image(main.heatmap, settings.colormap),
        caption=f"{label} at {main.layer} ({main.raw.shape[0]}×{main.raw.shape[1]} map, "
        f"{workbench_common.seconds_text(shown[0].seconds)})",
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
    if len(shown) > 1 or pixels:
        attention.method_grid(crop, shown, loaded, settings, workbench, pixels)
    elif main.blank:
        last = f"layer{loaded.spec.num_stages}"
        name = loaded.categories[main.target_class]
        st.info(attention.blank_map_message(main, name, last), icon=":material/blur_off:")
    cheap = main.method if main.method not in PER_CHANNEL_METHODS else "gradcam"
    strip = _strip_maps(digest, loaded.name, main.target_class, cheap, loaded.model, tensor)
    _strip(crop, strip, loaded, settings)
    attention.workbench_sections(crop, tensor, shown, loaded, digest, settings, pixels)


def _strip(crop: Image.Image, strip: list[CamResult], loaded: LoadedModel, settings: CamSettings):
    spec = loaded.spec
    size = loaded.preprocessing.size
    stages = {s.name: s for s in shared_summary(spec, (spec.in_channels, size, size)).stages}
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
