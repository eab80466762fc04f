"""Every map judged the same way: one image, several named maps, the same metrics for each.

For each map (a CAM's map, coarse or upsampled, or a pixel attribution's map at image
resolution, all with values in [0, 1], higher = more relevant) and one class:

- **deletion AUC** and **insertion AUC**: RISE's curves (Petsiuk, Das & Saenko 2018),
  :func:`.faithfulness.faithfulness`: deletion lower is better, insertion higher is better;
- **ROAD**: :attr:`.road.Road.combined`, ``(LeRF mean - MoRF mean) / 2`` of the class
  probability's change over the percentiles (Rong et al. 2022; pytorch-grad-cam's
  ``ROADCombined``), from :func:`.road.road`: higher is better. Optional: it is the slow one
  (one sparse linear solve per percentile and order);
- **average drop** (percent, lower is better) and **increase in confidence** (percent of the
  one image: 0 or 100, higher is better), :func:`.confidence.average_drop` (Chattopadhay et
  al. 2018).

The numbers are those functions' own, called with the same model, image, class and settings;
this module only runs them in turn, resolves the class once (the model's top-1 on the image
when none is given, so every metric follows the same class) and reports progress over the
whole work. The model is used as found (each function holds the model lock and registers
nothing). This module does not import streamlit.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ...core.spec import SpecError
from .confidence import AverageDrop, average_drop
from .faithfulness import DEFAULT_STEPS, Faithfulness, faithfulness
from .road import DEFAULT_PERCENTILES, Road, road

__all__ = ["MapScore", "Scorecard", "scorecard", "work_units"]

MAX_MAPS = 64


@dataclass(frozen=True, eq=False)
class MapScore:
    """One map's metrics; the full results stay available for their curves.

    Attributes:
        name: the map's name, as given.
        faithfulness: the deletion and insertion curves.
        confidence: average drop and increase in confidence on the one image.
        road: ROAD's curves, or None when it was skipped.
        road_seconds: how long ROAD took on this map (wall clock), None when skipped.
    """

    name: str
    faithfulness: Faithfulness
    confidence: AverageDrop
    road: Road | None = None
    road_seconds: float | None = None

    @property
    def deletion_auc(self) -> float:
        return self.faithfulness.deletion_auc

    @property
    def insertion_auc(self) -> float:
        return self.faithfulness.insertion_auc

    @property
    def road_score(self) -> float | None:
        """:attr:`.road.Road.combined` (higher is better), None when ROAD was skipped."""
        return None if self.road is None else self.road.combined

    @property
    def average_drop(self) -> float:
        return self.confidence.drop

    @property
    def increase(self) -> float:
        return self.confidence.increase


@dataclass(frozen=True, eq=False)
class Scorecard:
    """The metrics of every map, in the order given, for one class.

    Attributes:
        scores: one :class:`MapScore` per map, in the given order.
        target_class: the class every metric followed.
        steps: the deletion and insertion curves' steps.
        with_road: whether ROAD was run.
    """

    scores: tuple[MapScore, ...]
    target_class: int
    steps: int
    with_road: bool

    def __getitem__(self, name: str) -> MapScore:
        for score in self.scores:
            if score.name == name:
                return score
        raise KeyError(name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.scores)


def work_units(maps: int, *, steps: int = DEFAULT_STEPS, with_road: bool = True) -> int:
    """The forward passes a scorecard runs besides reading the prediction: per map
    ``2 (steps + 1)`` for the curves, 2 for the confidence metrics and, with ROAD,
    ``1 + 2 x 9`` (its default percentiles). The unit of :func:`scorecard`'s progress."""
    return maps * _units_per_map(steps, with_road)


def scorecard(
    model: nn.Module,
    image: torch.Tensor,
    maps: Mapping[str, np.ndarray | torch.Tensor],
    *,
    target_class: int | None = None,
    steps: int = DEFAULT_STEPS,
    with_road: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> Scorecard:
    """Deletion and insertion AUC, ROAD (unless ``with_road`` is False) and average drop /
    increase in confidence of each of ``maps`` on ``image`` for ``target_class``.

    Args:
        model: a network from (N, C, H, W) images to logits, in eval mode (left as found).
        image: one preprocessed image, (1, C, H, W), normalised (0 is the mean colour).
        maps: name -> 2-D map in [0, 1] (higher = more relevant); another size than the
            image's is upsampled bilinearly by each metric, as each does on its own.
        target_class: the class to follow; ``None``: the model's top-1 on ``image``.
        steps: the deletion and insertion curves' points besides the start.
        with_road: run ROAD (the slow metric) too.
        progress: ``progress(done, total)``, counting forward passes (:func:`work_units`):
            within the curves after each batch, then after each map's confidence metrics and
            after its ROAD.

    Raises:
        SpecError: no maps or too many, a malformed image, map or class, or a model in
            training mode (from the metrics' own checks).
    """
    if not isinstance(maps, Mapping) or not 1 <= len(maps) <= MAX_MAPS:
        got = len(maps) if isinstance(maps, Mapping) else type(maps).__name__
        raise SpecError(f"maps must be a mapping of 1 to {MAX_MAPS} named maps; got {got}.")
    per_map = _units_per_map(steps, with_road)
    total = len(maps) * per_map
    out = []
    chosen = target_class
    for i, (name, heat) in enumerate(maps.items()):
        done = i * per_map

        def curve_progress(d: int, _t: int, done: int = done) -> None:
            if progress is not None:
                progress(done + d, total)

        curves = _as_spec_error(
            faithfulness, model, image, heat, target_class=chosen, steps=steps,
            progress=curve_progress,
        )  # fmt: skip
        chosen = curves.target_class  # the first map's run resolves None once
        done += 2 * (steps + 1)
        confidence = average_drop(model, image, [heat], chosen)
        done += 2
        if progress is not None:
            progress(done, total)
        roaded, seconds = None, None
        if with_road:
            start = time.perf_counter()
            roaded = road(model, image, heat, chosen)
            seconds = time.perf_counter() - start
            if progress is not None:
                progress(done + roaded.forward_passes, total)
        out.append(MapScore(str(name), curves, confidence, roaded, seconds))
    return Scorecard(tuple(out), int(chosen), steps, with_road)


def _units_per_map(steps: int, with_road: bool) -> int:
    return 2 * (steps + 1) + 2 + (1 + 2 * len(DEFAULT_PERCENTILES) if with_road else 0)


def _as_spec_error(function: Callable, *args, **kwargs):
    """The curves' checks raise ValueError; here they are the user-facing SpecError."""
    try:
        return function(*args, **kwargs)
    except SpecError:
        raise
    except ValueError as error:
        raise SpecError(str(error)) from None
