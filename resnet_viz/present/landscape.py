"""Loss landscapes presented: the surface and contour figures, their plain-language reading, and
the note that says when two shipped records are separate runs of the same recipe (every
judgement chosen by :mod:`.wording`). No Streamlit calls.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..analysis.landscape import nonconvex_points
from . import wording
from .figure_layout import titled_layout

#: Loss above this is drawn at this height (plain-56's surface reaches 1e8 at the corners).
LOSS_CAP = 1e4
#: Contour lines per decade of loss.
LEVELS_PER_DECADE = 4
LANDSCAPE_SCALE = "Viridis"
#: What the landscape's height and colour are (analysis/landscape.py: the mean cross-entropy on
#: training images).
LOSS_TITLE = "training loss"
#: The 3-D view labels at most this many decades on its z axis (every other one beyond), none
#: within a decade of the axis's floor, where the corner's α and β labels are: the perspective
#: squeezes them into each other.
MAX_Z_LABELS = 5
#: Camera of the 3-D view, farther than Plotly's default eye (1.25, 1.25, 1.25): at the default
#: a half-width scene clips its own axis labels ("0", "00" for 100 and 1000) at its edges.
#: The eye alone is not enough in a 1280 px window (the z axis's "10000" and title still lost
#: their first letters), so the view's centre also moves toward the far corner, which shifts
#: the drawing right, away from the left edge where the z axis stands.
SURFACE_CAMERA = {
    "eye": {"x": 2.1, "y": 2.1, "z": 1.2},
    "center": {"x": 0.15, "y": 0.15, "z": -0.05},
}


def log_loss(loss: np.ndarray) -> np.ndarray:
    """log10 of the loss, capped at :data:`LOSS_CAP` (and NaN/inf drawn at the cap)."""
    z = np.asarray(loss, dtype=np.float64)
    z = np.where(np.isfinite(z), np.minimum(z, LOSS_CAP), LOSS_CAP)
    return np.log10(np.maximum(z, 1e-12))


def landscape_figure(
    surfaces: Mapping[str, np.ndarray],
    alphas: Sequence[float],
    betas: Sequence[float],
    *,
    view: str = "contour",
    title: str = "Loss landscape",
) -> go.Figure:
    """One panel per surface (name -> loss, len(betas) x len(alphas)), side by side, on one
    colour scale: log10 of the loss (capped at :data:`LOSS_CAP`), as contours or a 3-D surface.
    On the contours the star marks the trained weights (alpha = beta = 0) and a thin x each
    grid point where the surface is not locally convex (the roughness figure's points)."""
    names = list(surfaces)
    zs = {name: log_loss(surfaces[name]) for name in names}
    low = math.floor(min(float(z.min()) for z in zs.values()) * LEVELS_PER_DECADE)
    low /= LEVELS_PER_DECADE
    high = math.log10(LOSS_CAP)
    surface = view == "surface"
    fig = make_subplots(
        rows=1,
        cols=len(names),
        subplot_titles=names,
        specs=[[{"type": "surface" if surface else "xy"}] * len(names)],
        horizontal_spacing=0.04 if surface else 0.08,
    )
    decades = list(range(math.ceil(low), int(high) + 1))
    colorbar = {
        "title": {"text": LOSS_TITLE}, "len": 0.8, "tickvals": decades,
        "ticktext": [f"{10.0**d:g}" for d in decades],
    }  # fmt: skip
    for col, name in enumerate(names, start=1):
        hover = f"{name}<br>α %{{x:.2f}}, β %{{y:.2f}}<br>log₁₀ loss %{{z:.2f}}<extra></extra>"
        common = {
            "x": list(alphas), "y": list(betas), "z": zs[name], "coloraxis": "coloraxis",
            "hovertemplate": hover,
        }  # fmt: skip
        if surface:
            fig.add_trace(go.Surface(**common), row=1, col=col)
        else:
            step = 1 / LEVELS_PER_DECADE
            fig.add_trace(
                go.Contour(**common, contours={"start": low, "end": high, "size": step}),
                row=1,
                col=col,
            )
            rough = nonconvex_points(surfaces[name], alphas, betas)
            rows, cols = np.nonzero(rough)
            fig.add_trace(
                go.Scatter(
                    x=np.asarray(alphas)[cols + 1], y=np.asarray(betas)[rows + 1],
                    mode="markers", marker={"symbol": "x-thin", "size": 6,
                    "line": {"width": 1, "color": "rgba(255,255,255,0.8)"}},
                    hovertemplate="not locally convex here<extra></extra>",
                ),
                row=1, col=col,
            )  # fmt: skip
            fig.add_trace(
                go.Scatter(
                    x=[0], y=[0], mode="markers", marker={"symbol": "star", "size": 14,
                    "color": "white", "line": {"width": 1, "color": "black"}},
                    hovertemplate=f"{name}: the trained weights<extra></extra>",
                ),
                row=1, col=col,
            )  # fmt: skip
            fig.update_xaxes(title_text="α (direction 1)", row=1, col=col)
            fig.update_yaxes(
                title_text="β (direction 2)" if col == 1 else None,
                scaleanchor=f"x{col if col > 1 else ''}",
                row=1,
                col=col,
            )
    fig.update_layout(
        coloraxis={"colorscale": LANDSCAPE_SCALE, "cmin": low, "cmax": high, "colorbar": colorbar}
    )
    titled_layout(fig, title, height=460)
    if surface:
        clear = [d for d in decades if d >= low + 1] or decades
        every = math.ceil(len(clear) / MAX_Z_LABELS)
        shown = clear[::-every][::-1]  # the cap (the top) always labelled
        scene = {
            "xaxis": {"title": {"text": "α"}}, "yaxis": {"title": {"text": "β"}},
            "zaxis": {"title": {"text": LOSS_TITLE}, "range": [low, high], "tickvals": shown,
                      "ticktext": [f"{10.0**d:g}" for d in shown]},
            "aspectmode": "cube", "camera": SURFACE_CAMERA,
        }  # fmt: skip
        fig.update_layout(**{f"scene{i if i > 1 else ''}": scene for i in range(1, len(names) + 1)})
        # The scenes run to the figure's edges: room on the left for the first z axis's labels.
        fig.update_layout(margin={"l": 40, "r": 10, "t": 60, "b": 10})
    return fig


#: Kept for callers: the threshold lives with the words, in :mod:`.wording`.
ROUGHER_BY = wording.ROUGHER_BY


def _label(name: str) -> str:
    kind, depth = name.split("-")
    return f"{'ResNet' if kind == 'resnet' else 'plain'}-{depth}"


def landscape_reading(
    roughness: Mapping[str, float], centre_error: Mapping[str, float], *, resolution: int
) -> list[str]:
    """``roughness``: name (``"resnet-56"``) -> share of non-convex grid points;
    ``centre_error``: name -> training error at the trained weights (the grid's centre);
    ``resolution``: grid points per axis (below :data:`~.wording.MIN_GRID_POINTS` the reading
    says the grid is too coarse to judge, and judges nothing)."""
    depths = sorted({int(name.split("-")[1]) for name in roughness})
    shares = "; ".join(
        f"ResNet-{d} {roughness[f'resnet-{d}']:.1%}, plain-{d} {roughness[f'plain-{d}']:.1%}"
        for d in depths
    )
    interior = max(resolution - 2, 0) ** 2
    sentences = [
        "Roughness, measured: the share of grid points where the plotted surface is not "
        "locally convex (its 2×2 Hessian, by finite differences on the grid, has a negative "
        f"eigenvalue): {shares}."
    ]
    errors = ", ".join(f"{_label(n)} {e:.1%}" for n, e in sorted(centre_error.items()))
    errors_sentence = (
        f"At the centre (the trained weights), training error on these images: {errors}."
    )
    if wording.coarse(resolution):
        step = f"{1 / interior:.0%}" if interior else "all"
        sentences.append(
            f"A {resolution}×{resolution} grid is {wording.too_coarse_phrase()}: the share "
            f"counts {interior} interior point{'s' * (interior != 1)}, each one {step} of it. "
            f"Use at least {wording.MIN_GRID_POINTS} points per axis."
        )
        sentences.append(errors_sentence)
        return sentences
    deep = depths[-1]
    plain_name, resnet_name = f"plain-{deep}", f"resnet-{deep}"
    plain, resnet = round(roughness[plain_name], 3), round(roughness[resnet_name], 3)
    rougher = wording.rougher_phrase(plain, resnet)
    if rougher == wording.ROUGHER:
        sentences.append(
            f"Without skip connections the {deep}-layer surface is {rougher} ({plain:.1%} of its "
            f"points non-convex against {resnet:.1%}): bumps and saddles where the ResNet has "
            "a smooth bowl, as Li et al. (2018, Fig. 5) found. A smooth bowl is what gradient "
            "descent finds easy."
        )
    else:
        sentences.append(
            f"In this run the {deep}-layer plain surface is {rougher} than the ResNet's "
            f"({plain:.1%} vs {resnet:.1%}; the threshold is a gap of "
            f"{100 * wording.ROUGHER_BY:.0f} points)."
        )
    sentences.append(errors_sentence)
    if rougher == wording.ROUGHER and plain_name in centre_error:
        others = [round(e, 3) for n, e in centre_error.items() if n != plain_name]
        is_worst = wording.clearly_worst(round(centre_error[plain_name], 3), others)
        worst = wording.worst_phrase(is_worst)
        if worst == wording.TRAINS_WORST:
            sentences.append(
                f"The rough surface belongs to the network that {worst}, plain-{deep}: the "
                "degradation problem, seen from above."
            )
        else:
            sentences.append(
                f"The rough surface's network, plain-{deep}, {worst} here (the threshold is "
                f"an error {100 * wording.ERROR_MARGIN:.0f} points above every other network's)."
            )
    return sentences


def separate_run_note(
    name: str,
    here: float,
    there: float,
    *,
    there_page: str,
    recipe_differs: Sequence[str] = (),
    here_machine: str = "",
    there_machine: str = "",
    same_measurement: bool = True,
) -> str | None:
    """Why network ``name`` (``"plain-56"``) shows training error ``here`` on this page and
    ``there`` on ``there_page``; None when the two numbers agree as shown (to 0.1 %) and nothing
    in how they were made differs, so the pages show one number.

    ``recipe_differs``: the training settings that differ between the two runs;
    ``here_machine``/``there_machine``: the machine descriptions the two records store (the
    CPU kernels; training amplifies their different rounding into different networks);
    ``same_measurement``: both errors are counted on the same images the same way."""
    label = _label(name)
    differs = []
    if recipe_differs:
        differs.append(f"different training settings ({', '.join(recipe_differs)})")
    if here_machine != there_machine:
        differs.append(
            f"the CPU kernels the two records name (here “{here_machine or 'not recorded'}”, "
            f"there “{there_machine or 'not recorded'}”): other kernels round sums differently, "
            "and training amplifies those last bits into a different network"
        )
    if not same_measurement:
        differs.append("a different measurement (other images or mode)")
    if f"{here:.1%}" == f"{there:.1%}" and not differs:
        return None
    recipe = "a different recipe" if recipe_differs else "the same recipe"
    how = (
        "measured the same way (eval mode, the same training images)"
        if same_measurement
        else "measured differently"
    )
    why = "; ".join(differs) if differs else "nothing recorded differs but the run itself"
    return (
        f"{label} here is not the network of the {there_page} page: it comes from a training "
        f"run of its own with {recipe}, {how}. It ends at {here:.1%} here and {there:.1%} there. "
        f"What differs between the two runs: {why}."
    )


def shipped_runs_note(landscape: Mapping, degradation: Mapping, page: str) -> str | None:
    """:func:`separate_run_note` for the deep plain network of the two shipped records (the
    landscape grids' and the degradation curves', as their loaders return them), written for
    ``page`` (``"landscape"`` or ``"degradation"``)."""
    deep = f"plain-{max(landscape['recipe']['depths'])}"
    if deep not in degradation["curves"] or deep not in landscape["grids"]:
        return None
    accuracy = landscape["grids"][deep]["accuracy"]
    centre = 1.0 - accuracy[len(accuracy) // 2][len(accuracy[0]) // 2]
    final = degradation["curves"][deep][-1]
    recipe, settings = landscape["recipe"], degradation["settings"]
    differs = [k for k in sorted(set(recipe) | set(settings)) if recipe.get(k) != settings.get(k)]
    same_measurement = landscape["settings"].get("images") == settings.get("eval_images")
    args = {"recipe_differs": differs, "same_measurement": same_measurement}
    machines = landscape.get("machine", ""), degradation.get("machine", "")
    if page == "landscape":
        return separate_run_note(
            deep, centre, final, there_page="degradation", here_machine=machines[0],
            there_machine=machines[1], **args,
        )  # fmt: skip
    return separate_run_note(
        deep, final, centre, there_page="loss-landscape", here_machine=machines[1],
        there_machine=machines[0], **args,
    )  # fmt: skip
