"""Every reading agrees with its numbers over their whole range, and every qualitative word in
it was chosen by a threshold of :mod:`resnet_viz.present.wording`.

The numbers are drawn by Hypothesis: equal values, 100 %, zero, ties, reversed orders, and
inf/NaN where a reading accepts them. Each property states a fact a reader would check
against the numbers beside the sentence, independently of how the reading decides.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from resnet_viz.analysis.anatomy import BlockAnatomy
from resnet_viz.analysis.attribution.cell_field import ReceptiveFieldBox
from resnet_viz.analysis.attribution.faithfulness import Faithfulness
from resnet_viz.analysis.attribution.sanity import SanityCheck, SanityStep
from resnet_viz.analysis.lesion import LesionResult
from resnet_viz.analysis.receptive_field import ReceptiveField
from resnet_viz.present import wording
from resnet_viz.present.anatomy import anatomy_reading
from resnet_viz.present.cam import faithfulness_sentence, receptive_field_caption, sanity_sentence
from resnet_viz.present.degradation import degradation_reading
from resnet_viz.present.gradients import reading
from resnet_viz.present.landscape import landscape_reading, separate_run_note
from resnet_viz.present.lesion import lesion_reading
from resnet_viz.present.receptive_field import erf_reading
from tests.unit.present.test_cam import result
from tests.unit.present.test_gradients import report_with

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

#: Words and phrases that judge a result. Each occurrence in a reading must lie inside a phrase
#: that :mod:`wording` returned while that reading ran. Written here, not taken from the
#: vocabulary, so that a judgement written straight into a sentence is caught.
QUALITATIVE = (
    "fraction", "most of", "nearly all", "all of", "as large", "twice", "correction",
    "smaller", "larger", "wider", "taller", "grows", "shrinks", "keeps roughly", "explodes",
    "vanishes", "more", "even", "same size", "did not change", "grew", "shrank",
    "changed", "rougher", "coarse", "worst", "costliest", "faithful", "tie", "tied", "better",
    "worse", "level with", "as good", "passes", "changes little", "much",
)  # fmt: skip


def unchosen(sentences: list[str], chosen: list[str]) -> list[str]:
    """The qualitative words of ``sentences`` not inside a phrase in ``chosen``."""
    found = []
    for sentence in sentences:
        covered = [False] * len(sentence)
        for phrase in set(chosen):
            for m in re.finditer(re.escape(phrase), sentence):
                covered[m.start() : m.end()] = [True] * (m.end() - m.start())
        for word in QUALITATIVE:
            for m in re.finditer(rf"\b{re.escape(word)}\b", sentence, re.IGNORECASE):
                if not all(covered[m.start() : m.end()]):
                    found.append(f"{word!r} in {sentence!r}")
    return found


def said(make) -> list[str]:
    """Run a reading; fail on a judgement no threshold chose, or a phrase not in PHRASES."""
    with wording.trace() as chosen:
        out = make()
    sentences = [out] if isinstance(out, str) else [s for s in (out or []) if s]
    assert set(chosen) <= wording.PHRASES, set(chosen) - wording.PHRASES
    assert not unchosen(sentences, chosen), unchosen(sentences, chosen)
    return sentences


def test_the_scan_catches_a_judgement_written_straight_into_a_sentence():
    with wording.trace() as chosen:
        phrase = wording.share_phrase(1.0)
    assert phrase == "all of"
    assert unchosen([f"fills {phrase} the field"], chosen) == []
    assert unchosen(["fills only a fraction of the theoretical one"], chosen)
    assert unchosen(["the field is not always smaller"], chosen)


# ------------------------------------------------------------------------------ vocabulary


def test_size_bands_at_their_edges():
    assert wording.size_phrase(0.0) == wording.ZERO_SIZE
    assert wording.size_phrase(0.49) == "a small correction to"
    assert wording.size_phrase(0.5) == "smaller than"
    assert wording.size_phrase(0.8) == "about as large as"
    assert wording.size_phrase(1.0) == "about as large as"
    assert wording.size_phrase(1.25) == "larger than"
    assert wording.size_phrase(1.6) == "about twice as large as"
    assert wording.size_phrase(1.96) == "about twice as large as"
    assert wording.size_phrase(2.5) == "much larger than"
    assert wording.size_phrase(math.inf) == "much larger than"
    assert wording.size_phrase(math.nan) == wording.UNDEFINED_SIZE


def test_share_bands_at_their_edges():
    assert wording.share_phrase(1.0) == "all of"
    assert wording.share_phrase(0.99) == "nearly all of"
    assert wording.share_phrase(0.9) == "nearly all of"
    assert wording.share_phrase(0.5) == "most of"
    assert wording.share_phrase(0.49) == "only a fraction of"
    assert wording.share_phrase(0.0) == "only a fraction of"


def test_scores_are_compared_as_shown():
    assert wording.score_order(0.604, 0.596) == 0  # 0.60 and 0.60
    assert wording.score_order(0.61, 0.60) == 0  # within 0.01
    assert wording.score_order(0.62, 0.60) == 1
    assert wording.score_order(0.14, 0.16) == -1
    assert wording.tied_with_best({"a": 0.5, "b": 0.5}) == ["a", "b"]
    assert wording.tied_with_best({"a": 0.5, "b": 0.3}) == ["a"]


# --------------------------------------------------------------------------- block anatomy

ratios = st.one_of(
    st.sampled_from([0.0, 0.5, 0.8, 1.0, 1.25, 1.6, 1.96, 2.0, 2.5, math.inf, math.nan]),
    st.floats(0, 100, allow_nan=False),
)


def block(ratio: float, kind: str = "identity") -> BlockAnatomy:
    return BlockAnatomy("layer1.0", *[None] * 4, kind, ratio, None, {}, None)


@FAST
@given(ratios, st.sampled_from(["identity", "zero-pad", "projection", "none"]))
def test_anatomy_reading_agrees_with_its_ratio(ratio, kind):
    sentence = said(lambda: anatomy_reading(block(ratio, kind)))[1]
    shown = float(sentence.split("= ")[1].split(":")[0])  # the ratio as printed
    if math.isnan(shown):
        assert "undefined" in sentence
        return
    if shown == 0:
        assert "nothing is added" in sentence
    if 0 < shown < 0.5:
        assert "a small correction" in sentence
    if 0.8 <= shown < 1.25:
        assert "about as large as" in sentence
    if 1.6 <= shown < 2.5:
        assert "about twice as large as" in sentence
    if shown >= 2.5:
        assert "much larger than" in sentence
    if shown >= 0.8:
        assert "small" not in sentence
    if shown < 1.25:
        assert "larger" not in sentence
        assert "twice" not in sentence


# ---------------------------------------------------------------------------- gradient flow

factors = st.one_of(
    st.sampled_from([0.0, 0.05, 0.1, 0.5, 1.0, 2.0, 2.1, 7.8, 10.0, 100.0, 6200.0]),
    st.floats(1e-6, 1e6),
)


def number(text: str) -> float:
    """A factor as :func:`format_factor` prints it: "6,213" or "9.6 million"."""
    scale = 1e6 if text.endswith(" million") else 1
    return float(text.removesuffix(" million").replace(",", "")) * scale


def distance(ratio: float) -> float:
    return abs(math.log(ratio)) if ratio > 0 else math.inf


@FAST
@given(factors, factors, st.lists(ratios.filter(math.isfinite), max_size=6))
def test_gradient_reading_agrees_with_its_ratios(plain, residual, branch):
    sentences = said(lambda: reading(report_with(residual, 1.0, plain, 1.0, ratios=branch)))
    text = " ".join(sentences)
    # The first sentence prints both ratios; every judgement refers to those printed values.
    first = sentences[0]
    p = number(first.split("gets ")[1].split("×")[0])
    r = number(first.split("the ResNet's gets ")[1].split("×")[0])
    if "in both networks the gradient grows toward the input" in text:
        assert p > 2
        assert r > 2
    if "the ResNet's more" in text:  # moves further from 1, up or down
        assert distance(r) > distance(p)
    if "the plain network's more" in text:
        assert distance(p) > distance(r)
    if "explodes toward the input in the plain network" in text:
        assert p >= 10
        assert p >= 10 * r
    if "vanishes toward the input in the ResNet" in text:
        assert r <= 0.1
        assert r < p
    if p == r:
        assert "about as even" in text
        assert "the more even" not in text
    if "The plain network's gradient is the more even" in text:
        assert distance(p) < distance(r)
    if branch:
        typical = float(np.median(branch))
        assert f"median ||F(x)||/||x|| = {typical:.2f}" in sentences[-1]


@FAST
@given(factors, factors)
def test_gradient_reading_swaps_with_its_networks(plain, residual):
    """Swapping the two networks' numbers swaps the names in the evenness sentence."""
    a = said(lambda: reading(report_with(residual, 1.0, plain, 1.0)))
    b = said(lambda: reading(report_with(plain, 1.0, residual, 1.0)))
    extreme_a = [s for s in a if "toward the input in the" in s]
    if extreme_a:  # swapped, one network still explodes or vanishes against the other
        assert any("toward the input in the" in s for s in b)
        return
    even_a = next(s for s in a if "across depth" in s)
    even_b = next(s for s in b if "across depth" in s)
    if "The plain network's" in even_a:
        assert "The ResNet's" in even_b
    elif "The ResNet's" in even_a:
        assert "The plain network's" in even_b
    else:
        assert "about as even" in even_b


