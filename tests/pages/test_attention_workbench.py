"""The attention workbench on the Grad-CAM page, in AppTest: the method picker (from the URL
too), each method's time, counter-evidence, a blank map explained, the receptive-field overlay,
the faithfulness and sanity-check sections, bad links, the memory guard, lecture mode."""

from __future__ import annotations

import json
import re

import pytest

from resnet_viz.present.cam import SANITY_PRINCIPLE
from resnet_viz.runtime.timing import WarmTimer
from resnet_viz.ui import attention as attention_module
from tests.app_support import assert_clean, open_page

#: The faithfulness sentence's opening: a winner, or a tie (no winner named).
FAITHFULNESS_VERDICT = r"Most faithful on this image:|No one map wins on this image:"


#: Each test loads its models anew (tests/conftest.py, fresh_streamlit_caches).
pytestmark = pytest.mark.usefixtures("fresh_streamlit_caches")


def open_cam(**query) -> object:
    return open_page("pages/grad_cam.py", **query)


def one_sample(at, label: str = "circle (synthetic shape)"):
    at.multiselect(key="samples_demo").set_value([label])
    return at.run()


def captions(at) -> str:
    return " | ".join(c.value for c in at.caption)


def image_captions(at) -> list[str]:
    return [image.caption for element in at.get("image") for image in element.proto.imgs]


def charts(at) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def test_the_default_is_grad_cam_alone_with_its_time():
    at = one_sample(open_cam())
    assert_clean(at)
    assert at.multiselect(key="methods").value == ["gradcam"]
    assert at.toggle(key="cf").value is False
    texts = image_captions(at)
    assert any(t.startswith("Grad-CAM at layer3 (16×16 map, ") and " ms)" in t for t in texts)
    assert not at.warning


def test_methods_from_the_url_show_side_by_side_with_their_times():
    at = one_sample(open_cam(methods=["Grad-CAM", "LayerCAM", "Score-CAM", "Eigen-CAM"]))
    assert_clean(at)
    assert at.multiselect(key="methods").value == ["gradcam", "layercam", "scorecam", "eigencam"]
    texts = image_captions(at)
    for label in ("Grad-CAM", "LayerCAM", "Score-CAM", "Eigen-CAM"):
        assert any(t.startswith(f"{label}: ") and t.endswith(", 16×16 map") for t in texts), label
    assert not at.error


