"""Home: what a residual block is, why it exists, and where to go next."""

from resnet_viz.ui.app_shell import require_app_shell

require_app_shell()  # before any other import: resnet_viz/ui/app_shell.py

import streamlit as st

from resnet_viz.present.diagram import residual_block_figure
from resnet_viz.ui import site
from resnet_viz.ui.tour import STEPS

st.title("Residual networks, explained")
left, right = st.columns([3, 2], gap="large")
with left:
    st.markdown(
        """
**The degradation problem.** Stacking more layers should never hurt: a deeper network could
copy a shallower one and set the extra layers to the identity. Yet He et al. (2015) found that a
56-layer *plain* network has **higher training error** than a 20-layer one on CIFAR-10. That is
not overfitting (it is the training error); the solver simply fails to find the identity.

**The fix: learn a residual.** Instead of asking a few layers to fit a mapping H(x) directly,
let them fit the difference F(x) = H(x) − x and add the input back through a *skip
connection*:
"""
    )
    st.latex(r"y = \mathcal{F}(x, \{W_i\}) + x")
    st.markdown(
        """
If the identity is what a block should do, driving F to zero is easy. And the gradient always
has a direct path back: ∂y/∂x = ∂F/∂x + I, so it does not have to pass through every weight
layer to reach the early ones. With this one change, 152-layer networks train well and won
ImageNet 2015; a 1202-layer one still trains on CIFAR-10.
"""
    )
with right:
    st.graphviz_chart(residual_block_figure())
    st.caption("A residual block (He et al. 2015, Figure 2).")

st.subheader("Explore")
for page in site.PAGES:
    if not page.default:  # every page but this one
        st.page_link(page.file, label=page.link_label, icon=page.icon)

st.subheader("Lecture tour")
st.markdown(
    f"A tour in {len(STEPS)} steps, each a link you can share: "
    + " → ".join(s.title.lower() for s in STEPS)
    + ". Lecture mode (larger type, sidebar collapsed) comes on with it."
)
st.page_link(
    STEPS[0].page,
    label="Start the tour",
    icon=":material/slideshow:",
    query_params=STEPS[0].query(1),
)
st.caption(
    "Source: K. He, X. Zhang, S. Ren, J. Sun, *Deep Residual Learning for Image Recognition*, "
    "CVPR 2016 (arXiv:1512.03385); *Identity Mappings in Deep Residual Networks*, ECCV 2016."
)
