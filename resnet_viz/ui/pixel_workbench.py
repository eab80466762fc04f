"""The workbench's pixel attributions (captum's, :mod:`resnet_viz.analysis.attribution.pixel`):
their picker and settings from the registry's options and ranges, one computed map per method,
and its cell in the grid (signed or absolute, with the convergence delta where it applies).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import streamlit as st
from PIL import Image

from ..analysis.attribution.lrp import COMPOSITES
from ..analysis.attribution.pixel import METHODS as PIXEL_METHODS
from ..analysis.attribution.pixel import PixelAttribution, attribute
from ..errors import UserError
from ..present.heatmaps import overlay
from ..present.pixel import (
    ABSOLUTE_NOTE,
    BASELINE_LABELS,
    BASELINE_NOTE,
    SIGNED_NOTE,
    completeness_sentence,
    signed_image,
)
from ..weights import LoadedModel
from .common import shown_errors
from .shared_results import computed_once
from .workbench_common import BIND, Workbench, results, seconds_text, timer

PIXEL_LABEL_TO_METHOD = {entry.label: key for key, entry in PIXEL_METHODS.items()}


LABEL_TO_BASELINE = {label: key for key, label in BASELINE_LABELS.items()}

#: What a menu shows for each choice of a pixel method's option: the baselines' and the LRP
#: composites' labels.
CHOICE_LABELS = {**BASELINE_LABELS, **{key: label for key, (label, _) in COMPOSITES.items()}}


#: The pixel methods' options a page shows, by option name, with the URL key of each control.
#: The batch size (samples, steps or occluded images per pass) changes the time and the memory,
#: not the method; it is left empty unless set, so each method keeps its own default.
PIXEL_CONTROLS = {
    "steps": "px_steps",
    "samples": "px_samples",
    "noise_level": "px_noise",
    "baseline": "px_baseline",
    "window": "px_window",
    "stride": "px_stride",
    "batch_size": "px_batch",
    "seed": "px_seed",
    "composite": "px_lrp",
    "zero_bias": "px_zero_bias",
}

#: The share of a forward and backward pass that a forward pass alone costs: the backward pass
#: costs about twice the forward (Kaplan et al. 2020, "Scaling Laws for Neural Language
#: Models", Sec. 2.1: 2N FLOPs forward, 4N backward). Only for the time estimate before Occlusion.
FORWARD_SHARE = 1 / 3


@dataclass(frozen=True)
class PixelShown:
    """One pixel method's attribution on one image, and what it cost."""

    method: str
    result: PixelAttribution
    seconds: float


def pixel_controls(image_side: int | None) -> tuple[tuple[str, ...], dict[str, Any], bool]:
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
        help="captum's attributions of every input pixel (LRP's are zennit's): Saliency and "
        "Input x Gradient cost one backward pass, the noise tunnels one per sample, Integrated "
        "Gradients one per step, Occlusion one forward pass per window position, LRP one "
        "forward and one backward pass.",
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
                if name == "batch_size":
                    value = _batch_widget(chosen)
                else:
                    value = _option_widget(option, PIXEL_CONTROLS[name], image_side)
                if value is not None:
                    options[name] = value
    return chosen, options, signed


def _batch_widget(chosen: tuple[str, ...]) -> int | None:
    """One batch size for the chosen methods that have one, empty by default (each then keeps
    its own default, which its help names); its range the registry's."""
    own = [
        (PIXEL_METHODS[m].label, o)
        for m in chosen
        for o in PIXEL_METHODS[m].options
        if o.name == "batch_size"
    ]
    low = max(int(o.low) for _, o in own)
    high = min(int(o.high) for _, o in own)
    defaults = "; ".join(f"{label}: {o.label.lower()}, {o.default}" for label, o in own)
    value = st.number_input(
        "Batch size (per pass)", low, high, None, 1, key=PIXEL_CONTROLS["batch_size"], bind=BIND,
        placeholder="each method's default",
        help=f"How many noisy samples, steps or occluded images go through the network at once: "
        f"a larger batch is faster and needs more memory; the method computes the same thing. "
        f"Empty: each method's default ({defaults}).",
    )  # fmt: skip
    return None if value is None else int(value)


def option_text(label: str) -> str:
    """A registry label as a widget's ("The number of steps" -> "Number of steps")."""
    return label.removeprefix("The ")[:1].upper() + label.removeprefix("The ")[1:]


