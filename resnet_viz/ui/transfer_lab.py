"""The transfer-learning page's training: the mode, epochs and seed, the "Train" and "Stop"
buttons, and the run drawn live (progress, place in the heavy-work queue, loss and accuracy
curves as they come), then its results (:mod:`.transfer_results`).

The page: its images come from :mod:`.transfer_data`; the training itself runs in a background
thread (:mod:`.transfer_job`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import streamlit as st

from ..present.queue import queue_notice
from ..present.transfer import curves_figure
from ..training.transfer import DEFAULT_EPOCHS, MAX_EPOCHS, MODE_LABELS, MODES, SCRATCH
from ..weights import LoadedModel
from .lecture import show_chart
from .session_memory import session_alive
from .transfer_data import LabData
from .transfer_job import MAPPING, WAITING, TrainingJob, start_job
from .transfer_results import results_section

BIND = "query-params"
#: Session key of the training job.
JOB_KEY = "transfer_job"
#: Seconds between two redraws of a live run.
POLL_SECONDS = 0.5


@dataclass(frozen=True)
class TrainSettings:
    """What a run trains: the mode, the epochs of each run, the seed."""

    modes: tuple[str, ...]
    epochs: tuple[tuple[str, int], ...]
    seed: int


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
