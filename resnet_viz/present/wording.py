"""The qualitative words a reading may use about a result, each chosen here by a threshold.

A reading (the plain-language sentences beside a chart) never writes a judgement such as "a
fraction", "about twice", "grows", "smaller", "rougher" or "a tie" itself: it asks one of the
functions below, which compare the numbers with the thresholds defined beside the words, once.
Every phrase these functions can return is in :data:`PHRASES`, and :func:`trace` records the
phrases chosen while a reading runs, so a test can check that each qualitative word in a
sentence was chosen by a threshold from the numbers it describes.

Pure: no Streamlit, no torch.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar

_chosen: ContextVar[list[str] | None] = ContextVar("resnet_viz_chosen_words", default=None)


@contextmanager
def trace() -> Iterator[list[str]]:
    """Collect, in order, every phrase this module returns inside the ``with`` block."""
    chosen: list[str] = []
    token = _chosen.set(chosen)
    try:
        yield chosen
    finally:
        _chosen.reset(token)


def _say(phrase: str) -> str:
    log = _chosen.get()
    if log is not None:
        log.append(phrase)
    return phrase


# ----------------------------------------------------------------- relative size (a / b >= 0)

#: "About" a factor means within this factor of it, either way (0.8-1.25 is "about as large").
ABOUT = 1.25
#: Below this ratio the first quantity is "a small correction to" the second (under half).
SMALL_CORRECTION = 0.5
#: From this ratio up, "much larger than": more than ``ABOUT`` past twice.
MUCH_LARGER = 2 * ABOUT
#: ``(upper bound, phrase)``: a ratio r gets the phrase of the first band with r < bound,
#: read as "F(x) is <phrase> its input".
SIZE_BANDS: tuple[tuple[float, str], ...] = (
    (SMALL_CORRECTION, "a small correction to"),
    (1 / ABOUT, "smaller than"),
    (ABOUT, "about as large as"),
    (2 / ABOUT, "larger than"),
    (MUCH_LARGER, "about twice as large as"),
    (math.inf, "much larger than"),
)
ZERO_SIZE = "zero: nothing is added to"
UNDEFINED_SIZE = "of undefined size (0/0) next to"


def size_phrase(ratio: float) -> str:
    """How large a quantity is next to another, from their ratio (``‖F(x)‖/‖x‖ = 1.96`` ->
    "about twice as large as"); 0 -> :data:`ZERO_SIZE`, NaN -> :data:`UNDEFINED_SIZE`,
    +inf -> "much larger than"."""
    if math.isnan(ratio):
        return _say(UNDEFINED_SIZE)
    if ratio == 0:
        return _say(ZERO_SIZE)
    for bound, phrase in SIZE_BANDS:
        if ratio < bound:
            return _say(phrase)
    return _say(SIZE_BANDS[-1][1])  # only +inf gets here


# ---------------------------------------------------------- gradient direction (first / last)

#: A first/last gradient-norm ratio more than this factor from 1 counts as growing or shrinking.
STEADY_FACTOR = 2.0
GROWS, SHRINKS, STEADY = (
    "grows toward the input",
    "shrinks toward the input",
    "keeps roughly its size",
)
#: A factor this large between the two networks' ratios, with the network's own ratio this far
#: from 1, counts as exploding (or vanishing) rather than merely growing (shrinking).
CLEAR_DIFFERENCE = 10.0
EXPLODES, VANISHES = "explodes toward the input", "vanishes toward the input"


def direction(ratio: float) -> str:
    """:data:`GROWS` above :data:`STEADY_FACTOR`, :data:`SHRINKS` below its inverse, else
    :data:`STEADY` (the ratio must be a number; +inf grows, 0 shrinks)."""
    if ratio > STEADY_FACTOR:
        return _say(GROWS)
    if ratio < 1 / STEADY_FACTOR:
        return _say(SHRINKS)
    return _say(STEADY)


def extreme(ratio: float, other: float) -> str | None:
    """:data:`EXPLODES` when ``ratio`` is at least :data:`CLEAR_DIFFERENCE` and that many times
    ``other``; :data:`VANISHES` when both are at most its inverse; otherwise None."""
    if ratio >= CLEAR_DIFFERENCE and ratio >= CLEAR_DIFFERENCE * other:
        return _say(EXPLODES)
    if ratio <= 1 / CLEAR_DIFFERENCE and other > 0 and ratio * CLEAR_DIFFERENCE <= other:
        return _say(VANISHES)
    return None


MORE, ABOUT_AS_MUCH = "more", "about as much"
MORE_EVEN, ABOUT_AS_EVEN = "the more even", "about as even"


def distance_from_one(ratio: float) -> float:
    """How far a ratio is from 1 as a factor (2 and 0.5 are both 2)."""
    if ratio <= 0 or math.isinf(ratio):
        return math.inf
    return math.exp(abs(math.log(ratio)))


def which_more(a: float, b: float) -> int:
    """Which of two ratios moves further from 1: 1 for ``a``, -1 for ``b``, 0 when their
    distances from 1 are within :data:`ABOUT` of each other. The phrases are :data:`MORE` and
    :data:`ABOUT_AS_MUCH` (see :func:`more_phrase`)."""
    da, db = distance_from_one(a), distance_from_one(b)
    if math.isinf(da) and math.isinf(db):
        return 0
    if da >= ABOUT * db:
        return 1
    if db >= ABOUT * da:
        return -1
    return 0


def more_phrase(order: int) -> str:
    """The phrase for :func:`which_more`'s answer."""
    return _say(ABOUT_AS_MUCH if order == 0 else MORE)


