"""Plain-language readings of the teaching lab's results: what the numbers show, no more (every
judgement chosen by :mod:`.wording`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..analysis.lesion import LesionResult
from . import wording

#: Kept for callers: the thresholds live with the words, in :mod:`.wording`.
WORSE_BY = wording.ERROR_MARGIN
HARMLESS = wording.HARMLESS


def _final(curves: Mapping[str, Sequence[float]], name: str) -> float:
    return curves[name][-1]


def degradation_reading(curves: Mapping[str, Sequence[float]]) -> list[str]:
    """Compare the final training errors of the shallow and deep plain nets and ResNets."""
    depths = sorted({int(name.split("-")[1]) for name in curves})
    shallow, deep = depths[0], depths[-1]
    epochs = len(curves[f"plain-{shallow}"])
    # Judged as shown (to 0.1 %), so that the words agree with the numbers beside them.
    p_s, p_d = _final(curves, f"plain-{shallow}"), _final(curves, f"plain-{deep}")
    r_s, r_d = _final(curves, f"resnet-{shallow}"), _final(curves, f"resnet-{deep}")
    p_s, p_d, r_s, r_d = (round(v, 3) for v in (p_s, p_d, r_s, r_d))
    sentences = [
        f"After {epochs} epoch{'s' * (epochs != 1)}, training error: plain-{shallow} {p_s:.1%}, "
        f"plain-{deep} {p_d:.1%}; ResNet-{shallow} {r_s:.1%}, ResNet-{deep} {r_d:.1%}."
    ]
    margin = f"{100 * wording.ERROR_MARGIN:.0f} points"
    plain_word = wording.error_word(p_d, p_s)
    degraded = plain_word == wording.ERROR_WORDS[2]
    if degraded:
        sentences.append(
            f"The deeper plain network does {plain_word} the shallower one on its own training "
            f"data ({p_d:.1%} vs {p_s:.1%}; the threshold is {margin}): that is degradation, not "
            "overfitting."
        )
    else:
        sentences.append(
            f"Here the deeper plain network is {plain_word} the shallower one ({p_d:.1%} vs "
            f"{p_s:.1%}; the threshold is {margin}): no degradation in this run."
        )
    resnet_word = wording.error_word(r_d, r_s)
    if resnet_word != wording.ERROR_WORDS[2]:
        sentences.append(
            f"The deeper ResNet is {resnet_word} the shallower one ({r_d:.1%} vs {r_s:.1%}): "
            "with skip connections, depth did not hurt."
        )
    else:
        sentences.append(
            f"The deeper ResNet {'also ' * degraded}ended {resnet_word} the shallower one "
            f"({r_d:.1%} vs {r_s:.1%}) in this run."
        )
    return sentences


def lesion_reading(resnet: LesionResult, plain: LesionResult, chance: float) -> list[str]:
    """Summarise what removing single blocks did to each network."""
    drops = resnet.drops
    harmless = [n for n, drop in drops.items() if drop < wording.HARMLESS]
    worst = wording.costliest(drops)
    plain_values = list(plain.accuracy.values())
    costly = " and ".join(
        f"{name} ({resnet.accuracy[name]:.1%}, {100 * drops[name]:.1f} points lost)"
        for name in worst
    )
    which = f"{wording.COSTLIEST} {'is' if len(worst) == 1 else 'are'}"
    sentences = [
        f"Intact, the ResNet gets {resnet.baseline:.1%} and its plain twin {plain.baseline:.1%} "
        f"of the {resnet.num_images} held-out images right.",
        f"Removing any one of {len(plain_values)} blocks leaves the plain network at "
        f"{min(plain_values):.1%} to {max(plain_values):.1%} (chance is {chance:.0%}); mean "
        f"{plain.mean_accuracy:.1%}.",
        f"{len(harmless)} of {len(resnet.accuracy)} single-block lesions cost the ResNet under "
        f"{100 * wording.HARMLESS:.0f} percentage points; {which} {costly}. Mean "
        f"over all lesions: {resnet.mean_accuracy:.1%}.",
    ]
    return sentences
