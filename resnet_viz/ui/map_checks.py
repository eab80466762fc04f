"""The workbench's checks of a map, each on request: one cell's receptive field drawn on the
image, the faithfulness curves (deletion and insertion against a random and an inverted map)
and the model-randomisation sanity check (Adebayo et al. 2018).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import streamlit as st
from PIL import Image

from ..analysis.attribution.cell_field import peak_cell, receptive_field_box
from ..analysis.attribution.faithfulness import faithfulness, inverted, random_map
from ..analysis.attribution.methods import (
    METHOD_LABELS,
)
from ..analysis.attribution.pixel import METHOD_LABELS as PIXEL_LABELS
from ..analysis.attribution.pixel import METHODS as PIXEL_METHODS
from ..analysis.attribution.sanity import sanity_check
from ..present.cam import (
    draw_receptive_field,
    faithfulness_figure,
    faithfulness_sentence,
    receptive_field_caption,
    sanity_figure,
    sanity_sentence,
)
from ..present.heatmaps import heatmap_image
from ..weights import LoadedModel
from .lecture import show_chart
from .pixel_workbench import PixelShown
from .workbench_common import Shown, requested, stored_or_computed

FAITHFULNESS_STEPS = 16


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


def faithfulness_section(tensor, shown: list[Shown], loaded: LoadedModel, digest: str,
                         pixels: list[PixelShown] = ()) -> None:  # fmt: skip
    """RISE's deletion and insertion curves of every shown map, the CAMs' and the pixel
    methods' alike, with random and inverted maps (of the first CAM's map)."""
    st.markdown("#### Faithfulness: do the map's top pixels carry the prediction?")
    first = shown[0].result
    key = f"{digest[:16]}_{first.layer}_{first.target_class}_" + "-".join(
        [f"{s.method}{int(s.result.counterfactual)}" for s in shown]
        + [pixel_key(p) for p in pixels]
    )
    passes = 2 * (FAITHFULNESS_STEPS + 1) * (len(shown) + len(pixels) + 2)
    if not requested("faith", key, "Measure faithfulness",
                      f"Deletion and insertion curves (Petsiuk et al. 2018): {passes} forward "
                      "passes of the network, in batches."):  # fmt: skip
        st.caption(
            "Deleting the pixels a faithful map ranks highest should make the probability fall "
            "fast (low deletion AUC); inserting them first into a blurred image should bring "
            "it back fast (high insertion AUC)."
        )
        return
    curves, references = stored_or_computed(
        ("faith", loaded.name, key), "Faithfulness: starting…",
        lambda bar: _faithfulness(tensor, shown, loaded, bar, pixels),
    )  # fmt: skip
    name = loaded.categories[first.target_class]
    show_chart(faithfulness_figure(curves, references, name), key=f"faith_chart_{key}")
    st.markdown(faithfulness_sentence(curves, references, name))


def pixel_key(item: PixelShown) -> str:
    """A pixel map's part of a result's key: its method and a digest of its options."""
    options = repr(sorted(item.result.options.items())).encode()
    return f"{item.method}{hashlib.sha256(options).hexdigest()[:8]}"


def _faithfulness(tensor, shown: list[Shown], loaded: LoadedModel, bar: Callable,
                  pixels: list[PixelShown] = ()):  # fmt: skip
    """The curves by map (the CAMs by method key, which the figure styles; the pixel maps by
    their registry label, which the figure and sentence show as is) and the references."""
    first = shown[0].result
    maps = {s.method: s.result.heatmap for s in shown}
    maps |= {PIXEL_METHODS[p.method].label: p.result.heatmap for p in pixels}
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
                   digest: str, settings, pixels: list[PixelShown] = ()) -> None:  # fmt: skip
    """Cascading randomisation of a private copy for one shown map (a CAM or a pixel map, the
    first CAM by default); the correlation plotted against depth."""
    st.markdown("#### Sanity check: does the map depend on the weights?")
    first = shown[0].result
    choices = {c.method: c for c in (*shown, *pixels)}  # CAM and pixel keys never collide
    labels = {m: METHOD_LABELS.get(m) or PIXEL_LABELS[m] for m in choices}
    method = first_method = next(iter(choices))
    if len(choices) > 1:
        method = st.selectbox(
            "Map to check", list(choices), format_func=labels.get,
            key=f"sanity_map_{digest[:12]}",
            help="Any map shown above: a CAM method or a pixel attribution method.",
        )  # fmt: skip
    if method not in choices:  # a map picked on an earlier run and no longer shown
        method = first_method
    picked, label = choices[method], labels[method]
    options = {} if isinstance(picked, Shown) else dict(picked.result.options)
    key = f"{digest[:16]}_{first.layer}_{first.target_class}_{method}_" + "_".join(
        f"{k}{v}" for k, v in sorted(options.items())
    )
    units = 2 + sum(loaded.spec.layers)
    if not requested("sanity", key, f"Run the sanity check ({label})",
                      f"Adebayo et al. 2018: randomise the weights from the classifier down, "
                      f"{units} steps, one map each, on a private copy of the model."):  # fmt: skip
        st.caption(
            "An explanation that does not change when the weights are destroyed is not "
            "explaining the model. The check randomises a copy of the network layer by layer, "
            "from the classifier down, and compares each new map with this one."
        )
        return
    mean, std = loaded.preprocessing.mean, loaded.preprocessing.std
    check = stored_or_computed(
        ("sanity", loaded.name, key), "Sanity check: starting…",
        lambda bar: sanity_check(
            loaded.model, tensor, target_layer=first.layer,
            target_class=first.target_class, method=method, options=options,
            mean=mean, std=std,
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
