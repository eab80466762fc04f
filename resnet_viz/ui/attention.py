"""The attention workbench on the Grad-CAM page: several CAM methods and pixel attributions
(captum's, :mod:`resnet_viz.analysis.attribution.pixel`) side by side with their times,
counter-evidence, blank maps explained, the convergence delta, one cell's receptive field on the
image, the faithfulness curves and the sanity check.

Results are shared by every session, the 512 most recently used kept, through
:func:`~resnet_viz.ui.shared_results.computed_once` (not ``st.cache_data``: the per-channel
methods and the two studies draw a progress bar while they run). Every computation holds a
heavy-work slot; the shared model is only read (all the library calls leave it as found).
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st
from PIL import Image

from ..analysis.attribution.cam import grad_cam
from ..analysis.attribution.methods import (
    CAM_METHODS,
    GRADIENT_METHODS,
    METHOD_LABELS,
    PER_CHANNEL_METHODS,
    estimate_memory_bytes,
)
from ..present.cam import (
    blank_map_message,
)
from ..present.heatmaps import overlay
from ..present.pixel import (
    ABSOLUTE_NOTE,
    SIGNED_NOTE,
)
from ..runtime.memory import memory_budget_bytes, refuse_over_budget
from ..weights import LoadedModel
from .agreement_view import agreement_section
from .common import shown_errors
from .layer_choice import layer_choice_section
from .lrp_view import lrp_section
from .map_checks import faithfulness_section, receptive_field_section, sanity_section
from .pixel_workbench import PixelShown, pixel_cell, pixel_controls
from .sanity_lesson import known_verdicts, sanity_lesson_section
from .scorecard import scorecard_section
from .shared_results import computed_once
from .workbench_common import BIND, TIMES_NOTE, Shown, Workbench, results, seconds_text, timer

MAX_COLUMNS = 4


LABEL_TO_METHOD = {label: method for method, label in METHOD_LABELS.items()}


def workbench_controls(image_side: int | None = None) -> Workbench:
    """The method pickers, the counter-evidence toggle and the pixel methods' settings (all in
    the URL); ``image_side``: the model's input side, the largest occlusion window."""
    asked = st.query_params.get_all("methods")
    if asked and "methods" not in st.session_state:
        # A hand-written link may name the methods ("layercam"), not their labels.
        keys = [LABEL_TO_METHOD.get(m, m) for m in asked]
        st.session_state["methods"] = [m for m in CAM_METHODS if m in keys]
    methods = st.multiselect(
        "CAM methods",
        list(CAM_METHODS),
        default=["gradcam"],
        format_func=METHOD_LABELS.get,
        key="methods",
        bind=BIND,
        help="Gradient methods (Grad-CAM to LayerCAM) cost about one forward pass. Score-CAM "
        "and Ablation-CAM run the network once per channel (seconds to minutes); Eigen-CAM "
        "ignores the class.",
    )
    counterfactual = st.toggle(
        "Counter-evidence",
        key="cf",
        bind=BIND,
        help="Negate the gradient (Selvaraju et al. 2017, Sec. 5): show the regions whose "
        "presence lowers the class score. Gradient methods only.",
    )
    chosen = tuple(m for m in CAM_METHODS if m in methods) or ("gradcam",)
    pixel_methods, options, signed = pixel_controls(image_side)
    return Workbench(chosen, counterfactual, pixel_methods, options, signed)


def compute(loaded: LoadedModel, tensor, digest: str, layer: str, target, method: str,
            counterfactual: bool) -> Shown:  # fmt: skip
    """One method's map, as some session computed it, or computed now and timed warm
    (per-channel methods with a progress bar, after checking their memory estimate against
    this device's budget).

    The first map computed for a model, device and layer is preceded by an untimed Grad-CAM
    run there (:class:`~resnet_viz.runtime.timing.WarmTimer`), so that no method's time
    carries the network's one-time start-up."""
    counterfactual = counterfactual and method in GRADIENT_METHODS
    key = ("cam", digest, loaded.name, layer, target, method, counterfactual)
    found = results().get(key)
    if found is not None:
        return found
    label = METHOD_LABELS[method]
    device = str(next(loaded.model.parameters()).device)
    per_channel = method in PER_CHANNEL_METHODS

    def warm_up():
        grad_cam(loaded.model, tensor, target_layer=layer, target_class=target)

    def run(bar: Callable[[float, str], None]) -> Shown:
        timed = timer().time(
            (loaded.name, device, layer),
            lambda: grad_cam(
                loaded.model, tensor, target_layer=layer, target_class=target,
                method=method, counterfactual=counterfactual,
                progress=(lambda d, t: bar(d / t, f"{label}: {d} of {t} channels"))
                if per_channel else None,
            ),
            warm_up=warm_up,
        )  # fmt: skip
        return Shown(method, timed.value, timed.seconds)

    if per_channel:
        side = tuple(tensor.shape[-2:])
        size = (loaded.spec.in_channels, *side)
        refuse_over_budget(
            estimate_memory_bytes(loaded.spec, size, method, layer),
            memory_budget_bytes(next(loaded.model.parameters()).device),
            f"{label} at {layer}", "pick an earlier layer or a gradient method.",
            wording="{doing} needs about {needed:.1f} GiB here, more than the {budget:.1f} GiB "
            "one job may use: {advice}",
        )  # fmt: skip
    # Per-channel methods with a progress bar; gradient methods (one forward and backward)
    # without one.
    return computed_once(
        results(), key, run, f"{label}: starting…" if per_channel else None,
        waiting_text=f"Another session is computing {label} on this same image…",
    )  # fmt: skip


