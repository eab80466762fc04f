"""Figures of a shared result, built once per result for every session.

A heavy result (a gradient study, a training curve) is computed once and shared by every
session (:mod:`.shared_results`), but its page used to build its Plotly figures again on
every run of every session: plotly validates each trace and layout update, ~25-30 ms for the
gradient page's two charts, more than the rest of the page. A lecture hall opening the same
study pays that per student. :func:`figure_of` keeps the figure with its result: the same
object for the same result and arguments, dropped when the result is (results are kept by
bounded stores, so these are bounded too).

The figures are shared: never change one. :func:`resnet_viz.ui.lecture.show_chart` scales a
copy in lecture mode.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Hashable
from typing import TypeVar

R = TypeVar("R")
F = TypeVar("F")

_figures: dict[tuple[int, str, tuple], object] = {}
_watched: set[int] = set()  # results whose end drops their figures
# Reentrant: a result may die while this thread holds the lock (the garbage collector runs
# on any allocation), and its finalizer (_forget) takes the lock too.
_lock = threading.RLock()


def figure_of(result: R, build: Callable[..., F], *args: Hashable) -> F:
    """``build(result, *args)``, built once per live ``result`` and ``args`` for the process.

    ``result`` must be immutable and weak-referenceable (a frozen dataclass without slots);
    ``build`` a pure function of its arguments. Two sessions asking at once may both build:
    the first figure stored is the one kept and returned to both afterwards."""
    key = (id(result), f"{build.__module__}.{build.__qualname__}", args)
    with _lock:
        if key in _figures:
            return _figures[key]  # type: ignore[return-value]
    figure = build(result, *args)
    with _lock:
        figure = _figures.setdefault(key, figure)
        if id(result) not in _watched:
            _watched.add(id(result))
            weakref.finalize(result, _forget, id(result))
    return figure  # type: ignore[return-value]


def _forget(result_id: int) -> None:
    with _lock:
        _watched.discard(result_id)
        for key in [key for key in _figures if key[0] == result_id]:
            del _figures[key]


def kept() -> int:
    """How many figures are kept now (for tests)."""
    with _lock:
        return len(_figures)
