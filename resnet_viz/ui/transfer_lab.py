"""The transfer-learning page: your images (a bundled set, a zip, uploads or the camera), a
trained ResNet as the backbone, a training run drawn live, then a look inside the result
(confusion, mistakes, the feature space before and after, Grad-CAM before and after) and the
trained network as a checkpoint for every page.

The training itself runs in a background thread (:mod:`.transfer_job`); this module draws the
controls, the data, the live run and the results.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

import streamlit as st

from ..analysis.attribution.cam import grad_cam
from ..data.bundled_sets import BUNDLED_SETS, DEFAULT_PER_CLASS, MAX_PER_CLASS, bundled_set
from ..data.image_folder import (
    KEEP_SIDE,
    MAX_CLASSES,
    MAX_IMAGES,
    MAX_TOTAL_BYTES,
    ImageFolder,
    image_folder,
)
from ..data.split import DEFAULT_VALIDATION_FRACTION, stratified_split
from ..errors import DatasetError
from ..present.heatmaps import overlay
from ..present.queue import queue_notice
from ..present.transfer import (
    accuracy_sentence,
    comparison_sentence,
    confusion_figure,
    curves_figure,
    embedding_figure,
    per_class_rows,
)
from ..training.transfer import DEFAULT_EPOCHS, MAX_EPOCHS, MODE_LABELS, MODES, FineTuned
from ..weights import LoadedModel
from .checkpoint import MAX_CHECKPOINT_MB, SESSION_KEY, opened_from_bytes
from .common import (
    IMAGE_TYPES,
    MAX_IMAGE_MB,
    heavy_work_in_page,
    say_unknown_link_value,
    shown_errors,
)
from .lecture import show_chart
from .session_memory import recalled, remember, session_alive
from .transfer_job import MAPPING, WAITING, TrainingJob, start_job

BIND = "query-params"
#: The data sources, by the URL's value.
SOURCES = {
    "bundled": "Bundled set",
    "zip": "Zip of class folders",
    "uploads": "Uploads per class",
    "camera": "Camera",
}
DEFAULT_SOURCE = "bundled"
#: The class names a typed source starts with.
DEFAULT_CLASS_NAMES = "cat, dog"
#: Session keys: the training job, the camera's captures per class, the last zip or uploads read.
JOB_KEY = "transfer_job"
CAPTURES_KEY = "transfer_captures"
READ_KEY = "transfer_read"
#: Seconds between two redraws of a live run.
POLL_SECONDS = 0.5
#: The validation mistakes shown at most.
MAX_WRONG = 12
#: Grad-CAM pairs (before and after training) a job keeps for the images last looked at.
MAX_KEPT_CAMS = 8
#: The zip upload's cap: the server's own (.streamlit/config.toml, sized for checkpoints).
MAX_ZIP_MB = MAX_CHECKPOINT_MB
SCRATCH = "scratch"


@dataclass(frozen=True)
class DataChoice:
    """The sidebar's data settings: the source and, for the bundled sets, which and how many."""

    source: str
    bundled: str
    per_class: int


@dataclass(frozen=True)
class TrainSettings:
    """What a run trains: the mode, the epochs of each run, the seed."""

    modes: tuple[str, ...]
    epochs: tuple[tuple[str, int], ...]
    seed: int


@dataclass(frozen=True, eq=False)
class LabData:
    """The images loaded for training, and what identifies them (for the job's key)."""

    folder: ImageFolder
    identity: tuple


# Controls ------------------------------------------------------------------------------------


def data_controls(notice=None) -> DataChoice:
    """The data source (and the bundled set, and its images per class), in the URL."""
    labels = list(SOURCES.values())
    say_unknown_link_value(notice, "tl_source", "a data source", labels, labels[0])
    source = st.segmented_control(
        "Images",
        list(SOURCES),
        default=DEFAULT_SOURCE,
        required=True,
        format_func=SOURCES.get,
        key="tl_source",
        bind=BIND,
    )
    source = source or DEFAULT_SOURCE
    bundled, per_class = next(iter(BUNDLED_SETS)), DEFAULT_PER_CLASS
    if source == "bundled":
        bundled = st.selectbox(
            "Bundled set", list(BUNDLED_SETS), format_func=str.capitalize, key="tl_set",
            bind=BIND,
        )  # fmt: skip
        st.caption(BUNDLED_SETS[bundled])
        per_class = st.slider(
            "Images per class", 2, MAX_PER_CLASS, DEFAULT_PER_CLASS, key="tl_per_class",
            bind=BIND,
        )  # fmt: skip
    return DataChoice(source, bundled, int(per_class))


