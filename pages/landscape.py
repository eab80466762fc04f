"""Loss landscapes (Li et al. 2018): smooth with skip connections, chaotic without."""

from resnet_viz.ui.app_shell import loading_torch, require_app_shell

require_app_shell()  # before any other import: resnet_viz/ui/app_shell.py

import streamlit as st

from resnet_viz.ui.common import shown_errors

st.title("Loss landscapes: why skip connections make training easy")
st.markdown(
    "Li, Xu, Taylor, Studer and Goldstein (2018, Figure 5) drew a network's training loss on a "
    "plane through its trained weights, spanned by two random directions scaled filter by "
    "filter. Deep plain networks sit in a chaotic landscape; the same networks with skip "
    "connections sit in a smooth bowl. Below, four networks trained with the degradation "
    "page's recipe (in runs of their own: the note under the charts says what differs)."
)
with loading_torch():  # a spinner on a cold server, nothing after
    from resnet_viz.ui import landscape
notice = st.container()  # in the main area: link values the controls cannot use
with st.sidebar:
    st.header("Landscape")
    settings, view = landscape.landscape_controls(notice)
with shown_errors("computing the loss landscape"):
    landscape.landscape_section(settings, view)
