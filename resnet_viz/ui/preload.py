"""Loading the heavy pages' code (PyTorch, torchvision, captum) in the background, once per
server, as soon as the server has been idle for a moment after its first page.

The home and architecture pages never import torch, so a fresh server answers its first
visitor in about the time of a bare Streamlit page (bench/cold_start.py). The first visit to a
torch page would then pay ~3 s of imports (bench/first_heavy_page.py); importing them in a
background thread means that a lecturer who starts on the architecture page finds Grad-CAM and
the gradient study warm. The thread waits until no page has run for :data:`IDLE_S`: torch's
extension initialises holding the GIL for most of a second, which would stall a click made
meanwhile (measured: one click at ~1 s while the import ran right after the first page). A page
opened while the import is running waits for it (Python's import lock) under its "Loading
PyTorch" spinner.

Once imported, the new objects are moved out of the garbage collector's view, as app.py does
for Streamlit's at startup (see resnet_viz/ui/common.py, freeze_imported_objects).

Set ``RESNET_VIZ_PRELOAD=0`` to skip it (a memory-tight deployment serving only the architecture
page; tests/operational/test_cold_path.py, which checks what the pages themselves import).
"""

from __future__ import annotations

import gc
import importlib
import logging
import os
import threading
import time
from collections.abc import Sequence

from .site import PAGES

log = logging.getLogger("resnet_viz")

#: The modules behind the torch pages: what each page imports under ``loading_torch``, from the
#: page table (resnet_viz/ui/site.py), each once, in the menu's order.
PAGE_MODULES = tuple(dict.fromkeys(name for page in PAGES for name in page.preloads))
#: Seconds without a page run before the import starts. Longer than the first page takes to
#: reach the browser with its scripts (~0.5 s after the run on the project's machine) and than
#: the pause between two clicks of someone trying presets.
IDLE_S = 1.5
SWITCH = "RESNET_VIZ_PRELOAD"

_started = threading.Event()
_last_run = time.monotonic()


def preload_in_background(
    modules: Sequence[str] = PAGE_MODULES, idle_s: float = IDLE_S
) -> threading.Thread | None:
    """Note that a page just ran; the first time, start the thread that imports ``modules``
    once the server has been idle for ``idle_s``. Returns that thread, else None (started
    before, or switched off)."""
    global _last_run
    _last_run = time.monotonic()
    if os.environ.get(SWITCH, "1") == "0" or _started.is_set():
        return None
    _started.set()
    thread = threading.Thread(
        target=_import_when_idle, args=(tuple(modules), idle_s), name="resnet-viz-preload",
        daemon=True,
    )  # fmt: skip
    thread.start()
    return thread


def _import_when_idle(modules: tuple[str, ...], idle_s: float) -> None:
    while (quiet := time.monotonic() - _last_run) < idle_s:
        time.sleep(idle_s - quiet)
    started = time.perf_counter()
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception:  # the page reports it to its visitor when opened; log it here
            log.exception("preloading %s failed", name)
    # No gc.collect() first: a full collection over torch's objects holds the GIL for ~0.3 s,
    # a click's worth; the little garbage the imports left is frozen with them.
    gc.freeze()
    log.info("preloaded the torch pages' modules in %.1f s", time.perf_counter() - started)
