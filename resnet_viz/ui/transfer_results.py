"""The transfer-learning page's results: the curves and their reading, the confusion matrix
and per-class accuracy, the validation mistakes, the feature space before and after, Grad-CAM
before and after, and the trained network as a checkpoint for every page.
"""

from __future__ import annotations

import hashlib

import streamlit as st

from ..analysis.attribution.cam import grad_cam
from ..data.image_folder import ImageFolder
from ..present.heatmaps import overlay
from ..present.transfer import (
    accuracy_sentence,
    comparison_sentence,
    confusion_figure,
    curves_figure,
    embedding_figure,
    per_class_rows,
)
from ..training.transfer import SCRATCH, FineTuned
from ..weights import LoadedModel
from .checkpoint import SESSION_KEY, opened_from_bytes
from .common import heavy_work_in_page, shown_errors
from .lecture import show_chart
from .session_memory import recalled, remember
from .transfer_job import TrainingJob

BIND = "query-params"
#: The validation mistakes shown at most.
MAX_WRONG = 12
#: Grad-CAM pairs (before and after training) a job keeps for the images last looked at.
MAX_KEPT_CAMS = 8


def results_section(job: TrainingJob, folder: ImageFolder, loaded: LoadedModel) -> None:
    """The curves and their reading, confusion, mistakes, feature space, attention, download."""
    main = job.results[job.modes[0]]
    histories = {mode: r.history for mode, r in job.results.items()}
    show_chart(curves_figure(histories), key="tl_curves")
    k = len(main.classes)
    for mode, result in job.results.items():
        st.markdown(
            "- "
            + accuracy_sentence(
                mode, result.history, result.best_epoch, k, len(result.split.validation)
            )
        )
        if result.stopped:
            st.markdown(
                f"  Stopped after epoch {max(r.epoch for r in result.history)}: the network "
                f"keeps its best epoch ({result.best_epoch})."
            )
    if SCRATCH in job.results and main.mode != SCRATCH:
        st.markdown("- " + comparison_sentence(_best(main), _best(job.results[SCRATCH])))
    st.caption(
        f"Trained on {main.device} in {main.seconds:.1f} s"
        + (" (the accelerator ran out of memory: on the CPU)" if main.fell_back_to_cpu else "")
        + ". Validation: the images held out, seen only to measure."
    )
    st.subheader("What it gets right and wrong")
    left, right = st.columns([3, 2])
    with left:
        show_chart(confusion_figure(main.confusion, main.classes), key="tl_confusion")
    with right:
        held = dict(zip(main.classes, main.confusion.sum(1).tolist(), strict=True))
        st.dataframe(per_class_rows(main.per_class_accuracy(), held), hide_index=True,
                     key="tl_per_class_table")  # fmt: skip
    _mistakes(main, folder)
    if job.embeddings is not None:
        st.subheader("Feature space, before and after")
        before, after = job.embeddings
        show_chart(
            embedding_figure(before.points, after.points, folder.labels, main.classes,
                             (before.explained, after.explained)),
            key="tl_embedding",
        )  # fmt: skip
        st.caption(
            "Each image's pooled features (what the last layer reads), projected on their "
            "first two principal axes (PCA): classes that separate here are easy for a linear "
            "head."
        )
    st.subheader("Where it looks, before and after")
    with shown_errors("computing Grad-CAM"):
        _attention(job, main, folder, loaded)
    st.subheader("Take the trained network along")
    _take_along(job, main)


def _best(result: FineTuned) -> float:
    return next(r for r in result.history if r.epoch == result.best_epoch).validation_accuracy


def _mistakes(result: FineTuned, folder: ImageFolder) -> None:
    wrong = result.wrong(folder.labels)
    if not wrong:
        st.success("It gets every validation image right.", icon=":material/check:")
        return
    shown = wrong[:MAX_WRONG]
    st.markdown(
        f"**{len(wrong)} validation image{'s' if len(wrong) != 1 else ''} wrong**"
        + (f" (the first {len(shown)}):" if len(shown) < len(wrong) else ":")
    )
    columns = st.columns(6)
    for n, (index, true, guess) in enumerate(shown):
        columns[n % 6].image(
            result.preprocessing.crop(folder.images[index]),
            caption=f"true: {result.classes[true]}, predicted: {result.classes[guess]}",
        )


def _attention(job: TrainingJob, result: FineTuned, folder: ImageFolder,
               loaded: LoadedModel) -> None:  # fmt: skip
    """Grad-CAM of the backbone on its own top-1 class beside the trained network's on its
    prediction, for one validation image."""
    options = list(result.split.validation)
    index = st.selectbox(
        "Validation image",
        options,
        format_func=lambda i: f"#{i}: {result.classes[folder.labels[i]]}",
        key="tl_attention",
        bind=BIND,
    )
    if index is None:
        return
    cams = job.extras.setdefault("cams", {})
    if recalled(cams, index) is None:
        image = folder.images[index]
        with st.spinner("Computing Grad-CAM…"), heavy_work_in_page(kind="Grad-CAM"):
            pair = (
                grad_cam(loaded.model, loaded.preprocessing.tensor(image)),
                grad_cam(result.model, result.preprocessing.tensor(image)),
            )
        remember(cams, index, pair, MAX_KEPT_CAMS)
    before, after = cams[index]
    image = folder.images[index]
    left, right, _ = st.columns([1, 1, 2])  # two equal pictures, a quarter of the width each
    left.image(
        overlay(loaded.preprocessing.crop(image), before.heatmap),
        caption=f"Backbone, on its own top class: {_category(loaded, before.target_class)}",
        width="stretch",
    )
    right.image(
        overlay(result.preprocessing.crop(image), after.heatmap),
        caption=f"Trained network, on its prediction: {result.classes[after.target_class]} "
        f"(true: {result.classes[folder.labels[index]]})",
        width="stretch",
    )


def _category(loaded: LoadedModel, index: int) -> str:
    categories = loaded.categories
    return categories[index] if 0 <= index < len(categories) else f"class {index}"


def _take_along(job: TrainingJob, result: FineTuned) -> None:
    """Download the trained checkpoint, or open it for this session's other pages."""
    name = f"transfer_{result.mode}.pt"
    data = job.extras.get("checkpoint")
    if data is None:
        data = job.extras["checkpoint"] = result.checkpoint()
    left, right = st.columns(2)
    left.download_button(
        f"Download {name}", data, file_name=name, mime="application/octet-stream",
        on_click="ignore", icon=":material/download:", key="tl_download",
    )  # fmt: skip
    if right.button("Open it on every page", icon=":material/open_in_new:", key="tl_open"):
        with shown_errors("opening the trained network"):
            st.session_state[SESSION_KEY] = opened_from_bytes(name, data)
    opened = st.session_state.get(SESSION_KEY)
    if opened is not None and opened.file_name == name and opened.digest == _sha(data):
        st.success(
            f"Open on every page as {opened.label}: choose “Your checkpoint” in the model menu "
            "of the Grad-CAM or block pages.",
            icon=":material/check:",
        )


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
