"""LRP and the methods' agreement on the Grad-CAM page, in AppTest on the demo model: LRP in the
pixel picker (and from the link), the LRP section on request (a bar per block, the sentences,
the heatmap beside the image, its controls in the URL, the memory guard) and the agreement
section on request (a line per pair of methods, the explanation at the last stage)."""

from __future__ import annotations

import pytest

from resnet_viz.analysis.attribution.agreement import DEFAULT_METHODS
from resnet_viz.present import agreement as agreement_words
from resnet_viz.ui import lrp_view
from tests.app_support import assert_clean
from tests.pages.test_attention_workbench import charts, click, image_captions, one_sample, open_cam
from tests.pages.test_pixel_workbench import pixel_maps

#: Each test loads its models anew (tests/conftest.py, fresh_streamlit_caches).
pytestmark = pytest.mark.usefixtures("fresh_streamlit_caches")


def markdown(at) -> str:
    return " ".join(m.value for m in at.markdown)


def test_lrp_is_a_pixel_method_picked_in_the_multiselect_and_from_the_link():
    at = one_sample(open_cam())
    at.multiselect(key="pixel").set_value(["saliency", "lrp"]).run()
    assert_clean(at)
    assert not at.error
    assert pixel_maps(at) == {"Saliency": "signed", "LRP": "signed"}
    at = one_sample(open_cam(pixel="lrp"))
    assert_clean(at)
    assert at.multiselect(key="pixel").value == ["lrp"]
    assert pixel_maps(at) == {"LRP": "signed"}


def test_the_lrp_section_runs_on_request():
    at = one_sample(open_cam())
    assert lrp_view.TITLE in markdown(at)
    before = len(charts(at))
    at = click(at, "Run LRP")
    assert_clean(at)
    assert not at.error
    figure = charts(at)[before]
    bars = {trace["name"]: trace for trace in figure["data"]}
    blocks = bars["shortcut"]["x"]
    assert len(blocks) == 6  # the demo model's six residual blocks, in forward order
    assert blocks == sorted(blocks)
    assert all(name.startswith("layer") and "." in name for name in blocks)
    for a, b in zip(bars["shortcut"]["y"], bars["residual branch"]["y"], strict=True):
        assert a + b == pytest.approx(100, abs=0.2)  # the two shares of one sum
    text = markdown(at)
    assert "most relevance takes" in text or "split evenly" in text
    assert "The pixels' relevance sums to" in text
    assert any(t.startswith("LRP (Epsilon-Plus-Flat) of “") for t in image_captions(at))


def test_the_lrp_section_conserves_with_no_bias_relevance():
    """The default composite (Epsilon-Plus-Flat) on the demo model, the biases given nothing:
    every block hands down what it received (errors under 0.1 % when measured directly)."""
    at = one_sample(open_cam())
    (zero_bias,) = [t for t in at.toggle if t.key.startswith("lrp_zero_bias_")]
    zero_bias.set_value(True)
    at = click(at.run(), "Run LRP")
    assert_clean(at)
    assert not at.error
    assert "Relevance is conserved at every block (worst error " in markdown(at)


def test_lrp_over_the_memory_budget_is_refused_with_a_message(monkeypatch):
    monkeypatch.setattr(lrp_view, "memory_budget_bytes", lambda device: 1024)
    at = click(one_sample(open_cam()), "Run LRP")
    assert_clean(at)
    assert any("LRP at 64x64 pixels needs about" in e.value for e in at.error)
    assert any(t.startswith("Grad-CAM") for t in image_captions(at))  # the page goes on


def test_the_agreement_section_explains_the_last_stage():
    at = one_sample(open_cam())
    text = markdown(at)
    assert "Why are Grad-CAM, HiResCAM and XGrad-CAM the same at layer" in text
    before = len(charts(at))
    at = click(at, "Compare the methods at every layer")
    assert_clean(at)
    assert not at.error
    figure = charts(at)[before]
    pairs = [t for t in figure["data"] if " vs " in t["name"]]
    assert len(pairs) == len(DEFAULT_METHODS) * (len(DEFAULT_METHODS) - 1) // 2
    layers = pairs[0]["x"]
    last = layers[-1].partition(".")[0]
    assert pairs[0]["y"][layers.index(last)] >= agreement_words.SAME
    text = markdown(at)
    assert f"Stage {last.removeprefix('layer')} (" in text
    assert "The formulas coincide there" in text
    assert "only global average pooling and a linear layer follow" in text
