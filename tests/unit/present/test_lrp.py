"""What the page says about LRP through the skip connections says what its numbers say, over
their whole range: "conserved" exactly where the error printed beside it is under the
threshold, the blocks named exactly those that are not, each stage's route ("the shortcut",
"the residual branch", "split evenly") from its printed share; the figure draws those numbers."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from resnet_viz.analysis.attribution.lrp import BlockRelevance, LrpResult
from resnet_viz.present import lrp as words
from resnet_viz.present.lrp import conservation_sentence, lrp_figure, route_sentence

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

#: Around the thresholds as shown (percent with one decimal): 1 % error, 50 % share.
NEAR = [1.0, 1.0094, 1.0095, 1.01, 0.99, 0.9905, 0.0, 0.5, 0.4995, 0.5005, 0.49949, -0.2, 1.3]
amounts = st.one_of(st.floats(-10, 10, allow_nan=False), st.sampled_from(NEAR))
BLOCK_NAMES = ["layer1.0", "layer1.1", "layer2.0", "layer2.1", "layer3.0", "layer4.0"]


@st.composite
def blocks(draw):
    names = draw(st.lists(st.sampled_from(BLOCK_NAMES), min_size=0, max_size=6, unique=True))
    out = []
    for name in sorted(names, key=BLOCK_NAMES.index):
        skip = draw(st.booleans())
        entering = draw(st.one_of(st.just(1.0), amounts))
        out.append(
            BlockRelevance(
                block=name,
                entering=entering,
                leaving=draw(amounts),
                at_sum=entering if skip else 0.0,
                branch=draw(amounts),
                shortcut=draw(amounts) if skip else 0.0,
                skip=skip,
            )
        )
    return tuple(out)


@st.composite
def results(draw):
    return LrpResult(
        heatmap=np.zeros((2, 2), np.float32),
        raw=np.zeros((3, 2, 2), np.float32),
        target_class=0,
        composite="epsilon",
        zero_bias=draw(st.booleans()),
        logit=draw(st.one_of(st.just(1.0), amounts)),
        input_relevance=draw(amounts),
        blocks=draw(blocks()),
    )


def shown(fraction: float) -> float:
    return float(f"{100 * fraction:.1f}")


@given(results())
@FAST
def test_the_conservation_sentence_agrees_with_the_printed_errors(result):
    text = conservation_sentence(result)
    lost = [b for b in result.blocks if shown(b.conservation_error) >= 1.0]
    every = re.search(r"conserved at every block \(worst error ([\d.]+|inf) %\)", text)
    if not result.blocks:
        assert "block" not in text
    elif lost:
        assert every is None
        named = re.search(r"not conserved at (.*?)\. The pixels", text).group(1)
        found = re.findall(r"(layer[\d.]+) \(([\d.e+]+|inf) %\)", named)
        assert [n for n, _ in found] == [b.block for b in lost]
        for (_, value), block in zip(found, lost, strict=True):
            assert float(value) == shown(block.conservation_error) >= 1.0
    else:
        worst = max(shown(b.conservation_error) for b in result.blocks)
        assert float(every.group(1)) == worst < 1.0
    overall = re.search(r"\(([\d.e+]+|inf) % apart(: not conserved overall)?\)", text)
    assert float(overall.group(1)) == shown(result.conservation_error)
    assert (overall.group(2) is not None) == (shown(result.conservation_error) >= 1.0)
    any_loss = bool(lost) or shown(result.conservation_error) >= 1.0
    assert (words.LOSS_NOTE in text) == any_loss
    assert (words.ZERO_BIAS_HINT in text) == (any_loss and not result.zero_bias)


@given(results())
@FAST
def test_the_route_sentence_agrees_with_the_printed_shares(result):
    text = route_sentence(result)
    with_skip = [b for b in result.blocks if b.skip]
    if not with_skip:
        assert "no skip connections" in text
        return
    clauses = re.findall(
        r"in stage (\d) (?:most relevance takes (the shortcut|the residual branch)|it is "
        r"(split evenly)) \((-?(?:[\d.e+]+|inf)) % to the shortcut",
        text,
        flags=re.IGNORECASE,
    )
    stages = list(dict.fromkeys(words.stage_of(b.block) for b in with_skip))
    assert [c[0] for c in clauses] == stages
    for stage, route, even, value in clauses:
        shares = [b.shortcut_share for b in with_skip if words.stage_of(b.block) == stage]
        assert float(value) == shown(sum(shares) / len(shares))
        if even:
            assert float(value) == 50.0
        elif route == words.SHORTCUT:
            assert float(value) > 50.0
        else:
            assert float(value) < 50.0


def test_a_hand_case():
    """Two stages: 80 % to the shortcut in stage 1 (conserved), 30 % in stage 2 (2 % lost)."""
    result = LrpResult(
        heatmap=np.zeros((2, 2), np.float32), raw=np.zeros((3, 2, 2), np.float32),
        target_class=0, composite="epsilon", zero_bias=True, logit=2.0, input_relevance=1.99,
        blocks=(
            BlockRelevance("layer1.0", 1.0, 1.0, 1.0, 0.2, 0.8),
            BlockRelevance("layer2.0", 1.0, 0.98, 1.0, 0.7, 0.3),
        ),
    )  # fmt: skip
    assert route_sentence(result) == (
        "In stage 1 most relevance takes the shortcut (80.0 % to the shortcut on average); "
        "in stage 2 most relevance takes the residual branch (30.0 % to the shortcut on average)."
    )
    text = conservation_sentence(result)
    assert text.startswith("Relevance is not conserved at layer2.0 (2.0 %). ")
    assert "(0.5 % apart)" in text
    assert words.ZERO_BIAS_HINT not in text
    fig = lrp_figure(result, "cat")
    bars = {trace.name: list(trace.y) for trace in fig.data}
    assert bars["shortcut"] == [80.0, 30.0]
    assert bars["residual branch"] == [20.0, 70.0]
    assert bars["conservation error"] == pytest.approx([0.0, 2.0])
    assert list(fig.data[0].x) == ["layer1.0", "layer2.0"]
    assert fig.layout.barmode == "relative"
    assert not math.isnan(sum(bars["shortcut"]))
