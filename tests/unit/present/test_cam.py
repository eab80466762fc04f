"""The workbench's plain-language readings, on results built by hand."""

from __future__ import annotations

import numpy as np

from resnet_viz import preset
from resnet_viz.analysis.attribution.cam import CamResult
from resnet_viz.analysis.attribution.cell_field import receptive_field_box
from resnet_viz.analysis.attribution.faithfulness import Faithfulness
from resnet_viz.analysis.attribution.sanity import SanityCheck, SanityStep
from resnet_viz.present.cam import (
    SANITY_PRINCIPLE,
    blank_map_message,
    faithfulness_sentence,
    receptive_field_caption,
    sanity_sentence,
)


def result(raw, layer="layer2", method="gradcam", counterfactual=False) -> CamResult:
    raw = np.asarray(raw, np.float32)
    return CamResult(raw, raw, 0, [(0, 1.0)], layer, "cpu", False, method, counterfactual)


def test_blank_maps_are_told_and_explained():
    empty = result(np.zeros((2, 2)))
    assert empty.blank
    assert not result([[0.0, 0.1]]).blank
    text = blank_map_message(empty, "cat", "layer4")
    assert "no positive evidence for “cat” at layer2" in text
    assert "≤ 0 at every position" in text
    assert "a later layer (the last stage, layer4" in text
    assert "another class" in blank_map_message(result(np.zeros((1, 1)), "layer4"), "cat", "layer4")
    counter = blank_map_message(result(np.zeros((2, 2)), counterfactual=True), "cat", "layer4")
    assert "no counter-evidence" in counter


def curves(deletion_auc: float, insertion_auc: float) -> Faithfulness:
    empty = np.zeros(2)
    return Faithfulness(empty, empty, empty, deletion_auc, insertion_auc, 0, 5)


def test_the_most_faithful_map_is_named_with_the_margin():
    text = faithfulness_sentence(
        {"gradcam": curves(0.3, 0.8), "layercam": curves(0.2, 0.85), "eigencam": curves(0.5, 0.6)},
        {"random": curves(0.4, 0.5), "inverted": curves(0.8, 0.3)},
        "dog",
    )
    assert text.startswith(
        "Most faithful on this image: LayerCAM (insertion minus deletion AUC 0.65, against 0.50 "
        "for Grad-CAM, the next best)."
    )
    # The random map (0.10) ties Eigen-CAM (0.10) and beats it on deletion (0.40 vs 0.50).
    assert (
        "A random map scores 0.10: worse than Grad-CAM (0.50), LayerCAM (0.65) and level " in text
    )
    assert "level with Eigen-CAM (0.10)" in text
    assert "the random map's AUC, 0.40, is better than Eigen-CAM’s (0.50)" in text
    alone = faithfulness_sentence(
        {"gradcam": curves(0.5, 0.5)}, {"random": curves(0.4, 0.5), "inverted": curves(0.6, 0.4)},
        "dog",
    )  # fmt: skip
    assert alone.startswith(
        "On this image Grad-CAM scores 0.00 (insertion minus deletion AUC), better than the same "
        "map inverted (-0.20). A random map scores 0.10: better than Grad-CAM (0.00);"
    )


def test_a_tie_names_no_winner():
    tie = faithfulness_sentence(
        {"gradcam": curves(0.2, 0.8), "eigencam": curves(0.204, 0.8)},
        {"random": curves(0.4, 0.5), "inverted": curves(0.6, 0.4)}, "dog",
    )  # fmt: skip
    assert "Most faithful" not in tie
    assert tie.startswith(
        "No one map wins on this image: a tie between Grad-CAM 0.60, Eigen-CAM 0.60 (insertion "
        "minus deletion AUC, within 0.01 of each other as shown)."
    )


def test_the_random_map_beating_every_method_on_deletion_is_said():
    # A screen that misled: random deletion 0.14 against 0.15-0.16, Grad-CAM++ "most faithful".
    text = faithfulness_sentence(
        {"gradcam": curves(0.16, 0.75), "layercam": curves(0.15, 0.76),
         "eigencam": curves(0.155, 0.70)},
        {"random": curves(0.14, 0.3), "inverted": curves(0.5, 0.2)}, "dog",
    )  # fmt: skip
    assert "where a lower AUC is the good end, the random map's AUC, 0.14, is " in text
    assert "better than Grad-CAM’s (0.16), Eigen-CAM’s (0.15)" in text  # 0.155 shows as 0.15
    assert "level with LayerCAM’s (0.15)" in text


def test_the_sanity_sentence_states_the_principle_and_the_numbers():
    original = result([[1.0, 0.0]])

    def step(name, label, rho):
        return SanityStep(name, label, 1, rho, 0.5, original)

    falls = SanityCheck(
        original,
        (step("fc", "classifier", 0.9), step("layer1.0", "stage 1, block 1", 0.1),
         step("stem", "stem", 0.2)),
        "gradcam", "layer2", 0, 0,
    )  # fmt: skip
    text = sanity_sentence(falls)
    assert text.startswith(SANITY_PRINCIPLE)
    assert "0.90 with only the classifier randomised, 0.20 with every layer" in text
    assert "lowest 0.10, after stage 1, block 1" in text
    assert "passes" in text
    stays = SanityCheck(original, (step("fc", "classifier", 0.95), step("stem", "stem", 0.9)),
                        "gradcam", "layer2", 0, 0)  # fmt: skip
    assert "changes little here" in sanity_sentence(stays)


def test_the_receptive_field_caption_says_when_a_cell_sees_the_whole_image():
    box = receptive_field_box(preset("resnet50"), "layer4", (3, 3), (3, 224, 224))
    text = receptive_field_caption(box, "layer4", (224, 224))
    assert "427×427 px receptive field" in text
    assert "larger than the 224×224 image" in text
    small = receptive_field_box(preset("resnet50"), "layer1.0", (10, 20), (3, 224, 224))
    assert "larger" not in receptive_field_caption(small, "layer1.0", (224, 224))
