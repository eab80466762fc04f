"""The lesion-study page: accuracy with each block removed, ResNet against its plain twin."""

from __future__ import annotations

import streamlit as st

from ..analysis.lesion import lesion_study
from ..core.presets import spec_for_depth
from ..experiments.lesion import CHANCE, DEPTH, HELD_OUT, TRAIN_IMAGES, held_out_digits, load_pair
from ..present.lesion import lesion_figure, lesion_reading, path_length_figure
from .lecture import show_chart

BIND = "query-params"


@st.cache_resource(show_spinner=f"Loading the trained ResNet-{DEPTH} and plain-{DEPTH}…")
def _lesion_results():
    resnet, plain = load_pair()
    batch = held_out_digits()
    return lesion_study(resnet, batch), lesion_study(plain, batch), resnet.spec


def _blocks(depth: int) -> int:
    """Residual blocks of the CIFAR network of ``depth``."""
    return sum(spec_for_depth(depth, "cifar").layers)


def lesion_section() -> None:
    """Accuracy with each block removed, ResNet vs plain twin, and the path-length picture."""
    resnet, plain, spec = _lesion_results()
    layers = spec.layers
    show_chart(lesion_figure(resnet, plain, chance=CHANCE), key="lesion")
    for sentence in lesion_reading(resnet, plain, chance=CHANCE):
        st.markdown(f"- {sentence}")
    widths = "/".join(str(w) for w in spec.widths)
    st.caption(
        f"ResNet-{spec.depth} and its plain twin (CIFAR-style, {widths} filters), trained from "
        f"identical weights on {TRAIN_IMAGES:,} UCI digits; accuracy on the {HELD_OUT:,} digits "
        "after them. Only blocks whose output has their input's shape can be removed "
        f"({len(resnet.accuracy)} of {sum(layers)})."
    )
    st.subheader("Why: a ResNet is many paths")
    blocks = st.slider(
        "Residual blocks", 1, 200, sum(layers), key="paths", bind=BIND,
        help=f"ResNet-{spec.depth} has {sum(layers)}; ResNet-56 {_blocks(56)}; "
        f"ResNet-110 {_blocks(110)}.",
    )  # fmt: skip
    show_chart(path_length_figure(blocks), key="paths_chart")
    st.markdown(
        f"With {blocks} blocks there are 2^{blocks} paths from input to output, each block "
        "taken or skipped. Most are of medium length (a binomial), so removing one block "
        "removes only the paths through it: half of them, and the rest still carry the signal. "
        "A plain network has a single path: cut one layer and nothing gets through."
    )
