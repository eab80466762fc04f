"""Which layer should I use: the sentence agrees with the AUCs over their whole range
(Hypothesis) and every judgement in it was chosen by a threshold of present.wording; the table
and the figure show the numbers of the report; stages are named with their last block."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from resnet_viz.analysis.attribution.faithfulness import Faithfulness
from resnet_viz.analysis.attribution.layer_faithfulness import (
    FUSED,
    LayerFaithfulness,
    LayerRow,
)
from resnet_viz.present.layer_choice import (
    COLUMNS,
    choice_sentence,
    distinct_maps,
    layer_figure,
    layer_sentence,
    layer_table,
)
from tests.unit.present.test_wording import FAST, said

aucs = st.one_of(st.sampled_from([0.0, 0.14, 0.15, 0.16, 0.5, 1.0]), st.floats(0, 1))
NAMES = ["layer1 (layer1.0)", "layer2.0", "layer2 (layer2.1)", "layer3 (layer3.0)", "layer4.0"]


def shown(pair: tuple[float, float]) -> int:
    """The score as the sentence shows it, in hundredths."""
    deletion, insertion = pair
    return round(100 * (insertion - deletion))


@FAST
@given(st.lists(st.tuples(aucs, aucs), min_size=1, max_size=5), st.tuples(aucs, aucs))
def test_the_sentence_names_the_best_layers_and_judges_the_fused_map(pairs, fused):
    maps = dict(zip(NAMES, pairs, strict=False))
    text = said(lambda: choice_sentence(maps, fused, "LayerCAM"))[0]
    first, second = text.split(" The fused map ")
    scores = {n: shown(p) for n, p in maps.items()}
    best = max(scores.values())
    leaders = [n for n, v in scores.items() if v >= best - 1]
    assert ("Most faithful" in first) == (len(leaders) == 1)
    assert ("a tie" in first) == (len(leaders) > 1)
    if len(leaders) > 1:
        listed = first.split(" between ")[1].split(" (insertion minus")[0]
        assert [n for n in NAMES if n in listed] == leaders
    else:
        assert first.split(": ")[1].startswith(f"{leaders[0]} (")
    f = shown(fused)
    if f > best + 1:
        assert "better than" in second
    elif f < best - 1:
        assert "worse than" in second
    else:
        assert "level with" in second


def test_one_layer_has_no_next_best():
    text = said(lambda: choice_sentence({"layer1": (0.2, 0.6)}, (0.1, 0.9), "Grad-CAM"))[0]
    assert text == (
        "Most faithful of the Grad-CAM maps: layer1 (insertion minus deletion AUC 0.40). The "
        "fused map (every stage, LayerCAM's rule) scores 0.80, better than the best single "
        "layer (0.40)."
    )


def test_no_layer_is_refused():
    with pytest.raises(ValueError, match="at least one"):
        choice_sentence({}, (0.1, 0.2), "Grad-CAM")


def row(layer: str, depth: int, deletion: float, insertion: float, size=(4, 4)) -> LayerRow:
    empty = np.zeros(2)
    return LayerRow(
        layer, size, depth, Faithfulness(empty, empty, empty, deletion, insertion, 0, 5)
    )


def report() -> LayerFaithfulness:
    """ResNet (1, 2): layer1, layer1.0, layer2, layer2.0, layer2.1, then the fused map."""
    shared = row("layer2.1", 2, 0.10, 0.70, (2, 2))
    rows = (
        row("layer1", 0, 0.30, 0.40, (8, 8)), row("layer1.0", 0, 0.30, 0.40, (8, 8)),
        LayerRow("layer2", (2, 2), 2, shared.faithfulness), row("layer2.0", 1, 0.20, 0.50),
        shared, row(FUSED, 3, 0.05, 0.75, (32, 32)),
    )  # fmt: skip
    return LayerFaithfulness(rows, None, "layercam", 0, 60)


def test_the_table_has_every_row_and_its_numbers():
    table = layer_table(report())
    assert tuple(table.columns) == COLUMNS
    assert list(table["layer"]) == [
        "layer1", "layer1.0", "layer2", "layer2.0", "layer2.1", "fused (every stage)",
    ]  # fmt: skip
    assert list(table["map size"]) == ["8×8", "8×8", "2×2", "4×4", "2×2", "32×32"]
    np.testing.assert_allclose(table["insertion − deletion"], [0.1, 0.1, 0.6, 0.3, 0.6, 0.7])


def test_stages_are_named_once_with_their_last_block_in_forward_order():
    assert list(distinct_maps(report())) == ["layer1 (layer1.0)", "layer2.0", "layer2 (layer2.1)"]
    text = said(lambda: layer_sentence(report()))[0]
    assert text.startswith("Most faithful of the LayerCAM maps: layer2 (layer2.1) (")
    assert "scores 0.70, better than the best single layer (0.60)" in text


def test_the_figure_plots_both_aucs_against_depth_and_the_fused_levels():
    fig = layer_figure(report())
    deletion, fused_deletion, insertion, fused_insertion = fig.data
    assert list(deletion.x) == ["layer1 (layer1.0)", "layer2.0", "layer2 (layer2.1)"]
    np.testing.assert_allclose(deletion.y, [0.30, 0.20, 0.10])
    np.testing.assert_allclose(insertion.y, [0.40, 0.50, 0.70])
    np.testing.assert_allclose(fused_deletion.y, [0.05, 0.05])
    np.testing.assert_allclose(fused_insertion.y, [0.75, 0.75])
