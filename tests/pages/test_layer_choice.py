"""The workbench's "Which layer should I use?" section on the demo model, in AppTest: nothing
runs until asked; then the fused and per-stage overlays, the AUCs against depth, the table of
every layer and the sentence; a method without gradients falls back to LayerCAM."""

from __future__ import annotations

import re

import pytest

from resnet_viz.analysis.attribution.cam import target_layers
from resnet_viz.weights import load_demo_model
from tests.app_support import assert_clean
from tests.pages.test_attention_workbench import charts, click, image_captions, one_sample, open_cam

#: Each test loads its models anew (tests/conftest.py, fresh_streamlit_caches).
pytestmark = pytest.mark.usefixtures("fresh_streamlit_caches")

SECTION = "Which layer should I use? Fused maps and faithfulness per layer"


@pytest.mark.slow
def test_fused_and_per_stage_maps_with_the_aucs_of_every_layer():
    at = one_sample(open_cam(methods=["LayerCAM"]))
    assert any(SECTION in m.value for m in at.markdown)
    before = len(charts(at))
    at = click(at, "Compare every layer (LayerCAM)")
    assert_clean(at)
    spec = load_demo_model().spec
    stages = [f"layer{i}" for i in range(1, spec.num_stages + 1)]
    shown = image_captions(at)
    assert "fused (every stage)" in shown
    for stage in stages:
        assert any(c.startswith(f"{stage}, ") and c.endswith(" map") for c in shown)
    assert len(charts(at)) == before + 1
    deletion = charts(at)[-1]["data"][0]
    assert len(deletion["x"]) == sum(spec.layers)  # one point per block; stages named with it
    assert deletion["x"][-1] == f"{stages[-1]} ({stages[-1]}.{spec.layers[-1] - 1})"
    table = at.dataframe[-1].value
    assert list(table["layer"]) == [*target_layers(spec), "fused (every stage)"]
    text = " ".join(m.value for m in at.markdown)
    assert re.search(
        r"(Most faithful of the LayerCAM maps:|No one layer's LayerCAM map wins:)", text
    )
    assert re.search(r"The fused map \(every stage, LayerCAM's rule\) scores -?\d\.\d\d, ", text)


def test_a_method_without_gradients_is_compared_with_layercam():
    at = one_sample(open_cam(methods=["Eigen-CAM"]))
    assert_clean(at)
    assert [b.label for b in at.button if b.label.startswith("Compare every layer")] == [
        "Compare every layer (LayerCAM)"
    ]
