"""Effective receptive fields presented: the gradient maps with their theoretical and 95 %-mass
boxes, and the plain-language reading (every judgement chosen by :mod:`.wording`). No Streamlit
calls.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..analysis.receptive_field import ReceptiveField
from . import wording
from .figure_layout import titled_layout

#: Not Inferno or Magma: their first stop, #000004, renders as pink in headless Chromium.
ERF_SCALE = "Viridis"


def _box_shape(box: tuple[int, int, int, int], axis: str, colour: str, dash: str) -> dict:
    top, left, bottom, right = box
    return {
        "type": "rect", "xref": f"x{axis}", "yref": f"y{axis}",
        "x0": left - 0.5, "x1": right + 0.5, "y0": top - 0.5, "y1": bottom + 0.5,
        "line": {"color": colour, "width": 2, "dash": dash},
    }  # fmt: skip


def erf_figure(fields: Mapping[str, ReceptiveField], *, cols: int = 2) -> go.Figure:
    """Effective receptive fields as heatmaps (name -> field), the theoretical field as a
    dashed box and the square holding 95 % of the map's mass as a solid one."""
    names = list(fields)
    rows = math.ceil(len(names) / cols)
    titles = [f"{name}: 95 % in {f.side_95} px of {f.theoretical}" for name, f in fields.items()]
    fig = make_subplots(
        rows=rows, cols=cols, subplot_titles=titles, horizontal_spacing=0.06,
        vertical_spacing=0.12,
    )  # fmt: skip
    shapes = []
    for i, (name, field) in enumerate(fields.items()):
        row, col = divmod(i, cols)
        axis = "" if i == 0 else str(i + 1)
        fig.add_trace(
            go.Heatmap(
                z=field.map, coloraxis="coloraxis",
                hovertemplate=f"{name}<br>row %{{y}}, column %{{x}}: %{{z:.3f}}<extra></extra>",
            ),
            row=row + 1, col=col + 1,
        )  # fmt: skip
        half = (field.side_95 - 1) // 2
        (r0, c0), (height, width) = field.centre, field.map.shape
        inner = (
            max(0, r0 - half), max(0, c0 - half), min(height - 1, r0 + half),
            min(width - 1, c0 + half),
        )  # fmt: skip
        shapes.append(_box_shape(field.box, axis, "#88CCEE", "dash"))
        if field.side_95:
            shapes.append(_box_shape(inner, axis, "#FFFFFF", "solid"))
        fig.update_yaxes(autorange="reversed", scaleanchor=f"x{axis}", row=row + 1, col=col + 1)
        fig.update_xaxes(constrain="domain", row=row + 1, col=col + 1)
    fig.update_layout(
        shapes=shapes,
        coloraxis={"colorscale": ERF_SCALE, "cmin": 0, "cmax": 1,
                   "colorbar": {"title": {"text": "|∂unit/∂x|"}}},
    )  # fmt: skip
    titled_layout(fig, "Effective receptive field (dashed: theoretical; solid: 95 % of the mass)",
            height=360 * rows + 60)  # fmt: skip
    return fig


def erf_reading(
    fields: Mapping[str, ReceptiveField],
    skip_pairs: Sequence[tuple[str, str]] = (),
    training_pairs: Sequence[tuple[str, str]] = (),
) -> list[str]:
    """One sentence per field (its 95 % side against the theoretical side), then what the
    shares have in common, then comparisons: ``skip_pairs`` (ResNet name, plain name) and
    ``training_pairs`` (before, after)."""
    sentences = [
        f"{name}: 95 % of the gradient's mass lies in a {f.side_95}×{f.side_95} px square, "
        f"{f.fraction_of_theoretical:.0%} of the theoretical {f.theoretical} px side."
        for name, f in fields.items()
    ]
    if fields:
        phrases = {
            wording.share_phrase(round(f.fraction_of_theoretical, 2)) for f in fields.values()
        }
        if phrases == {wording.FRACTION}:
            sentences.append(
                f"Here every field fills {wording.FRACTION} the theoretical one, as Luo et al. "
                "(2016) found: the effective receptive field is Gaussian-like, its weight at the "
                "centre and fading fast; pixels near its edge reach the unit by few paths, the "
                "centre by very many."
            )
        elif len(phrases) == 1:
            (phrase,) = phrases
            sentences.append(
                f"Here every field's 95 % box fills {phrase} the theoretical side. Luo et al. "
                "(2016) describe a Gaussian-like field inside the theoretical one; a later layer "
                "of this network shows that."
            )
    if skip_pairs:
        sides = ", ".join(
            f"{fields[r].side_95} against {fields[p].side_95} px" for r, p in skip_pairs
        )
        words = [wording.side_word(fields[r].side_95, fields[p].side_95) for r, p in skip_pairs]
        if set(words) == {wording.SIDE_WORDS[0]}:
            sentences.append(
                f"With skip connections the field is {words[0]} ({sides}): many of a ResNet's "
                "paths skip blocks, and a short path sees a small patch."
            )
        elif len(set(words)) == 1:
            sentences.append(
                f"With and without skip connections the field is {words[0]} here ({sides})."
            )
        else:
            sentences.append(
                f"With skip connections the field is {wording.tally(words, 'pair')} ({sides})."
            )
    if training_pairs:
        changes = ", ".join(
            f"{fields[a].side_95} → {fields[b].side_95} px" for a, b in training_pairs
        )
        words = [
            wording.change_word(fields[a].side_95, fields[b].side_95) for a, b in training_pairs
        ]
        if len(set(words)) == 1 and words[0] != wording.CHANGE_WORDS[1]:
            verb = f"Training {words[0]} the fields"
        elif len(set(words)) == 1:
            verb = f"Through training the fields {words[0]}"
        else:
            counts = {w: words.count(w) for w in dict.fromkeys(words)}
            verb = "Through training " + ", ".join(
                f"{n} field{'s' * (n != 1)} {w}" for w, n in counts.items()
            )
        sentences.append(
            f"{verb} here ({changes}). Luo et al. saw them grow on CIFAR-10 and CamVid; these "
            "networks learned 8×8 digits, and the inputs here are noise, not digits."
        )
    return sentences
