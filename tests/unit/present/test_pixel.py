"""The pixel maps' readings and pictures: the completeness sentence agrees with the numbers it
prints over their whole range (Hypothesis), and the signed picture's colours follow the sign."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from resnet_viz.analysis.attribution.pixel import BASELINES
from resnet_viz.present import pixel

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
finite = st.floats(min_value=-1e4, max_value=1e4, allow_nan=False, allow_infinity=False)
SENTENCE = re.compile(
    r"^sum of attributions (-?\d+\.\d{3}) vs f\(x\) - f\(baseline\) (-?\d+\.\d{3}): "
    r"delta (-?\d+\.\d{3}) \((?:(\d+\.\d) %|f\(x\) - f\(baseline\) is 0)\): (.+)$"
)


@FAST
@given(total=finite, delta=finite, has_steps=st.booleans())
def test_the_sentence_agrees_with_the_numbers_it_prints(total, delta, has_steps):
    sentence = pixel.completeness_sentence(total, delta, has_steps=has_steps)
    match = SENTENCE.match(sentence)
    assert match, sentence
    shown_total, shown_difference, shown_delta, percent, verdict = match.groups()
    difference = total - delta
    # Half a unit of the third decimal, and a hair for the binary neighbours of ...5 (0.1875).
    assert float(shown_total) == pytest.approx(total, abs=5e-4 + 1e-12)
    assert float(shown_delta) == pytest.approx(delta, abs=5e-4 + 1e-12)
    assert float(shown_difference) == pytest.approx(difference, abs=5e-4 + 1e-12 * abs(total))
    assert verdict in pixel.PHRASES
    if percent is None:  # f(x) - f(baseline) is 0 and the delta is not
        assert difference == 0
        assert delta != 0
        assert verdict != pixel.COMPLETE
        return
    share = abs(delta) / abs(difference) if delta else 0.0
    assert float(percent) == pytest.approx(100 * share, abs=0.05 + 1e-9 * share)
    # The verdict follows the printed share, except within the rounding at the threshold.
    if abs(share - pixel.COMPLETE_WITHIN) > 1e-3:
        assert (verdict == pixel.COMPLETE) == (share < pixel.COMPLETE_WITHIN)
    if verdict != pixel.COMPLETE:
        assert ("more steps" in verdict) == has_steps


@FAST
@given(
    delta=st.floats(allow_nan=True, allow_infinity=True),
    difference=st.floats(allow_nan=True, allow_infinity=True),
)
def test_the_phrase_is_always_one_of_the_phrases_and_complete_only_within_the_threshold(
    delta, difference
):
    phrase = pixel.completeness_phrase(delta, difference)
    assert phrase in pixel.PHRASES
    if phrase == pixel.COMPLETE:
        assert abs(delta) <= pixel.COMPLETE_WITHIN * abs(difference) or delta == 0


def test_the_threshold_is_inclusive_and_a_perfect_delta_is_complete():
    assert pixel.completeness_phrase(0.05, 1.0) == pixel.COMPLETE  # exactly 5 %
    assert pixel.completeness_phrase(0.0501, 1.0) == pixel.NOT_COMPLETE_MORE_STEPS
    assert pixel.completeness_phrase(0.0501, -1.0, has_steps=False) == pixel.NOT_COMPLETE
    assert pixel.completeness_phrase(0.0, 0.0) == pixel.COMPLETE
    assert pixel.completeness_phrase(math.nan, 1.0) != pixel.COMPLETE


def test_the_example_sentence():
    assert pixel.completeness_sentence(1.234, -0.006) == (
        "sum of attributions 1.234 vs f(x) - f(baseline) 1.240: delta -0.006 (0.5 %): complete"
    )
    assert pixel.completeness_sentence(1.0, -2.6).endswith("(72.2 %): not complete: more steps")


@FAST
@given(
    values=st.lists(
        st.floats(min_value=-1e3, max_value=1e3, allow_nan=False), min_size=12, max_size=12
    )
)
def test_the_signed_picture_is_red_for_positive_blue_for_negative_white_for_zero(values):
    raw = np.array(values, dtype=np.float32).reshape(3, 2, 2)
    picture = np.asarray(pixel.signed_image(raw), dtype=int)
    flipped = np.asarray(pixel.signed_image(-raw), dtype=int)
    assert picture.shape == (2, 2, 3)
    summed = raw.astype(np.float64).sum(0)
    red, blue = picture[..., 0], picture[..., 2]
    assert (red[summed > 0] >= blue[summed > 0]).all()
    assert (red[summed < 0] <= blue[summed < 0]).all()
    assert (picture[summed == 0] == 255).all()  # white
    # The scale is symmetric about 0: negating the attribution swaps red and blue.
    assert (flipped[..., ::-1] == picture).all()


def test_a_zero_attribution_is_a_white_picture_and_bad_input_is_refused():
    assert (np.asarray(pixel.signed_image(np.zeros((3, 4, 5)))) == 255).all()
    with pytest.raises(ValueError, match="C x H x W"):
        pixel.signed_image(np.zeros(4))
    with pytest.raises(ValueError, match="NaN"):
        pixel.signed_image(np.full((2, 2), np.nan))


def test_every_baseline_has_a_label_and_the_note_says_zero_is_the_mean_colour():
    assert set(pixel.BASELINE_LABELS) == set(BASELINES)
    assert "zero tensor in normalised space *is* the dataset's mean colour" in pixel.BASELINE_NOTE


def test_the_signed_colours_are_matplotlibs_bwr():
    import matplotlib

    signed = np.linspace(-1, 1, 201).reshape(1, -1)  # the scale ends at |1| (all within it)
    ours = np.asarray(pixel.signed_image(signed), dtype=int)[0]
    theirs = matplotlib.colormaps["bwr"](signed[0] * 0.5 + 0.5, bytes=True)[:, :3].astype(int)
    assert np.abs(ours - theirs).max() <= 2  # bwr's lookup table: 256 steps of 2 levels
