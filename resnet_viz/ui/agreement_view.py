"""The workbench's method-agreement section, on request: how far apart Grad-CAM, HiResCAM and
XGrad-CAM are at each stage and block of the page's model, for its image and class, and why
they are one map at the last stage (:func:`resnet_viz.analysis.attribution.agreement.
method_agreement`; the figure, the verdicts and the explanation, with their thresholds, in
:mod:`resnet_viz.present.agreement`).
"""

from __future__ import annotations

import streamlit as st

from ..analysis.attribution.agreement import DEFAULT_METHODS, method_agreement
from ..analysis.attribution.methods import METHOD_LABELS
from ..core.split import target_layers
from ..present.agreement import agreement_figure, agreement_reading
from ..weights import LoadedModel
from .lecture import show_chart
from .workbench_common import Shown, requested, stored_or_computed


def agreement_title(loaded: LoadedModel) -> str:
    """The section's question, naming the methods and the model's last stage."""
    a, b, c = (METHOD_LABELS[m] for m in DEFAULT_METHODS)
    return f"Why are {a}, {b} and {c} the same at layer{loaded.spec.num_stages}?"


def agreement_section(tensor, shown: list[Shown], loaded: LoadedModel, digest: str) -> None:
    """On request, the three methods' maps correlated at every stage and block, with the
    gradient's variation over positions, and the reading (the explanation where they agree)."""
    st.markdown(f"#### {agreement_title(loaded)}")
    target = shown[0].result.target_class
    key = f"{digest[:16]}_{target}"
    layers = len(target_layers(loaded.spec))
    names = ", ".join(METHOD_LABELS[m] for m in DEFAULT_METHODS)
    if not requested("agree", key, "Compare the methods at every layer",
                      f"{names} at {layers} stages and blocks: one map per method for all of "
                      "them, and one more backward pass for the gradient."):  # fmt: skip
        st.caption(
            "When the head is global average pooling then a linear layer (a post-activation "
            "ResNet), the class score's gradient is the same at every position of the last "
            "stage, and the three weighings of the activation coincide there. Earlier, the "
            "gradient can vary over positions and the maps part. The numbers say where."
        )
        return
    result = stored_or_computed(
        ("agree", loaded.name, key), "Method agreement: starting…",
        lambda bar: method_agreement(loaded.model, tensor, target=target),
    )  # fmt: skip
    show_chart(agreement_figure(result), key=f"agree_chart_{key}")
    for sentence in agreement_reading(result):
        st.markdown(sentence)
