"""The workbench's "Which layer should I use?" section, on request: the fused map over every
stage (LayerCAM's fusion, :mod:`resnet_viz.analysis.attribution.fused`) beside the stage maps
it fuses, then the deletion and insertion AUC of the map at every stage and block and of the
fused map (:mod:`resnet_viz.analysis.attribution.layer_faithfulness`) as a figure against depth,
a table and a sentence (:mod:`resnet_viz.present.layer_choice`).
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st
from PIL import Image

from ..analysis.attribution.layer_faithfulness import layer_faithfulness, measured_maps
from ..analysis.attribution.methods import GRADIENT_METHODS, METHOD_LABELS
from ..present.heatmaps import overlay
from ..present.layer_choice import layer_figure, layer_sentence, layer_table
from ..weights import LoadedModel
from .lecture import show_chart
from .map_checks import FAITHFULNESS_STEPS
from .shared_results import computed_once
from .workbench_common import Shown, requested, results

#: The method when the first shown one has no gradient (the paper's).
DEFAULT_METHOD = "layercam"
MAX_COLUMNS = 5


def layer_choice_section(crop: Image.Image, tensor, shown: list[Shown], loaded: LoadedModel,
                         digest: str, settings) -> None:  # fmt: skip
    """Fused and per-stage overlays, the AUCs against depth, their table and the sentence."""
    st.markdown("#### Which layer should I use? Fused maps and faithfulness per layer")
    first = shown[0]
    method = first.method if first.method in GRADIENT_METHODS else DEFAULT_METHOD
    target = first.result.target_class
    key = f"{digest[:16]}_{target}_{method}"
    maps = measured_maps(loaded.spec)
    passes = 2 * (FAITHFULNESS_STEPS + 1) * maps
    label = METHOD_LABELS[method]
    if not requested("layers", key, f"Compare every layer ({label})",
                      f"{label} at every stage and block in one pass, their fusion (Jiang et al. "
                      f"2021), then deletion and insertion curves of {maps} maps: {passes} "
                      "forward passes, in batches."):  # fmt: skip
        st.caption(
            "Early stages give sharp but noisy maps, the last stage coarse ones about the class. "
            "LayerCAM fuses the stages into one map; deletion and insertion AUC at every layer "
            "show how far from the last stage the maps still carry the prediction."
        )
        return
    report = computed_once(
        results(), ("layers", loaded.name, key),
        lambda bar: _measure(tensor, loaded, method, target, bar), "Layers: starting…",
    )  # fmt: skip
    _overlays(crop, report.fused, settings)
    show_chart(layer_figure(report), key=f"layers_chart_{key}")
    st.dataframe(
        layer_table(report), hide_index=True,
        column_config={c: st.column_config.NumberColumn(format="%.3f")
                       for c in ("deletion AUC", "insertion AUC", "insertion − deletion")},
    )  # fmt: skip
    st.caption("A stage's map is its last block's map (the same tensor), so their rows agree.")
    st.markdown(layer_sentence(report))


def _measure(tensor, loaded: LoadedModel, method: str, target: int, bar: Callable):
    return layer_faithfulness(
        loaded.model, tensor, method=method, target_class=target, steps=FAITHFULNESS_STEPS,
        progress=lambda done, total: bar(done / total, f"Faithfulness: map {done} of {total}"),
    )  # fmt: skip


def _overlays(crop: Image.Image, fused, settings) -> None:
    """The fused overlay first, then each stage's, with the page's opacity and colours."""
    cells = [(fused.heatmap, "fused (every stage)")]
    cells += [(m.heatmap, f"{m.layer}, {m.raw.shape[0]}×{m.raw.shape[1]} map") for m in fused.maps]
    for start in range(0, len(cells), MAX_COLUMNS):
        row = cells[start : start + MAX_COLUMNS]
        for column, (heat, caption) in zip(st.columns(len(row)), row, strict=True):
            column.image(
                overlay(crop, heat, alpha=settings.alpha, colormap=settings.colormap),
                caption=caption, width="stretch",
            )  # fmt: skip
