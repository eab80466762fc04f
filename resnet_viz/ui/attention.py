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

import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import streamlit as st
from PIL import Image

from ..analysis.attribution.cam import CamResult, grad_cam
from ..analysis.attribution.cell_field import peak_cell, receptive_field_box
from ..analysis.attribution.faithfulness import faithfulness, inverted, random_map
from ..analysis.attribution.methods import (
    CAM_METHODS,
    GRADIENT_METHODS,
    METHOD_LABELS,
    PER_CHANNEL_METHODS,
    estimate_memory_bytes,
)
from ..analysis.attribution.pixel import METHODS as PIXEL_METHODS
from ..analysis.attribution.pixel import PixelAttribution, attribute
from ..analysis.attribution.sanity import sanity_check
from ..errors import UserError
from ..present.cam import (
    blank_map_message,
    draw_receptive_field,
    faithfulness_figure,
    faithfulness_sentence,
    receptive_field_caption,
    sanity_figure,
    sanity_sentence,
)
from ..present.heatmaps import heatmap_image, overlay
from ..present.pixel import (
    ABSOLUTE_NOTE,
    BASELINE_LABELS,
    BASELINE_NOTE,
    SIGNED_NOTE,
    completeness_sentence,
    signed_image,
)
from ..runtime.memory import memory_budget_bytes, refuse_over_budget
from ..runtime.timing import WarmTimer
from ..weights import LoadedModel
from .common import shown_errors
from .lecture import show_chart
from .shared_results import SharedResults, computed_once, shared_results

BIND = "query-params"
MAX_COLUMNS = 4
FAITHFULNESS_STEPS = 16
LABEL_TO_METHOD = {label: method for method, label in METHOD_LABELS.items()}
PIXEL_LABEL_TO_METHOD = {entry.label: key for key, entry in PIXEL_METHODS.items()}
LABEL_TO_BASELINE = {label: key for key, label in BASELINE_LABELS.items()}
#: The pixel methods' options a page shows, by option name, with the URL key of each control
#: (the batch sizes and seeds keep their defaults: they change the cost, not the map).
PIXEL_CONTROLS = {
    "steps": "px_steps",
    "samples": "px_samples",
    "noise_level": "px_noise",
    "baseline": "px_baseline",
    "window": "px_window",
    "stride": "px_stride",
}


@dataclass(frozen=True)
class Workbench:
    """The methods to show and whether to show counter-evidence; the pixel methods, their
    options (by option name, shared by the methods that have it) and their view."""

    methods: tuple[str, ...]
    counterfactual: bool
    pixel_methods: tuple[str, ...] = ()
    pixel_options: Mapping[str, Any] = field(default_factory=dict)
    signed: bool = True

    def options_for(self, method: str) -> dict[str, Any]:
        """The options the page sets for one pixel method (the others keep their defaults)."""
        names = {option.name for option in PIXEL_METHODS[method].options}
        return {k: v for k, v in self.pixel_options.items() if k in names}


@dataclass(frozen=True)
class Shown:
    """One method's map on one image, and what it cost."""

    method: str
    result: CamResult
    seconds: float


@dataclass(frozen=True)
class PixelShown:
    """One pixel method's attribution on one image, and what it cost."""

    method: str
    result: PixelAttribution
    seconds: float


def _results() -> SharedResults:
    """Maps and studies, one key space: ("cam" | "pixel" | "faith" | "sanity", ...)."""
    return shared_results("attention workbench", 512)


# Controls ------------------------------------------------------------------------------------


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
    pixel_methods, options, signed = _pixel_controls(image_side)
    return Workbench(chosen, counterfactual, pixel_methods, options, signed)


