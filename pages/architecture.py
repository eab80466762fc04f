"""Architecture explorer: any ResNet, its stages, shapes, parameters and skip connections."""

from resnet_viz.ui.app_shell import require_app_shell

require_app_shell()  # before any other import: resnet_viz/ui/app_shell.py

import streamlit as st

from resnet_viz.core.presets import spec_label
from resnet_viz.core.spec import SpecError
from resnet_viz.core.summary import shared_summary
from resnet_viz.ui import architecture as sections
from resnet_viz.ui.choice import resolve
from resnet_viz.ui.common import shown_errors
from resnet_viz.ui.network_controls import network_controls

st.title("Architecture explorer")

# Lazy tabs: only the open one runs and is sent to the browser; the tab is in the URL too.
SECTIONS = {
    "Stages": (sections.stages_section, "drawing the stage table and charts"),
    "Layers": (sections.layers_section, "listing the layers"),
    "Diagram": (sections.diagram_section, "drawing the diagram"),
    "Compare": (sections.compare_section, "comparing networks"),
    "Code": (sections.code_section, "writing the code snippet"),
}
st.sidebar.header("Network")  # outside the fragment: drawn once, not on every click


@st.fragment
def explorer() -> None:
    """The network controls and all they change. A fragment: a control or tab change reruns
    only this, so the app's menu, title and toggles are not sent to the browser again on every
    click (bench/README.md, "Architecture page latency")."""
    notes = st.container()  # what a link asked for that the controls could not use
    with st.sidebar:
        choice = network_controls(notes_area=notes, page_options={"tab": list(SECTIONS)})

    try:
        spec, input_size = resolve(choice)
        summary = shared_summary(spec, input_size)
        st.session_state["last_valid_summary"] = summary
    except SpecError as error:
        st.error(str(error), icon=":material/error:")
        summary = st.session_state.get("last_valid_summary")
        if summary is None:
            return
        st.info(f"Still showing the last valid network, {spec_label(summary.spec)}.")

    with shown_errors("summarising the network"):
        sections.headline(summary)

    tabs = st.tabs(list(SECTIONS), key="tab", bind="query-params")
    for tab, (draw, doing) in zip(tabs, SECTIONS.values(), strict=True):
        if tab.open:
            with tab, shown_errors(doing):
                draw(summary)


explorer()
