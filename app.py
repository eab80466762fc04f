"""resnet-viz: `streamlit run app.py`.

The entry point only sets up navigation and the shared sidebar; each view lives in pages/.

The page files are deliberately not named like their URLs (pages/architecture_explorer.py is
served at /architecture): Streamlit still auto-discovers pages/ the "v1" way until the first
st.navigation call, and a first request for a URL that matched a file there would run that
file on its own, without this entry point (no navigation menu, no device badge).
tests/test_browser.py opens a deep link on a fresh server to keep it that way.
"""

import streamlit as st

from resnet_viz.ui.common import device_badge

st.set_page_config(page_title="resnet-viz", page_icon=":material/hub:", layout="wide")

PAGES = {
    "": [
        st.Page("pages/introduction.py", title="Home", icon=":material/home:", default=True),
    ],
    "Explore": [
        st.Page(
            "pages/architecture_explorer.py",
            title="Architecture",
            icon=":material/account_tree:",
            url_path="architecture",
        ),
        st.Page(
            "pages/gradient_flow.py",
            title="Gradient flow",
            icon=":material/show_chart:",
            url_path="gradients",
        ),
        st.Page(
            "pages/grad_cam.py",
            title="Grad-CAM",
            icon=":material/image_search:",
            url_path="grad-cam",
        ),
    ],
}

page = st.navigation(PAGES)
device_badge()
page.run()
