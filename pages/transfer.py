"""Train on your images: transfer learning live in a lecture, then a look inside the result."""

from resnet_viz.ui.app_shell import loading_torch, require_app_shell

require_app_shell()  # before any other import: resnet_viz/ui/app_shell.py

import streamlit as st

from resnet_viz.ui.common import shown_errors

st.title("Train it on your images")
st.markdown(
    "A network trained on one task already holds features that serve another: keep its layers, "
    "put a new last layer on top (one output per class) and train on a few images of your "
    "own (Yosinski et al. 2014; Kornblith et al. 2019). Bring images, train live, then look "
    "inside: what it confuses, how its feature space changed, where it looks now."
)
with loading_torch():  # a spinner on a cold server, nothing after
    from resnet_viz.ui import models
    from resnet_viz.ui import transfer_data as images
    from resnet_viz.ui import transfer_lab as lab
notice = st.container()  # in the main area: link values the controls cannot use
with st.sidebar:
    st.header("Images")
    choice = images.data_controls(notice)
    st.header("Backbone")
    key = models.model_control("tl_model", notice)
    loaded = None
    with shown_errors("loading the model"):
        loaded = models.load_model(key, notice)
    if loaded is not None:
        st.caption(f"Using the {loaded.source}.")
    st.header("Training")
    settings = lab.train_controls()

st.subheader("1. Your images")
data = None
with shown_errors("reading the images"):
    data = images.data_section(choice)
    if data is not None:
        images.show_data(data, settings.seed)
if data is None or loaded is None:
    st.stop()
st.subheader("2. Train")
with shown_errors("training"):
    lab.training_section(data, loaded, settings)
