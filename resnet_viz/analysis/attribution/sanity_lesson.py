"""The sanity check's lesson, measured: which explanations depend on the weights?

Adebayo et al. 2018 ("Sanity Checks for Saliency Maps", NeurIPS, arXiv:1810.03292, Fig. 2 and
Sec. 3.1) randomise a trained network's weights and compare each method's map before and
after. Guided Backprop and Guided Grad-CAM stay visually similar even when every weight is
noise (Guided Backprop's backward pass keeps only positive gradients through positive
activations, which reconstructs the image's edges whatever the weights: Nie et al. 2018,
arXiv:1805.07039); the gradient (Saliency) and Grad-CAM change. An explanation that survives
the destruction of the model is not explaining the model.

:func:`sanity_lesson` measures that on one image, for several methods at once, at the cost of
one original map and one or two randomised maps per method:

- one private copy of the model (:func:`~.sanity.randomisable_copy`, the shared model is
  never touched) is randomised once for all methods: first the classifier alone (optional,
  ``classifier=True``), then every other unit, down to the stem (:func:`~.sanity.cascade`,
  the same fresh network under ``seed`` as :func:`~.sanity.sanity_check`, so the fully
  randomised maps equal the last step of its cascade);
- each method explains the same class (``target``, or the trained model's top-1) at the same
  layer (``layer``, for the CAMs and Guided Grad-CAM; None: the last stage);
- similarity: Spearman's rank correlation and SSIM between the trained and the randomised
  heatmaps (:func:`~.sanity.spearman`, :func:`~.sanity.ssim`).

This module does not import streamlit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from ...core.build import ResNet
from ...core.spec import SpecError
from ...data.images import IMAGENET_MEAN, IMAGENET_STD
from .model_checks import check_eval_mode, spec_of
from .sanity import (
    AnyMap,
    _reinitialise,
    cascade,
    draw_map,
    map_layer,
    randomisable_copy,
    redraw,
    spearman,
    ssim,
)

__all__ = ["LESSON_METHODS", "LessonRow", "SanityLesson", "sanity_lesson"]

#: The paper's contrast: two maps that depend on the weights, two that barely do.
LESSON_METHODS = ("gradcam", "saliency", "guidedbackprop", "guidedgradcam")


@dataclass(frozen=True, eq=False)
class LessonRow:
    """One method's map on the trained model and on the randomised copy.

    Attributes:
        method: the method's key (a CAM method or a pixel method).
        original: the trained model's map.
        randomised: the map after every unit from the classifier down to
            :attr:`SanityLesson.down_to` (the stem: all of them) was re-initialised.
        rank_correlation, ssim: Spearman's rho and SSIM between ``original`` and
            ``randomised``.
        classifier: the map with only the classifier re-initialised (None when not asked).
        classifier_rank_correlation, classifier_ssim: its similarity to ``original``.
    """

    method: str
    original: AnyMap
    randomised: AnyMap
    rank_correlation: float
    ssim: float
    classifier: AnyMap | None = None
    classifier_rank_correlation: float | None = None
    classifier_ssim: float | None = None


@dataclass(frozen=True, eq=False)
class SanityLesson:
    """Every method's :class:`LessonRow` for one image, in the order asked."""

    rows: tuple[LessonRow, ...]
    target_class: int
    layer: str | None
    seed: int
    down_to: str = "stem"


def sanity_lesson(
    model: ResNet,
    image: torch.Tensor,
    target: int | None = None,
    methods: Sequence[str] = LESSON_METHODS,
    *,
    layer: str | None = None,
    classifier: bool = True,
    down_to: str = "stem",
    seed: int = 0,
    mean: Sequence[float] = IMAGENET_MEAN,
    std: Sequence[float] = IMAGENET_STD,
    progress: Callable[[int, int], None] | None = None,
) -> SanityLesson:
    """Each method's map before and after randomising the weights (Adebayo et al. 2018).

    Args:
        model: a :func:`resnet_viz.build_model` network in eval mode; never modified.
        image: one preprocessed image (1, C, H, W).
        target: the class every map explains; None: the trained model's top-1.
        methods: CAM or pixel method keys (:func:`~.sanity.draw_map`), each with its defaults.
        layer: the CAMs' and Guided Grad-CAM's layer; None: the last stage.
        classifier: also draw every map with only the classifier randomised.
        down_to: the last unit of :func:`~.sanity.cascade` to randomise (``"stem"``, the
            default: every unit, the full randomisation; ``"layer1.0"``: every unit but the
            stem).
        seed: the seed of the fresh network whose weights replace the trained ones.
        mean, std: the image's normalisation, for the pixel methods' baselines.
        progress: ``progress(done, total)`` after each map.

    Raises:
        SpecError: no method, an unknown method, a class out of range, and the errors of
            :func:`~.sanity.draw_map`, before any randomised map.
    """
    spec_of(model)
    check_eval_mode(model)
    methods = tuple(dict.fromkeys(methods))
    if not methods:
        raise SpecError("Name at least one method for the sanity-check lesson.")
    units = cascade(model)
    names = [unit for unit, _, _ in units]
    if down_to not in names:
        raise SpecError(
            f"Cannot randomise down to {down_to!r}: this network's units are {', '.join(names)}."
        )
    units = units[: names.index(down_to) + 1]
    total = len(methods) * (3 if classifier else 2)
    done = 0

    def tick() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total)

    originals = []
    for method in methods:
        originals.append(
            draw_map(model, image, method, target_class=target, layer=layer, mean=mean, std=std)
        )
        target = originals[-1].target_class  # the first map's top-1 for all the others
        tick()
    private, fresh_state = randomisable_copy(model, seed)
    heads = []
    if classifier:
        with torch.inference_mode(False):
            _reinitialise(private, fresh_state, units[0][2])
        for original in originals:
            heads.append(redraw(private, image, original, mean=mean, std=std))
            tick()
    with torch.inference_mode(False):
        for _, _, prefixes in units:
            _reinitialise(private, fresh_state, prefixes)
    rows = []
    for i, original in enumerate(originals):
        randomised = redraw(private, image, original, mean=mean, std=std)
        tick()
        head = heads[i] if classifier else None
        rows.append(
            LessonRow(
                method=original.method,
                original=original,
                randomised=randomised,
                rank_correlation=spearman(original.heatmap, randomised.heatmap),
                ssim=ssim(original.heatmap, randomised.heatmap),
                classifier=head,
                classifier_rank_correlation=(
                    None if head is None else spearman(original.heatmap, head.heatmap)
                ),
                classifier_ssim=None if head is None else ssim(original.heatmap, head.heatmap),
            )
        )
    layers = [map_layer(o) for o in originals if map_layer(o) is not None]
    return SanityLesson(
        rows=tuple(rows),
        target_class=int(target),
        layer=layers[0] if layers else None,
        seed=seed,
        down_to=down_to,
    )
