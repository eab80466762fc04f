"""The gradient page's plain-language reading says what the numbers show, and no more."""

import math

from resnet_viz import preset
from resnet_viz.analysis.gradients import GradientReport, GradientSnapshot
from resnet_viz.present.gradients import format_factor, reading


def report_with(first_res, last_res, first_plain, last_plain, ratios=(0.4, 0.5), steps=0):
    """A hand-made report: conv1 and one last conv before the fc in both models."""
    snapshot = GradientSnapshot(
        step=0,
        residual={"conv1": first_res, "layer1.0.conv2": last_res, "fc": 1.0},
        plain={"conv1": first_plain, "layer1.0.conv2": last_plain, "fc": 1.0},
        branch_ratio={f"layer1.{i}": r for i, r in enumerate(ratios)},
        residual_loss=2.3,
        plain_loss=2.4,
    )
    history = tuple([snapshot] * (steps + 1))
    return GradientReport(
        spec=preset("resnet20"), input_size=(3, 32, 32), batch_size=16, seed=0, init="kaiming",
        device="cpu", lr=0.01, momentum=0.9, history=history, build_seconds=0.0, run_seconds=0.0,
    )  # fmt: skip


def test_format_factor():
    assert format_factor(6213.4) == "6,213"
    assert format_factor(9.6e6) == "9.6 million"
    assert format_factor(14.7) == "15"
    assert format_factor(1.04) == "1.0"
    assert format_factor(0.0746) == "0.075"
    assert format_factor(math.inf) == "an infinite"


def test_exploding_plain_network():
    sentences = reading(report_with(15.0, 1.0, 6200.0, 1.0))
    assert sentences[0] == (
        "At initialisation, the plain network's first layer gets 6,200× the gradient norm of its "
        "last conv layer; the ResNet's gets 15×."
    )
    assert "explodes toward the input in the plain network" in sentences[1]
    assert "413×" in sentences[1]  # 6200 / 15
    assert sentences[2] == (
        "A typical residual block's branch F(x) is a small correction to its input (median "
        "||F(x)||/||x|| = 0.45 over 2 blocks)."
    )


def test_no_claim_of_explosion_when_the_plain_ratio_is_flat():
    # BN off: plain 1.04, residual 0.075; a 14x difference, but nothing explodes, and what
    # shrinks is the ResNet's gradient (the same thresholds as for the plain network).
    sentences = reading(report_with(0.0746, 1.0, 1.04, 1.0))
    assert "explodes" not in " ".join(sentences)
    assert sentences[1] == (
        "So the gradient vanishes toward the input in the ResNet: its first/last ratio is 1/13 "
        "of the plain network's."
    )
    # Above the vanishing threshold (0.1) the same pair only shrinks and keeps its size.
    sentences = reading(report_with(0.15, 1.0, 1.04, 1.0))
    assert "vanishes" not in " ".join(sentences)
    assert sentences[1] == (
        "From the last conv layer to the first, the plain network's gradient keeps roughly its "
        "size and the ResNet's shrinks toward the input."
    )
    assert sentences[2] == (
        "The plain network's gradient is the more even across depth (ResNet 0.15×, plain 1.0×)."
    )


def test_vanishing_plain_network():
    sentences = reading(report_with(1.0, 1.0, 1e-13, 1.0))
    assert "vanishes toward the input in the plain network" in sentences[1]


def test_diverged_run_is_reported_as_such():
    sentences = reading(report_with(math.nan, 1.0, 5.0, 1.0))
    assert len(sentences) == 1
    assert "diverged" in sentences[0]


def test_steps_mention_the_losses():
    sentences = reading(report_with(15.0, 1.0, 6200.0, 1.0, steps=3), step=3)
    assert sentences[0].startswith("After 3 SGD steps,")
    assert "Loss on this batch after 3 steps: ResNet 2.300, plain 2.400" in sentences[-1]


def test_both_growing_says_which_grows_more_and_owns_up_when_it_is_the_resnet():
    # Numbers seen after 5 SGD steps: ResNet 7.8x, plain 2.1x.
    sentences = reading(report_with(7.8, 1.0, 2.1, 1.0, steps=5), step=5)
    assert sentences[1] == (
        "From the last conv layer to the first, in both networks the gradient grows toward the "
        "input: the ResNet's more (ResNet 7.8×, plain 2.1×)."
    )
    assert sentences[2] == (
        "The plain network's gradient is the more even across depth (ResNet 7.8×, plain 2.1×)."
    )
    mirrored = reading(report_with(2.1, 1.0, 7.8, 1.0))
    assert (
        "in both networks the gradient grows toward the input: the plain network's more"
        in (mirrored[1])
    )
    assert mirrored[2].startswith("The ResNet's gradient is the more even")
    level = reading(report_with(3.0, 1.0, 3.2, 1.0))
    assert "grows toward the input: each about as much" in level[1]
    assert level[2].startswith("The two gradients are about as even across depth")


def test_an_exploding_resnet_is_not_blamed_on_the_plain_network():
    sentences = reading(report_with(500.0, 1.0, 2.0, 1.0))
    assert sentences[1] == (
        "So the gradient explodes toward the input in the ResNet: its first/last ratio is 250× "
        "the plain network's."
    )


def test_the_typical_block_is_the_median_not_the_mean():
    # median 0.20 (a small correction); the mean, 1.1, would read "about as large as".
    sentences = reading(report_with(1.0, 1.0, 1.0, 1.0, ratios=(0.1, 0.2, 3.0)))
    assert sentences[-1] == (
        "A typical residual block's branch F(x) is a small correction to its input (median "
        "||F(x)||/||x|| = 0.20 over 3 blocks)."
    )
    # An even count: the median is the mean of the middle two (0.3 and 1.9 -> 1.10), not 2.575.
    even = reading(report_with(1.0, 1.0, 1.0, 1.0, ratios=(0.3, 8.0, 0.1, 1.9)))
    assert "is about as large as its input (median ||F(x)||/||x|| = 1.10 over 4" in even[-1]
