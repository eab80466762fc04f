"""Streamlit helpers every page shares: error display, the device badge, number formats."""

from __future__ import annotations

import gc
import logging
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import streamlit as st

from ..errors import UserError
from ..present.queue import queue_notice
from ..runtime.workload import DEFAULT_KIND, QueuePlace, heavy_work_slot
from .choice import unknown_menu_value

log = logging.getLogger("resnet_viz")

#: The image uploaders' filter (by file name only: resnet_viz.data.images checks the bytes) and
#: their size cap, stricter than the server's (.streamlit/config.toml).
IMAGE_TYPES = ["jpg", "jpeg", "png", "webp", "gif", "bmp", "tif", "tiff"]
MAX_IMAGE_MB = 20


_imports_frozen = False


def freeze_imported_objects() -> None:
    """Move everything alive now (the imported libraries: ~470,000 objects with torch, captum,
    plotly and pandas) out of the garbage collector's view, once per server process.

    Streamlit's gc.collect(2) after every run is switched off in .streamlit/config.toml because
    it cost ~0.3 s per click; Python's own full collections still come now and then, and with
    the libraries frozen they only scan what the app allocated since. Objects created later
    are collected as usual. See https://docs.python.org/3/library/gc.html#gc.freeze
    """
    global _imports_frozen
    if not _imports_frozen:
        _imports_frozen = True
        # No gc.collect() first: it held the GIL for ~20 ms of the first visitor's page
        # (bench/cold_start.py); the little garbage alive now is frozen with the libraries.
        gc.freeze()


def say_unknown_link_value(
    area, key: str, what: str, options: Sequence[object], instead: object
) -> None:
    """Call before drawing the URL-bound menu ``key``: when the link's value is none of its
    ``options``, say so in ``area`` (a container in the page's main area, where a lecturer
    sees it with the sidebar collapsed) and what is shown instead. A bound menu drops such a
    value silently when it is created (:func:`resnet_viz.ui.choice.unknown_menu_value`)."""
    value = st.query_params.get(key)
    note = None if value is None else unknown_menu_value(what, value, options, instead)
    if note is not None and area is not None:
        area.warning(note, icon=":material/link_off:")


@contextmanager
def shown_errors(doing: str) -> Iterator[None]:
    """Run a section of a page; show a failure as a message in place of the section, never as
    a traceback, and let the rest of the page go on.

    A :class:`~resnet_viz.errors.UserError`'s message is written for the user and shown as it
    is; anything else is a bug: the page says so in general terms and the log gets the details.

    Streamlit's own control flow (st.stop, st.rerun) derives from BaseException and passes.
    """
    try:
        yield
    except UserError as error:
        st.error(str(error), icon=":material/error:")
    except Exception:
        log.exception("failed while %s", doing)
        st.error(
            f"Something went wrong while {doing}. The rest of the page still works; "
            "the details are in the server log.",
            icon=":material/error:",
        )


@st.cache_resource
def compute_device_text() -> str:
    from ..runtime.device import device_label, pick_device  # imports torch

    return device_label(pick_device())


#: The badge's text until some page has imported torch (bench/app_latency.py waits for it to go).
DEVICE_NOT_CHOSEN_YET = "chosen with the first computation"


def device_badge(slot) -> None:
    """Fill ``slot`` (a sidebar placeholder) with where heavy work (Grad-CAM, gradients) runs.

    Called after the page ran: finding the device imports torch (about 3 s on a cold server),
    which the home and architecture pages never need, so until some page has imported torch
    the badge says the device is chosen with the first computation."""
    if "torch" in sys.modules:
        slot.caption(f":material/memory: Compute device: **{compute_device_text()}**")
    else:
        slot.caption(f":material/memory: Compute device: {DEVICE_NOT_CHOSEN_YET}")


#: While a student waits for a heavy-work slot, its notice is drawn again at least this often
#: even when it reads the same. Drawing is where Streamlit notices that the session ended or
#: asked for a rerun (it raises StopException or RerunException at the next element call), so
#: an abandoned session's queued work leaves the queue within about this time.
REDRAW_S = 1.0


def redrawn(
    draw: Callable[[str], None], clock: Callable[[], float] = time.monotonic
) -> Callable[[QueuePlace], None]:
    """An ``on_wait`` for :func:`~resnet_viz.runtime.workload.heavy_work_slot` that calls
    ``draw(notice)`` (:func:`resnet_viz.present.queue.queue_notice`) when the notice changed or
    :data:`REDRAW_S` passed since it was drawn. It runs in the waiting script thread, so what
    ``draw`` raises (the session gone) takes the ticket out of the queue."""
    last: list = [None, 0.0]

    def on_wait(seen: QueuePlace) -> None:
        text, now = queue_notice(seen), clock()
        if text != last[0] or now - last[1] >= REDRAW_S:
            last[:] = [text, now]
            draw(text)

    return on_wait


@contextmanager
def heavy_work_in_page(kind: str = DEFAULT_KIND) -> Iterator[None]:
    """Hold one of the server's heavy-work slots for the block; while the student waits for
    it, a live notice here says its place in the queue and the estimated wait (drawn on the
    first wait only, and emptied when its turn comes)."""
    notice = None

    def show(text: str) -> None:
        nonlocal notice
        if notice is None:
            notice = st.empty()
        notice.info(text, icon=":material/hourglass_top:")

    with heavy_work_slot(redrawn(show), kind=kind):
        if notice is not None:
            notice.empty()
        yield


@contextmanager
def heavy_work_with_progress(
    text: str = "Starting…", kind: str = DEFAULT_KIND
) -> Iterator[Callable[[float, str], None]]:
    """A progress bar for a long computation that holds one of the server's heavy-work slots.
    While the student waits for a slot, the bar says its place in the queue and the estimated
    wait (:func:`redrawn`); then it shows the work's progress. Yields
    ``progress(fraction, message)``; the bar disappears when the work is done."""
    bar = st.progress(0.0, text=text)

    def progress(fraction: float, message: str) -> None:
        bar.progress(min(max(fraction, 0.0), 1.0), text=message)

    def waiting(notice: str) -> None:
        bar.progress(0.0, text=notice)

    with heavy_work_slot(redrawn(waiting), kind=kind):
        bar.progress(0.0, text=text)
        yield progress
    bar.empty()
