"""Lesion study (Veit et al. 2016): remove one block from a trained ResNet or plain network."""

from resnet_viz.ui.app_shell import loading_torch, require_app_shell

require_app_shell()  # before any other import: resnet_viz/ui/app_shell.py

import streamlit as st

from resnet_viz.ui.common import shown_errors

st.title("Lesion study: ResNets behave like ensembles")
st.markdown(
    "Veit, Wilber and Belongie (2016, Figure 3) removed single blocks from trained networks. "
    "A plain network collapses: every layer is on its only path. A ResNet mostly shrugs it "
    "off: its skip connections give it many paths of different lengths."
)
with loading_torch():  # a spinner on a cold server, nothing after
    from resnet_viz.ui import lesion
with shown_errors("running the lesion study"):
    lesion.lesion_section()
