"""captum's pixel attributions in the attention workbench, in AppTest on the demo model: the
picker and its settings (in the URL too), one map per method beside the CAMs with its time, the
convergence delta of Integrated Gradients and DeepLift, the signed and absolute views, bad links
and out-of-range settings, the memory guard, and the default page unchanged."""

from __future__ import annotations

import re

import pytest

from resnet_viz.analysis.attribution import pixel as pixel_module
from resnet_viz.analysis.attribution.pixel_methods import MAX_BATCH, MAX_STEPS, METHODS
from resnet_viz.core.spec import SpecError
from resnet_viz.present.pixel import ABSOLUTE_NOTE, BASELINE_NOTE, SIGNED_NOTE
from resnet_viz.ui import pixel_workbench
from tests.app_support import assert_clean
from tests.pages.test_attention_workbench import captions, image_captions, one_sample, open_cam

#: Each test loads its models anew (tests/conftest.py, fresh_streamlit_caches).
pytestmark = pytest.mark.usefixtures("fresh_streamlit_caches")

PIXEL_CAPTION = re.compile(r"^(.+): (\d+ ms|\d+\.\d s), 64×64 pixels, (signed|absolute)$")
DELTA_LINE = re.compile(
    r"^sum of attributions -?\d+\.\d{3} vs f\(x\) - f\(baseline\) -?\d+\.\d{3}: "
    r"delta -?\d+\.\d{3} \(\d+\.\d %\): (complete|not complete: more steps)$"
)


def pixel_maps(at) -> dict[str, str]:
    """{method label: view} of the pixel maps shown."""
    found = (PIXEL_CAPTION.match(t) for t in image_captions(at))
    return {m[1]: m[3] for m in found if m}


def delta_lines(at) -> list[str]:
    return [c.value for c in at.caption if c.value.startswith("sum of attributions")]


def test_the_default_page_has_no_pixel_map_and_no_pixel_settings():
    at = one_sample(open_cam())
    assert_clean(at)
    assert at.multiselect(key="pixel").value == []
    assert pixel_maps(at) == {}
    assert not delta_lines(at)
    assert "px_view" not in [w.key for w in at.get("segmented_control")]
    assert not [e for e in at.expander if e.label == "Pixel method settings"]
    assert "pixel" not in at.query_params


def test_saliency_and_integrated_gradients_beside_grad_cam_with_the_delta():
    at = one_sample(open_cam(px_steps="8"))  # few steps: fast
    at.multiselect(key="pixel").set_value(["saliency", "integratedgradients"]).run()
    assert_clean(at)
    assert not at.error
    assert pixel_maps(at) == {"Saliency": "signed", "Integrated Gradients": "signed"}
    assert any(t.startswith("Grad-CAM: ") for t in image_captions(at))  # the same grid
    assert at.number_input(key="px_steps").value == 8
    (line,) = delta_lines(at)  # Integrated Gradients only: Saliency has no delta
    assert DELTA_LINE.match(line), line
    assert SIGNED_NOTE in captions(at)
    assert BASELINE_NOTE in captions(at)  # the baseline menu says what "zero" is
    # The URL carries the choice and the settings (the browser writes a bound widget's value
    # into the URL; AppTest has no browser: the binding is checked, and the link's way in by
    # the next test).
    bound = [
        at.multiselect(key="pixel"),
        at.number_input(key="px_steps"),
        at.selectbox(key="px_baseline"),
        at.segmented_control(key="px_view"),
    ]
    assert [w.proto.query_param_key for w in bound] == [w.key for w in bound]


def test_the_choice_and_settings_come_from_the_link_and_the_absolute_view():
    at = one_sample(
        open_cam(pixel=["Integrated Gradients", "DeepLift"], px_steps="8", px_baseline="mean")
    )
    assert_clean(at)
    assert at.multiselect(key="pixel").value == ["integratedgradients", "deeplift"]
    assert at.selectbox(key="px_baseline").value == "mean"
    lines = delta_lines(at)
    assert len(lines) == 2
    assert all(DELTA_LINE.match(line) for line in lines), lines
    # DeepLift's rescale rule sums to f(x) - f(baseline) on the app's ResNet (no functional
    # nonlinearity): complete. Both explain the same class from the same baseline.
    assert lines[1].endswith(": complete")
    difference = [re.search(r"f\(baseline\) (-?\d+\.\d{3})", line)[1] for line in lines]
    assert difference[0] == difference[1]
    at.segmented_control(key="px_view").set_value("absolute").run()
    assert_clean(at)
    assert pixel_maps(at) == {"Integrated Gradients": "absolute", "DeepLift": "absolute"}
    assert ABSOLUTE_NOTE in captions(at)


def test_an_unknown_pixel_method_in_the_link_is_named():
    at = open_cam(pixel=["Saliency", "LRP-epsilon"])
    assert_clean(at)
    warnings = [w.value for w in at.warning]
    assert any("Unknown pixel method in the link: 'LRP-epsilon'" in w for w in warnings), warnings
    assert "Saliency" in pixel_maps(at)  # the rest of the link still works


def test_settings_out_of_range_cannot_be_entered_and_a_link_asking_for_them_is_told():
    at = open_cam(pixel=["Integrated Gradients", "Occlusion"], px_steps="0", px_window="999")
    assert_clean(at)
    warnings = " ".join(w.value for w in at.warning)
    (option,) = [o for o in METHODS["integratedgradients"].options if o.name == "steps"]
    with pytest.raises(SpecError) as refused:
        option.check(0)
    assert f"px_steps='0': {refused.value}" in warnings  # the registry's own words
    assert f"{MAX_STEPS:,}".replace(",", " ") in str(refused.value)
    assert "px_window='999'" in warnings
    assert "at most the image's side, 64" in warnings
    steps = at.number_input(key="px_steps")
    window = at.number_input(key="px_window")
    assert (steps.min, steps.max, steps.value) == (option.low, option.high, option.default)
    assert (window.min, window.max) == (1, 64)  # the registry's 10^4, capped at the image


