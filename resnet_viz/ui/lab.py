"""The teaching lab's pages: the degradation experiment and the lesion study."""

from __future__ import annotations

import dataclasses
from functools import cache

import streamlit as st

from ..analysis.lesion import lesion_study
from ..core.presets import spec_for_depth
from ..data.digits import DIGITS_COUNT, DIGITS_SIZE
from ..experiments.degradation import DEFAULTS, CurveSettings, degradation_record, train_curves
from ..experiments.landscape import landscape_record
from ..experiments.lesion import CHANCE, DEPTH, HELD_OUT, TRAIN_IMAGES, held_out_digits, load_pair
from ..present.degradation import degradation_figure, degradation_reading
from ..present.landscape import shipped_runs_note
from ..present.lesion import lesion_figure, lesion_reading, path_length_figure
from .common import heavy_work_with_progress, say_unknown_link_value
from .lecture import show_chart

BIND = "query-params"
CIFAR_DEPTHS = [8, 14, 20, 26, 32, 38, 44, 56, 74, 110]


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


def _shipped() -> tuple[CurveSettings, dict[str, list[float]], dict]:
    record = degradation_record()
    settings = CurveSettings(
        **{**record["settings"], "depths": tuple(record["settings"]["depths"])}
    )
    return settings, record["curves"], record


@cache
def _shipped_note() -> str | None:
    """What differs between the shipped curves' run and the shipped landscapes' run."""
    return shipped_runs_note(landscape_record(), degradation_record(), "degradation")


def degradation_section(settings: CurveSettings) -> None:
    """Shipped curves at once for the default settings; a live run on request."""
    shipped_settings, shipped_curves, record = _shipped()
    live = st.session_state.get("degradation_live")
    note = None
    rerun = st.button("Re-run live", icon=":material/play_arrow:", type="primary")
    chart = st.empty()
    if rerun:
        curves = _run_live(settings, chart)
        st.session_state["degradation_live"] = (settings, curves)
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
    with chart.container():
        show_chart(degradation_figure(curves, epochs=settings.epochs), key="degradation")
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
    partial: dict[str, list[float]] = {}

    def on_epoch(name: str, epoch: int, error: float) -> None:
        partial.setdefault(name, []).append(error)
        with chart.container():
            show_chart(
                degradation_figure(partial, epochs=settings.epochs),
                key=f"degradation_live_{name}_{epoch}",
            )

    with heavy_work_with_progress("Training…") as progress:
        curves = train_curves(
            settings.depths,
            epochs=settings.epochs,
            seed=settings.seed,
            warmup_epochs=settings.warmup_epochs,
            progress=progress,
            on_epoch=on_epoch,
        )
    return curves


@st.cache_resource(show_spinner=f"Loading the trained ResNet-{DEPTH} and plain-{DEPTH}…")
def _lesion_results():
    resnet, plain = load_pair()
    batch = held_out_digits()
    return lesion_study(resnet, batch), lesion_study(plain, batch), resnet.spec


def _blocks(depth: int) -> int:
    """Residual blocks of the CIFAR network of ``depth``."""
    return sum(spec_for_depth(depth, "cifar").layers)


def lesion_section() -> None:
    """Accuracy with each block removed, ResNet vs plain twin, and the path-length picture."""
    resnet, plain, spec = _lesion_results()
    layers = spec.layers
    show_chart(lesion_figure(resnet, plain, chance=CHANCE), key="lesion")
    for sentence in lesion_reading(resnet, plain, chance=CHANCE):
        st.markdown(f"- {sentence}")
    widths = "/".join(str(w) for w in spec.widths)
    st.caption(
        f"ResNet-{spec.depth} and its plain twin (CIFAR-style, {widths} filters), trained from "
        f"identical weights on {TRAIN_IMAGES:,} UCI digits; accuracy on the {HELD_OUT:,} digits "
        "after them. Only blocks whose output has their input's shape can be removed "
        f"({len(resnet.accuracy)} of {sum(layers)})."
    )
    st.subheader("Why: a ResNet is many paths")
    blocks = st.slider(
        "Residual blocks", 1, 200, sum(layers), key="paths", bind=BIND,
        help=f"ResNet-{spec.depth} has {sum(layers)}; ResNet-56 {_blocks(56)}; "
        f"ResNet-110 {_blocks(110)}.",
    )  # fmt: skip
    show_chart(path_length_figure(blocks), key="paths_chart")
    st.markdown(
        f"With {blocks} blocks there are 2^{blocks} paths from input to output, each block "
        "taken or skipped. Most are of medium length (a binomial), so removing one block "
        "removes only the paths through it: half of them, and the rest still carry the signal. "
        "A plain network has a single path: cut one layer and nothing gets through."
    )