def _pixel_controls(image_side: int | None) -> tuple[tuple[str, ...], dict[str, Any], bool]:
    """The pixel-method picker (none by default), the view toggle and, in an expander, the
    chosen methods' options, each widget limited to the option's range."""
    asked = st.query_params.get_all("pixel")
    if asked and "pixel" not in st.session_state:
        keys = [PIXEL_LABEL_TO_METHOD.get(m, m) for m in asked]
        st.session_state["pixel"] = [m for m in PIXEL_METHODS if m in keys]
    picked = st.multiselect(
        "Pixel methods",
        list(PIXEL_METHODS),
        default=[],
        format_func=lambda key: PIXEL_METHODS[key].label,
        key="pixel",
        bind=BIND,
        help="captum's attributions of every input pixel: Saliency and Input x Gradient cost "
        "one backward pass, the noise tunnels one per sample, Integrated Gradients one per "
        "step, Occlusion one forward pass per window position.",
    )
    chosen = tuple(m for m in PIXEL_METHODS if m in picked)
    if not chosen:
        return (), {}, True
    signed = (
        st.segmented_control(
            "Pixel map view",
            ["signed", "absolute"],
            default="signed",
            key="px_view",
            bind=BIND,
            help=f"{SIGNED_NOTE} {ABSOLUTE_NOTE}",
        )
        != "absolute"
    )
    options = {}
    wanted = {o.name: o for m in chosen for o in PIXEL_METHODS[m].options}
    wanted = {name: wanted[name] for name in PIXEL_CONTROLS if name in wanted}
    if wanted:
        with st.expander("Pixel method settings"):
            for name, option in wanted.items():
                options[name] = _option_widget(option, PIXEL_CONTROLS[name], image_side)
    return chosen, options, signed


def option_text(label: str) -> str:
    """A registry label as a widget's ("The number of steps" -> "Number of steps")."""
    return label.removeprefix("The ")[:1].upper() + label.removeprefix("The ")[1:]


def _option_widget(option, key: str, image_side: int | None):
    """One option's widget, its range the registry's (an occlusion window or stride at most the
    image's side): a value out of range cannot be entered."""
    label = option_text(option.label)
    if option.choices is not None:
        asked = st.query_params.get(key)
        if asked in option.choices and key not in st.session_state:
            # A hand-written link may name the choice ("mean"), not the menu's label for it.
            st.session_state[key] = asked
        value = st.selectbox(
            label, option.choices, index=option.choices.index(option.default),
            format_func=lambda c: BASELINE_LABELS.get(c, c), key=key, bind=BIND,
        )  # fmt: skip
        if option.name == "baseline":
            st.caption(BASELINE_NOTE)
        return value
    if not option.integer:
        return st.slider(label, float(option.low), float(option.high), float(option.default),
                         0.01, key=key, bind=BIND)  # fmt: skip
    high = int(option.high)
    if option.name in ("window", "stride") and image_side is not None:
        high = min(high, image_side)
    return int(st.number_input(label, int(option.low), high, min(int(option.default), high),
                               1, key=key, bind=BIND))  # fmt: skip


# The method grid -----------------------------------------------------------------------------


def seconds_text(value: float) -> str:
    return f"{value * 1e3:.0f} ms" if value < 1 else f"{value:.1f} s"


#: What a method's time includes, shown under the times (see :mod:`..runtime.timing`).
TIMES_NOTE = (
    "Each time is one run of the method on this image, measured warm: the network ran once "
    "untimed at this layer on this device first (for the pixel methods, one Saliency run), so "
    "the one-time start-up cost is left out "
    "and the times compare the methods."
)


@st.cache_resource
def _timer() -> WarmTimer:
    """One warm-up record per server, like the models it times."""
    return WarmTimer()


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
    found = _results().get(key)
    if found is not None:
        return found
    label = METHOD_LABELS[method]
    device = str(next(loaded.model.parameters()).device)
    per_channel = method in PER_CHANNEL_METHODS

    def warm_up():
        grad_cam(loaded.model, tensor, target_layer=layer, target_class=target)

    def run(bar: Callable[[float, str], None]) -> Shown:
        timed = _timer().time(
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
        _results(), key, run, f"{label}: starting…" if per_channel else None,
        waiting_text=f"Another session is computing {label} on this same image…",
    )  # fmt: skip