def train_controls() -> TrainSettings:
    """Mode, epochs (each mode its own, in the URL), seed and the scratch comparison."""
    mode = st.selectbox("Training", MODES, format_func=MODE_LABELS.get, key="tl_mode", bind=BIND)
    epochs = {mode: _epochs_control(mode, "Epochs")}
    if mode != SCRATCH and st.toggle(
        "Also train from scratch, to compare",
        key="tl_compare",
        bind=BIND,
        help="The same network with random weights, trained on the same images: what the "
        "pretrained weights are worth on a small set.",
    ):
        epochs[SCRATCH] = _epochs_control(SCRATCH, "Epochs from scratch")
    seed = st.number_input(
        "Seed", 0, 1_000_000, 0, key="tl_seed", bind=BIND,
        help="The split, the new weights, the shuffling and the crops.",
    )  # fmt: skip
    return TrainSettings(tuple(epochs), tuple(epochs.items()), int(seed))


def _epochs_control(mode: str, label: str) -> int:
    return int(
        st.number_input(
            label, 1, MAX_EPOCHS, DEFAULT_EPOCHS[mode], key=f"tl_epochs_{mode}", bind=BIND,
            help="A probe's epochs cost almost nothing (the features are computed once); "
            "the other modes pass every image through the network each epoch.",
        )
    )  # fmt: skip


# Data ------------------------------------------------------------------------------------------


@st.cache_resource(max_entries=8, show_spinner=False)
def _bundled(name: str, per_class: int) -> ImageFolder:
    """A bundled set, drawn once per server (read only: every session shares it)."""
    return bundled_set(name, per_class)


def _read_once(identity: tuple, build) -> ImageFolder:
    """``build()``'s set, kept in the session for the latest identity (zip or uploads), so a
    rerun does not decode the images again; a refused set is refused again (its message)."""
    kept = st.session_state.get(READ_KEY)
    if kept is None or kept[0] != identity:
        try:
            kept = (identity, build(), None)
        except DatasetError as error:
            kept = (identity, None, str(error))
        st.session_state[READ_KEY] = kept
    if kept[2] is not None:
        raise DatasetError(kept[2])
    return kept[1]


def _digest(*parts: bytes | str) -> str:
    sha = hashlib.sha256()
    for part in parts:
        sha.update(part.encode() if isinstance(part, str) else part)
        sha.update(b"\0")
    return sha.hexdigest()


def class_names() -> list[str]:
    """The typed class names (comma-separated, in the URL), each once, in order."""
    typed = st.text_input(
        "Class names, comma-separated", DEFAULT_CLASS_NAMES, key="tl_classes", bind=BIND
    )
    names = [n.strip() for n in typed.split(",") if n.strip()]
    return list(dict.fromkeys(names))


def limits_text() -> str:
    return (
        f"At most {MAX_IMAGES:,} images in {MAX_CLASSES} classes (at least two), each image "
        f"shrunk to {KEEP_SIDE} px on its longer side. The zip may be up to {MAX_ZIP_MB} MB and "
        f"its files may unpack to {MAX_TOTAL_BYTES / 1e6:,.0f} MB. Each class needs at least "
        "two images: one to learn from, one to check on."
    )


def data_section(choice: DataChoice) -> LabData | None:
    """The images of the chosen source, or None while there are none yet (the page says what
    to do). Raises DatasetError for a set that cannot be used."""
    if choice.source == "bundled":
        return LabData(
            _bundled(choice.bundled, choice.per_class),
            ("bundled", choice.bundled, choice.per_class),
        )
    if choice.source == "zip":
        st.caption(limits_text())
        upload = st.file_uploader(
            "A zip of class folders (dogs/1.jpg, cats/2.png, ...)", type=["zip"], key="tl_zip",
            max_upload_size=MAX_ZIP_MB,
        )  # fmt: skip
        if upload is None:
            st.info("Upload a zip with one folder of images per class.", icon=":material/upload:")
            return None
        data = upload.getvalue()
        identity = ("zip", _digest(data))
        return LabData(_read_once(identity, lambda: image_folder(data)), identity)
    names = class_names()
    st.caption(limits_text())
    grouped = _uploads(names) if choice.source == "uploads" else _captures(names)
    if sum(len(v) for v in grouped.values()) == 0:
        st.info("Add images to each class to train on them.", icon=":material/add_a_photo:")
        return None
    identity = (choice.source, _digest(*(p for n, v in grouped.items() for p in (n, *v))))
    return LabData(_read_once(identity, lambda: image_folder(grouped)), identity)


def _uploads(names: list[str]) -> dict[str, list[bytes]]:
    grouped = {}
    columns = st.columns(min(len(names), 4) or 1)
    for i, name in enumerate(names):
        with columns[i % len(columns)]:
            files = st.file_uploader(
                f"Images of {name}", type=IMAGE_TYPES, accept_multiple_files=True,
                key=f"tl_upload_{_digest(name)[:12]}", max_upload_size=MAX_IMAGE_MB,
            )  # fmt: skip
            grouped[name] = [f.getvalue() for f in files or []]
    return grouped


