"""Plain-language readings of the attention workbench: blank maps, which map is most faithful,
what the sanity check shows, what one cell's receptive field covers. No Streamlit here."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..analysis.cam import CamResult
from ..analysis.cam_methods import METHOD_LABELS
from ..analysis.cell_field import ReceptiveFieldBox
from ..analysis.faithfulness import Faithfulness
from ..analysis.sanity import SanityCheck

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


#: Two maps whose insertion-minus-deletion AUCs differ by less than this are called a tie.
TIE = 0.01


def combined_score(curves: Faithfulness) -> float:
    """Insertion AUC minus deletion AUC: high when the map's top pixels both carry the class
    (putting them back restores it) and are needed (removing them destroys it)."""
    return curves.insertion_auc - curves.deletion_auc


def faithfulness_sentence(
    curves: Mapping[str, Faithfulness], references: Mapping[str, Faithfulness], class_name: str
) -> str:
    """One sentence: which map is most faithful on this image and by how much.

    ``curves`` maps method names to their curves; ``references`` holds ``"random"`` and
    ``"inverted"`` (the first method's map upside down)."""
    ranked = sorted(curves.items(), key=lambda item: combined_score(item[1]), reverse=True)
    best_name, best = ranked[0]
    label = METHOD_LABELS.get(best_name, best_name)
    score = combined_score(best)
    if len(ranked) > 1:
        second_name, second = ranked[1]
        second_label = METHOD_LABELS.get(second_name, second_name)
        margin = score - combined_score(second)
        if margin < TIE:
            other = (
                f"{combined_score(second):.2f} for {second_label}, the next best: a tie on "
                f"this image, within {TIE}"
            )
        else:
            other = f"{combined_score(second):.2f} for {second_label}, the next best"
    else:
        other = f"{combined_score(references['inverted']):.2f} for the same map inverted"
    random = combined_score(references["random"])
    verdict = "better" if score > random else "no better"
    return (
        f"Most faithful on this image: {label}. Removing the pixels it ranks highest makes the "
        f"probability of “{class_name}” fall fastest and putting them back first restores it "
        f"fastest (insertion minus deletion AUC {score:.2f}, against {other}; a random map "
        f"scores {random:.2f}, so this map is {verdict} than chance)."
    )


def sanity_sentence(check: SanityCheck) -> str:
    """What the cascade shows, in numbers, after the principle."""
    first, last = check.steps[0], check.steps[-1]
    lowest = min(check.steps, key=lambda s: s.rank_correlation)
    method = METHOD_LABELS.get(check.method, check.method)
    verdict = (
        f"{method} at {check.layer} passes: its map changes with the weights."
        if last.rank_correlation < 0.5 and lowest.rank_correlation < first.rank_correlation
        else f"{method} at {check.layer} changes little here: be wary of reading it as the "
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
    if box.larger_than_image:
        return (
            f"{text} That is larger than the {height}×{width} image: this cell can see all of "
            "it, so the map says where evidence is strongest, not which pixels the cell saw."
        )
    if box.clipped:
        return f"{text} Near the border part of that field is padding; the box shows the rest."
    return text
