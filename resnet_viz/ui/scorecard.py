"""The workbench's scorecard under each image: every shown map, CAM or pixel, judged by the
same metrics (:func:`~resnet_viz.analysis.attribution.scorecard.scorecard`), on request, as a
ranked table (:mod:`resnet_viz.present.scorecard`) with its sentence and a CSV download.

ROAD is optional (a toggle): its linear solves make it the slow metric. The toggle names its
cost per map: the last figure measured on this server for the same model, device and image
size, or, before any, :data:`ROAD_SECONDS_224` scaled to the image (:func:`road_estimate`).
"""

from __future__ import annotations

from collections.abc import Mapping

import streamlit as st

from ..analysis.attribution.methods import METHOD_LABELS
from ..analysis.attribution.pixel import METHODS as PIXEL_METHODS
from ..weights import LoadedModel
from .map_checks import FAITHFULNESS_STEPS, pixel_key
from .pixel_workbench import PixelShown
from .shared_results import computed_once
from .workbench_common import Shown, requested, results

#: ROAD's wall-clock seconds per map at 224 x 224 on the development machine's shared
#: 2-core CPU, rounded up (measured 4 to 9 s with a ResNet-18: road.py's conjugate-gradient
#: solves, about 150 to 600 iterations per percentile, dominate; the forward passes do not).
ROAD_SECONDS_224 = 10.0
#: The solves' cost grows as the side cubed: the pixels (side squared) times the iterations
#: (about proportional to the side of the removed region).
ROAD_SIDE_EXPONENT = 3


@st.cache_resource
def _road_seconds() -> dict:
    """ROAD's last measured seconds per map, by (model, device, image size), per server."""
    return {}


def road_estimate(loaded: LoadedModel, tensor) -> float:
    """ROAD's seconds per map here: the last measured figure, or the 224 px figure scaled."""
    found = _road_seconds().get(_road_key(loaded, tensor))
    if found is not None:
        return found
    side = max(tensor.shape[-2:])
    return ROAD_SECONDS_224 * (side / 224) ** ROAD_SIDE_EXPONENT


def scorecard_section(tensor, shown: list[Shown], loaded: LoadedModel, digest: str,
                      pixels: list[PixelShown] = (),
                      verdicts: Mapping[str, str] | None = None) -> None:  # fmt: skip
    """Deletion and insertion AUC, ROAD (when asked), average drop and increase in
    confidence of every map; ``verdicts``: method -> the sanity check's verdict, where known."""
    st.markdown("#### Scorecard: every map judged the same way")
    first = shown[0].result
    base = f"{digest[:16]}_{first.layer}_{first.target_class}_" + "-".join(
        [f"{s.method}{int(s.result.counterfactual)}" for s in shown]
        + [pixel_key(p) for p in pixels]
    )
    estimate = road_estimate(loaded, tensor)
    with_road = st.toggle(
        f"Include ROAD (slow: ~{_seconds(estimate)} per map)",
        key=f"score_road_{digest[:16]}",
        help="ROAD (Rong et al. 2022) fills removed pixels by noisy linear imputation, so the "
        "removed region's shape tells the network nothing; one sparse linear solve per "
        "percentile and order.",
    )
    key = f"{base}_{int(with_road)}"
    if not requested("score", key, "Score every map",
                      "The same metrics for each map: deletion and insertion AUC, "
                      + ("ROAD, " if with_road else "")
                      + "average drop and increase in confidence."):  # fmt: skip
        st.caption(
            "One table, one row per map, ranked by insertion minus deletion AUC (ties kept as "
            "ties): which map's top pixels carry the prediction, judged the same way for all."
        )
        return
    # Imported on request: pandas stays out of the page's cold start.
    from ..analysis.attribution.scorecard import scorecard
    from ..present.scorecard import (
        ranking_score,
        scorecard_csv,
        scorecard_sentence,
        scorecard_table,
    )

    maps = {s.method: s.result.heatmap for s in shown}
    maps |= {p.method: p.result.heatmap for p in pixels}
    card = computed_once(
        results(), ("score", loaded.name, key),
        lambda bar: scorecard(
            loaded.model, tensor, maps, target_class=first.target_class,
            steps=FAITHFULNESS_STEPS, with_road=with_road,
            progress=lambda d, t: bar(d / t, f"Scorecard: {d} of {t} forward passes"),
        ),
        "Scorecard: starting…",
    )  # fmt: skip
    measured = [s.road_seconds for s in card.scores if s.road_seconds is not None]
    if measured:
        _road_seconds()[_road_key(loaded, tensor)] = sum(measured) / len(measured)
    labels = {s.method: _cam_label(s) for s in shown}
    labels |= {p.method: PIXEL_METHODS[p.method].label for p in pixels}
    seconds = {s.method: s.seconds for s in shown} | {p.method: p.seconds for p in pixels}
    table = scorecard_table(card, labels, seconds, verdicts)
    st.dataframe(table, hide_index=True, key=f"score_table_{key}")
    st.markdown(scorecard_sentence({labels[s.name]: ranking_score(s) for s in card.scores}))
    st.download_button(
        "Download the scorecard (CSV)",
        scorecard_csv(table),
        file_name=f"scorecard_{digest[:12]}.csv",
        mime="text/csv",
        key=f"score_csv_{key}",
        icon=":material/download:",
        on_click="ignore",  # as the page's other downloads: no rerun (ui/grad_cam.py)
    )


def _cam_label(item: Shown) -> str:
    label = METHOD_LABELS[item.method]
    return label + " (counter-evidence)" if item.result.counterfactual else label


def _road_key(loaded: LoadedModel, tensor) -> tuple:
    return (loaded.name, str(next(loaded.model.parameters()).device), tuple(tensor.shape[-2:]))


def _seconds(value: float) -> str:
    return f"{value:.0f} s" if value >= 1 else f"{value:.1f} s"
