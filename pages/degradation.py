"""The degradation problem, live: deeper plain networks train worse; deeper ResNets do not."""

from resnet_viz.ui.app_shell import loading_torch, require_app_shell

require_app_shell()  # before any other import: resnet_viz/ui/app_shell.py

import streamlit as st

from resnet_viz.ui.common import shown_errors

st.title("The degradation problem, live")
st.markdown(
    "He et al. 2015 (Figures 1 and 6): a 56-layer plain network ends with **higher training "
    "error** than a 20-layer one. With skip connections, the deeper network is at least as "
    "good. Below, four networks trained side by side on the same data, from the same initial "
    "weights for each depth."
)
with loading_torch():  # a spinner on a cold server, nothing after
    from resnet_viz.ui import degradation
notice = st.container()  # in the main area: link values the controls cannot use
with st.sidebar:
    st.header("Experiment")
    settings = degradation.degradation_controls(notice)
with shown_errors("running the degradation experiment"):
    degradation.degradation_section(settings)
