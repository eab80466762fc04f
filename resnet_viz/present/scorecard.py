"""The scorecard's ranked table (a pandas DataFrame), the sentence naming the best map, and
the table as CSV bytes for a download.

**Ranking rule** (:func:`ranking_score`, defined once): insertion AUC minus deletion AUC
(:func:`.cam.combined_score`, the faithfulness sentence's own score), higher is better. Scores
are compared as shown, to :data:`~.wording.SCORE_DECIMALS` decimals, and two within
:data:`~.wording.TIE` of each other are a tie (:func:`.wording.score_order`): a map's rank is
1 + the number of maps that score *clearly* higher, so tied maps share a rank ("1, 1, 3").
The other columns (ROAD, average drop, increase in confidence, the sanity verdict) are shown
beside it and do not change the order: each is a different question about the map.

The sanity verdicts are given (method -> text), not computed here; a method without one
reads :data:`NOT_RUN`.

Pure: no Streamlit, no torch.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import pandas as pd

from ..analysis.attribution.scorecard import MapScore, Scorecard
from . import wording
from .cam import combined_score

__all__ = [
    "CLEAR_MARGIN",
    "COLUMNS",
    "NOT_RUN",
    "ranking_score",
    "ranks",
    "scorecard_csv",
    "scorecard_sentence",
    "scorecard_table",
]

#: The verdict of a map whose sanity check was not run.
NOT_RUN = "not run"
#: What the ranking score is, as the sentence names it.
RANKING = "insertion minus deletion AUC"

#: The table's columns, units and the good end in the names (the CSV's header too).
COLUMNS = (
    "rank",
    "method",
    "time (s)",
    "deletion AUC (lower better)",
    "insertion AUC (higher better)",
    "insertion − deletion AUC (ranks)",
    "ROAD (higher better)",
    "average drop (%, lower better)",
    "increase in confidence (%, higher better)",
    "sanity check",
)

#: A leader ahead of the next best by at least this much (as shown) ranks first "by a clear
#: margin"; ahead by more than :data:`~.wording.TIE` but less than this, "narrowly".
CLEAR_MARGIN = 0.05
CLEARLY, NARROWLY = "ranks first by a clear margin", "ranks first, narrowly"
#: The sentence's opening when no one map is ahead of every other by more than a tie.
NO_SINGLE_BEST = "No map ranks first on its own"
ONLY_ONE = "Only one map is scored"
PHRASES = frozenset({CLEARLY, NARROWLY, NO_SINGLE_BEST, ONLY_ONE})


def ranking_score(score: MapScore) -> float:
    """The score the table ranks by: :func:`.cam.combined_score` of the map's curves."""
    return combined_score(score.faithfulness)


def ranks(scores: Mapping[str, float]) -> dict[str, int]:
    """Each name's rank: 1 + the number of names whose score beats it by more than a tie
    (:func:`.wording.score_order`); tied names share a rank."""
    return {
        name: 1 + sum(wording.score_order(other, mine) == 1 for other in scores.values())
        for name, mine in scores.items()
    }


def scorecard_table(
    card: Scorecard,
    labels: Mapping[str, str] | None = None,
    seconds: Mapping[str, float] | None = None,
    verdicts: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """One row per map, best first (ties in the order given), with :data:`COLUMNS`.

    Args:
        card: the metrics.
        labels: map name -> the name shown (default: the name).
        seconds: map name -> how long the method took to make the map (absent: NaN).
        verdicts: map name -> the sanity check's verdict (absent: :data:`NOT_RUN`).
    """
    labels, seconds, verdicts = labels or {}, seconds or {}, verdicts or {}
    scores = {s.name: ranking_score(s) for s in card.scores}
    rank = ranks(scores)
    rows = []
    for s in card.scores:
        road = s.road_score
        values = (
            rank[s.name],
            labels.get(s.name, s.name),
            float(seconds.get(s.name, math.nan)),
            s.deletion_auc,
            s.insertion_auc,
            scores[s.name],
            math.nan if road is None else road,
            s.average_drop,
            s.increase,
            verdicts.get(s.name, NOT_RUN),
        )
        rows.append(dict(zip(COLUMNS, values, strict=True)))
    table = pd.DataFrame(rows, columns=list(COLUMNS))
    return table.sort_values("rank", kind="stable").reset_index(drop=True)


def scorecard_csv(table: pd.DataFrame) -> bytes:
    """The table as UTF-8 CSV, the column names (with their units) as the header."""
    return table.to_csv(index=False).encode("utf-8")


def scorecard_sentence(scores: Mapping[str, float]) -> str:
    """The best map by :func:`ranking_score` (``scores``: shown name -> score), or the tie.

    One map: :data:`ONLY_ONE`. Several: the leader "ranks first by a clear margin" when it is
    ahead of the next best by at least :data:`CLEAR_MARGIN` as shown, "narrowly" when by more
    than :data:`~.wording.TIE` but less; otherwise every map within a tie of the best is named.
    """
    units = {name: _units(value) for name, value in scores.items()}
    shown = {name: _text(u) for name, u in units.items()}
    if len(units) == 1:
        ((name, value),) = shown.items()
        return f"{ONLY_ONE}: {name}, {value} ({RANKING})."
    tied = wording.tied_with_best(dict(scores))
    if len(tied) > 1:
        listed = ", ".join(f"{n} {shown[n]}" for n in tied)
        return (
            f"{NO_SINGLE_BEST}: a tie between {listed} ({RANKING}, each within "
            f"{wording.TIE} of the best as shown)."
        )
    (best,) = tied
    second = max((n for n in units if n != best), key=units.get)
    lead = units[best] - units[second]
    phrase = CLEARLY if lead >= _units(CLEAR_MARGIN) else NARROWLY
    rule = "" if phrase == CLEARLY else f", under the {CLEAR_MARGIN} of a clear margin"
    return (
        f"{best} {phrase}: {RANKING} {shown[best]} against {shown[second]} for "
        f"{second}, the next best (ahead by {_text(lead)}{rule})."
    )


def _units(value: float) -> int:
    """A score in units of its last shown decimal, as :func:`.wording.score_order` counts."""
    return round(value * 10**wording.SCORE_DECIMALS)


def _text(units: int) -> str:
    """A score in those units, written with :data:`~.wording.SCORE_DECIMALS` decimals."""
    return f"{units / 10**wording.SCORE_DECIMALS:.{wording.SCORE_DECIMALS}f}"
