"""Plain-language readings of the second teaching lab's results: what the numbers show, no more
(every judgement chosen by :mod:`.wording`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..analysis.anatomy import BlockAnatomy
from ..analysis.receptive_field import ReceptiveField
from . import wording

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
                f"With skip connections the field is {_tally(words, 'pair')} ({sides})."
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


def _tally(words: Sequence[str], noun: str) -> str:
    """``["smaller", "the same size"]`` -> "smaller in 1 pair, the same size in 1 pair"."""
    counts = {w: words.count(w) for w in dict.fromkeys(words)}
    return ", ".join(f"{w} in {n} {noun}{'s' * (n != 1)}" for w, n in counts.items())


def anatomy_reading(anatomy: BlockAnatomy) -> list[str]:
    """What the block does to its input, in words."""
    ratio = anatomy.branch_ratio
    shortcut = {
        "identity": "The shortcut is the identity: x itself is added to F(x).",
        "zero-pad": "The shape changes here: the shortcut takes every second pixel of x and "
        "pads the new channels with zeros (option A).",
        "projection": "The shape changes here: the shortcut is a 1×1 convolution W_s x "
        "(a projection).",
        "pool-projection": "The shape changes here: the shortcut averages 2×2 pixels, then "
        "projects with a 1×1 convolution.",
        "none": "This is a plain block: there is no shortcut, the output is ReLU(F(x)) alone.",
    }[anatomy.shortcut_kind]
    size = wording.size_phrase(round(ratio, 2))  # judged as shown
    return [shortcut, f"‖F(x)‖ / ‖x‖ = {ratio:.2f}: the branch F(x) is {size} its input x."]