def test_a_method_over_the_memory_budget_is_refused_and_the_rest_is_shown(monkeypatch):
    monkeypatch.setattr(pixel_module, "memory_budget_bytes", lambda device: 1024)
    at = one_sample(open_cam(pixel=["Saliency", "SmoothGrad"], px_samples="2"))
    assert_clean(at)
    assert any("SmoothGrad at 64x64 pixels needs about" in e.value for e in at.error)
    assert any(t.startswith("Grad-CAM at layer3") for t in image_captions(at))
    assert "SmoothGrad" not in pixel_maps(at)


def _spy(monkeypatch) -> list[tuple[str, dict]]:
    """The (method, options) of every pixel attribution the page asks for, run for real."""
    calls = []
    real = pixel_workbench.attribute

    def spy(model, tensor, method, target, **options):
        calls.append((method, {k: v for k, v in options.items() if k not in ("mean", "std")}))
        return real(model, tensor, method, target, **options)

    monkeypatch.setattr(pixel_workbench, "attribute", spy)
    return calls


def test_the_batch_size_and_seed_come_from_the_link_and_reach_the_method(monkeypatch):
    calls = _spy(monkeypatch)
    at = one_sample(open_cam(pixel=["SmoothGrad"], px_samples="3", px_batch="2", px_seed="5"))
    assert_clean(at)
    assert not at.error
    assert "SmoothGrad" in pixel_maps(at)
    batch, seed = at.number_input(key="px_batch"), at.number_input(key="px_seed")
    assert (batch.value, seed.value) == (2, 5)
    assert [w.proto.query_param_key for w in (batch, seed)] == ["px_batch", "px_seed"]
    (option,) = [o for o in METHODS["smoothgrad"].options if o.name == "seed"]
    assert (seed.min, seed.max) == (option.low, option.high)  # the registry's range
    asked = [options for method, options in calls if method == "smoothgrad"]
    assert asked
    assert all(o | {"samples": 3, "batch_size": 2, "seed": 5} == o for o in asked)


def test_an_empty_batch_size_leaves_each_method_its_own_default(monkeypatch):
    calls = _spy(monkeypatch)
    at = one_sample(open_cam(pixel=["Integrated Gradients", "Occlusion"], px_steps="4",
                             px_window="32", px_stride="32"))  # fmt: skip
    assert_clean(at)
    batch = at.number_input(key="px_batch")
    assert batch.value is None
    own = {m: METHODS[m].defaults()["batch_size"] for m in ("integratedgradients", "occlusion")}
    assert (batch.min, batch.max) == (1, MAX_BATCH)
    for method, default in own.items():  # the help names each method's own default
        assert f"{METHODS[method].label}: " in batch.help
        assert f", {default}" in batch.help
    asked = {method: options for method, options in calls if method != "saliency"}
    assert set(asked) == set(own)
    assert not any("batch_size" in options for options in asked.values())


def test_a_batch_size_or_seed_out_of_range_in_the_link_is_told():
    at = open_cam(pixel=["SmoothGrad"], px_samples="2", px_batch="0", px_seed="-1")
    assert_clean(at)
    warnings = " ".join(w.value for w in at.warning)
    assert "px_batch='0'" in warnings
    assert "px_seed='-1'" in warnings
    assert at.number_input(key="px_batch").value is None  # the defaults instead
    assert at.number_input(key="px_seed").value == METHODS["smoothgrad"].defaults()["seed"]


def test_the_batch_size_warning_names_the_linked_methods_option():
    """px_batch applies to each linked method: the warning reads the noise tunnel's option (not
    Occlusion's, another method of the registry) and its own default."""
    at = open_cam(pixel=["SmoothGrad"], px_samples="2", px_batch="0")
    warnings = [w.value for w in at.warning if "px_batch" in w.value]
    assert len(warnings) == 1
    option = next(o for o in METHODS["smoothgrad"].options if o.name == "batch_size")
    assert option.label.removeprefix("The ").lower() in warnings[0].lower()
    assert warnings[0].endswith(f"Using the default, {option.default}.")
    assert "occluded" not in warnings[0]


def test_lrps_composite_and_zero_bias_are_controls_in_the_url(monkeypatch):
    calls = _spy(monkeypatch)
    at = one_sample(open_cam(pixel=["lrp"], px_lrp="epsilon-plus", px_zero_bias="true"))
    assert_clean(at)
    composite = at.selectbox(key="px_lrp")
    assert composite.value == "epsilon-plus"
    assert composite.proto.query_param_key == "px_lrp"
    assert at.toggle(key="px_zero_bias").value is True
    lrp_calls = [options for method, options in calls if method == "lrp"]
    assert lrp_calls
    assert lrp_calls[0]["composite"] == "epsilon-plus"
    assert lrp_calls[0]["zero_bias"] is True


def test_a_zero_bias_that_is_not_true_or_false_is_told():
    at = open_cam(pixel=["lrp"], px_zero_bias="maybe")
    warnings = " ".join(w.value for w in at.warning)
    assert "px_zero_bias='maybe'" in warnings
    assert "must be true or false" in warnings
