"""Plain-language readings of the second teaching lab's results: what the numbers show, no more."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..analysis.anatomy import BlockAnatomy
from ..analysis.receptive_field import ReceptiveField

#: A surface counts as rougher when its non-convex share is this much higher.
ROUGHER_BY = 0.05


def _label(name: str) -> str:
    kind, depth = name.split("-")
    return f"{'ResNet' if kind == 'resnet' else 'plain'}-{depth}"


def landscape_reading(
    roughness: Mapping[str, float], centre_error: Mapping[str, float]
) -> list[str]:
    """``roughness``: name (``"resnet-56"``) -> share of non-convex grid points;
    ``centre_error``: name -> training error at the trained weights (the grid's centre)."""
    depths = sorted({int(name.split("-")[1]) for name in roughness})
    shares = "; ".join(
        f"ResNet-{d} {roughness[f'resnet-{d}']:.1%}, plain-{d} {roughness[f'plain-{d}']:.1%}"
        for d in depths
    )
    sentences = [
        "Roughness, measured: the share of grid points where the plotted surface is not "
        "locally convex (its 2×2 Hessian, by finite differences on the grid, has a negative "
        f"eigenvalue): {shares}."
    ]
    deep = depths[-1]
    plain, resnet = roughness[f"plain-{deep}"], roughness[f"resnet-{deep}"]
    if plain > resnet + ROUGHER_BY:
        sentences.append(
            f"Without skip connections the {deep}-layer surface is rougher ({plain:.1%} of its "
            f"points non-convex against {resnet:.1%}): bumps and saddles where the ResNet has "
            "a smooth bowl, as Li et al. (2018, Fig. 5) found. A smooth bowl is what gradient "
            "descent finds easy."
        )
    else:
        sentences.append(
            f"In this run the {deep}-layer plain surface is not rougher than the ResNet's "
            f"({plain:.1%} vs {resnet:.1%})."
        )
    errors = ", ".join(f"{_label(n)} {e:.1%}" for n, e in sorted(centre_error.items()))
    sentences.append(
        f"At the centre (the trained weights), training error on these images: {errors}. "
        "The rough surface belongs to the network that trains worst: the degradation problem, "
        "seen from above."
    )
    return sentences


def erf_reading(
    fields: Mapping[str, ReceptiveField],
    skip_pairs: Sequence[tuple[str, str]] = (),
    training_pairs: Sequence[tuple[str, str]] = (),
) -> list[str]:
    """One sentence per field (its 95 % side against the theoretical side), then comparisons:
    ``skip_pairs`` (ResNet name, plain name) and ``training_pairs`` (before, after)."""
    sentences = [
        f"{name}: 95 % of the gradient's mass lies in a {f.side_95}×{f.side_95} px square, "
        f"{f.fraction_of_theoretical:.0%} of the theoretical {f.theoretical} px side."
        for name, f in fields.items()
    ]
    sentences.append(
        "As Luo et al. (2016) found, the effective receptive field is Gaussian-like, strongest "
        "at the centre and fading fast, and fills only a fraction of the theoretical one: "
        "pixels near its edge reach the unit by few paths, the centre by very many."
    )
    if skip_pairs:
        sides = ", ".join(
            f"{fields[r].side_95} against {fields[p].side_95} px" for r, p in skip_pairs
        )
        smaller = all(fields[r].side_95 < fields[p].side_95 for r, p in skip_pairs)
        sentences.append(
            f"With skip connections the field is {'smaller' if smaller else 'not always smaller'}"
            f" ({sides}): many of a ResNet's paths skip blocks, and a short path sees a small "
            "patch."
        )
    if training_pairs:
        changes = ", ".join(
            f"{fields[a].side_95} → {fields[b].side_95} px" for a, b in training_pairs
        )
        grew = all(fields[b].side_95 > fields[a].side_95 for a, b in training_pairs)
        shrank = all(fields[b].side_95 < fields[a].side_95 for a, b in training_pairs)
        verb = "grew" if grew else "shrank" if shrank else "changed"
        sentences.append(
            f"Training {verb} the fields here ({changes}). Luo et al. saw them grow on "
            "CIFAR-10 and CamVid; these networks learned 8×8 digits, and the inputs here "
            "are noise, not digits."
        )
    return sentences


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
    size = (
        "a small correction to its input" if ratio < 0.5
        else "a change about as large as its input" if ratio < 2
        else "a change much larger than its input"
    )  # fmt: skip
    return [
        shortcut,
        f"‖F(x)‖ / ‖x‖ = {ratio:.2f}: the branch adds {size}.",
    ]
