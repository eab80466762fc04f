"""Lecture mode (bigger type and charts for a projector) and the guided tour's bar."""

from __future__ import annotations

import streamlit as st

from ..present.tour import STEPS, step

#: Root font scale in lecture mode: Streamlit sizes its type in rem, so this scales it all.
LECTURE_FONT_SCALE = 1.3
LECTURE_CHART_FONT = 18


def lecture_mode_requested() -> bool:
    """Read from the URL before any widget exists (to start with the sidebar collapsed)."""
    return st.query_params.get("lecture") == "true"


def lecture_toggle() -> bool:
    on = st.sidebar.toggle(
        "Lecture mode",
        key="lecture",
        bind="query-params",
        help="Larger type and charts for a projector; the sidebar starts collapsed. Links "
        "keep it on.",
    )
    if on:
        st.html(
            f"<style>html {{ font-size: {100 * LECTURE_FONT_SCALE:.0f}%; }} "
            "[data-testid='stHeader'] { background: transparent; }</style>"
        )
    return on


def show_chart(figure, *, key: str) -> None:
    """st.plotly_chart, with larger fonts and taller charts in lecture mode."""
    if st.session_state.get("lecture"):
        height = figure.layout.height or 380
        figure.update_layout(font={"size": LECTURE_CHART_FONT}, height=int(height * 1.25))
    st.plotly_chart(figure, key=key)


def tour_bar() -> None:
    """Above the page: where we are in the tour, what to say, and the links to move on."""
    try:
        number = int(st.query_params.get("tour", "0"))
    except ValueError:
        return
    current = step(number)
    if current is None:
        return
    with st.container(border=True):
        st.markdown(f"**Tour, step {number} of {len(STEPS)}: {current.title}**")
        for point in current.points:
            st.markdown(f"- {point}")
        previous, _, following = st.columns([1, 2, 1])
        if number > 1:
            before = STEPS[number - 2]
            previous.page_link(
                before.page,
                label=f"← {before.title}",
                query_params=before.query(number - 1),
            )
        if number < len(STEPS):
            after = STEPS[number]
            following.page_link(
                after.page, label=f"{after.title} →", query_params=after.query(number + 1)
            )
