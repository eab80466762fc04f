"""resnet-viz: `streamlit run app.py`.

The entry point only sets up navigation and the shared sidebar; each view lives in pages/.

Each page file is named like its URL (pages/architecture.py is /architecture) and starts with
``require_app_shell()``: Streamlit still discovers pages/ the "v1" way until the first
st.navigation call in the process, so a shared link as a fresh server's first request would run
the page file on its own, without this entry point (see resnet_viz/ui/app_shell.py).
tests/test_browser.py opens a deep link on a fresh server to keep it working.
"""

import streamlit as st

from resnet_viz.ui.app_shell import sidebar_menu
from resnet_viz.ui.common import device_badge, freeze_imported_objects
from resnet_viz.ui.lecture import (
    arrive_at_tour_step,
    lecture_mode_requested,
    lecture_toggle,
    tour_bar,
)
from resnet_viz.ui.preload import preload_in_background

st.set_page_config(
    page_title="resnet-viz",
    page_icon=":material/hub:",
    layout="wide",
    # Lecture mode starts with the controls out of the way; the presenter can open them.
    initial_sidebar_state="collapsed" if lecture_mode_requested() else "auto",
)

PAGES = {
    "": [
        st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
    ],
    "Explore": [
        st.Page(
            "pages/architecture.py",
            title="Architecture",
            icon=":material/account_tree:",
            url_path="architecture",
        ),
        st.Page(
            "pages/gradients.py",
            title="Gradient flow",
            icon=":material/show_chart:",
            url_path="gradients",
        ),
        st.Page(
            "pages/grad_cam.py",
            title="Grad-CAM",
            icon=":material/image_search:",
            url_path="grad_cam",
        ),
    ],
    "Teaching lab": [
        st.Page(
            "pages/degradation.py",
            title="Degradation",
            icon=":material/trending_down:",
            url_path="degradation",
        ),
        st.Page(
            "pages/lesion.py",
            title="Lesion study",
            icon=":material/content_cut:",
            url_path="lesion",
        ),
        st.Page(
            "pages/landscape.py",
            title="Loss landscape",
            icon=":material/landscape:",
            url_path="landscape",
        ),
        st.Page(
            "pages/receptive_field.py",
            title="Receptive field",
            icon=":material/center_focus_strong:",
            url_path="receptive_field",
        ),
        st.Page(
            "pages/block_anatomy.py",
            title="A block opened",
            icon=":material/view_module:",
            url_path="block_anatomy",
        ),
    ],
}

freeze_imported_objects()
# Our own menu: the built-in one is hidden in .streamlit/config.toml (see sidebar_menu).
page = st.navigation(PAGES, position="hidden")
arrive_at_tour_step(page.url_path)  # before any widget: a tour step's URL decides them all
sidebar_menu(PAGES)
badge = st.sidebar.empty()
lecture_toggle()
tour_bar(page.url_path)
page.run()
device_badge(badge)
preload_in_background()  # the torch pages' code, once the server is idle (ui/preload.py)
