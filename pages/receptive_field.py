"""The effective receptive field (Luo et al. 2016): a fraction of the theoretical one."""

from resnet_viz.ui.app_shell import loading_torch, require_app_shell

require_app_shell()  # before any other import: resnet_viz/ui/app_shell.py

import streamlit as st

from resnet_viz.ui.common import shown_errors

st.title("Effective receptive field: how far a unit really sees")
st.markdown(
    "A unit of the last stage *could* see every pixel of its theoretical receptive field. "
    "Luo, Li, Urtasun and Zemel (2016) measured which pixels it actually responds to, as the "
    "gradient of the unit with respect to the input: a Gaussian-like blob, a fraction of the "
    "theoretical field. Below, a ResNet and its plain twin, before and after training."
)
with loading_torch():  # a spinner on a cold server, nothing after
    from resnet_viz.ui import receptive_field as erf
notice = st.container()  # in the main area: link values the controls cannot use
with st.sidebar:
    st.header("Receptive field")
    settings = erf.erf_controls(notice)
with shown_errors("computing the effective receptive fields"):
    erf.erf_section(settings)
