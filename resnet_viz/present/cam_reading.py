"""Plain-language readings of the attention workbench: blank maps, which map is most faithful,
what the sanity check shows, what one cell's receptive field covers. No Streamlit here."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..analysis.attribution.cam import CamResult
from ..analysis.attribution.cell_field import ReceptiveFieldBox
from ..analysis.attribution.faithfulness import Faithfulness
from ..analysis.attribution.methods import METHOD_LABELS
from ..analysis.attribution.sanity import SanityCheck
from . import wording

#: The sentence the sanity-check section stands on (Adebayo et al. 2018).
SANITY_PRINCIPLE = (
    "An explanation that does not change when the weights are destroyed is not explaining the "
    "model."
)


def blank_map_message(result: CamResult, class_name: str, last_layer: str) -> str:
    """Why a map is empty, and what to try instead (for a :attr:`CamResult.blank` map)."""
    method = METHOD_LABELS.get(result.method, result.method)
    if result.counterfactual:
        return (
            f"{method} finds no counter-evidence for “{class_name}” at {result.layer}: no region "
            "lowers the class score at this layer, so the map of the negated gradient is empty "
            "(every weighted sum is ≤ 0 and the ReLU keeps nothing). Common for a confident "
            "prediction; try another class, or turn the counterfactual off."
        )
    later = (
        f"a later layer (the last stage, {last_layer}, is the usual choice)"
        if result.layer != last_layer
        else "another class"
    )
    return (
        f"{method} finds no positive evidence for “{class_name}” at {result.layer}: the "
        "weighted sum of the feature maps is ≤ 0 at every position, so the ReLU leaves an empty "
        "map. This is not an error: at early layers the features are not yet about the class, "
        f"and a class the model does not see leaves nothing to show. Try {later}."
    )


#: Kept for callers: the threshold lives with the words, in :mod:`.wording`.
TIE = wording.TIE


def combined_score(curves: Faithfulness) -> float:
    """Insertion AUC minus deletion AUC: high when the map's top pixels both carry the class
    (putting them back restores it) and are needed (removing them destroys it)."""
    return curves.insertion_auc - curves.deletion_auc


def _groups(verdicts: Mapping[str, str], values: Mapping[str, float], own: str = "") -> str:
    """``{"Grad-CAM": "better than", ...}`` -> "better than Grad-CAM (0.16) and level with
    LayerCAM (0.15)", every verdict a phrase chosen by :mod:`.wording`."""
    parts = []
    for verdict in dict.fromkeys(verdicts.values()):
        names = [n for n, v in verdicts.items() if v == verdict]
        listed = ", ".join(f"{n}{own} ({values[n]:.2f})" for n in names)
        every = len(names) == len(verdicts) > 1
        parts.append(f"{verdict} {'every method' if every else listed}")
    return " and ".join(parts)


