"""The sanity-check lesson under each image of the Grad-CAM page: Grad-CAM, Saliency, Guided
Backprop and Guided Grad-CAM on the trained model and on a copy whose every weight is noise
(Adebayo et al. 2018, :mod:`resnet_viz.analysis.attribution.sanity_lesson`), measured on
request, the result shared by every session.
"""

from __future__ import annotations

import streamlit as st

from ..analysis.attribution.sanity_lesson import LESSON_METHODS, sanity_lesson
from ..present.heatmaps import heatmap_image
from ..present.sanity_lesson import LABELS, lesson_figure, lesson_sentence
from ..weights import LoadedModel
from .lecture import show_chart
from .map_checks import _requested, _stored_or_computed
from .workbench_common import Shown


def sanity_lesson_section(tensor, shown: list[Shown], loaded: LoadedModel, digest: str,
                          settings) -> None:  # fmt: skip
    """The four methods' maps before and after randomising every weight, with their rank
    correlations, SSIM, the verdicts and the maps side by side (the class and layer of the
    first CAM shown)."""
    st.markdown("#### The sanity-check lesson: which explanations depend on the weights?")
    first = shown[0].result
    key = f"{digest[:16]}_{first.layer}_{first.target_class}"
    maps = 3 * len(LESSON_METHODS)
    names = ", ".join(LABELS[m] for m in LESSON_METHODS)
    if not _requested("lesson", key, "Run the sanity-check lesson",
                      f"{names}: each on the trained model, with the classifier randomised and "
                      f"with every weight randomised; {maps} maps on a private copy of the "
                      "model."):  # fmt: skip
        st.caption(
            "Adebayo et al. (2018) replaced a trained network's weights by noise and drew the "
            "maps again: some explanations barely changed. An explanation that survives the "
            "destruction of the model shows the image, not what the model learned."
        )
        return
    mean, std = loaded.preprocessing.mean, loaded.preprocessing.std
    lesson = _stored_or_computed(
        ("lesson", loaded.name, key), "Sanity-check lesson: starting…",
        lambda bar: sanity_lesson(
            loaded.model, tensor, first.target_class, layer=first.layer, mean=mean, std=std,
            progress=lambda d, t: bar(d / t, f"Sanity-check lesson: {d} of {t} maps"),
        ),
    )  # fmt: skip
    show_chart(lesson_figure(lesson), key=f"lesson_chart_{key}")
    st.markdown(lesson_sentence(lesson))
    columns = st.columns(2 * len(lesson.rows))
    for i, row in enumerate(lesson.rows):
        label = LABELS[row.method]
        columns[2 * i].image(heatmap_image(row.original.heatmap, settings.colormap),
                             caption=f"{label}, trained", width="stretch")  # fmt: skip
        columns[2 * i + 1].image(
            heatmap_image(row.randomised.heatmap, settings.colormap),
            caption=f"{label}, every weight random: ρ = {row.rank_correlation:.2f}",
            width="stretch",
        )