@FAST
@given(st.sampled_from([math.inf, math.nan]), factors)
def test_a_diverged_gradient_is_said_as_such(bad, other):
    assert "diverged" in said(lambda: reading(report_with(bad, 1.0, other, 1.0)))[0]


# ----------------------------------------------------------------- effective receptive field


def field(side: int, theoretical: int) -> ReceptiveField:
    return ReceptiveField(np.zeros((3, 3)), theoretical, side, "l", (0, 0), (0, 0), (0,) * 4, 1)


@st.composite
def four_fields(draw):
    theoretical = draw(st.sampled_from([7, 33, 109]))
    sides = st.integers(0, (theoretical - 1) // 2).map(lambda h: 2 * h + 1)
    if draw(st.booleans()):  # all equal, e.g. every row at 100 %
        side = draw(st.sampled_from([theoretical, draw(sides)]))
        values = [side] * 4
    else:
        values = [draw(sides) for _ in range(4)]
    names = ["ResNet, init", "plain, init", "ResNet, trained", "plain, trained"]
    return {n: field(s, theoretical) for n, s in zip(names, values, strict=True)}


@FAST
@given(four_fields())
def test_erf_reading_agrees_with_its_sides(fields):
    n = list(fields)
    skip, train = [(n[0], n[1]), (n[2], n[3])], [(n[0], n[2]), (n[1], n[3])]
    text = " ".join(said(lambda: erf_reading(fields, skip, train)))
    shares = [f.side_95 / f.theoretical for f in fields.values()]
    if "only a fraction" in text:
        assert all(round(s, 2) < 0.5 for s in shares)
    if all(s == 1 for s in shares):
        assert "fills all of the theoretical side" in text
    sides = {k: f.side_95 for k, f in fields.items()}
    if "the field is smaller (" in text:
        assert all(sides[r] < sides[p] for r, p in skip)
    if all(sides[r] == sides[p] for r, p in skip):
        assert "the field is the same size here" in text
        assert "smaller" not in text
        assert "larger" not in text
    if "Training grew" in text:
        assert all(sides[b] > sides[a] for a, b in train)
    if "Training shrank" in text:
        assert all(sides[b] < sides[a] for a, b in train)
    if all(sides[a] == sides[b] for a, b in train):
        assert "Through training the fields did not change here" in text
        assert "grew" not in text.split("Luo et al. saw")[0]
        assert "changed" not in text


# --------------------------------------------------------------------------- loss landscape

NAMES = ("plain-20", "plain-56", "resnet-20", "resnet-56")
shares = st.one_of(st.sampled_from([0.0, 0.05, 0.444, 1.0]), st.floats(0, 1))


@FAST
@given(
    st.fixed_dictionaries(
        dict.fromkeys(("plain-20", "plain-56", "resnet-20", "resnet-56"), shares)
    ),
    st.fixed_dictionaries(
        dict.fromkeys(("plain-20", "plain-56", "resnet-20", "resnet-56"), shares)
    ),
    st.sampled_from([3, 5, 7, 11, 15, 21, 31]),
)
def test_landscape_reading_agrees_with_its_numbers(rough, errors, resolution):
    text = " ".join(said(lambda: landscape_reading(rough, errors, resolution=resolution)))
    if resolution < wording.MIN_GRID_POINTS:
        assert "too coarse to judge" in text
        assert "-layer surface is rougher" not in text
        assert "trains worst" not in text
    else:
        assert "too coarse" not in text
    if "56-layer surface is rougher" in text:
        assert round(rough["plain-56"], 3) > round(rough["resnet-56"], 3) + 0.05
    if "the network that trains worst" in text:
        others = [round(e, 3) for n, e in errors.items() if n != "plain-56"]
        assert all(round(errors["plain-56"], 3) > e + 0.05 for e in others)


# ------------------------------------------------------------------------ degradation, lesion


@FAST
@given(st.lists(shares, min_size=4, max_size=4), st.integers(1, 20))
def test_degradation_reading_agrees_with_its_errors(finals, epochs):
    names = ["plain-20", "plain-56", "resnet-20", "resnet-56"]
    curves = {n: [0.9] * (epochs - 1) + [e] for n, e in zip(names, finals, strict=True)}
    text = " ".join(said(lambda: degradation_reading(curves)))
    p_s, p_d, r_s, r_d = (round(e, 3) for e in finals)
    assert ("that is degradation" in text) == (p_d > p_s + 0.05)
    if "depth did not hurt" in text:
        assert r_d <= r_s + 0.05
    if "also ended worse" in text:
        assert p_d > p_s + 0.05
        assert r_d > r_s + 0.05
    if p_d == p_s:
        assert "about as good as" in text


@FAST
@given(st.lists(shares, min_size=2, max_size=6), shares)
def test_lesion_reading_names_every_tied_costliest_block(accuracies, baseline):
    acc = {f"layer{i}.0": a for i, a in enumerate(accuracies)}
    resnet = LesionResult(baseline, acc, False, 100)
    plain = LesionResult(baseline, acc, True, 100)
    text = said(lambda: lesion_reading(resnet, plain, chance=0.1))[2]
    top = max(baseline - a for a in accuracies)
    for name, a in acc.items():
        assert (f"{name} (" in text) == (baseline - a >= top - wording.SAME_DROP)


# ------------------------------------------------------------------------------ workbench


def curves(deletion: float, insertion: float) -> Faithfulness:
    empty = np.zeros(2)
    return Faithfulness(empty, empty, empty, deletion, insertion, 0, 5)


aucs = st.one_of(st.sampled_from([0.0, 0.14, 0.15, 0.16, 1.0]), st.floats(0, 1))
methods = ["gradcam", "layercam", "eigencam", "hirescam"]


@FAST
@given(st.lists(st.tuples(aucs, aucs), min_size=1, max_size=4), st.tuples(aucs, aucs))
def test_faithfulness_sentence_agrees_with_its_scores(pairs, random_pair):
    maps = {m: curves(*p) for m, p in zip(methods, pairs, strict=False)}
    random = curves(*random_pair)
    text = said(lambda: faithfulness_sentence(maps, {"random": random, "inverted": random}, "x"))[0]
    shown = {m: round(100 * (c.insertion_auc - c.deletion_auc)) for m, c in maps.items()}
    best = max(shown.values())
    leaders = [m for m, v in shown.items() if v >= best - 1]
    if len(maps) > 1:
        assert ("Most faithful" in text) == (len(leaders) == 1)
        assert ("a tie" in text) == (len(leaders) > 1)
    rand = round(100 * (random.insertion_auc - random.deletion_auc))
    if any(rand > v + 1 for v in shown.values()):
        assert "better than" in text.split("A random map scores")[1].split("On deletion")[0]
    rand_del = round(100 * random.deletion_auc)
    deletions = [round(100 * c.deletion_auc) for c in maps.values()]
    assert ("On deletion alone" in text) == any(rand_del <= d + 1 for d in deletions)


@FAST
@given(st.lists(st.floats(-1, 1), min_size=1, max_size=5))
def test_sanity_sentence_passes_only_when_the_map_follows_the_weights(rhos):
    original = result([[1.0, 0.0]])
    steps = tuple(SanityStep(f"u{i}", f"unit {i}", i, r, 0.5, original) for i, r in enumerate(rhos))
    text = said(lambda: sanity_sentence(SanityCheck(original, steps, "gradcam", "l", 0, 0)))[0]
    if "passes" in text:
        assert round(rhos[-1], 2) < 0.5
        assert round(min(rhos), 2) < round(rhos[0], 2)


@FAST
@given(st.integers(1, 600), st.integers(1, 400), st.integers(1, 400))
def test_receptive_field_caption_says_what_the_box_exceeds(size, height, width):
    box = ReceptiveFieldBox(
        (0, 0), (1, 1), (height // 2, width // 2), size, 1, 0, 0, height, width,
        size > height or size > width,
    )  # fmt: skip
    text = said(lambda: receptive_field_caption(box, "layer4", (height, width)))[0]
    assert ("can see the whole image" in text) == (size > height and size > width)
    assert ("wider than" in text) == (width < size <= height)


@FAST
@given(shares, shares, st.booleans(), st.booleans())
def test_separate_run_note_is_silent_only_for_one_number(here, there, same_machine, same_recipe):
    note = separate_run_note(
        "plain-56", here, there, there_page="degradation",
        recipe_differs=() if same_recipe else ("epochs",),
        here_machine="a", there_machine="a" if same_machine else "b",
    )  # fmt: skip
    same = f"{here:.1%}" == f"{there:.1%}" and same_machine and same_recipe
    assert (note is None) == same
    if note is not None:
        said(lambda: note)
        assert f"{here:.1%} here and {there:.1%} there" in note


@pytest.mark.parametrize("resolution", [5, 21])
def test_screens_that_once_misled(resolution):
    """Two teaching-lab screens, with their numbers: four effective receptive fields all at the
    full theoretical 7 px (nothing about fractions, one being smaller, or a change), and loss
    landscapes whose roughness a 5 x 5 grid is too coarse to rank (a 21 x 21 grid is not)."""
    sevens = {n: field(7, 7) for n in ("a", "b", "c", "d")}
    text = " ".join(said(lambda: erf_reading(sevens, [("a", "b"), ("c", "d")], [("a", "c")])))
    assert "fraction" not in text
    assert "not always smaller" not in text
    assert "changed" not in text
    rough = {"plain-20": 0.3, "plain-56": 1.0, "resnet-20": 0.1, "resnet-56": 0.444}
    errors = {"plain-20": 0.0, "plain-56": 0.502, "resnet-20": 0.0, "resnet-56": 0.006}
    text = " ".join(said(lambda: landscape_reading(rough, errors, resolution=resolution)))
    assert ("too coarse" in text) == (resolution == 5)