def _captures(names: list[str]) -> dict[str, list[bytes]]:
    """One camera per class; each new picture is added to its class's captures (kept in the
    session), with a count and a button that clears them. A camera keeps showing its last
    picture, so every picture's id is remembered: a cleared one is not added back. Pictures
    stop being kept at MAX_IMAGES in all (the most a set may hold: a bigger one is refused),
    which bounds what a session holds."""
    captures: dict[str, tuple[set[str], list[bytes]]] = st.session_state.setdefault(
        CAPTURES_KEY, {}
    )
    grouped = {}
    columns = st.columns(min(len(names), 3) or 1)
    for i, name in enumerate(names):
        tag = _digest(name)[:12]
        with columns[i % len(columns)]:
            frame = st.camera_input(f"A picture of {name}", key=f"tl_camera_{tag}")
            seen, kept = captures.setdefault(name, (set(), []))
            full = sum(len(k) for _, k in captures.values()) >= MAX_IMAGES
            if full:
                st.caption(f"{MAX_IMAGES:,} pictures in all: the most a set may hold.")
            elif frame is not None and frame.file_id not in seen:
                seen.add(frame.file_id)
                kept.append(frame.getvalue())
            st.caption(f"{name}: {len(kept)} picture{'s' if len(kept) != 1 else ''}")
            if kept and st.button(f"Clear {name}", key=f"tl_clear_{tag}"):
                kept.clear()
                st.rerun()
            grouped[name] = list(kept)
    return grouped


def show_data(data: LabData, seed: int) -> None:
    """Images per class with the training/validation split, and what was skipped."""
    folder = data.folder
    split = stratified_split(folder.labels, DEFAULT_VALIDATION_FRACTION, seed=seed)
    held = [folder.labels[i] for i in split.validation]
    rows = [
        {
            "class": name,
            "images": count,
            "training": count - held.count(k),
            "validation": held.count(k),
        }
        for k, (name, count) in enumerate(folder.counts().items())
    ]
    st.markdown(
        f"**{len(folder.images)} images in {len(folder.classes)} classes**: "
        f"{len(split.train)} for training, {len(split.validation)} for validation "
        f"(seed {seed}, {DEFAULT_VALIDATION_FRACTION:.0%} of each class held out)."
    )
    st.dataframe(rows, hide_index=True, key="tl_counts")
    if folder.skipped:
        with st.expander(f"{len(folder.skipped)} files left out"):
            st.dataframe(
                [{"file": s.name, "why": s.reason} for s in folder.skipped], hide_index=True
            )


# Training --------------------------------------------------------------------------------------


def training_section(data: LabData, loaded: LoadedModel, settings: TrainSettings) -> None:
    """The "Train" button, the live run (re-attached after a rerun), then its results."""
    key = (data.identity, loaded.name, settings)
    job: TrainingJob | None = st.session_state.get(JOB_KEY)
    running = job is not None and job.running
    left, right = st.columns([1, 1])
    train = left.button(
        "Train", icon=":material/play_arrow:", type="primary", disabled=running, key="tl_train"
    )
    if running and right.button("Stop", icon=":material/stop:", key="tl_stop"):
        job.stop.set()
    if train and not running:
        job = start_job(key, loaded, data.folder, settings.modes, dict(settings.epochs),
                        settings.seed, owner_alive=session_alive())  # fmt: skip
        st.session_state[JOB_KEY] = job
    if job is None:
        st.info("Press **Train** to train on these images.", icon=":material/school:")
        return
    if job.running:
        _follow(job)
        st.rerun()  # the run ended: redraw with the Train button enabled and the results
    if job.error is not None:
        st.error(job.error, icon=":material/error:")
        return
    if job.key != key:
        st.info(
            "The last run was on other images or settings: press **Train** to train on these.",
            icon=":material/school:",
        )
        return
    results_section(job, data.folder, loaded)


def _follow(job: TrainingJob) -> None:
    """Redraw the progress bar and the curves every :data:`POLL_SECONDS` until the job ends."""
    bar = st.progress(0.0, text="Starting…")
    chart = st.empty()
    drawn, tick = -1, 0
    while True:
        finished = not job.running  # read first: the last drawing shows the final state
        bar.progress(job.fraction(), text=_stage_text(job))
        histories = job.histories()
        count = sum(len(h) for h in histories.values())
        if histories and count != drawn:
            with chart.container():
                epochs = max(job.epochs.values())
                show_chart(curves_figure(histories, epochs=epochs), key=f"tl_live_{tick}")
            drawn = count
        if finished:
            break
        time.sleep(POLL_SECONDS)
        tick += 1
    bar.empty()
    chart.empty()


def _stage_text(job: TrainingJob) -> str:
    if job.stage == WAITING:
        queued = job.queued
        return "Waiting for other users' runs…" if queued is None else queue_notice(queued)
    if job.stage == MAPPING:
        return "Mapping the feature space before and after…"
    for mode in job.modes:
        if mode not in job.results and mode in job.progress:
            p = job.progress[mode]
            what = "features of image" if p.stage == "features" else "epoch"
            stopping = " (stopping after this epoch)" if job.stop.is_set() else ""
            return f"{MODE_LABELS[mode]}: {what} {p.done} of {p.total}{stopping}"
    return "Training…"


# Results ---------------------------------------------------------------------------------------


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