def even_phrase(order: int) -> str:
    """The phrase for "which gradient stays closer to its last layer's size": 0 (within
    :data:`ABOUT`) -> :data:`ABOUT_AS_EVEN`, otherwise :data:`MORE_EVEN`."""
    return _say(ABOUT_AS_EVEN if order == 0 else MORE_EVEN)


# --------------------------------------------------------- share of a whole (0 <= share <= 1)

#: ``(upper bound, phrase)`` for a share of the theoretical receptive field's side, read as
#: "the box fills <phrase> the theoretical side"; a share of exactly 1 or more fills "all of" it.
SHARE_BANDS: tuple[tuple[float, str], ...] = (
    (0.5, "only a fraction of"),
    (0.9, "most of"),
    (1.0, "nearly all of"),
)
ALL_OF = "all of"
FRACTION = SHARE_BANDS[0][1]


def share_phrase(share: float) -> str:
    """``0.3`` -> "only a fraction of"; ``1.0`` -> "all of" (NaN counts as none of it)."""
    if share >= 1:
        return _say(ALL_OF)
    for bound, phrase in SHARE_BANDS:
        if not share >= bound:  # NaN lands in the first band
            return _say(phrase)
    raise AssertionError("unreachable")


# ------------------------------------------------------------ ordering of two measured values

#: Two receptive-field sides (whole pixels) differing by at most this many pixels are the same.
SAME_SIDE_PX = 0
SIDE_WORDS = ("smaller", "the same size", "larger")
CHANGE_WORDS = ("shrank", "did not change", "grew")


def order(a: float, b: float, tolerance: float = 0.0) -> int:
    """-1 when ``a < b - tolerance``, 1 when ``a > b + tolerance``, else 0."""
    if a < b - tolerance:
        return -1
    if a > b + tolerance:
        return 1
    return 0


def side_word(a: int, b: int) -> str:
    """How side ``a`` compares with side ``b``: "smaller", "the same size" or "larger"."""
    return _say(SIDE_WORDS[order(a, b, SAME_SIDE_PX) + 1])


def change_word(before: int, after: int) -> str:
    """How a side changed: "shrank", "did not change" or "grew"."""
    return _say(CHANGE_WORDS[order(after, before, SAME_SIDE_PX) + 1])


# ----------------------------------------------------------------------- training errors

#: Two training errors (fractions) within this many points of each other are "about as good".
ERROR_MARGIN = 0.05
ERROR_WORDS = ("better than", "about as good as", "worse than")


def error_word(error: float, other: float) -> str:
    """How a network with training ``error`` compares with one at ``other``."""
    return _say(ERROR_WORDS[order(error, other, ERROR_MARGIN) + 1])


def clearly_worst(error: float, others: Sequence[float]) -> bool:
    """True when ``error`` is more than :data:`ERROR_MARGIN` above every one of ``others``."""
    return all(error > other + ERROR_MARGIN for other in others)


TRAINS_WORST = "trains worst"
NOT_CLEARLY_WORST = "does not train clearly worst"


def worst_phrase(is_worst: bool) -> str:
    """The phrase for :func:`clearly_worst`'s answer."""
    return _say(TRAINS_WORST if is_worst else NOT_CLEARLY_WORST)


#: A lesion costs "less than" this much accuracy counts as harmless.
HARMLESS = 0.05
COSTLIEST = "the costliest"
#: Accuracy drops within this of the largest tie for costliest (a tenth of a point: the page
#: shows drops to 0.1 point).
SAME_DROP = 0.0005


def costliest(drops: dict[str, float]) -> list[str]:
    """The names whose drop is within :data:`SAME_DROP` of the largest (ties share it)."""
    top = max(drops.values())
    _say(COSTLIEST)
    return [name for name, drop in drops.items() if drop >= top - SAME_DROP]


# ------------------------------------------------------------------------- loss landscapes

#: A surface counts as rougher when its non-convex share is this many points higher.
ROUGHER_BY = 0.05
#: Roughness is judged only on grids with at least this many points per axis: the share is
#: counted over the (n - 2)² interior points, and at 11 × 11 one point moves it by 1/81 =
#: 1.2 %, a quarter of :data:`ROUGHER_BY`; at 5 × 5 one point is 11 % of the share.
MIN_GRID_POINTS = 11
ROUGHER, NOT_ROUGHER = "rougher", "not rougher"
TOO_COARSE = "too coarse to judge which surface is rougher"


