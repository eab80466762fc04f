"""Open a checkpoint of any ResNet: the network is read from its weights and kept for this
browser session, so every page can show it (the architecture explorer's "Checkpoint" mode, the
gradient-flow page's controls, the Grad-CAM page's model source).

The bytes are untrusted: they go through :func:`resnet_viz.weights.open_checkpoint` only
(size cap, container check, ``torch.load(weights_only=True)``, strict assembly), and a refused
file gets its message in the page with nothing run. The model belongs to this session alone
(never a shared cache entry), and one checkpoint is open at a time.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

import streamlit as st

from ..core.from_weights import SpecReading
from ..core.presets import spec_label
from ..errors import CheckpointError

if TYPE_CHECKING:
    from ..core.build import ResNet
    from ..weights.common import Preprocessing

SESSION_KEY = "opened_checkpoint"
REFUSED_KEY = "refused_checkpoint"
#: The server's upload cap is set for checkpoints in .streamlit/config.toml (280 MB).
MAX_CHECKPOINT_MB = 280
CHECKPOINT_TYPES = ["pt", "pth", "bin", "ckpt"]


@dataclass(frozen=True, eq=False)
class OpenedCheckpoint:
    """A checkpoint opened in this session: its file, the network read from it, the model, and
    the class names and preprocessing the file carries when it is in the app's own format
    (``None`` when it does not: the pages then number the classes)."""

    file_name: str
    digest: str
    reading: SpecReading
    model: ResNet
    upload_id: str | None = None  # the uploader's id for the file it came from
    classes: tuple[str, ...] | None = None
    preprocessing: Preprocessing | None = None

    @property
    def label(self) -> str:
        return f"{self.file_name} ({spec_label(self.reading.spec)})"


def opened_checkpoint() -> OpenedCheckpoint | None:
    """The checkpoint this session opened, on any page, if any."""
    return st.session_state.get(SESSION_KEY)


def opened_from_bytes(
    file_name: str, data: bytes, upload_id: str | None = None
) -> OpenedCheckpoint:
    """The checkpoint in ``data`` opened (:func:`resnet_viz.weights.open_checkpoint_file`).

    Raises:
        CheckpointError: the file is refused (its message says why); nothing in it was run.
    """
    from ..weights import open_checkpoint_file  # imports torch: only once a file is given

    opened = open_checkpoint_file(data)
    return OpenedCheckpoint(
        file_name, hashlib.sha256(data).hexdigest(), opened.reading, opened.model, upload_id,
        opened.classes, opened.preprocessing,
    )  # fmt: skip


def open_checkpoint_control(key: str = "open_ckpt") -> OpenedCheckpoint | None:
    """An uploader that opens a checkpoint for this session; returns the open one (a new upload
    replaces it; "Close" forgets it). A refused file is explained and nothing else changes."""
    upload = st.file_uploader(
        "Open a checkpoint (.pt / .pth)",
        type=CHECKPOINT_TYPES,
        key=key,
        max_upload_size=MAX_CHECKPOINT_MB,
        help="torch.save(model.state_dict()) of any ResNet this app can build: torchvision's, "
        "timm's resnet*/seresnet*/resnext*, CIFAR ResNets, this app's own. The network is read "
        "from the weights' names and shapes. Read with torch.load(weights_only=True): tensors "
        "only, never code.",
    )
    current = opened_checkpoint()
    # Every rerun sees the upload again: the file is hashed and read once per upload (a 280 MB
    # checkpoint takes about half a second to hash), and a refused file is not read again.
    if upload is not None and (current is None or current.upload_id != upload.file_id):
        refused = st.session_state.get(REFUSED_KEY)
        if refused is not None and refused[0] == upload.file_id:
            st.error(refused[1], icon=":material/error:")
            return current
        data = upload.getvalue()
        digest = hashlib.sha256(data).hexdigest()
        if current is None or current.digest != digest:
            try:
                with st.spinner(f"Reading {upload.name}…"):
                    current = opened_from_bytes(upload.name, data, upload.file_id)
            except CheckpointError as error:
                message = f"{upload.name}: {error}"
                st.session_state[REFUSED_KEY] = (upload.file_id, message)
                st.error(message, icon=":material/error:")
                return current
        else:
            current = dataclasses.replace(current, upload_id=upload.file_id)
        st.session_state[SESSION_KEY] = current
    if current is not None:
        st.caption(f"Open: {current.label}")
        for assumption in current.reading.assumptions:
            st.caption(f"Assumed: {assumption}")
        if upload is None and st.button("Close checkpoint", key=f"{key}_close"):
            del st.session_state[SESSION_KEY]
            st.rerun()
    return current
