"""What the attention workbench's views share: the URL binding, the one store of results every
session shares (:func:`~resnet_viz.ui.shared_results.computed_once`), the warm timer and how a
time is written.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from ..analysis.attribution.cam import CamResult
from ..analysis.attribution.pixel import METHODS as PIXEL_METHODS
from ..runtime.timing import WarmTimer
from .session_memory import MAX_REQUESTS, recalled, remember
from .shared_results import SharedResults, computed_once, shared_results

BIND = "query-params"


@dataclass(frozen=True)
class Shown:
    """One method's map on one image, and what it cost."""

    method: str
    result: CamResult
    seconds: float


def results() -> SharedResults:
    """Maps and studies, one key space: ("cam" | "pixel" | "faith" | "sanity", ...)."""
    return shared_results("attention workbench", 512)


def seconds_text(value: float) -> str:
    return f"{value * 1e3:.0f} ms" if value < 1 else f"{value:.1f} s"


#: What a method's time includes, shown under the times (see :mod:`..runtime.timing`).
TIMES_NOTE = (
    "Each time is one run of the method on this image, measured warm: the network ran once "
    "untimed at this layer on this device first (for the pixel methods, one Saliency run), so "
    "the one-time start-up cost is left out "
    "and the times compare the methods."
)


@st.cache_resource
def timer() -> WarmTimer:
    """One warm-up record per server, like the models it times."""
    return WarmTimer()


def requested(kind: str, key: str, label: str, help_text: str) -> bool:
    """A button whose request is remembered for the session (results stay on reruns), the
    :data:`~resnet_viz.ui.session_memory.MAX_REQUESTS` most recent of each kind."""
    asked = st.session_state.setdefault(f"_asked_{kind}", {})
    if st.button(label, key=f"{kind}_{key}", help=help_text, icon=":material/play_arrow:"):
        remember(asked, key, True, MAX_REQUESTS)
    return recalled(asked, key, False)


def stored_or_computed(store_key: tuple, starting: str, compute: Callable):
    """A heavy result some session already computed, or ``compute(progress)`` in a heavy-work
    slot with a progress bar, kept for the next rerun and the other sessions."""
    return computed_once(results(), store_key, compute, starting)


@dataclass(frozen=True)
class Workbench:
    """The methods to show and whether to show counter-evidence; the pixel methods, their
    options (by option name, shared by the methods that have it) and their view."""

    methods: tuple[str, ...]
    counterfactual: bool
    pixel_methods: tuple[str, ...] = ()
    pixel_options: Mapping[str, Any] = field(default_factory=dict)
    signed: bool = True

    def options_for(self, method: str) -> dict[str, Any]:
        """The options the page sets for one pixel method (the others keep their defaults)."""
        names = {option.name for option in PIXEL_METHODS[method].options}
        return {k: v for k, v in self.pixel_options.items() if k in names}