def compute_pixel(loaded: LoadedModel, tensor, digest: str, layer: str, target, method: str,
                  options: Mapping[str, Any]) -> PixelShown:  # fmt: skip
    """One pixel method's attribution (:func:`~resnet_viz.analysis.attribution.pixel.attribute`
    on the page's model, with its normalisation), as some session computed it, or computed now
    and timed warm: the first pixel map for a model and device is preceded by an untimed
    Saliency run (one forward and backward pass to the input). Guided Grad-CAM uses the page's
    target layer."""
    entry = PIXEL_METHODS[method]
    options = dict(options)
    if any(option.name == "layer" for option in entry.options):
        options["layer"] = layer
    key = ("pixel", digest, loaded.name, target, method, tuple(sorted(options.items())))
    found = _results().get(key)
    if found is not None:
        return found
    device = str(next(loaded.model.parameters()).device)
    mean, std = loaded.preprocessing.mean, loaded.preprocessing.std

    def run(_bar) -> PixelShown:
        timed = _timer().time(
            (loaded.name, device, "pixel"),
            lambda: attribute(loaded.model, tensor, method, target, mean=mean, std=std,
                              **options),
            warm_up=lambda: _warm_up(loaded, tensor, target),
        )  # fmt: skip
        return PixelShown(method, timed.value, timed.seconds)

    with st.spinner(f"{entry.label}…"):
        return computed_once(
            _results(), key, run, None,
            waiting_text=f"Another session is computing {entry.label} on this same image…",
        )  # fmt: skip


def _warm_up(loaded: LoadedModel, tensor, target) -> None:
    """One untimed Saliency run. A refusal here (over the memory budget) is not shown: the
    method timed next meets its own check and names itself."""
    with contextlib.suppress(UserError):
        attribute(loaded.model, tensor, "saliency", target,
                  mean=loaded.preprocessing.mean, std=loaded.preprocessing.std)  # fmt: skip


def pixel_maps(loaded: LoadedModel, tensor, digest: str, settings,
               workbench: Workbench) -> list[PixelShown]:  # fmt: skip
    """The chosen pixel methods' attributions; a failing one is a message in its place."""
    out = []
    for method in workbench.pixel_methods:
        with shown_errors(f"computing {PIXEL_METHODS[method].label}"):
            out.append(compute_pixel(loaded, tensor, digest, settings.layer, settings.target,
                                     method, workbench.options_for(method)))  # fmt: skip
    return out


def _pixel_cell(column, crop: Image.Image, item: PixelShown, loaded: LoadedModel, settings,
                workbench: Workbench) -> None:  # fmt: skip
    result = item.result
    entry = PIXEL_METHODS[item.method]
    _, h, w = result.raw.shape
    picture = (
        signed_image(result.raw)
        if workbench.signed
        else overlay(crop, result.heatmap, alpha=settings.alpha, colormap=settings.colormap)
    )
    view = "signed" if workbench.signed else "absolute"
    column.image(
        picture,
        caption=f"{entry.label}: {seconds_text(item.seconds)}, {h}×{w} pixels, {view}",
        width="stretch",
    )
    if result.delta is not None:
        column.caption(
            completeness_sentence(float(result.raw.sum(dtype="float64")), result.delta,
                                  has_steps="steps" in result.options)
        )  # fmt: skip
    if result.fell_back_to_cpu:
        column.caption("Ran on the CPU (the GPU ran out of memory).")