def faithfulness_sentence(
    curves: Mapping[str, Faithfulness], references: Mapping[str, Faithfulness], class_name: str
) -> str:
    """Which map is most faithful on this image (only when one is, beyond a tie), and where
    the random map stands against the methods, on the combined score and on deletion alone.

    ``curves`` maps method names to their curves; ``references`` holds ``"random"`` and
    ``"inverted"`` (the first method's map upside down). Scores are judged as shown, to
    :data:`~.wording.SCORE_DECIMALS` decimals; within :data:`TIE` is a tie."""
    labels = {name: METHOD_LABELS.get(name, name) for name in curves}
    scores = {labels[n]: combined_score(c) for n, c in curves.items()}
    deletion = {labels[n]: c.deletion_auc for n, c in curves.items()}
    random = references["random"]
    random_score = combined_score(random)
    score = "insertion minus deletion AUC"
    if len(scores) == 1:
        ((name, value),) = scores.items()
        inverted = combined_score(references["inverted"])
        verdict = wording.against_phrase(value, inverted)
        sentences = [
            f"On this image {name} scores {value:.2f} ({score}), {verdict} the same map "
            f"inverted ({inverted:.2f})."
        ]
    else:
        tied = wording.tied_with_best(scores)
        head = wording.winner_phrase(len(tied))
        if len(tied) == 1:
            best = tied[0]
            rest = {n: v for n, v in scores.items() if n != best}
            second = max(rest, key=rest.get)
            sentences = [
                f"{head} on this image: {best} ({score} {scores[best]:.2f}, against "
                f"{rest[second]:.2f} for {second}, the next best)."
            ]
        else:
            listed = ", ".join(f"{n} {scores[n]:.2f}" for n in tied)
            sentences = [
                f"No one map wins on this image: {head} between {listed} ({score}, within "
                f"{wording.TIE} of each other as shown)."
            ]
    verdicts = {n: wording.against_phrase(random_score, v) for n, v in scores.items()}
    sentences.append(
        f"A random map scores {random_score:.2f}: {_groups(verdicts, scores)}"
        + (
            "."
            if set(verdicts.values()) == {wording.BELOW}
            else f"; there a map tells nothing about the model's “{class_name}” that a random one "
            "does not."
        )
    )
    on_deletion = {n: wording.against_phrase(-random.deletion_auc, -v) for n, v in deletion.items()}
    not_worse = {n: v for n, v in on_deletion.items() if v != wording.BELOW}
    if not_worse:
        sentences.append(
            f"On deletion alone, where a lower AUC is the good end, the random map's AUC, "
            f"{random.deletion_auc:.2f}, is {_groups(not_worse, deletion, own='’s')}: "
            "removing random pixels lowers the probability of "
            f"“{class_name}” at least as quickly as removing the pixels "
            f"{'that map ranks' if len(not_worse) == 1 else 'those maps rank'} first."
        )
    return " ".join(sentences)


def sanity_sentence(check: SanityCheck) -> str:
    """What the cascade shows, in numbers, after the principle."""
    first, last = check.steps[0], check.steps[-1]
    lowest = min(check.steps, key=lambda s: s.rank_correlation)
    method = METHOD_LABELS.get(check.method, check.method)
    outcome = wording.sanity_phrase(
        round(last.rank_correlation, 2), round(lowest.rank_correlation, 2),
        round(first.rank_correlation, 2),
    )  # fmt: skip
    verdict = (
        f"{method} at {check.layer} {outcome}: its map follows the weights."
        if outcome == wording.PASSES
        else f"{method} at {check.layer} {outcome} here: be wary of reading it as the "
        "model's reasons."
    )
    return (
        f"{SANITY_PRINCIPLE} Rank correlation with the original map: {first.rank_correlation:.2f} "
        f"with only the classifier randomised, {last.rank_correlation:.2f} with every layer "
        f"randomised (lowest {lowest.rank_correlation:.2f}, after {lowest.label}). {verdict}"
    )


def receptive_field_caption(box: ReceptiveFieldBox, layer: str, image_size: Sequence[int]) -> str:
    """What one cell of the map can see."""
    height, width = image_size
    row, col = box.cell
    text = (
        f"Cell ({row}, {col}) of the {box.grid[0]}×{box.grid[1]} map at {layer} is centred on "
        f"pixel ({box.center[0]}, {box.center[1]}); cells are {box.stride} px apart, but each "
        f"one's value depends on a {box.size}×{box.size} px receptive field."
    )
    extent = wording.extent_phrase(box.size, height, width)
    if extent == wording.LARGER_THAN_IMAGE:
        return (
            f"{text} That is {extent} the {height}×{width} image: this cell can see the whole "
            "image, so the map says where the evidence lies, not which pixels the cell saw."
        )
    if extent is not None:
        side = "width" if extent == wording.WIDER else "height"
        return (
            f"{text} That is {extent} the {height}×{width} image: this cell sees its whole {side}."
        )
    if box.clipped:
        return f"{text} Near the border part of that field is padding; the box shows the rest."
    return text
