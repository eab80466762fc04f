"""The transfer-learning page's images: where they come from (a bundled set, a zip of class
folders, uploads or camera pictures per class), read once per session with the app's defensive
loader, and shown with their training/validation split and what was left out.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import streamlit as st

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
from .checkpoint import MAX_CHECKPOINT_MB
from .common import IMAGE_TYPES, MAX_IMAGE_MB, say_unknown_link_value

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
#: Session keys: the camera's captures per class, the last zip or uploads read.
CAPTURES_KEY = "transfer_captures"
READ_KEY = "transfer_read"
#: The zip upload's cap: the server's own (.streamlit/config.toml, sized for checkpoints).
MAX_ZIP_MB = MAX_CHECKPOINT_MB


@dataclass(frozen=True)
class DataChoice:
    """The sidebar's data settings: the source and, for the bundled sets, which and how many."""

    source: str
    bundled: str
    per_class: int


@dataclass(frozen=True, eq=False)
class LabData:
    """The images loaded for training, and what identifies them (for the job's key)."""

    folder: ImageFolder
    identity: tuple


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
        f"(seed {seed}; {DEFAULT_VALIDATION_FRACTION:.0%} of each class asked for, rounded to "
        "whole images with at least one on each side: "
        f"{len(split.validation) / len(folder.images):.0%} held out)."
    )
    st.dataframe(rows, hide_index=True, key="tl_counts")
    if folder.skipped:
        with st.expander(f"{len(folder.skipped)} files left out"):
            st.dataframe(
                [{"file": s.name, "why": s.reason} for s in folder.skipped], hide_index=True
            )