def method_grid(crop: Image.Image, shown: list[Shown], loaded: LoadedModel, settings,
                workbench: Workbench, pixels: list[PixelShown] = ()) -> None:  # fmt: skip
    """The chosen methods' overlays side by side, each with its time and map size, and the
    reason when a map is blank; then the pixel methods' maps in the same grid, each with its
    time and, for Integrated Gradients and DeepLift, whether completeness holds."""
    last = f"layer{loaded.spec.num_stages}"
    cells = [*shown, *pixels]
    for start in range(0, len(cells), MAX_COLUMNS):
        row = cells[start : start + MAX_COLUMNS]
        columns = st.columns(min(len(cells), MAX_COLUMNS))
        for column, item in zip(columns, row, strict=False):
            if isinstance(item, PixelShown):
                _pixel_cell(column, crop, item, loaded, settings, workbench)
                continue
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
                name = loaded.categories[result.target_class]
                column.info(blank_map_message(result, name, last), icon=":material/blur_off:")
            elif workbench.counterfactual and item.method not in GRADIENT_METHODS:
                column.caption("No counter-evidence map: this method uses no gradient.")
    if pixels:
        st.caption(SIGNED_NOTE if workbench.signed else ABSOLUTE_NOTE)
    st.caption(TIMES_NOTE)


# Receptive field -----------------------------------------------------------------------------


def receptive_field_section(crop: Image.Image, first: Shown, loaded: LoadedModel, digest: str):
    """Pick a cell (the map's peak by default), draw its receptive field on the image."""
    result = first.result
    rows, cols = result.raw.shape
    peak = peak_cell(result.raw)
    with st.expander("What does one cell of the map see? Its receptive field"):
        left, right = st.columns([1, 2])
        key = f"{digest[:12]}_{result.layer}"
        row = left.number_input("Cell row", 0, rows - 1, peak[0], key=f"rf_row_{key}")
        col = left.number_input("Cell column", 0, cols - 1, peak[1], key=f"rf_col_{key}")
        left.caption(f"The map's peak is cell {peak} (the default).")
        size = (loaded.spec.in_channels, crop.height, crop.width)
        box = receptive_field_box(loaded.spec, result.layer, (int(row), int(col)), size)
        right.image(
            draw_receptive_field(crop, box),
            caption=f"Receptive field of cell ({row}, {col}) at {result.layer}",
            width="stretch",
        )
        text = receptive_field_caption(box, result.layer, (crop.height, crop.width))
        (left.info if box.larger_than_image else left.markdown)(text)


# Faithfulness and the sanity check -----------------------------------------------------------


def _requested(kind: str, key: str, label: str, help_text: str) -> bool:
    """A button whose request is remembered for the session (results stay on reruns)."""
    asked = st.session_state.setdefault(f"_asked_{kind}", set())
    if st.button(label, key=f"{kind}_{key}", help=help_text, icon=":material/play_arrow:"):
        asked.add(key)
    return key in asked


def faithfulness_section(tensor, shown: list[Shown], loaded: LoadedModel, digest: str):
    """RISE's deletion and insertion curves of every shown map, with random and inverted maps."""
    st.markdown("#### Faithfulness: do the map's top pixels carry the prediction?")
    first = shown[0].result
    key = f"{digest[:16]}_{first.layer}_{first.target_class}_" + "-".join(
        f"{s.method}{int(s.result.counterfactual)}" for s in shown
    )
    passes = 2 * (FAITHFULNESS_STEPS + 1) * (len(shown) + 2)
    if not _requested("faith", key, "Measure faithfulness",
                      f"Deletion and insertion curves (Petsiuk et al. 2018): {passes} forward "
                      "passes of the network, in batches."):  # fmt: skip
        st.caption(
            "Deleting the pixels a faithful map ranks highest should make the probability fall "
            "fast (low deletion AUC); inserting them first into a blurred image should bring "
            "it back fast (high insertion AUC)."
        )
        return
    curves, references = _stored_or_computed(
        ("faith", loaded.name, key), "Faithfulness: starting…",
        lambda bar: _faithfulness(tensor, shown, loaded, bar),
    )  # fmt: skip
    name = loaded.categories[first.target_class]
    show_chart(faithfulness_figure(curves, references, name), key=f"faith_chart_{key}")
    st.markdown(faithfulness_sentence(curves, references, name))


