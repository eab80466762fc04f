"""resnet-viz: `streamlit run app.py`.

The entry point only sets up navigation and the shared sidebar; each view lives in pages/, and
resnet_viz/ui/site.py says which pages there are (titles, icons, URLs, sections).

Each page file is named like its URL (pages/architecture.py is /architecture) and starts with
``require_app_shell()``: Streamlit still discovers pages/ the "v1" way until the first
st.navigation call in the process, so a shared link as a fresh server's first request would run
the page file on its own, without this entry point (see resnet_viz/ui/app_shell.py).
tests/browser/test_app.py opens a deep link on a fresh server to keep it working.
"""

import streamlit as st

from resnet_viz.ui import site
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

#: The navigation: each section of the page table (resnet_viz/ui/site.py) as st.Page objects.
PAGES = {
    section: [
        st.Page(p.file, title=p.title, icon=p.icon, url_path=p.name, default=p.default)
        for p in pages
    ]
    for section, pages in site.sections().items()
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
