"""The scorecard's table, sentence and CSV: ranks follow insertion minus deletion with ties
kept (property tests over the whole range of the AUCs), the sentence never contradicts the
numbers, the verdicts and times are the ones given, and the CSV reads back equal."""

from __future__ import annotations

import io
import math
import re

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from resnet_viz.analysis.attribution.confidence import AverageDrop
from resnet_viz.analysis.attribution.faithfulness import Faithfulness
from resnet_viz.analysis.attribution.road import Road
from resnet_viz.analysis.attribution.scorecard import MapScore, Scorecard
from resnet_viz.present import wording
from resnet_viz.present.scorecard import (
    CLEAR_MARGIN,
    CLEARLY,
    COLUMNS,
    NARROWLY,
    NO_SINGLE_BEST,
    NOT_RUN,
    ONLY_ONE,
    ranks,
    scorecard_csv,
    scorecard_sentence,
    scorecard_table,
)

auc = st.floats(0, 1, allow_nan=False)
names = st.text("ABCDEFGH", min_size=1, max_size=3)
score_sets = st.dictionaries(names, st.floats(-1, 1, allow_nan=False), min_size=1, max_size=6)


def units(value: float) -> int:
    return round(value * 10**wording.SCORE_DECIMALS)


def map_score(name: str, deletion: float, insertion: float, road: float | None = None):
    fractions = np.array([0.0, 1.0])
    curves = Faithfulness(fractions, np.array([deletion] * 2), np.array([insertion] * 2),
                          deletion, insertion, 0, 5)  # fmt: skip
    confidence = AverageDrop(12.5, 0.0, np.array([0.8]), np.array([0.7]), (0,))
    roaded = None
    if road is not None:
        a = np.array([0.1])
        # combined = (lerf_average - morf_average) / 2 = road
        roaded = Road(a, 0.5, a, a, morf_average=-road, lerf_average=road, combined=road,
                      target_class=0, forward_passes=3)  # fmt: skip
    return MapScore(name, curves, confidence, roaded, None if road is None else 1.0)


def card_of(rows) -> Scorecard:
    return Scorecard(tuple(map_score(*r) for r in rows), 0, 1, any(len(r) > 3 for r in rows))


# The ranks ------------------------------------------------------------------------------------


@given(score_sets)
def test_a_rank_counts_the_maps_clearly_ahead(scores):
    got = ranks(scores)
    tie = round(wording.TIE * 10**wording.SCORE_DECIMALS)
    for name, mine in scores.items():
        ahead = [o for o in scores.values() if units(o) - units(mine) > tie]
        assert got[name] == 1 + len(ahead)
    best = max(scores.values())
    assert {n for n, r in got.items() if r == 1} >= {n for n, v in scores.items() if v == best}


def test_ties_share_a_rank_by_hand():
    assert ranks({"A": 0.30, "B": 0.29, "C": 0.27, "D": 0.10}) == {"A": 1, "B": 1, "C": 3, "D": 4}


# The sentence ---------------------------------------------------------------------------------


@given(score_sets)
def test_the_sentence_never_contradicts_the_numbers(scores):
    text = scorecard_sentence(scores)
    shown = {n: units(v) for n, v in scores.items()}
    if len(scores) == 1:
        ((name, value),) = shown.items()
        assert text == f"{ONLY_ONE}: {name}, {value / 100:.2f} (insertion minus deletion AUC)."
        return
    top = max(shown.values())
    tie = round(wording.TIE * 100)
    near = [n for n, u in shown.items() if top - u <= tie]
    if len(near) > 1:
        assert text.startswith(NO_SINGLE_BEST)
        assert CLEARLY not in text
        assert NARROWLY not in text
        for n in near:
            assert f"{n} {shown[n] / 100:.2f}" in text
        return
    (best,) = near
    second = max(u for n, u in shown.items() if n != best)
    lead = top - second
    assert lead > tie
    phrase = CLEARLY if lead >= round(CLEAR_MARGIN * 100) else NARROWLY
    other = NARROWLY if phrase == CLEARLY else CLEARLY
    assert text.startswith(f"{best} {phrase}: ")
    assert other not in text
    assert NO_SINGLE_BEST not in text
    assert f"insertion minus deletion AUC {top / 100:.2f} against {second / 100:.2f}" in text
    assert f"ahead by {lead / 100:.2f}" in text