def _stored_or_computed(store_key: tuple, starting: str, compute: Callable):
    """A heavy result some session already computed, or ``compute(progress)`` in a heavy-work
    slot with a progress bar, kept for the next rerun and the other sessions."""
    return computed_once(_results(), store_key, compute, starting)


def _faithfulness(tensor, shown: list[Shown], loaded: LoadedModel, bar: Callable):
    first = shown[0].result
    maps = {s.method: s.result.heatmap for s in shown}
    maps_ref = {
        "random": random_map(first.heatmap.shape, seed=0, cells=first.raw.shape),
        "inverted": inverted(first.heatmap),
    }
    everything = {**maps, **maps_ref}
    out = {}
    for i, (name, heat) in enumerate(everything.items()):
        out[name] = faithfulness(
            loaded.model, tensor, heat, target_class=first.target_class,
            steps=FAITHFULNESS_STEPS,
            progress=lambda d, t, i=i: bar((i + d / t) / len(everything),
                                           f"Faithfulness: map {i + 1} of {len(everything)}"),
        )  # fmt: skip
    return {m: out[m] for m in maps}, {r: out[r] for r in maps_ref}


def sanity_section(tensor, shown: list[Shown], crop: Image.Image, loaded: LoadedModel,
                   digest: str, settings) -> None:  # fmt: skip
    """Cascading randomisation of a private copy; the correlation plotted against depth."""
    st.markdown("#### Sanity check: does the map depend on the weights?")
    first = shown[0]
    method = first.method
    result = first.result
    key = f"{digest[:16]}_{result.layer}_{result.target_class}_{method}"
    units = 2 + sum(loaded.spec.layers)
    if not _requested("sanity", key, f"Run the sanity check ({METHOD_LABELS[method]})",
                      f"Adebayo et al. 2018: randomise the weights from the classifier down, "
                      f"{units} steps, one map each, on a private copy of the model."):  # fmt: skip
        st.caption(
            "An explanation that does not change when the weights are destroyed is not "
            "explaining the model. The check randomises a copy of the network layer by layer, "
            "from the classifier down, and compares each new map with this one."
        )
        return
    check = _stored_or_computed(
        ("sanity", loaded.name, key), "Sanity check: starting…",
        lambda bar: sanity_check(
            loaded.model, tensor, target_layer=result.layer,
            target_class=result.target_class, method=method,
            progress=lambda d, t: bar(d / t, f"Sanity check: {d} of {t} maps"),
        ),
    )  # fmt: skip
    show_chart(sanity_figure(check), key=f"sanity_chart_{key}")
    st.markdown(sanity_sentence(check))
    picks = [check.steps[0], check.steps[len(check.steps) // 2], check.steps[-1]]
    columns = st.columns(1 + len(picks))
    columns[0].image(heatmap_image(check.original.heatmap, settings.colormap),
                     caption="trained model", width="stretch")  # fmt: skip
    for column, step in zip(columns[1:], picks, strict=True):
        column.image(
            heatmap_image(step.result.heatmap, settings.colormap),
            caption=f"random down to {step.randomized}: ρ = {step.rank_correlation:.2f}",
            width="stretch",
        )


def workbench_sections(crop, tensor, shown: list[Shown], loaded: LoadedModel, digest: str,
                       settings) -> None:  # fmt: skip
    """Receptive field, faithfulness and the sanity check under one image."""
    with shown_errors("drawing the receptive field"):
        receptive_field_section(crop, shown[0], loaded, digest)
    with shown_errors("measuring faithfulness"):
        faithfulness_section(tensor, shown, loaded, digest)
    with shown_errors("running the sanity check"):
        sanity_section(tensor, shown, crop, loaded, digest, settings)
