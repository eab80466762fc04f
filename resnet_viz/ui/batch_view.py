"""Several images explained at once on the Grad-CAM page: one grid, a row per image (its name
and top-1 class at the left) and a column per chosen method, then on request each method's
faithfulness averaged over the batch (:mod:`resnet_viz.present.batch`).

The maps are the per-image view's own (:func:`.attention.compute`,
:func:`.pixel_workbench.compute_pixel`), so switching the layout recomputes nothing; the batch
metrics are shared by every session through
:func:`~resnet_viz.ui.shared_results.computed_once`, with a progress bar.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import streamlit as st
import torch

from ..analysis.attribution.confidence import average_drop
from ..analysis.attribution.faithfulness import faithfulness
from ..analysis.attribution.methods import METHOD_LABELS
from ..analysis.attribution.pixel import METHODS as PIXEL_METHODS
from ..data.images import load_image
from ..present.batch import MethodScores, batch_sentence, batch_table, image_drops
from ..present.pixel import ABSOLUTE_NOTE, SIGNED_NOTE
from ..weights import LoadedModel
from . import attention, pixel_workbench
from .common import shown_errors
from .map_checks import FAITHFULNESS_STEPS
from .pixel_workbench import PixelShown, pixel_cell
from .session_memory import MAX_REQUESTS, recalled, remember
from .shared_results import computed_once
from .workbench_common import BIND, TIMES_NOTE, Shown, results

SECTIONS, GRID = "One section per image", "One grid for all images"
#: The grid's most rows: past a dozen, a row's maps are too small to read on a projector.
MAX_GRID_IMAGES = 12


def layout_control() -> str:
    """The page's layout (in the URL): a section per image, or one grid for all of them."""
    picked = st.segmented_control(
        "Layout",
        [SECTIONS, GRID],
        default=SECTIONS,
        key="layout",
        bind=BIND,
        help="One grid: a row per image, a column per method, and the methods' faithfulness "
        "averaged over the images.",
    )
    return picked or SECTIONS


@dataclass(frozen=True)
class Row:
    """One image of the grid and its maps."""

    name: str
    tensor: torch.Tensor
    digest: str
    shown: tuple[Shown, ...]
    pixels: tuple[PixelShown, ...]


def grid(images: Sequence[tuple[str, bytes]], loaded: LoadedModel, settings,
         workbench: attention.Workbench) -> None:  # fmt: skip
    """The images' rows (an image that fails has its message in its row), then the batch
    metrics of the rows that worked."""
    if len(images) > MAX_GRID_IMAGES:
        st.info(
            f"The grid shows the first {MAX_GRID_IMAGES} of these {len(images)} images; "
            "remove some, or show one section per image.",
            icon=":material/grid_view:",
        )
        images = images[:MAX_GRID_IMAGES]
    rows = []
    for name, data in images:
        digest = hashlib.sha256(data).hexdigest()
        box = st.container(border=True, key=f"grid-{digest[:16]}")
        with box, shown_errors(f"explaining {name}"):
            row = _row(name, data, digest, loaded, settings, workbench)
            if row is not None:
                rows.append(row)
    if any(row.pixels for row in rows):
        st.caption(SIGNED_NOTE if workbench.signed else ABSOLUTE_NOTE)
    st.caption(TIMES_NOTE)
    if rows:
        with shown_errors("measuring the batch"):
            metrics_section(rows, loaded)


def _row(name: str, data: bytes, digest: str, loaded: LoadedModel, settings,
         workbench: attention.Workbench) -> Row | None:  # fmt: skip
    """One image's row: its name and top-1 class, then each method's cell, as the per-image
    grid draws them. Raises ImageError for a bad file."""
    image = load_image(data)
    crop = loaded.preprocessing.crop(image)
    tensor = loaded.preprocessing.tensor(image)
    shown = attention.computed_maps(loaded, tensor, digest, settings, workbench)
    if not shown:
        return None
    pixels = pixel_workbench.pixel_maps(loaded, tensor, digest, settings, workbench)
    cells = [*shown, *pixels]
    left, *columns = st.columns([1, *[1] * len(cells)])
    top, probability = shown[0].result.top_k[0]
    left.markdown(f"**{name}**")
    left.image(crop, width="stretch")
    left.caption(f"Top-1: “{loaded.categories[top]}” ({probability:.0%})")
    for column, item in zip(columns, cells, strict=True):
        if isinstance(item, PixelShown):
            pixel_cell(column, crop, item, loaded, settings, workbench)
        else:
            attention.cam_cell(column, crop, item, loaded, settings, workbench)
    return Row(name, tensor, digest, tuple(shown), tuple(pixels))


