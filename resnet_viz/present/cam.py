"""The Grad-CAM page and the attention workbench, presented: the top-5 chart, the faithfulness
curves, the sanity check, the receptive-field box drawn on an image, and the plain-language
readings of them (blank maps, which map is most faithful, what the sanity check shows, what one
cell sees; every judgement chosen by :mod:`.wording`). The heatmap pictures themselves are
:mod:`.heatmaps`. No Streamlit calls.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import plotly.graph_objects as go
from PIL import Image, ImageDraw
from plotly.subplots import make_subplots

from ..analysis.attribution.cam import CamResult
from ..analysis.attribution.cell_field import ReceptiveFieldBox
from ..analysis.attribution.faithfulness import Faithfulness
from ..analysis.attribution.methods import CAM_METHODS, METHOD_LABELS
from ..analysis.attribution.pixel import METHOD_LABELS as PIXEL_LABELS
from ..analysis.attribution.sanity import SanityCheck
from . import wording
from .colours import (
    DARK_REFERENCE_GREY,
    REFERENCE_GREY,
    RESIDUAL_COLOUR,
    SERIES_COLOURS,
    series_styles,
)
from .figure_layout import title_layout, titled_layout


def top_k_figure(top_k: list[tuple[int, float]], categories: list[str], target: int) -> go.Figure:
    """The most probable classes as horizontal bars, the explained class highlighted."""
    labels = [categories[i] if i < len(categories) else f"class {i}" for i, _ in top_k]
    layout = title_layout(f"Top {len(top_k)} classes", height=60 + 40 * len(top_k))
    layout["xaxis"] = {"range": [0, 1], "tickformat": ".0%", "title": {"text": "probability"}}
    return go.Figure(
        go.Bar(
            x=[p for _, p in top_k][::-1],
            y=labels[::-1],
            orientation="h",
            marker_color=[RESIDUAL_COLOUR if i == target else "#AAAAAA" for i, _ in top_k][::-1],
            text=[f"{p:.1%}" for _, p in top_k][::-1],
            textposition="auto",
            hovertemplate="%{y}: %{x:.2%}<extra></extra>",
        ),
        layout=layout,
    )


#: Colour, dash and marker per method, stable across charts (present/colours.py: distinct on
#: a projector, on a dark page and without colour).
METHOD_STYLES = dict(zip(CAM_METHODS, series_styles(len(CAM_METHODS)), strict=True))
METHOD_COLOURS = {name: colour for name, (colour, _, _) in METHOD_STYLES.items()}
#: The reference maps: label, colour, dash, marker (open markers: not one of the methods).
REFERENCE_STYLE = {
    "random": ("random map", REFERENCE_GREY, "dot", "circle-open"),
    "inverted": ("inverted map", DARK_REFERENCE_GREY, "dash", "square-open"),
}


def faithfulness_figure(
    curves: Mapping[str, Faithfulness], references: Mapping[str, Faithfulness], class_name: str
) -> go.Figure:
    """Deletion (left) and insertion (right) curves: the probability of the class against
    the fraction of pixels removed or inserted in each map's order; the reference maps grey,
    with open markers. Each method has its own colour, dash and marker (:data:`METHOD_STYLES`).
    Legend entries carry the AUCs (deletion: lower is better; insertion: higher is better)."""
    fig = make_subplots(
        rows=1, cols=2, shared_yaxes=True,
        subplot_titles=("Deletion (lower is better)", "Insertion (higher is better)"),
    )  # fmt: skip
    fallback = iter(series_styles(len(curves)))  # a method this module does not know
    entries = [(name, METHOD_LABELS.get(name, name), *METHOD_STYLES.get(name, next(fallback)), c)
               for name, c in curves.items()]  # fmt: skip
    entries += [(name, *REFERENCE_STYLE[name], c) for name, c in references.items()]
    for name, label, colour, dash, marker, c in entries:
        panels = ((1, "deletion", c.deletion, c.deletion_auc),
                  (2, "insertion", c.insertion, c.insertion_auc))  # fmt: skip
        for col, which, values, auc in panels:
            fig.add_trace(
                go.Scatter(
                    x=list(c.fractions), y=list(values), mode="lines+markers",
                    name=f"{label} (AUC {c.deletion_auc:.2f} / {c.insertion_auc:.2f})",
                    legendgroup=name, showlegend=col == 1,
                    line={"color": colour, "dash": dash, "width": 2.5},
                    marker={"symbol": marker, "size": 7, "color": colour},
                    hovertemplate=f"{label}, {which}: %{{x:.0%}} of pixels → p = %{{y:.3f}} "
                    f"(AUC {auc:.3f})<extra></extra>",
                ),
                row=1, col=col,
            )  # fmt: skip
    fig.update_xaxes(tickformat=".0%", range=[0, 1], title_text="fraction of pixels")
    fig.update_yaxes(range=[0, 1.02], title_text=f"p({class_name})", row=1, col=1)
    fig = titled_layout(fig, f"How faithful is each map to the model's “{class_name}”?", height=420)
    fig.update_layout(showlegend=True, legend={"orientation": "h", "y": -0.25})
    return fig


def sanity_figure(check: SanityCheck) -> go.Figure:
    """Rank correlation (and SSIM) between the original map and the map after randomising the
    network from the classifier down to each unit, in cascade order."""
    labels = [s.randomized for s in check.steps]
    hover = [s.label for s in check.steps]
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=labels, y=[s.rank_correlation for s in check.steps], mode="lines+markers",
            name="rank correlation (Spearman)", customdata=hover,
            line={"color": METHOD_COLOURS.get(check.method, SERIES_COLOURS[0]), "width": 3},
            hovertemplate="randomised down to %{customdata}: ρ = %{y:.2f}<extra></extra>",
        )
    )  # fmt: skip
    fig.add_trace(
        go.Scatter(
            x=labels, y=[s.ssim for s in check.steps], mode="lines+markers", name="SSIM",
            customdata=hover, line={"color": REFERENCE_GREY, "dash": "dash", "width": 2},
            hovertemplate="randomised down to %{customdata}: SSIM = %{y:.2f}<extra></extra>",
        )
    )  # fmt: skip
    fig.add_hline(y=0, line={"color": REFERENCE_GREY, "width": 1})
    fig.update_yaxes(range=[-1, 1.05], title_text="similarity to the original map")
    fig.update_xaxes(title_text="randomised from the classifier down to …")
    fig = titled_layout(fig, f"Sanity check: {_checked(check)} as the weights are destroyed")
    fig.update_layout(showlegend=True, legend={"orientation": "h", "y": -0.3})
    return fig


def draw_receptive_field(
    image: Image.Image, box: ReceptiveFieldBox, colour: str = "#00FF66", min_side: int = 256
) -> Image.Image:
    """A copy of ``image`` with the (clipped) receptive-field box and the cell's centre drawn.
    ``image`` must be the picture the model saw (the box is in its pixels); a small one (the
    demo model's 64 px) is first enlarged by a whole factor to at least ``min_side`` so the
    lines stay thin on screen."""
    picture = image.convert("RGB")
    scale = max(1, -(-min_side // max(picture.size)))
    if scale > 1:
        picture = picture.resize((picture.width * scale, picture.height * scale), Image.BILINEAR)
    draw = ImageDraw.Draw(picture)
    width = max(2, round(max(picture.size) / 150))
    left, top = box.left * scale, box.top * scale
    right, bottom = box.right * scale - 1, box.bottom * scale - 1
    draw.rectangle((left, top, right, bottom), outline=colour, width=width)
    y, x = ((v + 0.5) * scale - 0.5 for v in box.center)
    r = 2 * width
    draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)
    return picture


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
    method = _checked(check)
    outcome = wording.sanity_phrase(
        round(last.rank_correlation, 2), round(lowest.rank_correlation, 2),
        round(first.rank_correlation, 2),
    )  # fmt: skip
    verdict = (
        f"{method} {outcome}: its map follows the weights."
        if outcome == wording.PASSES
        else f"{method} {outcome} here: be wary of reading it as the model's reasons."
    )
    return (
        f"{SANITY_PRINCIPLE} Rank correlation with the original map: {first.rank_correlation:.2f} "
        f"with only the classifier randomised, {last.rank_correlation:.2f} with every layer "
        f"randomised (lowest {lowest.rank_correlation:.2f}, after {lowest.label}). {verdict}"
    )


def _checked(check: SanityCheck) -> str:
    """The checked map for a reader: "Grad-CAM at layer3", "Saliency", "Guided Grad-CAM at
    layer3" (a CAM method or a pixel method, with its layer when it has one)."""
    label = METHOD_LABELS.get(check.method) or PIXEL_LABELS.get(check.method, check.method)
    return label if check.layer is None else f"{label} at {check.layer}"


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
