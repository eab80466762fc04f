"""Grad-CAM and its relatives: where a ResNet looks in an image, how faithful each map is, and
whether it survives a sanity check (Selvaraju et al. 2017; Adebayo et al. 2018)."""

from resnet_viz.ui.app_shell import loading_torch, require_app_shell

require_app_shell()  # before any other import: resnet_viz/ui/app_shell.py

import streamlit as st

from resnet_viz.ui.common import shown_errors

st.title("Grad-CAM: where does the network look?")
st.markdown(
    "Grad-CAM (Selvaraju et al. 2017) weighs a layer's feature maps by how much each one "
    "raises the class score (the gradient, averaged over positions), sums them and keeps the "
    "positive part: a heatmap of the evidence for that class. Pick other methods in the "
    "sidebar to compare them, then ask how faithful each map is and whether it survives the "
    "sanity check."
)
with loading_torch():  # a spinner on a cold server, nothing after
    from resnet_viz.ui import batch_view, models
    from resnet_viz.ui import grad_cam as cam
link = cam.link_values()  # before any widget: bound widgets drop invalid values
notice = st.container()  # the model's own messages, in the main area

with st.sidebar:
    st.header("Model")
    key = st.selectbox(
        "Model", cam.MODEL_KEYS, format_func=models.model_label, key="model", bind="query-params"
    )
    loaded = None
    with shown_errors("loading the model"):
        loaded = (
            models.checkpoint_controls()
            if key == models.CHECKPOINT
            else models.shared_model(key, notice)
        )
    if loaded is not None:
        st.caption(f"Using the {loaded.source}.")
        st.header("Explanation")
        settings, workbench = cam.explanation_controls(loaded)

if loaded is None:
    st.stop()

cam.url_messages(loaded, link)
images = cam.image_inputs(loaded)
layout = batch_view.layout_control()
if not images:
    st.info("Upload an image or pick a bundled sample to see its Grad-CAM.")
elif layout == batch_view.GRID:
    batch_view.grid(images, loaded, settings, workbench)
else:
    for name, data in images:
        with st.container(border=True, key=cam.container_key(data)):
            st.subheader(name)
            with shown_errors(f"explaining {name}"):
                cam.explain_image(name, data, loaded, settings, workbench)