class FakeClock:
    """Seconds that pass only when a test says so."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def slow_first_call(clock: FakeClock, first: float, later: float, work=None):
    """A method whose first call pays a one-time start-up (``first`` seconds), then ``later``."""
    calls = []

    def method(*args, **kwargs):
        clock.now += first if not calls else later
        calls.append(kwargs.get("method", "gradcam"))
        return work(*args, **kwargs) if work is not None else len(calls)

    return method, calls


def test_the_timer_reports_the_warm_time_not_the_first_calls():
    clock = FakeClock()
    method, calls = slow_first_call(clock, 0.337, 0.005)
    timer = WarmTimer(clock)
    timed = timer.time(("demo", "cpu", "layer3"), method)
    assert timed.seconds == pytest.approx(0.005)
    assert timed.value == 2  # the second call's result: the first was the warm-up
    assert len(calls) == 2
    again = timer.time(("demo", "cpu", "layer3"), method)  # warm already: no second warm-up
    assert again.seconds == pytest.approx(0.005)
    assert len(calls) == 3


def test_the_warm_up_runs_once_per_key_and_may_be_another_call():
    clock = FakeClock()
    warm_ups = []
    timer = WarmTimer(clock)

    def warm_up():
        clock.now += 0.3
        warm_ups.append(1)

    def work():
        clock.now += 0.02
        return "map"

    for key in [("demo", "cpu", "layer3"), ("demo", "cpu", "layer3"), ("demo", "cpu", "layer2")]:
        timed = timer.time(key, work, warm_up=warm_up)
        assert (timed.value, timed.seconds) == ("map", pytest.approx(0.02))
    assert len(warm_ups) == 2  # layer3 once, layer2 once
    assert timer.is_warm(("demo", "cpu", "layer2"))
    assert not timer.is_warm(("demo", "cuda:0", "layer2"))


def test_the_time_of_several_runs_is_their_median():
    clock = FakeClock()
    durations = iter([0.5, 0.010, 0.030, 0.011])  # warm-up, then three timed runs

    def work():
        clock.now += next(durations)

    timed = WarmTimer(clock).time("k", work, repeats=3)
    assert timed.seconds == pytest.approx(0.011)  # the median; the mean would be 0.017
    assert timed.runs == 3
    with pytest.raises(ValueError, match="at least 1"):
        WarmTimer(clock).time("k", work, repeats=0)


def test_the_first_method_shown_does_not_carry_the_start_up(monkeypatch):
    """On the page: the first grad_cam call of the server pays 337 ms, later calls 5 ms; both
    methods must read 5 ms, and the page says what the time includes."""
    clock = FakeClock()
    method, calls = slow_first_call(clock, 0.337, 0.005, work=attention_module.grad_cam)
    monkeypatch.setattr(attention_module, "grad_cam", method)
    timer = WarmTimer(clock)
    monkeypatch.setattr(attention_module, "timer", lambda: timer)
    at = one_sample(open_cam(methods=["Grad-CAM", "Grad-CAM++"]))
    assert_clean(at)
    texts = image_captions(at)
    assert "Grad-CAM: 5 ms, 16×16 map" in texts
    assert "Grad-CAM++: 5 ms, 16×16 map" in texts
    assert calls[0] == "gradcam"  # the untimed warm-up
    assert attention_module.TIMES_NOTE in captions(at)


def test_counter_evidence_for_gradient_methods_only():
    at = one_sample(open_cam(methods=["Grad-CAM", "Eigen-CAM"], cf="true"))
    assert_clean(at)
    texts = image_captions(at)
    assert any(t.startswith("Grad-CAM (counter-evidence): ") for t in texts)
    assert "No counter-evidence map: this method uses no gradient." in captions(at)


def test_a_blank_map_is_explained_with_what_to_try():
    # Measured: the demo model finds no positive evidence for "circle" in the star sample at
    # layer3.0 (Grad-CAM's weighted sum is <= 0 at every position).
    at = open_cam()
    at.selectbox(key="layer").set_value("layer3.0")
    at.selectbox(key="cls").set_value(0)
    at = one_sample(at, "star (synthetic shape)")
    assert_clean(at)
    message = " ".join(i.value for i in at.info)
    assert "no positive evidence for “circle” at layer3.0" in message
    assert "Try a later layer (the last stage, layer3" in message


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"layer": "layer9"}, "The link asks for layer “layer9”"),
        ({"methods": ["Guided Grad-CAM"]}, "Unknown CAM method in the link: 'Guided Grad-CAM'"),
        ({"cls": "unicorn"}, "class “unicorn”, which this model does not have"),
    ],
)
def test_impossible_links_get_a_message_not_a_traceback(query, expected):
    at = open_cam(**query)  # the page as the link opens it
    assert_clean(at)
    assert any(expected in w.value for w in at.warning), [w.value for w in at.warning]
    assert not at.error
    assert any(t.startswith("Grad-CAM at layer3") for t in image_captions(at))


def test_a_hand_written_link_may_use_the_names_of_layers_and_methods():
    at = open_cam(layer="layer3.0", methods=["gradcam", "layercam"])
    assert_clean(at)
    assert at.selectbox(key="layer").value == "layer3.0"
    assert at.multiselect(key="methods").value == ["gradcam", "layercam"]
    assert not at.warning
    assert any(t.startswith("LayerCAM: ") for t in image_captions(at))


def test_the_receptive_field_of_the_peak_cell_is_drawn():
    at = one_sample(open_cam())
    rows = [n for n in at.number_input if n.label == "Cell row"]
    assert len(rows) == 1
    assert "receptive field" in " ".join(m.value for m in at.markdown)
    rows[0].set_value(0)
    at.run()
    assert_clean(at)
    assert any(t.startswith("Receptive field of cell (0, ") for t in image_captions(at))


def click(at, label: str):
    (button,) = [b for b in at.button if b.label.startswith(label)]
    button.click()
    return at.run()


def test_faithfulness_curves_with_references_and_a_sentence():
    at = one_sample(open_cam(methods=["Grad-CAM", "LayerCAM"]))
    assert len(charts(at)) == 1  # the top-5 chart only, until asked
    at = click(at, "Measure faithfulness")
    assert_clean(at)
    figure = charts(at)[-1]
    names = [trace["name"] for trace in figure["data"] if trace.get("showlegend", True)]
    assert [n.split(" (AUC")[0] for n in names] == [
        "Grad-CAM", "LayerCAM", "random map", "inverted map",
    ]  # fmt: skip
    assert re.search(FAITHFULNESS_VERDICT, " ".join(m.value for m in at.markdown))
    at.slider(key="alpha").set_value(0.3).run()  # another rerun keeps the result
    assert re.search(FAITHFULNESS_VERDICT, " ".join(m.value for m in at.markdown))


def test_the_sanity_check_plots_correlation_against_depth():
    at = click(one_sample(open_cam()), "Run the sanity check")
    assert_clean(at)
    figure = charts(at)[-1]
    x = figure["data"][0]["x"]
    assert x[0] == "fc"
    assert x[-1] == "stem"
    assert len(x) == 2 + 6  # the classifier, six blocks, the stem
    text = " ".join(m.value for m in at.markdown)
    assert SANITY_PRINCIPLE in text
    assert any(t.startswith("random down to stem: ρ = ") for t in image_captions(at))


def test_per_channel_methods_are_refused_above_the_memory_budget(monkeypatch):
    monkeypatch.setattr(attention_module, "memory_budget_bytes", lambda device: 1024)
    at = one_sample(open_cam(methods=["Grad-CAM", "Score-CAM"]))
    assert_clean(at)
    assert any("Score-CAM at layer3 needs about" in e.value for e in at.error)
    assert any(t.startswith("Grad-CAM at layer3") for t in image_captions(at))


def test_lecture_mode_sizes_the_new_charts():
    at = click(one_sample(open_cam(lecture="true")), "Measure faithfulness")
    assert_clean(at)
    figure = charts(at)[-1]
    assert figure["layout"]["height"] == int(420 * 1.25)
    assert figure["layout"]["font"]["size"] == 18


@pytest.mark.slow
def test_the_workbench_on_an_imagenet_model_and_an_uploaded_checkpoint(tmp_path, monkeypatch):
    """The two other model sources: torchvision's ResNet-18 from a local torch cache (random
    weights, saved where the page looks) and the same weights uploaded as a 10-class
    checkpoint; two methods, the faithfulness curves and the sanity check on each."""
    import io

    import torch
    import torchvision

    from resnet_viz.weights import weights_path

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    path = weights_path("resnet18")
    path.parent.mkdir(parents=True)
    torch.manual_seed(0)
    torch.save(torchvision.models.resnet18().state_dict(), path)
    at = open_cam(model="ResNet-18, ImageNet (weights cached)", methods=["Grad-CAM", "HiResCAM"])
    at.multiselect(key="samples_photo").set_value(["chelsea (photo)"])
    at = click(at.run(), "Measure faithfulness")
    at = click(at, "Run the sanity check")
    assert_clean(at)
    assert not at.error
    texts = image_captions(at)
    assert any(t.startswith("HiResCAM: ") and t.endswith("7×7 map") for t in texts)
    assert len(charts(at)[-1]["data"][0]["x"]) == 2 + 8  # fc, eight blocks, stem
    assert re.search(FAITHFULNESS_VERDICT, " ".join(m.value for m in at.markdown))

    buffer = io.BytesIO()
    torch.save(torchvision.models.resnet18(num_classes=10).state_dict(), buffer)
    at = open_cam(model="Upload a checkpoint…", methods=["LayerCAM"])
    at.selectbox(key="ckpt_arch").set_value("resnet18")
    at.number_input(key="ckpt_classes").set_value(10)
    at.file_uploader(key="ckpt_file").upload("finetuned.pt", buffer.getvalue())
    at.run().multiselect(key="samples_photo").set_value(["coffee (photo)"])
    at = click(at.run(), "Run the sanity check (LayerCAM)")
    assert_clean(at)
    assert not at.error
    assert any(t.startswith("LayerCAM at layer4 (7×7 map, ") for t in image_captions(at))
    assert SANITY_PRINCIPLE in " ".join(m.value for m in at.markdown)
