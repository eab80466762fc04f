"""Controls, cached computation and drawing for the gradient-flow page."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from ..analysis.gradients import INITS, MAX_STEPS, GradientReport, gradient_norms
from ..core.presets import spec_label
from ..core.spec import ResNetSpec
from ..data.study_data import DATA_SOURCES, study_batch
from ..present.gradients import branch_ratio_figure, gradient_norms_figure, reading
from .figure_memo import figure_of
from .lecture import show_chart
from .shared_results import computed_once, shared_results

BIND = "query-params"
_INIT_LABELS = {
    "kaiming": "Kaiming (He) normal, fan-out: torchvision's",
    "xavier": "Xavier (Glorot) normal",
    "orthogonal": "Orthogonal",
    "pytorch": "PyTorch layer default",
}


@dataclass(frozen=True)
class StudySettings:
    """Everything that determines a gradient study's numbers (the cache key)."""

    spec: ResNetSpec
    input_size: tuple[int, int, int]
    batch_size: int
    seed: int
    steps: int
    init: str
    batch_norm: bool
    data: str = "random"


def study_controls() -> dict[str, object]:
    """The gradient-study settings (in the current container), each bound to the URL."""
    values: dict[str, object] = {}
    values["data"] = st.radio(
        "Data",
        list(DATA_SOURCES),
        format_func=DATA_SOURCES.get,
        key="data",
        bind=BIND,
        help="Random noise isolates the architecture; the shapes are real images with labels.",
    )
    values["batch_norm"] = st.toggle(
        "Batch normalisation",
        value=True,
        key="gbn",
        bind=BIND,
        help="Off removes every BatchNorm from both networks (convs get biases).",
    )
    values["init"] = st.selectbox(
        "Initialisation", INITS, format_func=_INIT_LABELS.get, key="init", bind=BIND
    )
    left, right = st.columns(2)
    values["batch_size"] = left.number_input(
        "Batch size", min_value=2, max_value=256, value=16, step=1, key="batch", bind=BIND,
        help="Random images with random labels. BatchNorm needs at least 2.",
    )  # fmt: skip
    values["seed"] = right.number_input(
        "Seed", min_value=0, max_value=2**31 - 1, value=0, step=1, key="seed", bind=BIND,
        help="Same seed, same weights and batch, same numbers.",
    )  # fmt: skip
    values["steps"] = st.slider(
        "SGD steps on the batch", min_value=0, max_value=min(MAX_STEPS, 20), value=0, key="steps",
        bind=BIND, help="0 shows the gradients at initialisation only.",
    )  # fmt: skip
    return values


def run_study(settings: StudySettings) -> GradientReport:
    """The study for these settings: from the server's shared results, or computed with a
    progress bar (:func:`~resnet_viz.ui.shared_results.computed_once`: the bar cannot be drawn
    from inside ``st.cache_data``).

    Reports are immutable and depend only on the settings, so every session shares them, the
    32 most recently used kept. A failed computation (a refused or impossible network) is not
    kept: it raises again.
    """
    return computed_once(
        shared_results("gradient studies", 32),
        settings,
        lambda progress: gradient_norms(
            settings.spec,
            input_size=settings.input_size,
            batch_size=settings.batch_size,
            seed=settings.seed,
            steps=settings.steps,
            init=settings.init,
            batch_norm=settings.batch_norm,
            batch=study_batch(
                settings.data,
                settings.spec,
                settings.input_size,
                settings.batch_size,
                settings.seed,
            ),
            progress=progress,
        ),
        waiting_text="Another session is computing this same study…",
        kind="gradient study",
    )


def show_study(report: GradientReport, data: str = "random") -> None:
    """The reading, the two charts and the numbers behind them, at the chosen step."""
    step = 0
    if report.steps:
        step = st.slider("Show step", 0, report.steps, report.steps, key="shown_step")
    for sentence in reading(report, step):
        st.markdown(f"- {sentence}")
    # Built once per study and step for every session (figure_memo: the report is shared).
    show_chart(figure_of(report, gradient_norms_figure, step), key="grad_norms")
    if report.branch_ratio:
        show_chart(figure_of(report, branch_ratio_figure, step), key="branch_ratio")
    snapshot = report.history[step]
    cols = st.columns(4)
    cols[0].metric("First/last ratio, ResNet", f"{report.first_last_ratio('residual', step):.3g}")
    cols[1].metric("First/last ratio, plain", f"{report.first_last_ratio('plain', step):.3g}")
    cols[2].metric("Loss, ResNet", f"{snapshot.residual_loss:.3f}")
    cols[3].metric("Loss, plain", f"{snapshot.plain_loss:.3f}")
    c, h, w = report.input_size
    norm = (
        "BatchNorm uses batch statistics (train mode)"
        if report.spec.batch_norm
        else "no BatchNorm (convs with biases)"
    )
    st.caption(
        f"{spec_label(report.spec)} and its plain twin, identical weights where their layers "
        f"coincide; batch of {report.batch_size} {c}×{h}×{w} inputs "
        f"({DATA_SOURCES[data].lower()}), "
        f"seed {report.seed}, {report.init} init; {norm}. "
        f"Computed on {report.device} in {report.build_seconds + report.run_seconds:.1f} s."
    )
