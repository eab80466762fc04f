"""st.graphviz_chart that draws a changed graph from scratch instead of morphing the old one.

Streamlit draws DOT with d3-graphviz, which keeps one renderer per chart element and, when the
graph changes, precomputes a morphing animation from the old drawing to the new one: it samples
every edge at one point per pixel (``tweenPaths``, ``tweenPrecision: 1``). For the architecture
page's diagrams that cost ~1 s of browser CPU per control change (Chromium's profiler: 60 % of
the time in ``SVGPathElement.getPointAtLength``), against ~0.1 s for drawing the same graph
into a fresh element (bench/app_latency.py --tab Diagram). Streamlit exposes no option for it,
so a changed graph is drawn into the other of two alternating slots: a new element, a new
renderer, nothing to morph from.
"""

from __future__ import annotations

import hashlib

import streamlit as st


def slot_for(previous: tuple[str, int] | None, digest: str) -> int:
    """Which of the two slots draws the graph ``digest``, given the last (digest, slot) drawn
    there: the same slot for the same graph (nothing to redraw), the other one for a new one."""
    if previous is None:
        return 0
    last_digest, last_slot = previous
    return last_slot if last_digest == digest else 1 - last_slot


def fresh_graphviz_chart(dot: str, *, key: str) -> None:
    """Draw ``dot`` like st.graphviz_chart, in a new element whenever the graph changed since
    this session last drew ``key``."""
    digest = hashlib.sha256(dot.encode()).hexdigest()
    state_key = f"_graphviz_slot_{key}"
    slot = slot_for(st.session_state.get(state_key), digest)
    st.session_state[state_key] = (digest, slot)
    slots = (st.empty(), st.empty())
    slots[slot].graphviz_chart(dot)
