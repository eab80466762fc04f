"""Gradient flow: per-layer gradient norms of a ResNet and of its plain twin, side by side."""

from resnet_viz.ui.app_shell import loading_torch, require_app_shell

require_app_shell()  # before any other import: resnet_viz/ui/app_shell.py

import streamlit as st

from resnet_viz.ui.choice import NetworkChoice, resolve
from resnet_viz.ui.common import shown_errors
from resnet_viz.ui.network_controls import network_controls

st.title("Gradient flow: with and without skip connections")
st.markdown(
    "One training step's gradients for a ResNet and for its **plain twin**: the same layers "
    "and the same initial weights, without the identity shortcuts. Without skips, the "
    "gradient reaching the early layers depends on every layer above them; with skips, it "
    "also takes the identity paths (∂y/∂x = ∂F/∂x + I)."
)
with loading_torch():  # a spinner on a cold server, nothing after
    from resnet_viz.ui import gradients as study

notes = st.container()  # what a link asked for that the controls could not use
with st.sidebar:
    st.header("Network")
    # CIFAR-sized by default: a study runs two networks forward and backward on a batch.
    choice = network_controls(
        NetworkChoice(preset="resnet56", family="cifar", depth=56),
        show_skip=False,
        notes_area=notes,
    )
    st.header("Gradient study")
    settings = study.study_controls()

with shown_errors("computing the gradients"):
    spec, input_size = resolve(choice)
    report = study.run_study(study.StudySettings(spec=spec, input_size=input_size, **settings))
    study.show_study(report, settings["data"])