def computed_maps(loaded: LoadedModel, tensor, digest: str, settings,
                  workbench: Workbench) -> list[Shown]:  # fmt: skip
    """Every chosen CAM method's map of one image (:func:`compute`); a failing one is a message
    in its place and is left out of the list."""
    shown = []
    for method in workbench.methods:
        with shown_errors(f"computing {METHOD_LABELS[method]}"):
            shown.append(compute(loaded, tensor, digest, settings.layer, settings.target, method,
                                 workbench.counterfactual))  # fmt: skip
    return shown


def method_grid(crop: Image.Image, shown: list[Shown], loaded: LoadedModel, settings,
                workbench: Workbench, pixels: list[PixelShown] = ()) -> None:  # fmt: skip
    """The chosen methods' overlays side by side, each with its time and map size, and the
    reason when a map is blank; then the pixel methods' maps in the same grid, each with its
    time and, for Integrated Gradients and DeepLift, whether completeness holds."""
    cells = [*shown, *pixels]
    for start in range(0, len(cells), MAX_COLUMNS):
        row = cells[start : start + MAX_COLUMNS]
        columns = st.columns(min(len(cells), MAX_COLUMNS))
        for column, item in zip(columns, row, strict=False):
            if isinstance(item, PixelShown):
                pixel_cell(column, crop, item, loaded, settings, workbench)
                continue
            cam_cell(column, crop, item, loaded, settings, workbench)
    if pixels:
        st.caption(SIGNED_NOTE if workbench.signed else ABSOLUTE_NOTE)
    st.caption(TIMES_NOTE)


def cam_cell(column, crop: Image.Image, item: Shown, loaded: LoadedModel, settings,
             workbench: Workbench) -> None:  # fmt: skip
    """One CAM method's cell: its overlay with its time and map size, and the reason when the
    map is blank (the per-image grid and the batch grid, :mod:`.batch_view`, draw it alike)."""
    result = item.result
    label = METHOD_LABELS[item.method]
    if result.counterfactual:
        label += " (counter-evidence)"
    h, w = result.raw.shape
    column.image(
        overlay(crop, result.heatmap, alpha=settings.alpha, colormap=settings.colormap),
        caption=f"{label}: {seconds_text(item.seconds)}, {h}×{w} map",
        width="stretch",
    )
    if result.blank:
        last = f"layer{loaded.spec.num_stages}"
        name = loaded.categories[result.target_class]
        column.info(blank_map_message(result, name, last), icon=":material/blur_off:")
    elif workbench.counterfactual and item.method not in GRADIENT_METHODS:
        column.caption("No counter-evidence map: this method uses no gradient.")


def workbench_sections(crop, tensor, shown: list[Shown], loaded: LoadedModel, digest: str,
                       settings, pixels: list[PixelShown] = ()) -> None:  # fmt: skip
    """Receptive field, faithfulness, the sanity check, LRP through the skip connections and
    the methods' agreement under one image (the CAMs in ``shown`` and the pixel maps in
    ``pixels``)."""
    with shown_errors("drawing the receptive field"):
        receptive_field_section(crop, shown[0], loaded, digest)
    with shown_errors("measuring faithfulness"):
        faithfulness_section(tensor, shown, loaded, digest, pixels)
    with shown_errors("running the sanity check"):
        sanity_section(tensor, shown, crop, loaded, digest, settings, pixels)
    with shown_errors("running the sanity-check lesson"):
        sanity_lesson_section(tensor, shown, loaded, digest, settings)
    with shown_errors("scoring the maps"):  # after the lesson: its verdicts fill a column
        verdicts = known_verdicts(shown, loaded, digest)
        scorecard_section(tensor, shown, loaded, digest, pixels, verdicts)
    with shown_errors("comparing the layers"):
        layer_choice_section(crop, tensor, shown, loaded, digest, settings)
    with shown_errors("comparing the methods at every layer"):
        agreement_section(tensor, shown, loaded, digest)
    with shown_errors("propagating relevance (LRP)"):
        lrp_section(crop, tensor, shown, loaded, digest, settings)
