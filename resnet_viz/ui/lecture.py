"""Lecture mode (bigger type and charts for a projector) and the guided tour's bar."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from . import site
from .tour import LEAVE, STEPS, leaving, lecture_requested, step, step_on_page

#: Root font scale in lecture mode: Streamlit sizes its type in rem, so this scales it all.
LECTURE_FONT_SCALE = 1.3
LECTURE_CHART_FONT = 18
#: Session-state key of the tour step the session's last run showed, as (number, URL path), or
#: None off the tour; absent before the session's first run.
_ARRIVED = "_tour_arrived"


def lecture_mode_requested() -> bool:
    """Read from the URL before any widget exists (to start with the sidebar collapsed)."""
    return lecture_requested(st.query_params.to_dict())


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


def scale_for_lecture(figure) -> None:
    """Larger type (:data:`LECTURE_CHART_FONT` px everywhere) and a 1.25x taller chart, in
    place. Streamlit's chart theme gives the axes' ticks a size of their own, which the
    layout's font does not reach (the x ticks stayed at ~12 px on a projector): set them too."""
    height = figure.layout.height or 380
    figure.update_layout(
        font={"size": LECTURE_CHART_FONT},
        legend={"font": {"size": LECTURE_CHART_FONT}},
        height=int(height * 1.25),
    )
    axis_font = {"tickfont": {"size": LECTURE_CHART_FONT}}
    figure.update_xaxes(**axis_font)
    figure.update_yaxes(**axis_font)


def show_chart(figure, *, key: str) -> None:
    """st.plotly_chart, with larger fonts and taller charts in lecture mode (on a copy: the
    figure may be shared by every session, :mod:`resnet_viz.ui.figure_memo`)."""
    if st.session_state.get("lecture"):
        figure = type(figure)(figure)  # go.Figure(figure): a deep copy
        scale_for_lecture(figure)
    st.plotly_chart(figure, key=key)


def let_the_url_decide(query: Mapping[str, str]) -> None:
    """Make ``query`` the URL, and make every URL-bound widget drawn in the rest of this run
    take its value from it: the parameter's value where it has one, the widget's default where
    it has none. Call it before the first such widget.

    Why it is needed: a widget bound with ``bind="query-params"`` takes the URL's value only on
    its first run; afterwards the session's value wins (Streamlit's rules, in
    ``SessionState._handle_query_param_binding``). Two more rules carry one page's network to
    the next: a bound widget that leaves the screen keeps its value under its key, and a new
    page's widget of the same key takes it when the URL lacks the parameter or holds the page's
    default (a link's ``preset=ResNet-56 (CIFAR)`` is the gradient page's default, so ResNet-152
    from the page before won); and on a page change Streamlit drops the link's parameters that
    are bound to another page's widget and the browser appends the current page's bound ones
    (``lecture=true`` twice). So a tour link alone cannot say what its step shows.

    How: the browser's back and forward buttons already get exactly this behaviour ("the URL
    wins, a missing parameter restores the default", Streamlit 1.67's history navigation), so
    this run is marked as one, after the URL is set to ``query``. That uses Streamlit's
    internals (the run context's flag and its query-parameter store), pinned to the version in
    requirements.txt; tests/pages/test_tour.py fails if an upgrade changes them.
    """
    ctx = get_script_run_ctx()
    if ctx is None:  # not in a Streamlit run (bare mode)
        return
    query_string = urlencode(dict(query))
    with ctx.session_state.query_params() as params:
        params.populate_from_query_string(query_string)  # what st.query_params reads
        params.set_initial_query_params(query_string)  # what bound widgets seed from
        params._send_query_param_msg()  # the browser's address bar
    ctx.is_history_navigation = True


def arrive_at_tour_step(url_path: str) -> None:
    """Before any widget of the run: when this run arrives at a tour step (from another step
    or another page), the step's URL decides every bound widget, so the step shows its own
    network and settings (the page's defaults for the rest) and lecture mode is on, whatever
    was chosen before. Later runs on the same step keep what the lecturer changes there. A
    session's first run needs nothing: Streamlit seeds every widget from the URL then, so a
    step's link opened cold shows the step, and a reload keeps what was changed on it. The
    tour's leave link turns lecture mode off the same way."""
    first_run = _ARRIVED not in st.session_state
    query = st.query_params.to_dict()
    number = step_on_page(query, url_path)
    arrived = (number, url_path) if number is not None else None
    if leaving(query):
        let_the_url_decide({})
    elif arrived is not None and arrived != st.session_state.get(_ARRIVED) and not first_run:
        let_the_url_decide(STEPS[number - 1].query(number))
    st.session_state[_ARRIVED] = arrived


def tour_bar(url_path: str) -> None:
    """Above the page: where we are in the tour, what to say, and the links to move on."""
    number = step_on_page(st.query_params.to_dict(), url_path)
    if number is None:
        return
    current = STEPS[number - 1]
    with st.container(border=True):
        st.markdown(f"**Tour, step {number} of {len(STEPS)}: {current.title}**")
        for point in current.points:
            st.markdown(f"- {point}")
        # One row that wraps: each link as wide as its label, never cut off (in lecture mode
        # a third of the row did not hold "← The degradation problem").
        with st.container(horizontal=True, horizontal_alignment="distribute"):
            before, after = step(number - 1), step(number + 1)
            if before is not None:
                st.page_link(
                    before.page, label=f"← {before.title}", query_params=before.query(number - 1)
                )
            if after is not None:
                st.page_link(
                    after.page, label=f"{after.title} →", query_params=after.query(number + 1)
                )
            else:
                first = STEPS[0]
                st.page_link(
                    first.page,
                    label="Back to the start of the tour",
                    icon=":material/replay:",
                    query_params=first.query(1),
                )
                st.page_link(
                    site.HOME.file,
                    label="Leave the tour",
                    icon=":material/logout:",
                    query_params={"tour": LEAVE},
                )
