"""Plain-language readings of the teaching lab's results: what the numbers show, no more."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..analysis.lesion import LesionResult

#: A deeper network counts as worse when its final training error is this much higher.
WORSE_BY = 0.05
#: A lesion counts as harmless when it costs less accuracy than this.
HARMLESS = 0.05


def _final(curves: Mapping[str, Sequence[float]], name: str) -> float:
    return curves[name][-1]


def degradation_reading(curves: Mapping[str, Sequence[float]]) -> list[str]:
    """Compare the final training errors of the shallow and deep plain nets and ResNets."""
    depths = sorted({int(name.split("-")[1]) for name in curves})
    shallow, deep = depths[0], depths[-1]
    epochs = len(curves[f"plain-{shallow}"])
    p_s, p_d = _final(curves, f"plain-{shallow}"), _final(curves, f"plain-{deep}")
    r_s, r_d = _final(curves, f"resnet-{shallow}"), _final(curves, f"resnet-{deep}")
    sentences = [
        f"After {epochs} epochs, training error: plain-{shallow} {p_s:.1%}, plain-{deep} "
        f"{p_d:.1%}; ResNet-{shallow} {r_s:.1%}, ResNet-{deep} {r_d:.1%}."
    ]
    if p_d > p_s + WORSE_BY:
        sentences.append(
            f"The deeper plain network does worse on its own training data than the shallower "
            f"one ({p_d:.1%} vs {p_s:.1%}): that is degradation, not overfitting."
        )
    else:
        sentences.append(
            f"Here the deeper plain network is not worse than the shallower one "
            f"({p_d:.1%} vs {p_s:.1%}): no degradation in this run."
        )
    if r_d <= r_s + WORSE_BY:
        sentences.append(
            f"The deeper ResNet is as good as or better than the shallower one "
            f"({r_d:.1%} vs {r_s:.1%}): with skip connections, depth did not hurt."
        )
    else:
        sentences.append(
            f"The deeper ResNet also ended worse than the shallower one ({r_d:.1%} vs "
            f"{r_s:.1%}) in this run."
        )
    return sentences


def lesion_reading(resnet: LesionResult, plain: LesionResult, chance: float) -> list[str]:
    """Summarise what removing single blocks did to each network."""
    harmless = [n for n, drop in resnet.drops.items() if drop < HARMLESS]
    worst = max(resnet.drops, key=resnet.drops.get)
    plain_values = list(plain.accuracy.values())
    sentences = [
        f"Intact, the ResNet gets {resnet.baseline:.1%} and its plain twin {plain.baseline:.1%} "
        f"of the {resnet.num_images} held-out images right.",
        f"Removing any one of {len(plain_values)} blocks leaves the plain network at "
        f"{min(plain_values):.1%} to {max(plain_values):.1%} (chance is {chance:.0%}); mean "
        f"{plain.mean_accuracy:.1%}.",
        f"{len(harmless)} of {len(resnet.accuracy)} single-block lesions cost the ResNet less "
        f"than {100 * HARMLESS:.0f} percentage points; the costliest is {worst} "
        f"({resnet.accuracy[worst]:.1%}, {100 * resnet.drops[worst]:.1f} points lost). Mean "
        f"over all lesions: {resnet.mean_accuracy:.1%}.",
    ]
    return sentences
