"""A stratified, seeded split of labelled examples into training and validation.

Each class is split on its own, so both parts keep the classes' proportions (as scikit-learn's
``train_test_split(..., stratify=labels)``): a class of ``n >= 2`` examples gives
``round(n * validation_fraction)`` of them to validation, at least one and at most ``n - 1``, so
every class is both learnt and checked; a class of one example stays in training. The choice
within a class is a permutation drawn from ``numpy.random.default_rng(seed)``: the same labels
and seed always give the same split.

This module does not import streamlit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import DatasetError

__all__ = ["DEFAULT_VALIDATION_FRACTION", "Split", "stratified_split"]

DEFAULT_VALIDATION_FRACTION = 0.2
"""The share of each class held out for validation (the common 80/20 split)."""


@dataclass(frozen=True)
class Split:
    """Indices into the examples: ``train`` and ``validation``, each sorted, disjoint, together
    every example once."""

    train: tuple[int, ...]
    validation: tuple[int, ...]
    seed: int


def stratified_split(
    labels: Sequence[int],
    validation_fraction: float = DEFAULT_VALIDATION_FRACTION,
    *,
    seed: int = 0,
) -> Split:
    """Split ``labels``' indices per class (see the module docstring).

    Raises:
        DatasetError: a fraction outside (0, 1), or no example at all.
    """
    if not 0.0 < float(validation_fraction) < 1.0:
        raise DatasetError(
            f"The validation share must lie between 0 and 1, got {validation_fraction!r}."
        )
    values = np.asarray(labels, dtype=np.int64)
    if values.size == 0:
        raise DatasetError("There are no images to split.")
    rng = np.random.default_rng(seed)
    held: list[int] = []
    for label in np.unique(values):
        members = np.flatnonzero(values == label)
        if members.size < 2:
            continue
        count = min(max(round(members.size * validation_fraction), 1), members.size - 1)
        held.extend(int(i) for i in rng.permutation(members)[:count])
    validation = tuple(sorted(held))
    train = tuple(sorted(set(range(values.size)) - set(validation)))
    return Split(train=train, validation=validation, seed=seed)
