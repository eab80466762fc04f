"""The teaching lab: readings of the results, the pages in AppTest, the lecture tour."""

from pathlib import Path

import pytest

from resnet_viz.analysis.lesion import LesionResult, lesion_study
from resnet_viz.experiments.degradation import degradation_curves, train_curves
from resnet_viz.experiments.lesion import held_out_digits, load_pair
from resnet_viz.present.degradation import degradation_reading
from resnet_viz.present.lesion import lesion_reading
from resnet_viz.ui.site import PAGES
from resnet_viz.ui.tour import STEPS, step
from tests.app_support import APP, open_page


def test_degradation_reading_states_the_ordering():
    curves = {
        "plain-20": [0.9, 0.1], "plain-56": [0.9, 0.8], "resnet-20": [0.9, 0.0],
        "resnet-56": [0.9, 0.0],
    }  # fmt: skip
    sentences = degradation_reading(curves)
    assert sentences[0] == (
        "After 2 epochs, training error: plain-20 10.0%, plain-56 80.0%; ResNet-20 0.0%, "
        "ResNet-56 0.0%."
    )
    assert "that is degradation, not overfitting" in sentences[1]
    assert "with skip connections, depth did not hurt" in sentences[2]


def test_degradation_reading_does_not_claim_what_a_run_did_not_show():
    curves = {
        "plain-8": [0.2], "plain-14": [0.21], "resnet-8": [0.1], "resnet-14": [0.3],
    }  # fmt: skip
    sentences = degradation_reading(curves)
    assert sentences[1] == (
        "Here the deeper plain network is about as good as the shallower one (21.0% vs 20.0%; "
        "the threshold is 5 points): no degradation in this run."
    )
    # The plain pair did not degrade, so the ResNet's is not "also" worse.
    assert (
        sentences[2]
        == "The deeper ResNet ended worse than the shallower one (30.0% vs 10.0%) in this run."
    )


def test_lesion_reading():
    resnet = LesionResult(
        0.966, {"layer1.0": 0.436, "layer2.1": 0.96, "layer3.1": 0.95}, False, 500
    )
    plain = LesionResult(0.932, {"layer1.0": 0.092, "layer2.1": 0.184, "layer3.1": 0.1}, True, 500)
    sentences = lesion_reading(resnet, plain, chance=0.1)
    assert "at 9.2% to 18.4% (chance is 10%)" in sentences[1]
    assert sentences[2].startswith("2 of 3 single-block lesions cost the ResNet under 5")
    assert "the costliest is layer1.0 (43.6%, 53.0 points lost)" in sentences[2]


def final_errors(curves: dict[str, list[float]]) -> list[str]:
    """Each curve's last training error as the page writes it: "plain-56 79.9%"."""
    return [
        f"{'ResNet' if name.startswith('resnet') else 'plain'}-{name.split('-')[1]} {v[-1]:.1%}"
        for name, v in curves.items()
    ]


def test_degradation_page_shows_the_shipped_curves_at_once():
    at = open_page("pages/degradation.py")
    assert not at.exception
    text = " ".join(m.value for m in at.markdown)
    for shown in final_errors(degradation_curves()):  # the library's reading of the file
        assert shown in text
    assert "that is degradation, not overfitting" in text
    # The landscape page's plain-56 (50.2 %) is another run of the same recipe: said here too.
    assert "It ends at 79.9% here and 50.2% there." in text
    assert "precomputed" in at.caption[-1].value or "precomputed" in " ".join(
        c.value for c in at.caption
    )


@pytest.mark.slow
def test_degradation_page_live_run_with_small_settings():
    at = open_page("pages/degradation.py", shallow="8", deep="14", epochs="2")
    assert "no precomputed curves" in at.info[0].value
    at.button[0].click().run()
    assert not at.exception, [e.value for e in at.exception]
    text = " ".join(m.value for m in at.markdown)
    assert "After 2 epochs, training error: plain-8" in text
    # The library's run with the page's settings: the defaults but for these depths and
    # epochs, the warm-up shortened to 1 epoch to fit in 2 (resnet_viz/ui/degradation.py).
    curves = train_curves((8, 14), epochs=2, seed=0, warmup_epochs=1)
    for shown in final_errors(curves):
        assert shown in text
    assert any("live run, just now" in c.value for c in at.caption)


@pytest.mark.slow
def test_lesion_page():
    at = open_page("pages/lesion.py")
    assert not at.exception
    text = " ".join(m.value for m in at.markdown)
    resnet, plain = load_pair()
    batch = held_out_digits()
    intact, cut = lesion_study(resnet, batch), lesion_study(plain, batch)
    assert f"the ResNet gets {intact.baseline:.1%} and its plain twin {cut.baseline:.1%}" in text
    assert f"at {min(cut.accuracy.values()):.1%} to {max(cut.accuracy.values()):.1%}" in text
    blocks = sum(resnet.spec.layers)
    assert f"With {blocks} blocks there are 2^{blocks} paths" in text


def test_tour_steps_link_to_real_pages_in_lecture_mode():
    for number, current in enumerate(STEPS, start=1):
        assert current.target in PAGES  # app.py's navigation (tests/pages/test_site.py)
        assert (Path(APP).parent / current.page).is_file()
        assert "lecture=true" in current.url(number)
        assert step(number) is current
    assert step(0) is None
    assert step(len(STEPS) + 1) is None


def test_tour_bar_on_a_page():
    at = open_page("pages/architecture.py", tour="3", lecture="true", preset="ResNet-152")
    assert not at.exception
    assert at.markdown[0].value == "**Tour, step 3 of 8: Shapes and parameters**"
    assert at.toggle(key="lecture").value is True
