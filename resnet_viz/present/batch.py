"""Several images explained at once, presented: each method's faithfulness numbers over the batch
as a table (mean and spread over the images) and the sentence saying which method is most
faithful on average.

The numbers are RISE's deletion and insertion AUCs (Petsiuk et al. 2018,
:mod:`resnet_viz.analysis.attribution.faithfulness`) and Grad-CAM++'s Average Drop and Increase
in Confidence (Chattopadhay et al. 2018, :mod:`resnet_viz.analysis.attribution.confidence`).
The winner is judged on the mean of insertion minus deletion AUC (:func:`.cam.combined_score`,
the per-image reading), as shown, with the tie threshold of the per-image sentence
(:data:`.wording.TIE`), so the batch and the image never use two different rules.
No Streamlit, no torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..analysis.attribution.confidence import AverageDrop
from . import wording


@dataclass(frozen=True)
class MethodScores:
    """One method's numbers on each image of the batch, in the images' order.

    Attributes:
        label: the method's name as the page writes it.
        deletion: deletion AUC per image (lower is better).
        insertion: insertion AUC per image (higher is better).
        drop: each image's term of Average Drop, percent (lower is better).
        increased: whether each image's class probability rose on the map-masked image.
    """

    label: str
    deletion: tuple[float, ...]
    insertion: tuple[float, ...]
    drop: tuple[float, ...]
    increased: tuple[bool, ...]

    @property
    def combined(self) -> tuple[float, ...]:
        """Insertion minus deletion AUC per image (:func:`.cam.combined_score`)."""
        return tuple(i - d for i, d in zip(self.insertion, self.deletion, strict=True))


def image_drops(result: AverageDrop) -> tuple[float, ...]:
    """The per-image terms whose mean is ``result.drop``
    (:attr:`~resnet_viz.analysis.attribution.confidence.AverageDrop.drops`)."""
    return tuple(float(v) for v in result.drops)


def spread(values: Sequence[float]) -> tuple[float, float]:
    """Mean and standard deviation over the images (population, ``ddof=0``: one image has a
    spread of 0, not an undefined one)."""
    array = np.asarray(values, dtype=np.float64)
    return float(array.mean()), float(array.std())


#: The table's columns: (heading, the per-image values it summarises).
COLUMNS = {
    "Deletion AUC": lambda s: s.deletion,
    "Insertion AUC": lambda s: s.insertion,
    "Average drop (%)": lambda s: s.drop,
    "Increase in confidence (%)": lambda s: [100.0 * v for v in s.increased],
}
MEAN, SD = "mean", "SD"


def batch_table(scores: Sequence[MethodScores]) -> pd.DataFrame:
    """One row per method: each number's mean and standard deviation over the images (the CSV
    download is this table)."""
    records = []
    for s in scores:
        record: dict[str, object] = {"Method": s.label, "Images": len(s.deletion)}
        for heading, values in COLUMNS.items():
            mean, sd = spread(values(s))
            record[f"{heading} {MEAN}"] = mean
            record[f"{heading} {SD}"] = sd
        records.append(record)
    return pd.DataFrame(records)


SCORE = "insertion minus deletion AUC"


def batch_sentence(scores: Sequence[MethodScores]) -> str:
    """Which method is most faithful on average over the batch (only when one is, beyond
    :data:`~.wording.TIE` as shown), on the mean of :data:`SCORE`, with its spread."""
    images = len(scores[0].deletion)
    over = f"over {images} image{'s' * (images != 1)}"
    means = {s.label: spread(s.combined) for s in scores}
    if len(means) == 1:
        ((name, (mean, sd)),) = means.items()
        return (
            f"{name} scores {mean:.2f} on average {over} ({SCORE}, SD {sd:.2f}); pick another "
            "method to compare."
        )
    tied = wording.tied_with_best({n: m for n, (m, _) in means.items()})
    head = wording.winner_phrase(len(tied))
    if len(tied) == 1:
        best = tied[0]
        rest = {n: m for n, (m, _) in means.items() if n != best}
        second = max(rest, key=rest.get)
        mean, sd = means[best]
        return (
            f"{head} on average {over}: {best} ({SCORE} {mean:.2f}, SD {sd:.2f}, against "
            f"{rest[second]:.2f} for {second}, the next best)."
        )
    listed = ", ".join(f"{n} {means[n][0]:.2f}" for n in tied)
    return (
        f"No one method wins on average {over}: {head} between {listed} ({SCORE}, within "
        f"{wording.TIE} of each other as shown)."
    )
