"""A transfer-learning run in a background thread, so the page can draw it live and stop it.

Streamlit runs a page's script from top to bottom on every interaction; a training run of a
minute inside the script would freeze the page and lose its "Stop" button. So the run is a
:class:`TrainingJob`: a thread that trains (:func:`resnet_viz.training.transfer.fine_tune`,
one run per mode), then maps the feature space before and after
(:func:`resnet_viz.analysis.embedding.embed`), holding one of the server's heavy-work slots
(:func:`resnet_viz.runtime.workload.heavy_work_slot`) for all of it. The job lives in the
session's state; the script reads it (the history so far, the stage, the result or the error)
and polls while it runs. A rerun finds the same job and re-attaches to it; "Stop" sets its event,
which ``fine_tune`` polls after every epoch (it keeps the best epoch so far).

The thread never calls Streamlit. A :class:`~resnet_viz.errors.UserError` it meets becomes the
job's ``error`` (its message, for the page); anything else is logged and reported in general
words, as :func:`resnet_viz.ui.common.shown_errors` does.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field

from ..analysis.embedding import Embedding, embed
from ..data.image_folder import ImageFolder
from ..errors import UserError
from ..runtime.locks import model_lock
from ..runtime.workload import HeavyWorkCancelledError, QueuePlace, heavy_work_slot
from ..training.transfer import FineTuned, TrainingProgress, fine_tune
from ..weights import LoadedModel

log = logging.getLogger(__name__)

#: The stages the page names while a job runs.
WAITING, TRAINING, MAPPING, DONE = "waiting", "training", "mapping", "done"


@dataclass(eq=False)
class TrainingJob:
    """One run of the page's settings, shared by the script (reader) and its thread (writer).

    Attributes:
        key: what was trained (data, model, settings): the page shows the result while its
            settings still equal it.
        modes: the runs, in order (the chosen mode, then ``"scratch"`` when compared).
        epochs: each run's epochs.
        progress: each run's latest :class:`TrainingProgress`.
        results: each finished run.
        embeddings: (backbone, trained network) feature spaces, once mapped.
        stage: one of :data:`WAITING`, :data:`TRAINING`, :data:`MAPPING`, :data:`DONE`.
        queued: its place in the heavy-work queue while it waits (None: not waiting).
        error: the message to show when the job failed.
        stop: set by the page's "Stop" button.
        extras: what the page computed from the result (checkpoint bytes, Grad-CAM maps),
            kept with the job so that reruns do not recompute it.
    """

    key: Hashable
    modes: tuple[str, ...]
    epochs: Mapping[str, int]
    progress: dict[str, TrainingProgress] = field(default_factory=dict)
    results: dict[str, FineTuned] = field(default_factory=dict)
    embeddings: tuple[Embedding, Embedding] | None = None
    stage: str = WAITING
    queued: QueuePlace | None = None
    error: str | None = None
    stop: threading.Event = field(default_factory=threading.Event)
    finished: threading.Event = field(default_factory=threading.Event)
    extras: dict = field(default_factory=dict)

    @property
    def running(self) -> bool:
        return not self.finished.is_set()

    def fraction(self) -> float:
        """How far the training is, 0 to 1 (the feature map at the end is not counted)."""
        if self.stage in (MAPPING, DONE):
            return 1.0
        done = 0.0
        for mode in self.modes:
            if mode in self.results:
                done += 1.0
            elif mode in self.progress:
                p = self.progress[mode]
                # A probe's feature pass counts as its first epoch's share.
                share = p.done / p.total if p.total else 0.0
                done += share if p.stage == "epoch" else share / max(self.epochs[mode], 1)
        return min(done / len(self.modes), 1.0)

    def histories(self) -> dict[str, tuple]:
        """Each run's epochs so far, the finished runs' whole records."""
        out = {}
        for mode in self.modes:
            if mode in self.results:
                out[mode] = self.results[mode].history
            elif mode in self.progress and self.progress[mode].history:
                out[mode] = self.progress[mode].history
        return out


def start_job(
    key: Hashable,
    loaded: LoadedModel,
    data: ImageFolder,
    modes: tuple[str, ...],
    epochs: Mapping[str, int],
    seed: int,
    owner_alive: Callable[[], bool] = lambda: True,
) -> TrainingJob:
    """Start training ``modes`` on ``data`` from ``loaded``'s model, in a daemon thread.

    The job stops as its "Stop" button does once ``owner_alive()`` (polled with the stop event:
    :func:`resnet_viz.ui.session_memory.session_alive`) says its session has gone; one still
    queued for a heavy-work slot then leaves the queue without training."""
    job = TrainingJob(key=key, modes=tuple(modes), epochs=dict(epochs))
    thread = threading.Thread(
        target=_run,
        args=(job, loaded, data, seed, owner_alive),
        name="transfer-learning",
        daemon=True,
    )
    thread.start()
    return job


#: The job's message when it was stopped (or its session left) while queued for a slot.
STOPPED_IN_QUEUE = "Stopped while waiting for a heavy-work slot: nothing was trained."


def _run(
    job: TrainingJob,
    loaded: LoadedModel,
    data: ImageFolder,
    seed: int,
    owner_alive: Callable[[], bool] = lambda: True,
) -> None:
    def stopped() -> bool:
        return job.stop.is_set() or not owner_alive()

    try:

        def waiting(seen: QueuePlace) -> None:
            job.queued = seen

        with heavy_work_slot(waiting, kind="transfer learning", cancelled=stopped):
            job.queued = None
            job.stage = TRAINING
            for mode in job.modes:
                if job.results and stopped():
                    break  # stopped: the comparison run is not started

                def progress(p: TrainingProgress, mode: str = mode) -> None:
                    job.progress[mode] = p

                job.results[mode] = fine_tune(
                    loaded.model,
                    data,
                    mode,
                    preprocessing=loaded.preprocessing,
                    epochs=job.epochs[mode],
                    seed=seed,
                    progress=progress,
                    should_stop=stopped,
                )
            job.stage = MAPPING
            trained = job.results[job.modes[0]]
            with model_lock(loaded.model):  # the shared backbone: one user at a time
                before = embed(loaded.model, data.images, preprocessing=loaded.preprocessing)
            after = embed(trained.model, data.images, preprocessing=trained.preprocessing)
            job.embeddings = (before, after)
    except HeavyWorkCancelledError:
        job.queued = None
        job.error = STOPPED_IN_QUEUE
    except UserError as error:
        job.error = str(error)
    except Exception:
        log.exception("failed while training on the transfer-learning page")
        job.error = (
            "Something went wrong while training. The rest of the page still works; the "
            "details are in the server log."
        )
    finally:
        job.stage = DONE
        job.finished.set()
