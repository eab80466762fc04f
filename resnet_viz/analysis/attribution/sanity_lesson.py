"""The sanity check's lesson, measured: how deep into the network does each explanation follow
the weights?

Adebayo et al. 2018 ("Sanity Checks for Saliency Maps", NeurIPS, arXiv:1810.03292, Sec. 3.1 and
Fig. 2) randomise a trained network's weights from the top down (cascading randomisation) and
compare each method's map before and after every step. On their Inception v3 ImageNet model,
Guided Backprop and Guided Grad-CAM stay visually similar far down the cascade: the paper finds
them largely invariant to the randomisation of the higher layers (Guided Backprop's backward
pass keeps only positive gradients through positive activations, which reconstructs the
image's edges whatever the higher weights: Nie et al. 2018, arXiv:1805.07039), while the
gradient (Saliency) and Grad-CAM change from the first layers randomised. An explanation that
survives the destruction of most of the network explains the image more than the model.

Whether a method survives the randomisation of the stem too depends on the network: this module
measures it rather than assumes it. :func:`sanity_lesson` draws, for one image and several
methods at once, the trained model's map and the map at each checkpoint of the cascade:

- one private copy of the model (:func:`~.sanity.randomisable_copy`, the shared model is
  never touched) is randomised once for all methods, unit by unit in the order of
  :func:`~.sanity.cascade` (classifier, blocks from the last to the first, stem), with the
  same fresh network under ``seed`` as :func:`~.sanity.sanity_check`, so every map equals the
  cascading check's map at the same unit;
- the checkpoints: the classifier, each stage once all its blocks are random (the top stage
  first), the stem (every weight random): 1 + 4 + 1 = 6 for ResNet-50. ``cascade=True``
  measures after every unit instead (18 for ResNet-50), at about three times the cost;
- each method explains the same class (``target``, or the trained model's top-1) at the same
  layer (``layer``, for the CAMs and Guided Grad-CAM; None: the last stage);
- similarity: Spearman's rank correlation and SSIM between the trained and the randomised
  heatmaps (:func:`~.sanity.spearman`, :func:`~.sanity.ssim`), as the paper reports.

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
    SanityStep,
    _reinitialise,
    draw_map,
    map_layer,
    randomisable_copy,
    redraw,
    spearman,
    ssim,
)
from .sanity import cascade as cascade_units

__all__ = ["LESSON_METHODS", "LessonRow", "SanityLesson", "checkpoints", "sanity_lesson"]

#: The paper's contrast: two maps that follow the weights, two that barely do at the top.
LESSON_METHODS = ("gradcam", "saliency", "guidedbackprop", "guidedgradcam")


@dataclass(frozen=True, eq=False)
class LessonRow:
    """One method's map on the trained model and at each checkpoint of the cascade.

    Attributes:
        method: the method's key (a CAM method or a pixel method).
        original: the trained model's map.
        steps: one :class:`~.sanity.SanityStep` per checkpoint, top down (its ``label`` is
            :attr:`SanityLesson.labels`' entry, ``rank_correlation`` and ``ssim`` compare its
            ``result`` with ``original``); the last is the full randomisation.
    """

    method: str
    original: AnyMap
    steps: tuple[SanityStep, ...]

    @property
    def rank_correlations(self) -> tuple[float, ...]:
        """Spearman's rho with the trained map, one per checkpoint."""
        return tuple(step.rank_correlation for step in self.steps)

    @property
    def full(self) -> SanityStep:
        """The last checkpoint: every weight random, classifier to stem."""
        return self.steps[-1]


@dataclass(frozen=True, eq=False)
class SanityLesson:
    """Every method's :class:`LessonRow` for one image, in the order asked.

    Attributes:
        rows: one per method.
        labels: the checkpoints for a reader, top down ("classifier", "stage 3", ..., "stem").
        random_share: at each checkpoint, the share of the model's parameters that are random.
        target_class, layer, seed: what every map explains, where, and the fresh network's seed.
        every_unit: the checkpoints are every unit of the cascade, not the stages.
    """

    rows: tuple[LessonRow, ...]
    labels: tuple[str, ...]
    random_share: tuple[float, ...]
    target_class: int
    layer: str | None
    seed: int
    every_unit: bool = False


def checkpoints(model: ResNet, every_unit: bool = False) -> list[tuple[int, str]]:
    """``(index into sanity.cascade(model), label)`` of each checkpoint: the classifier, the
    last unit the cascade reaches in each stage (its first block, labelled with the stage), and
    the stem; with ``every_unit``, every unit under the cascade's own label."""
    units = cascade_units(model)
    if every_unit:
        return [(i, label) for i, (_, label, _) in enumerate(units)]
    marks = [(0, units[0][1])]
    for i, (unit, label, _) in enumerate(units[1:-1], start=1):
        if unit.endswith(".0"):  # the cascade's last block of this stage
            marks.append((i, label.split(",")[0]))
    marks.append((len(units) - 1, units[-1][1]))
    return marks


def sanity_lesson(
    model: ResNet,
    image: torch.Tensor,
    target: int | None = None,
    methods: Sequence[str] = LESSON_METHODS,
    *,
    layer: str | None = None,
    cascade: bool = False,
    seed: int = 0,
    mean: Sequence[float] = IMAGENET_MEAN,
    std: Sequence[float] = IMAGENET_STD,
    progress: Callable[[int, int], None] | None = None,
) -> SanityLesson:
    """Each method's map along the cascading randomisation (Adebayo et al. 2018).

    Args:
        model: a :func:`resnet_viz.build_model` network in eval mode; never modified.
        image: one preprocessed image (1, C, H, W).
        target: the class every map explains; None: the trained model's top-1.
        methods: CAM or pixel method keys (:func:`~.sanity.draw_map`), each with its defaults.
        layer: the CAMs' and Guided Grad-CAM's layer; None: the last stage.
        cascade: measure after every unit of the cascade, not only at the checkpoints
            (classifier, each stage, stem).
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
    units = cascade_units(model)
    marks = dict(checkpoints(model, cascade))
    total = len(methods) * (1 + len(marks))
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
    sizes = {k: v.numel() for k, v in model.named_parameters()}
    everything = sum(sizes.values())
    private, fresh_state = randomisable_copy(model, seed)
    steps: list[list[SanityStep]] = [[] for _ in originals]
    shares, random_prefixes = [], []
    for i, (_, _, prefixes) in enumerate(units):
        with torch.inference_mode(False):
            _reinitialise(private, fresh_state, prefixes)
        random_prefixes += [f"{prefix}." for prefix in prefixes]
        if i not in marks:
            continue
        random = sum(n for k, n in sizes.items() if k.startswith(tuple(random_prefixes)))
        shares.append(random / everything)
        for j, original in enumerate(originals):
            result = redraw(private, image, original, mean=mean, std=std)
            steps[j].append(
                SanityStep(
                    randomized=units[i][0],
                    label=marks[i],
                    depth=i + 1,
                    rank_correlation=spearman(original.heatmap, result.heatmap),
                    ssim=ssim(original.heatmap, result.heatmap),
                    result=result,
                )
            )
            tick()
    layers = [map_layer(o) for o in originals if map_layer(o) is not None]
    return SanityLesson(
        rows=tuple(LessonRow(o.method, o, tuple(s)) for o, s in zip(originals, steps, strict=True)),
        labels=tuple(marks.values()),
        random_share=tuple(shares),
        target_class=int(target),
        layer=layers[0] if layers else None,
        seed=seed,
        every_unit=cascade,
    )