def coarse(points_per_axis: int) -> bool:
    """True when a grid has too few points to judge roughness (:data:`MIN_GRID_POINTS`)."""
    return points_per_axis < MIN_GRID_POINTS


def too_coarse_phrase() -> str:
    return _say(TOO_COARSE)


def rougher_phrase(share: float, other: float) -> str:
    """ "rougher" when ``share`` exceeds ``other`` by more than :data:`ROUGHER_BY`."""
    return _say(ROUGHER if share > other + ROUGHER_BY else NOT_ROUGHER)


# ---------------------------------------------------------- faithfulness scores (AUCs, 0..1)

#: Scores are shown with this many decimals, and compared as shown.
SCORE_DECIMALS = 2
#: Two scores whose shown values differ by at most this much are a tie.
TIE = 0.01
MOST_FAITHFUL, A_TIE = "Most faithful", "a tie"
BEATS, LEVEL_WITH, BELOW = "better than", "level with", "worse than"


def _units(score: float) -> int:
    return round(score * 10**SCORE_DECIMALS)


def score_order(a: float, b: float) -> int:
    """1 when score ``a`` (higher is better) beats ``b`` by more than :data:`TIE` as shown,
    -1 when ``b`` beats ``a``, 0 for a tie (NaN ties with nothing and loses)."""
    if math.isnan(a) or math.isnan(b):
        return 0 if math.isnan(a) and math.isnan(b) else (-1 if math.isnan(a) else 1)
    diff = _units(a) - _units(b)
    tie = round(TIE * 10**SCORE_DECIMALS)
    return 1 if diff > tie else -1 if diff < -tie else 0


def tied_with_best(scores: dict[str, float]) -> list[str]:
    """The names tied with the highest score (one name when there is a clear winner)."""
    best = max(scores, key=lambda n: (not math.isnan(scores[n]), scores[n]))
    return [n for n in scores if score_order(scores[n], scores[best]) == 0]


def winner_phrase(tied: int) -> str:
    """:data:`MOST_FAITHFUL` for one winner, :data:`A_TIE` when ``tied`` > 1 share the top."""
    return _say(MOST_FAITHFUL if tied == 1 else A_TIE)


def against_phrase(a: float, b: float) -> str:
    """How score ``a`` compares with ``b`` (higher better): "better than", "level with" or
    "worse than"."""
    return _say({1: BEATS, 0: LEVEL_WITH, -1: BELOW}[score_order(a, b)])


#: A sanity-check map passes when its rank correlation with the original falls below this.
SANITY_PASS = 0.5
PASSES, CHANGES_LITTLE = "passes", "changes little"


def sanity_phrase(last: float, lowest: float, first: float) -> str:
    """:data:`PASSES` when the fully randomised map's correlation is below :data:`SANITY_PASS`
    and the lowest is below the first; else :data:`CHANGES_LITTLE`."""
    return _say(PASSES if last < SANITY_PASS and lowest < first else CHANGES_LITTLE)


# --------------------------------------------------------------------- a box against an image

LARGER_THAN_IMAGE, WIDER, TALLER = "larger than", "wider than", "taller than"


def extent_phrase(size: int, height: int, width: int) -> str | None:
    """How a square of ``size`` compares with an image: "larger than" (both sides), "wider
    than", "taller than", or None when it fits."""
    if size > height and size > width:
        return _say(LARGER_THAN_IMAGE)
    if size > width:
        return _say(WIDER)
    if size > height:
        return _say(TALLER)
    return None


#: Every phrase a function here can return.
PHRASES: frozenset[str] = frozenset(
    [phrase for _, phrase in SIZE_BANDS]
    + [ZERO_SIZE, UNDEFINED_SIZE, GROWS, SHRINKS, STEADY, EXPLODES, VANISHES]
    + [MORE, ABOUT_AS_MUCH, MORE_EVEN, ABOUT_AS_EVEN]
    + [phrase for _, phrase in SHARE_BANDS]
    + [ALL_OF, *SIDE_WORDS, *CHANGE_WORDS, *ERROR_WORDS, TRAINS_WORST, NOT_CLEARLY_WORST]
    + [COSTLIEST, ROUGHER, NOT_ROUGHER, TOO_COARSE, MOST_FAITHFUL, A_TIE]
    + [BEATS, LEVEL_WITH, BELOW, PASSES, CHANGES_LITTLE, LARGER_THAN_IMAGE, WIDER, TALLER]
)


def tally(words: Sequence[str], noun: str) -> str:
    """``["smaller", "the same size"]`` -> "smaller in 1 pair, the same size in 1 pair"."""
    counts = {w: words.count(w) for w in dict.fromkeys(words)}
    return ", ".join(f"{w} in {n} {noun}{'s' * (n != 1)}" for w, n in counts.items())
