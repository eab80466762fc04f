"""The reading of the methods' agreement says what its numbers say, over their whole range:
every verdict word agrees with the correlation printed beside it, the gradient's word with
its printed variation, and the explanation appears exactly where the maps are the same and the
gradient is constant."""

from __future__ import annotations

import itertools
import math
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from resnet_viz.analysis.attribution.agreement import (
    DEFAULT_METHODS,
    LayerAgreement,
    MethodAgreement,
    method_agreement,
)
from resnet_viz.present import agreement as words
from resnet_viz.present.agreement import (
    agreement_figure,
    agreement_reading,
    correlation_phrase,
    gradient_phrase,
)
from tests.unit.analysis.attribution.test_cam import image_for, tiny_model

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

#: Values at and around the thresholds as shown (3 decimals; percent with 1 decimal).
EDGES = [1.0, 0.99, 0.9895, 0.98949, 0.9, 0.8995, 0.89949, 0.0, -1.0, math.nan]
correlations = st.one_of(st.floats(-1, 1), st.sampled_from(EDGES))
variations = st.one_of(
    st.floats(0, 1), st.sampled_from([0.0, 0.00949, 0.0095, 0.01, 0.5, 1.0, math.nan])
)

CLAUSE = re.compile(
    r"(layer[\d.]+): (the same map|close|different|not comparable \(a map is constant\)) "
    r"\(lowest correlation (undefined|-?\d\.\d{3}), [^;]*\); gradient "
    r"(constant over positions|varies over positions|zero everywhere)(?:, variation "
    r"(\d+\.\d) %)?"
)


@given(correlations)
@FAST
def test_the_correlation_word_agrees_with_the_shown_number(r):
    word = correlation_phrase(r)
    if math.isnan(r):
        assert word == words.NOT_COMPARABLE
        return
    value = float(f"{r:.3f}")
    assert word == ("the same map" if value >= 0.99 else "close" if value >= 0.9 else "different")


@given(variations)
@FAST
def test_the_gradient_word_agrees_with_the_shown_percentage(v):
    word = gradient_phrase(v)
    if math.isnan(v):
        assert word == words.ZERO_GRADIENT
        return
    assert word == (words.CONSTANT if float(f"{100 * v:.1f}") < 1.0 else words.VARIES)


@st.composite
def results(draw):
    methods = draw(
        st.sampled_from([DEFAULT_METHODS, ("gradcam", "hirescam"), ("gradcam", "layercam")])
    )
    pairs = list(itertools.combinations(methods, 2))
    names = draw(
        st.lists(st.sampled_from(["layer1", "layer2.0", "layer2", "layer3.1", "layer4"]),
                 min_size=1, max_size=5, unique=True)
    )  # fmt: skip
    rows = tuple(
        LayerAgreement(
            layer=name,
            size=(4, 4),
            pearson={p: draw(correlations) for p in pairs},
            spearman=dict.fromkeys(pairs, 0.0),
            gradient_variation=draw(variations),
        )
        for name in names
    )
    pooled = tuple(n for n in names if n == "layer4" and draw(st.booleans()))
    return MethodAgreement(methods=methods, target_class=0, layers=rows, before_pooling=pooled)


@given(results())
@FAST
def test_the_reading_never_claims_what_its_numbers_refute(result):
    sentences = agreement_reading(result)
    clauses = {m[0]: m for s in sentences for m in CLAUSE.findall(s)}
    assert set(clauses) == {r.layer for r in result.layers}  # every layer is read
    for row in result.layers:
        _, word, number, gradient, percent = clauses[row.layer]
        lowest = min(row.pearson.values(), key=lambda v: -2 if math.isnan(v) else v)
        assert (number == "undefined") == math.isnan(lowest)
        if number != "undefined":
            assert float(number) == pytest.approx(
                lowest, abs=5e-4 + 1e-12
            )  # a tie rounds either way
            shown = float(number)
            assert (word == "the same map") == (shown >= 0.99)
            assert (word == "close") == (0.9 <= shown < 0.99)
            assert (word == "different") == (shown < 0.9)
        if gradient == words.ZERO_GRADIENT:
            assert math.isnan(row.gradient_variation)
            assert percent == ""
        else:
            assert float(percent) == pytest.approx(100 * row.gradient_variation, abs=0.05 + 1e-12)
            assert (gradient == words.CONSTANT) == (float(percent) < 1.0)
    same_and_constant = [
        name
        for name, (_, word, _, gradient, _) in clauses.items()
        if word == "the same map" and gradient == words.CONSTANT
    ]
    explanation = [s for s in sentences if "The formulas coincide" in s]
    if same_and_constant and set(result.methods) <= set(DEFAULT_METHODS):
        assert len(explanation) == 1
        named = re.match(r"At ([\w., ]+?) the class", explanation[0])[1].split(", ")
        assert sorted(named) == sorted(same_and_constant)
        pooled = set(named) <= set(result.before_pooling)
        assert ("average pooling" in explanation[0]) == pooled
    else:
        assert explanation == []
    for s in sentences:  # a "same" claim outside the clauses names only layers judged so
        for name in re.findall(r"At (layer[\d.]+) the methods give the same map", s):
            assert clauses[name][1] == "the same map"


def test_on_a_random_network_the_reading_explains_the_last_stage():
    model = tiny_model("basic")
    sentences = agreement_reading(method_agreement(model, image_for(model.spec)))
    assert len(sentences) == 5  # four stages, then the explanation
    assert sentences[-1].startswith("At layer4, layer4.0 the class score's gradient is constant")
    assert "average pooling" in sentences[-1]
    assert "layer4: the same map (lowest correlation 1.000" in sentences[3]
    assert "layer3: different" in sentences[2]


def test_a_pre_activation_network_gets_no_explanation():
    model = tiny_model("preact")
    sentences = agreement_reading(method_agreement(model, image_for(model.spec)))
    assert len(sentences) == 4
    assert not any("the same map" in s for s in sentences)
    assert "layer4: close (lowest correlation 0.918" in sentences[3]


@given(results())
@FAST
def test_the_figure_draws_the_shown_numbers(result):
    fig = agreement_figure(result)
    lines = {trace.name: trace for trace in fig.data}
    labels = result.labels
    for a, b in result.layers[0].pearson:
        trace = lines[f"{labels[a]} vs {labels[b]}"]
        assert list(trace.x) == [row.layer for row in result.layers]
        for row, y in zip(result.layers, trace.y, strict=True):
            r = row.pearson[(a, b)]
            assert y is None if math.isnan(r) else y == round(r, words.DECIMALS)
    variation = lines["gradient variation"]
    for row, y in zip(result.layers, variation.y, strict=True):
        v = row.gradient_variation
        assert y is None if math.isnan(v) else y == round(100 * v, words.PERCENT_DECIMALS)
    assert len(fig.data) == len(result.layers[0].pearson) + 1


def test_the_figure_of_a_random_network_marks_the_last_stage_the_same():
    model = tiny_model("basic")
    fig = agreement_figure(method_agreement(model, image_for(model.spec)))
    pair = next(t for t in fig.data if t.name == "Grad-CAM vs HiResCAM")
    by_layer = dict(zip(pair.x, pair.y, strict=True))
    assert by_layer["layer4"] >= words.SAME
    assert by_layer["layer3"] < words.CLOSE