def method_label(item: Shown | PixelShown) -> str:
    """A map's name as its cell writes it."""
    if isinstance(item, PixelShown):
        return PIXEL_METHODS[item.method].label
    label = METHOD_LABELS[item.method]
    return label + " (counter-evidence)" if item.result.counterfactual else label


def batch_maps(rows: Sequence[Row]) -> dict[str, list]:
    """Each method's map on every row, by label: the CAM methods, then the pixel methods; a
    method some image lacks (it failed there) is left out, so each mean is over the same
    images."""
    by_row = [{method_label(i): i for i in (*row.shown, *row.pixels)} for row in rows]
    return {
        label: [found[label] for found in by_row]
        for label in by_row[0]
        if all(label in found for found in by_row)
    }


def measure(
    model,
    tensors: Sequence[torch.Tensor],
    maps: dict[str, list[np.ndarray]],
    targets: dict[str, list[int]],
    steps: int = FAITHFULNESS_STEPS,
    progress: Callable[[float, str], None] | None = None,
) -> list[MethodScores]:
    """Each method's deletion and insertion AUC on every image (``steps`` points a curve, as the
    per-image faithfulness section), and Average Drop over the batch, one call per method.

    ``maps[label]`` holds one heatmap in [0, 1] per image of ``tensors`` (each (1, C, H, W)),
    ``targets[label]`` the class each map explains."""
    batch = torch.cat(list(tensors))
    total = len(maps) * (len(tensors) + 1)
    done = 0
    out = []
    for label, heats in maps.items():
        curves = []
        for tensor, heat, target in zip(tensors, heats, targets[label], strict=True):
            if progress is not None:
                progress(done / total, f"{label}: image {len(curves) + 1} of {len(tensors)}")
            curves.append(faithfulness(model, tensor, heat, target_class=target, steps=steps))
            done += 1
        drop = average_drop(model, batch, heats, list(targets[label]))
        done += 1
        out.append(MethodScores(
            label,
            tuple(c.deletion_auc for c in curves),
            tuple(c.insertion_auc for c in curves),
            image_drops(drop),
            tuple(bool(o > y) for y, o in zip(drop.scores, drop.masked_scores, strict=True)),
        ))  # fmt: skip
    return out


def _asked(key: str) -> bool:
    """The metrics button, its request remembered for the session (results stay on reruns;
    the :data:`~resnet_viz.ui.session_memory.MAX_REQUESTS` most recent)."""
    asked = st.session_state.setdefault("_asked_batch", {})
    passes = "2 × (steps + 1) forward passes per map and image, and 2 per image for the drop"
    if st.button("Measure the methods over the batch", key=f"batch_{key}",
                 help=f"Deletion and insertion AUC (Petsiuk et al. 2018) and Average Drop "
                 f"(Chattopadhay et al. 2018) of every map: {passes}.",
                 icon=":material/play_arrow:"):  # fmt: skip
        remember(asked, key, True, MAX_REQUESTS)
    return recalled(asked, key, False)


def _key(rows: Sequence[Row], maps: dict[str, list]) -> str:
    """What the batch's numbers depend on: the images, the layer, and each map's method,
    class and options (a map's label says whether it is counter-evidence)."""
    parts = (
        rows[0].shown[0].result.layer,
        [row.digest for row in rows],
        [
            (label, [(i.result.target_class, sorted(getattr(i.result, "options", {}).items()))
                     for i in items])
            for label, items in maps.items()
        ],
    )  # fmt: skip
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


def metrics_section(rows: Sequence[Row], loaded: LoadedModel) -> None:
    """On request: each method's numbers over the batch as a table, the sentence, a CSV."""
    st.markdown("#### The methods over the batch: which is most faithful on average?")
    maps = batch_maps(rows)
    key = _key(rows, maps)
    if not _asked(key):
        st.caption(
            "Averaged over the images: a low deletion AUC and a high insertion AUC mean the "
            "map's top pixels carry the prediction; a low Average Drop means the map alone "
            "keeps the class's evidence."
        )
        return
    scores = computed_once(
        results(), ("batch", loaded.name, key),
        lambda bar: measure(
            loaded.model, [r.tensor for r in rows],
            {label: [i.result.heatmap for i in items] for label, items in maps.items()},
            {label: [i.result.target_class for i in items] for label, items in maps.items()},
            progress=bar,
        ),
        "Batch metrics: starting…",
    )  # fmt: skip
    table = batch_table(scores)
    st.dataframe(table, hide_index=True)
    st.markdown(batch_sentence(scores))
    st.download_button(
        "Download the table (CSV)",
        table.to_csv(index=False),
        file_name="batch_metrics.csv",
        mime="text/csv",
        key=f"batch_csv_{key}",
        icon=":material/download:",
        on_click="ignore",  # no rerun: see the overlay's download in .grad_cam
    )
