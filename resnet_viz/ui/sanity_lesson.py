"""The sanity-check lesson under each image of the Grad-CAM page: Grad-CAM, Saliency, Guided
Backprop and Guided Grad-CAM on the trained model and along the cascading randomisation of a
private copy, classifier to stem (Adebayo et al. 2018,
:mod:`resnet_viz.analysis.attribution.sanity_lesson`), measured on request, the result shared
by every session.
"""

from __future__ import annotations

import streamlit as st

from ..analysis.attribution.sanity_lesson import LESSON_METHODS, checkpoints, sanity_lesson
from ..present.heatmaps import heatmap_image
from ..present.sanity_lesson import (
    LABELS,
    lesson_figure,
    lesson_sentence,
    lesson_verdict,
    similar_run,
)
from ..weights import LoadedModel
from .lecture import show_chart
from .workbench_common import Shown, requested, results, stored_or_computed

#: Per method, a row: three small maps (trained, first change, every weight random) and the
#: verdict beside them.
MAP_COLUMNS = (1, 1, 1, 3)


def sanity_lesson_section(tensor, shown: list[Shown], loaded: LoadedModel, digest: str,
                          settings) -> None:  # fmt: skip
    """The four methods' rank correlations along the cascade (chart), the reading, and per
    method its verdict with the trained map beside the map where it first changes and the map
    with every weight random (the class and layer of the first CAM shown)."""
    st.markdown("#### The sanity-check lesson: which explanations depend on the weights?")
    first = shown[0].result
    key = _lesson_key(shown, digest)
    steps = [label for _, label in checkpoints(loaded.model)]
    maps = (1 + len(steps)) * len(LESSON_METHODS)
    names = ", ".join(LABELS[m] for m in LESSON_METHODS)
    if not requested("lesson", key, "Run the sanity-check lesson",
                      f"{names}: each on the trained model and with the weights randomised "
                      f"from the top down ({', '.join(steps)}); {maps} maps on a private copy "
                      "of the model."):  # fmt: skip
        st.caption(
            "Adebayo et al. (2018) replaced a trained network's weights by noise from the top "
            "down and drew the maps again: on their ImageNet models Guided Backprop barely "
            "changed while the higher layers were randomised. An explanation that survives the "
            "destruction of most of the network shows the image more than what the model "
            "learned."
        )
        return
    mean, std = loaded.preprocessing.mean, loaded.preprocessing.std
    lesson = stored_or_computed(
        ("lesson", loaded.name, key), "Sanity-check lesson: starting…",
        lambda bar: sanity_lesson(
            loaded.model, tensor, first.target_class, layer=first.layer, mean=mean, std=std,
            progress=lambda d, t: bar(d / t, f"Sanity-check lesson: {d} of {t} maps"),
        ),
    )  # fmt: skip
    show_chart(lesson_figure(lesson), key=f"lesson_chart_{key}")
    st.markdown(lesson_sentence(lesson))
    for row in lesson.rows:
        label = LABELS[row.method]
        *cells, words = st.columns(MAP_COLUMNS)
        pictures = [(row.original.heatmap, f"{label}, trained")]
        run = similar_run(row.rank_correlations)
        if run < len(row.steps) - 1:  # it first changes before the full randomisation
            step = row.steps[run]
            pictures.append(
                (step.result.heatmap,
                 f"{label}, first changes at {step.label}: ρ = {step.rank_correlation:.2f}")
            )  # fmt: skip
        pictures.append(
            (row.full.result.heatmap,
             f"{label}, every weight random: ρ = {row.full.rank_correlation:.2f}")
        )  # fmt: skip
        for cell, (heatmap, caption) in zip(cells, pictures, strict=False):
            cell.image(heatmap_image(heatmap, settings.colormap), caption=caption,
                       width="stretch")  # fmt: skip
        words.markdown(f"**{label}** {lesson_verdict(row.rank_correlations, lesson.labels)}.")


def _lesson_key(shown: list[Shown], digest: str) -> str:
    """The lesson's key for one image: the first CAM's layer and class."""
    first = shown[0].result
    return f"{digest[:16]}_{first.layer}_{first.target_class}"


def known_verdicts(shown: list[Shown], loaded: LoadedModel, digest: str) -> dict[str, str]:
    """The lesson's verdict on each of its methods, when some session has measured the lesson
    for this image, model, layer and class (nothing is computed here)."""
    lesson = results().get(("lesson", loaded.name, _lesson_key(shown, digest)))
    if lesson is None:
        return {}
    return {row.method: lesson_verdict(row.rank_correlations, lesson.labels) for row in lesson.rows}