def _option_widget(option, key: str, image_side: int | None):
    """One option's widget, its range the registry's (an occlusion window or stride at most the
    image's side): a value out of range cannot be entered."""
    label = option_text(option.label)
    if option.choices == (False, True):
        return st.toggle(label, value=option.default, key=key, bind=BIND)
    if option.choices is not None:
        asked = st.query_params.get(key)
        if asked in option.choices and key not in st.session_state:
            # A hand-written link may name the choice ("mean"), not the menu's label for it.
            st.session_state[key] = asked
        value = st.selectbox(
            label, option.choices, index=option.choices.index(option.default),
            format_func=lambda c: CHOICE_LABELS.get(c, c), key=key, bind=BIND,
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
    found = results().get(key)
    if found is not None:
        return found
    device = str(next(loaded.model.parameters()).device)
    mean, std = loaded.preprocessing.mean, loaded.preprocessing.std
    side = int(tensor.shape[-1])
    count, forward_only = passes(method, options, side)
    costs = pass_costs()

    def run(_bar) -> PixelShown:
        def warm_up() -> None:
            start = time.perf_counter()
            warm_up_once(loaded, tensor, target)  # cold: a first, high guess of one pass
            costs.setdefault((loaded.name, device), time.perf_counter() - start)

        timed = timer().time(
            (loaded.name, device, "pixel"),
            lambda: attribute(loaded.model, tensor, method, target, mean=mean, std=std,
                              **options),
            warm_up=warm_up,
        )  # fmt: skip
        if entry.top1_in_pass:  # one forward and backward pass of the image, measured warm
            costs[(loaded.name, device)] = timed.seconds
        return PixelShown(method, timed.value, timed.seconds)

    with st.spinner(spinner_text(entry.label, count, forward_only,
                                 costs.get((loaded.name, device)))):  # fmt: skip
        return computed_once(
            results(), key, run, None,
            waiting_text=f"Another session is computing {entry.label} on this same image…",
        )  # fmt: skip


def passes(method: str, options: Mapping[str, Any], side: int) -> tuple[int, bool]:
    """How many passes ``method`` runs through the network with ``options`` (the registry's
    defaults for the rest) on a square image of ``side`` pixels, and whether they are forward
    passes only: one per noisy sample or step (captum's NoiseTunnel and IntegratedGradients;
    the convergence delta's two forward passes, of the image and of the baseline, not counted),
    one per window position plus the unoccluded image (captum's Occlusion), two for Guided
    Grad-CAM (its Grad-CAM and its Guided Backprop), one otherwise (DeepLift's one pass is of
    the image and its baseline together)."""
    entry = PIXEL_METHODS[method]
    checked = entry.defaults() | dict(options)
    if "samples" in checked:
        return checked["samples"], False
    if "steps" in checked:
        return checked["steps"], False
    if "window" in checked:
        per_side = (side - checked["window"]) // checked["stride"] + 1
        return per_side * per_side + 1, True
    return (2 if "layer" in checked else 1), False


def spinner_text(label: str, count: int, forward_only: bool, pass_seconds: float | None) -> str:
    """What the page says while a method runs: its passes and, from the measured time of one
    forward and backward pass (``pass_seconds``; None: not measured yet), about how long."""
    if count == 1:
        return f"{label}…"
    kind = "forward passes" if forward_only else "forward and backward passes"
    text = f"{label}: {count:,} {kind}".replace(",", " ")
    if pass_seconds is not None:
        estimate = count * pass_seconds * (FORWARD_SHARE if forward_only else 1)
        text += (
            f", at most about {seconds_text(estimate)} (one forward and backward pass took "
            f"{seconds_text(pass_seconds)} here; batched passes take less each)"
        )
    return text + "…"


@st.cache_resource
def pass_costs() -> dict[tuple[str, str], float]:
    """Seconds of one forward and backward pass, by (model, device): the last warm run of a
    one-pass method (Saliency, Input x Gradient, Guided Backprop: ``top1_in_pass``), or, before
    any, the untimed warm-up's (cold: longer). One per server."""
    return {}


def warm_up_once(loaded: LoadedModel, tensor, target) -> None:
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


def pixel_cell(column, crop: Image.Image, item: PixelShown, loaded: LoadedModel, settings,
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
