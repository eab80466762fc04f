"""Architecture explorer: any ResNet, its stages, shapes, parameters and skip connections."""

import streamlit as st

from resnet_viz.choice import resolve
from resnet_viz.spec import SpecError, spec_label
from resnet_viz.summary import summarize
from resnet_viz.ui import architecture as sections
from resnet_viz.ui.common import shown_errors
from resnet_viz.ui.network_controls import network_controls

st.title("Architecture explorer")

with st.sidebar:
    st.header("Network")
    choice = network_controls()

try:
    spec, input_size = resolve(choice)
    summary = summarize(spec, input_size)
    st.session_state["last_valid_summary"] = summary
except SpecError as error:
    st.error(str(error), icon=":material/error:")
    summary = st.session_state.get("last_valid_summary")
    if summary is None:
        st.stop()
    st.info(f"Still showing the last valid network, {spec_label(summary.spec)}.")

with shown_errors("summarising the network"):
    sections.headline(summary)

stages, layers, diagram, compare, code = st.tabs(["Stages", "Layers", "Diagram", "Compare", "Code"])
with stages, shown_errors("drawing the stage table and charts"):
    sections.stages_section(summary)
with layers, shown_errors("listing the layers"):
    sections.layers_section(summary)
with diagram, shown_errors("drawing the diagram"):
    sections.diagram_section(summary)
with compare, shown_errors("comparing networks"):
    sections.compare_section(summary)
with code, shown_errors("writing the code snippet"):
    sections.code_section(summary)