def test_the_sentence_by_hand():
    assert scorecard_sentence({"Grad-CAM": 0.40, "Saliency": 0.20}) == (
        "Grad-CAM ranks first by a clear margin: insertion minus deletion AUC 0.40 against "
        "0.20 for Saliency, the next best (ahead by 0.20)."
    )
    assert scorecard_sentence({"Grad-CAM": 0.40, "Saliency": 0.37}).startswith(
        "Grad-CAM ranks first, narrowly: "
    )
    assert scorecard_sentence({"Grad-CAM": 0.40, "Saliency": 0.39}).startswith(
        "No map ranks first on its own: a tie between Grad-CAM 0.40, Saliency 0.39"
    )


# The table and its CSV ------------------------------------------------------------------------


@given(st.lists(st.tuples(auc, auc), min_size=1, max_size=5), st.booleans())
def test_the_table_is_ordered_by_rank_with_every_number_in_place(aucs, with_road):
    rows = [(f"m{i}", d, ins, (ins - d) / 3 if with_road else None)
            for i, (d, ins) in enumerate(aucs)]  # fmt: skip
    card = card_of(rows)
    table = scorecard_table(card, labels={"m0": "Grad-CAM"}, seconds={"m1": 0.25},
                            verdicts={"m0": "passes"})  # fmt: skip
    assert tuple(table.columns) == COLUMNS
    assert list(table["rank"]) == sorted(table["rank"])
    by = {("Grad-CAM" if r[0] == "m0" else r[0]): r for r in rows}
    for _, row in table.iterrows():
        _, deletion, insertion, road = by[row["method"]]
        assert row["deletion AUC (lower better)"] == deletion
        assert row["insertion AUC (higher better)"] == insertion
        assert row["insertion − deletion AUC (ranks)"] == insertion - deletion
        assert (math.isnan(row["ROAD (higher better)"]) if road is None
                else row["ROAD (higher better)"] == road)  # fmt: skip
        assert row["average drop (%, lower better)"] == 12.5
        name = row["method"]
        assert row["sanity check"] == ("passes" if name == "Grad-CAM" else NOT_RUN)
        assert (row["time (s)"] == 0.25) if name == "m1" else math.isnan(row["time (s)"])
    expected = ranks({r[0]: r[2] - r[1] for r in rows})
    assert sorted(table["rank"]) == sorted(expected.values())


def test_the_csv_reads_back_equal_with_its_units_in_the_header():
    card = card_of([("gradcam", 0.2, 0.7, 0.1), ("saliency", 0.3, 0.5, None)])
    table = scorecard_table(card, labels={"gradcam": "Grad-CAM", "saliency": "Saliency"},
                            seconds={"gradcam": 0.012, "saliency": 0.5},
                            verdicts={"gradcam": "passes: ρ = 0.12"})  # fmt: skip
    data = scorecard_csv(table)
    header = data.decode("utf-8").splitlines()[0]
    assert "time (s)" in header
    assert "average drop (%, lower better)" in header
    back = pd.read_csv(io.BytesIO(data))
    pd.testing.assert_frame_equal(back, table, check_exact=True)
    assert list(back["method"]) == ["Grad-CAM", "Saliency"]  # 0.5 beats 0.2
    assert list(back["sanity check"]) == ["passes: ρ = 0.12", NOT_RUN]
    assert re.fullmatch(r"\d+", str(back["rank"][0]))
