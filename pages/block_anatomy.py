"""A residual block opened: x, F(x), the shortcut and y = ReLU(F(x) + x) on a real image."""

from resnet_viz.ui.app_shell import loading_torch, require_app_shell

require_app_shell()  # before any other import: resnet_viz/ui/app_shell.py

import streamlit as st

from resnet_viz.ui.common import shown_errors

st.title("A residual block, opened")
st.markdown(
    "He et al. (2015, Figure 2): a block computes a residual F(x) with two or three "
    "convolutions and adds its input back, y = ReLU(F(x) + x). Here are the four tensors of one "
    "block of a trained network, from a real forward pass on your image: what goes in, what "
    "the branch adds, what the shortcut carries, and what comes out."
)
with loading_torch():  # a spinner on a cold server, nothing after
    from resnet_viz.ui import block_anatomy as anatomy
    from resnet_viz.ui import models
notice = st.container()  # in the main area: what runs when ImageNet weights are missing
with st.sidebar:
    st.header("Model")
    key = models.model_control("an_model", notice)
    loaded = None
    with shown_errors("loading the model"):
        loaded = models.load_model(key, notice)
    if loaded is not None:
        st.caption(f"Using the {loaded.source}.")
        st.header("Block")
        settings = anatomy.anatomy_controls(loaded, notice)

if loaded is None:
    st.stop()

name, data = anatomy.image_input(loaded)
with shown_errors(f"opening {settings.block} on {name}"):
    anatomy.open_block(name, data, loaded, settings)
