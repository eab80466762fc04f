"""The app's shell: the guard every page file runs first (so that a page always runs inside
app.py's navigation), the sidebar menu, and the notice while a page first loads PyTorch.

Streamlit decides once per process whether an app uses the legacy "v1" pages/ folder: until some
session calls st.navigation, a request for /architecture runs pages/architecture.py on its own
(with Streamlit's plain list of page files in the sidebar, no menu, no sidebar badge). That is
what a fresh server's first visitor gets, whichever page they open. The flag is Streamlit's own
(pinned version, covered by a browser test); clearing it and rerunning sends the run through
app.py, which shows the same page.

Page files call :func:`require_app_shell` before importing anything else: the legacy run is
thrown away, so whatever it imported first only delays the real page (the architecture page's
imports cost ~0.4 s of a cold start, the Grad-CAM page's torch several seconds; bench/README.md,
"Cold start"). Hence this module imports nothing but Streamlit.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st


def require_app_shell() -> None:
    """Rerun through app.py if this page file was started by Streamlit's legacy pages/ mode."""
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


def sidebar_menu(sections: dict[str, list]) -> None:
    """The app's menu at the top of the sidebar: one link per page, under its section's name.

    st.navigation draws the same menu itself, but Streamlit's switch that hides its menu
    (``client.showSidebarNavigation = false`` in .streamlit/config.toml) is also the only way
    to keep a fresh server's first visitor from seeing the legacy list of pages/ files while
    the first run is rerouted through app.py (see :func:`require_app_shell`). So app.py hides
    the built-in menu and draws this one from the same pages; a link to the page on screen is
    shown as current, as Streamlit's menu does.
    """
    with st.sidebar:
        for title, pages in sections.items():
            with st.container(gap="xxsmall"):
                if title:
                    st.caption(title)
                for page in pages:
                    st.page_link(page, width="stretch")
        st.divider()


#: What a torch page says while it imports torch (bench/first_heavy_page.py looks for it).
LOADING_TORCH = "Loading PyTorch: once after the server starts, a few seconds…"


@contextmanager
def loading_torch() -> Iterator[None]:
    """Around a page's heavy imports (torch, torchvision, captum: seconds on a cold server,
    bench/README.md "First heavy page"): a spinner that says what the wait is for.
    Pages draw their title and introduction first, so a first visitor reads while it loads.
    Streamlit shows a spinner only after 0.5 s, so on a warm server nothing appears."""
    with st.spinner(LOADING_TORCH, show_time=True):
        yield
