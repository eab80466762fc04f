"""The sanity-check lesson and the cascading check of a pixel map on the Grad-CAM page, in
AppTest on the demo model: nothing runs until asked; the lesson's chart along the cascade, the
verdicts and the reading, and per method the trained map beside the map where it first changes
and the map with every weight random; a pixel map picked for the cascading check."""

from __future__ import annotations

import re

import pytest

from resnet_viz.analysis.attribution.sanity_lesson import LESSON_METHODS
from resnet_viz.present.sanity_lesson import LABELS, lesson_verdict
from tests.app_support import assert_clean
from tests.pages.test_attention_workbench import charts, click, image_captions, one_sample, open_cam

#: Each test loads its models anew (tests/conftest.py, fresh_streamlit_caches).
pytestmark = pytest.mark.usefixtures("fresh_streamlit_caches")


def markdown(at) -> str:
    return " ".join(m.value for m in at.markdown)


def test_the_lesson_runs_on_request_and_gives_a_verdict_per_method():
    at = one_sample(open_cam())
    assert "The sanity-check lesson: which explanations depend on the weights?" in markdown(at)
    assert not any(t.endswith("trained") for t in image_captions(at))  # nothing until asked
    at = click(at, "Run the sanity-check lesson")
    assert_clean(at)
    assert not at.error
    figure = charts(at)[-1]
    assert figure["layout"]["title"]["text"] == "Which explanations depend on the weights?"
    labels = [LABELS[m] for m in LESSON_METHODS]
    steps = ["classifier", "stage 3", "stage 2", "stage 1", "stem"]  # the demo's three stages
    assert [trace["name"] for trace in figure["data"]] == labels
    assert all(trace["x"] == steps for trace in figure["data"])
    text = markdown(at)
    verdicts = {}
    for label in labels:
        said = re.search(rf"{re.escape(label)} \(ρ = ([-\d., ]+)\) ([^.]+)\.", text)
        assert said is not None, label
        values = [float(v) for v in said.group(1).split(", ")]
        assert len(values) == len(steps)
        verdicts[label] = said.group(2)
        assert verdicts[label] == lesson_verdict(values, steps)
        assert f"**{label}** {verdicts[label]}." in text  # beside its maps
    # On the demo model Guided Backprop survives deepest, and the random stem changes it too.
    assert verdicts["Guided Backprop"] == (
        "stays similar through stage 3, first changes at stage 2"
    )
    assert "Guided Backprop survives deepest" in text
    assert "Guided Backprop's map changes too" in text
    texts = image_captions(at)
    for label in labels:
        assert f"{label}, trained" in texts
        assert any(t.startswith(f"{label}, first changes at ") for t in texts)
        assert any(t.startswith(f"{label}, every weight random: ρ = ") for t in texts)
    assert any(t.startswith("Guided Backprop, first changes at stage 2: ρ = ") for t in texts)


def test_a_pixel_map_gets_the_cascading_check():
    at = one_sample(open_cam(pixel=["Saliency"]))
    (picker,) = [s for s in at.selectbox if s.label == "Map to check"]
    assert picker.value == "gradcam"  # the first CAM by default
    assert picker.options == ["Grad-CAM", "Saliency"]
    at = picker.set_value("saliency").run()
    at = click(at, "Run the sanity check (Saliency)")
    assert_clean(at)
    assert not at.error
    figure = charts(at)[-1]
    assert (
        figure["layout"]["title"]["text"] == "Sanity check: Saliency as the weights are destroyed"
    )
    assert figure["data"][0]["x"][-1] == "stem"
    assert re.search(r"Saliency (passes|changes little)", markdown(at))
    at = at.multiselect(key="pixel").set_value(["guidedbackprop"]).run()  # Saliency is gone
    assert_clean(at)
    assert any(b.label == "Run the sanity check (Grad-CAM)" for b in at.button)
    at = at.multiselect(key="pixel").set_value([]).run()  # one map left: no picker
    assert_clean(at)
    assert not [s for s in at.selectbox if s.label == "Map to check"]
    assert any(b.label == "Run the sanity check (Grad-CAM)" for b in at.button)
