"""The degradation page: shipped curves at once, a live run on request, drawn as it trains."""

from __future__ import annotations

import dataclasses
from functools import cache

import streamlit as st

from ..core.presets import valid_depths
from ..data.digits import DIGITS_COUNT, DIGITS_SIZE
from ..experiments.degradation import DEFAULTS, CurveSettings, degradation_record, train_curves
from ..experiments.landscape import landscape_record
from ..present.degradation import degradation_figure, degradation_reading
from ..present.landscape import shipped_runs_note
from .common import say_unknown_link_value
from .lecture import show_chart
from .shared_results import computed_once, shared_results

BIND = "query-params"
#: This session's last live run, (settings, curves): it stays on screen while the settings do.
LIVE_KEY = "degradation_live"
#: The deepest network a live run offers: ResNet-110 (He et al. 2015, Table 6; their
#: ResNet-1202 is beyond a live run).
DEEPEST = 110
#: The depths the live runs offer, here and on the loss-landscape page (which trains with this
#: page's recipe): every CIFAR depth (6n + 2) up to DEEPEST.
CIFAR_DEPTHS = valid_depths("cifar", limit=DEEPEST)


def degradation_controls(notice=None) -> CurveSettings:
    """Depths, epochs, seed and warm-up for a live run (defaults: the shipped curves'); a
    link's unknown depth is said in ``notice`` (a main-area container)."""
    say_unknown_link_value(
        notice, "shallow", "a depth for the shallow networks", CIFAR_DEPTHS, DEFAULTS.depths[0]
    )
    say_unknown_link_value(
        notice, "deep", "a depth for the deep networks", CIFAR_DEPTHS, DEFAULTS.depths[1]
    )
    left, right = st.columns(2)
    shallow = left.selectbox(
        "Shallow", CIFAR_DEPTHS, index=CIFAR_DEPTHS.index(DEFAULTS.depths[0]), key="shallow",
        bind=BIND,
    )  # fmt: skip
    deep = right.selectbox(
        "Deep", CIFAR_DEPTHS, index=CIFAR_DEPTHS.index(DEFAULTS.depths[1]), key="deep", bind=BIND
    )
    epochs = st.slider("Epochs", 2, 20, DEFAULTS.epochs, key="epochs", bind=BIND)
    seed = st.number_input("Seed", 0, 1_000_000, DEFAULTS.seed, key="lab_seed", bind=BIND)
    warmup = st.toggle(
        f"Learning-rate warm-up ({DEFAULTS.warmup_epochs} epochs)",
        value=DEFAULTS.warmup_epochs > 0,
        key="warmup",
        bind=BIND,
        help="He et al. warmed up their deepest CIFAR net too; without it the deep ResNet "
        "starts slowly as well.",
    )
    depths = tuple(sorted({shallow, deep}))
    return dataclasses.replace(
        DEFAULTS,
        depths=depths,
        epochs=epochs,
        seed=int(seed),
        warmup_epochs=min(DEFAULTS.warmup_epochs, epochs - 1) if warmup else 0,
    )


@cache  # the shipped asset, read and parsed once per process instead of on every page run
def _shipped() -> tuple[CurveSettings, dict[str, list[float]], dict]:
    record = degradation_record()
    settings = CurveSettings(
        **{**record["settings"], "depths": tuple(record["settings"]["depths"])}
    )
    return settings, record["curves"], record


@cache
def _shipped_figure():
    """The shipped curves' chart, built once per process for every session (~40 ms of plotly
    validation a page run otherwise). Shared: never changed (show_chart scales a copy)."""
    settings, curves, _ = _shipped()
    return degradation_figure(curves, epochs=settings.epochs)


@cache
def _shipped_note() -> str | None:
    """What differs between the shipped curves' run and the shipped landscapes' run."""
    return shipped_runs_note(landscape_record(), degradation_record(), "degradation")


def degradation_section(settings: CurveSettings) -> None:
    """Shipped curves at once for the default settings; a live run on request."""
    shipped_settings, shipped_curves, record = _shipped()
    live = st.session_state.get(LIVE_KEY)
    note = None
    rerun = st.button("Re-run live", icon=":material/play_arrow:", type="primary")
    chart = st.empty()
    if rerun:
        curves = _run_live(settings, chart)
        st.session_state[LIVE_KEY] = (settings, curves)
        source = "live run, just now"
    elif live is not None and live[0] == settings:
        curves, source = live[1], "live run earlier in this session"
    elif settings == shipped_settings:
        curves = shipped_curves
        note = _shipped_note()
        source = (
            f"precomputed on {record.get('machine', 'the project machine')} in "
            f"{record.get('wall_seconds', 0):.0f} s ({record.get('date', '')})"
        )
    else:
        st.info("These settings have no precomputed curves: press **Re-run live** to train.")
        return
    if curves is shipped_curves:
        figure = _shipped_figure()
    else:
        figure = degradation_figure(curves, epochs=settings.epochs)
    with chart.container():
        show_chart(figure, key="degradation")
    for sentence in degradation_reading(curves):
        st.markdown(f"- {sentence}")
    if note is not None:
        st.markdown(f"- {note}")
    st.caption(
        f"Curves: {source}. UCI handwritten digits ({DIGITS_SIZE}×{DIGITS_SIZE}, "
        f"{DIGITS_COUNT:,} images; CC BY 4.0), "
        f"{settings.train_images} training images, batch {settings.batch_size}, SGD lr "
        f"{settings.lr} (momentum {settings.momentum}, weight decay {settings.weight_decay}), "
        f"seed {settings.seed}; training error measured on {settings.eval_images} training "
        "images after each epoch. Each plain net starts from its ResNet's initial weights."
    )


def _run_live(settings: CurveSettings, chart) -> dict[str, list[float]]:
    """Train the curves of ``settings`` now, drawn in ``chart`` epoch by epoch. Always a new
    run (the button says "Re-run"); a session pressing it while another one trains the same
    settings waits for that run and shows its curves."""
    partial: dict[str, list[float]] = {}

    def on_epoch(name: str, epoch: int, error: float) -> None:
        partial.setdefault(name, []).append(error)
        with chart.container():
            show_chart(
                degradation_figure(partial, epochs=settings.epochs),
                key=f"degradation_live_{name}_{epoch}",
            )

    return computed_once(
        shared_results("degradation live runs", 0),  # a run in progress only: nothing kept
        settings,
        lambda progress: train_curves(
            settings.depths,
            epochs=settings.epochs,
            seed=settings.seed,
            warmup_epochs=settings.warmup_epochs,
            progress=progress,
            on_epoch=on_epoch,
        ),
        "Training…",
        waiting_text="Another session is training these same networks…",
        fresh=True,
    )
