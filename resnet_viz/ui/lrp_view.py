"""The workbench's LRP section, on request: for the page's model, image and class, where each
residual block's relevance goes at its sum (shortcut or branch) and how far the block conserves
it (:func:`resnet_viz.analysis.attribution.lrp.lrp`; wording and figure in
:mod:`resnet_viz.present.lrp`), the LRP heatmap beside the image. A model LRP cannot explain
(squeeze-and-excitation gates) gets a message instead of the section.
"""

from __future__ import annotations

import streamlit as st
from PIL import Image

from ..analysis.attribution.lrp import COMPOSITES, check, lrp
from ..analysis.attribution.pixel import METHODS as PIXEL_METHODS
from ..analysis.attribution.pixel import estimate_memory_bytes
from ..core.spec import SpecError
from ..present.heatmaps import overlay
from ..present.lrp import conservation_sentence, lrp_figure, route_sentence
from ..present.pixel import signed_image
from ..runtime.memory import memory_budget_bytes, refuse_over_budget
from ..weights import LoadedModel
from .lecture import show_chart
from .pixel_workbench import option_text
from .workbench_common import Shown, requested, stored_or_computed

TITLE = "Relevance through the skip connections (LRP)"

#: The registry's options of LRP, read from its entry (labels, choices and defaults).
_OPTIONS = {option.name: option for option in PIXEL_METHODS["lrp"].options}


def lrp_refusal(loaded: LoadedModel, tensor) -> str | None:
    """Why LRP cannot explain this model (squeeze-and-excitation gates, not the app's
    ResNet), or None when it can."""
    try:
        check(loaded.model, tensor, _OPTIONS["composite"].default)
    except SpecError as error:
        return str(error)
    return None


def lrp_section(crop: Image.Image, tensor, shown: list[Shown], loaded: LoadedModel,
                digest: str, settings) -> None:  # fmt: skip
    """The composite and the bias switch, then, on request, the per-block split and its
    sentences, and the LRP heatmap beside the image."""
    st.markdown(f"#### {TITLE}")
    refusal = lrp_refusal(loaded, tensor)
    if refusal is not None:
        st.info(refusal, icon=":material/block:")
        return
    target = shown[0].result.target_class
    left, right = st.columns(2)
    composite_option, zero_option = _OPTIONS["composite"], _OPTIONS["zero_bias"]
    # One pair of controls per image (the page may explain several), as the receptive field's
    # cell: per-image keys, so not in the URL.
    composite = left.selectbox(
        option_text(composite_option.label), composite_option.choices,
        index=composite_option.choices.index(composite_option.default),
        format_func=lambda key: COMPOSITES[key][0], key=f"lrp_composite_{digest[:12]}",
    )  # fmt: skip
    zero_bias = right.toggle(
        option_text(zero_option.label), value=zero_option.default,
        key=f"lrp_zero_bias_{digest[:12]}",
        help="zennit's zero_params='bias': the relevance is then conserved down to the pixels, "
        "up to the stabiliser.",
    )  # fmt: skip
    key = f"{digest[:16]}_{target}_{composite}_{int(zero_bias)}"
    about = (
        "Layer-wise Relevance Propagation (Bach et al. 2015, zennit): one forward and one "
        "modified backward pass on a private copy of the model."
    )
    if not requested("lrp", key, "Run LRP", about):
        st.caption(
            "LRP hands the class logit down the network layer by layer. At each residual sum "
            "F(x) + x the relevance splits between the branch and the shortcut in proportion "
            "to what each contributed: the chart shows that split per block."
        )
        return
    channels, height, width = tensor.shape[1:]
    device = next(loaded.model.parameters()).device
    refuse_over_budget(
        estimate_memory_bytes(loaded.spec, (channels, height, width), "lrp"),
        memory_budget_bytes(device),
        f"LRP at {width}x{height} pixels",
        "Use a smaller image.",
    )
    mean, std = loaded.preprocessing.mean, loaded.preprocessing.std
    result = stored_or_computed(
        ("lrp", loaded.name, key), "LRP: starting…",
        lambda bar: lrp(loaded.model, tensor, target, composite, zero_bias=zero_bias,
                        mean=mean, std=std),
    )  # fmt: skip
    name = loaded.categories[result.target_class]
    columns = st.columns(3)
    columns[0].image(crop, caption="the image", width="stretch")
    columns[1].image(
        overlay(crop, result.heatmap, alpha=settings.alpha, colormap=settings.colormap),
        caption=f"LRP ({COMPOSITES[composite][0].split(' (')[0]}) of “{name}”",
        width="stretch",
    )
    columns[2].image(signed_image(result.raw), caption="signed relevance", width="stretch")
    show_chart(lrp_figure(result, name), key=f"lrp_chart_{key}")
    st.markdown(route_sentence(result))
    st.markdown(conservation_sentence(result))
