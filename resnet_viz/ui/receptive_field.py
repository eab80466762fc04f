"""The effective-receptive-field page: ResNet-26 and its plain twin, at initialisation and
trained (the lesion page's networks)."""

from __future__ import annotations

import dataclasses

import pandas as pd
import streamlit as st

from ..analysis.gradients import build_twins
from ..analysis.receptive_field import (
    ReceptiveField,
    effective_receptive_field,
    estimate_memory_bytes,
)
from ..core.split import layer_label, target_layers
from ..experiments.degradation import digits_spec
from ..experiments.lesion import DEPTH, SEED, load_pair
from ..present.receptive_field import erf_figure, erf_reading
from ..runtime.memory import memory_budget_bytes, refuse_over_budget
from .common import heavy_work_with_progress, say_unknown_link_value
from .lecture import show_chart

BIND = "query-params"
SIDES = [32, 64, 96, 128, 160, 224]
DEFAULT_SIDE = 128  # the theoretical field of ResNet-26's last stage is 109 px


@dataclasses.dataclass(frozen=True)
class ErfSettings:
    side: int
    images: int
    seed: int
    layer: str


def erf_controls(notice=None) -> ErfSettings:
    """Input side, the unit's layer, inputs and seed; a link's unknown value for a menu is said
    in ``notice`` (a main-area container)."""
    spec = digits_spec(DEPTH)
    say_unknown_link_value(notice, "erf_side", "an input side", SIDES, DEFAULT_SIDE)
    side = st.select_slider(
        "Input side (px)", SIDES, value=DEFAULT_SIDE, key="erf_side", bind=BIND,
        help="Random inputs of this size. The last stage's theoretical field is 109 px wide: "
        "below that the image cuts it.",
    )  # fmt: skip
    layers = target_layers(spec)
    last = f"layer{spec.num_stages}"
    say_unknown_link_value(notice, "erf_layer", "the layer", layers, last)
    layer = st.selectbox(
        "Unit in layer", layers, index=layers.index(last), key="erf_layer",
        bind=BIND, help="A stage (its last block's output) or a block, e.g. layer2.1: stage 2, "
        "block 2 (numbered from 0).",
    )  # fmt: skip
    st.caption(layer_label(spec, layer, (1, side, side)))
    images = st.slider("Random inputs averaged", 1, 32, 8, key="erf_n", bind=BIND)
    seed = st.number_input("Input seed", 0, 1_000_000, 0, key="erf_seed", bind=BIND)
    return ErfSettings(side=side, images=images, seed=int(seed), layer=layer)


@st.cache_resource(show_spinner="Loading ResNet-26 and plain-26…")
def _networks() -> dict:
    """Shared by every session, never mutated (the analysis works on private copies)."""
    initial_resnet, initial_plain = build_twins(digits_spec(DEPTH), seed=SEED)
    trained_resnet, trained_plain = load_pair()
    return {
        "ResNet-26, at initialisation": initial_resnet.eval(),
        "plain-26, at initialisation": initial_plain.eval(),
        "ResNet-26, trained": trained_resnet,
        "plain-26, trained": trained_plain,
    }


@st.cache_data(show_spinner=False, max_entries=128)
def _field(name: str, settings: ErfSettings) -> ReceptiveField:
    return effective_receptive_field(
        _networks()[name], (1, settings.side, settings.side), n=settings.images,
        seed=settings.seed, target_layer=settings.layer,
    )  # fmt: skip


def _fields(settings: ErfSettings) -> dict[str, ReceptiveField]:
    """The four fields; the memory estimate is checked before any work starts."""
    networks = _networks()
    size = (1, settings.side, settings.side)
    needed = max(estimate_memory_bytes(m, size, settings.images) for m in networks.values())
    refuse_over_budget(
        needed, memory_budget_bytes(),
        f"The effective receptive field on {settings.images} inputs of {settings.side} px",
        "Use fewer inputs or a smaller input.",
    )  # fmt: skip
    fields = {}
    with heavy_work_with_progress("Differentiating the centre unit…") as progress:
        for i, name in enumerate(networks):
            progress(i / len(networks), f"{name}…")
            fields[name] = _field(name, settings)
    return fields


def erf_section(settings: ErfSettings) -> None:
    fields = _fields(settings)
    show_chart(erf_figure(fields), key="erf")
    table = pd.DataFrame(
        [
            {
                "network": name,
                "95 % box (px)": f.side_95,
                "theoretical (px)": f.theoretical,
                "share of the side": f"{f.fraction_of_theoretical:.0%}",
            }
            for name, f in fields.items()
        ]
    )
    st.dataframe(table, hide_index=True)
    names = list(fields)  # initial ResNet, initial plain, trained ResNet, trained plain
    skip_pairs = [(names[0], names[1]), (names[2], names[3])]
    training_pairs = [(names[0], names[2]), (names[1], names[3])]
    for sentence in erf_reading(fields, skip_pairs, training_pairs):
        st.markdown(f"- {sentence}")
    first = next(iter(fields.values()))
    st.caption(
        f"|∂ unit / ∂ input|, summed over input channels and averaged over {settings.images} "
        f"standard normal {settings.side}×{settings.side} inputs (seed {settings.seed}); the "
        f"unit is the sum over channels of {settings.layer} at position {first.unit} of its "
        "map. Networks: the lesion page's ResNet-26 and plain-26 (CIFAR-style, 16/32/64 "
        "filters), with the initial weights their training started from (identical for both) "
        "and after training on 1,297 UCI digits. Luo, Li, Urtasun, Zemel 2016 "
        "(arXiv:1701.04128)."
    )
