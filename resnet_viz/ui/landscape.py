"""The loss-landscape page: shipped grids at once, a live recompute on request."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from functools import cache

import numpy as np
import streamlit as st

from ..analysis.gradients import estimate_memory_bytes as training_memory_bytes
from ..analysis.landscape import nonconvex_fraction, spec_memory_bytes
from ..experiments.degradation import DEFAULTS, curve_names, degradation_record, digits_spec
from ..experiments.landscape import (
    SETTINGS,
    LandscapeSettings,
    compute_grids,
    landscape_record,
    shipped_settings,
    train_for,
)
from ..present.landscape import landscape_figure, landscape_reading, shipped_runs_note
from ..runtime.memory import memory_budget_bytes, refuse_over_budget
from .common import say_unknown_link_value
from .degradation import CIFAR_DEPTHS
from .lecture import show_chart
from .shared_results import computed_once, shared_results

BIND = "query-params"
#: This session's last live run, (settings, grids): it stays on screen while the settings do.
LIVE_KEY = "landscape_live"
VIEWS = ["Contour", "3-D surface"]
RESOLUTIONS = [5, 7, 11, 15, 21, 31]
SPANS = [0.25, 0.5, 1.0, 2.0]


@dataclasses.dataclass(frozen=True)
class Grids:
    """What the page draws: name -> loss and accuracy arrays (len(betas) x len(alphas))."""

    alphas: np.ndarray
    betas: np.ndarray
    loss: dict[str, np.ndarray]
    accuracy: dict[str, np.ndarray]

    def centre_error(self) -> dict[str, float]:
        i, j = len(self.betas) // 2, len(self.alphas) // 2
        return {name: 1.0 - float(acc[i, j]) for name, acc in self.accuracy.items()}

    def roughness(self) -> dict[str, float]:
        return {n: nonconvex_fraction(z, self.alphas, self.betas) for n, z in self.loss.items()}


def landscape_controls(notice=None) -> tuple[LandscapeSettings, str]:
    """Depths, grid and directions (defaults: the shipped grids'), and the view; a link's
    unknown value for a menu is said in ``notice`` (a main-area container)."""
    for key, what, options, instead in (
        ("ls_shallow", "a depth for the shallow networks", CIFAR_DEPTHS, SETTINGS.depths[0]),
        ("ls_deep", "a depth for the deep networks", CIFAR_DEPTHS, SETTINGS.depths[1]),
        ("ls_res", "a grid", RESOLUTIONS, SETTINGS.resolution),
        ("ls_span", "a span", SPANS, SETTINGS.span),
        ("ls_view", "a view", VIEWS, VIEWS[0]),
    ):
        say_unknown_link_value(notice, key, what, options, instead)
    left, right = st.columns(2)
    shallow = left.selectbox(
        "Shallow", CIFAR_DEPTHS, index=CIFAR_DEPTHS.index(SETTINGS.depths[0]), key="ls_shallow",
        bind=BIND,
    )  # fmt: skip
    deep = right.selectbox(
        "Deep", CIFAR_DEPTHS, index=CIFAR_DEPTHS.index(SETTINGS.depths[1]), key="ls_deep",
        bind=BIND,
    )  # fmt: skip
    resolution = st.select_slider(
        "Grid points per axis", RESOLUTIONS, value=SETTINGS.resolution, key="ls_res", bind=BIND,
        help="A live 21×21 grid of ResNet-20 takes about 25 s on a 2-core CPU; depth 56 about "
        "three times as long.",
    )  # fmt: skip
    span = st.select_slider(
        "Span (±, in filter norms)", SPANS, value=SETTINGS.span, key="ls_span", bind=BIND,
        help="α = 1 moves every filter by its own norm along the random direction.",
    )  # fmt: skip
    seed = st.number_input(
        "Direction seed", 0, 1_000_000, SETTINGS.seed, key="ls_seed", bind=BIND,
        help="Which two random directions span the plane.",
    )  # fmt: skip
    view = st.radio("View", VIEWS, key="ls_view", bind=BIND, horizontal=True)
    settings = dataclasses.replace(
        SETTINGS, depths=tuple(sorted({shallow, deep})), resolution=resolution,
        span=float(span), seed=int(seed),
    )  # fmt: skip
    return settings, view


@cache
def _shipped() -> tuple[LandscapeSettings, Grids, dict]:
    record = landscape_record()
    grids = Grids(
        alphas=np.array(record["alphas"]),
        betas=np.array(record["betas"]),
        loss={n: np.array(g["loss"]) for n, g in record["grids"].items()},
        accuracy={n: np.array(g["accuracy"]) for n, g in record["grids"].items()},
    )
    return shipped_settings(record), grids, record


def _trained(depths: tuple[int, ...], progress: Callable[[float, str], None]) -> dict:
    """The trained networks of ``depths``, shared by every session, the 4 most recently used
    kept (never mutated: the landscape works on private copies). Trained, when they are not
    there yet, under the caller's progress bar and heavy-work slot: not in ``st.cache_resource``,
    which cannot keep a function that draws progress (:mod:`.shared_results`)."""
    return shared_results("landscape networks", 4).get_or_compute(
        depths,
        lambda: train_for(dataclasses.replace(SETTINGS, depths=depths), progress),
        waiting=lambda: st.spinner("Another session is training these same networks…"),
    )


def check_memory(settings: LandscapeSettings) -> None:
    """Refuse, before training anything, work over the memory budget."""
    deep = digits_spec(max(settings.depths))
    size = (1, DEFAULTS.image_size, DEFAULTS.image_size)
    needed = max(
        spec_memory_bytes(deep, size, settings.images),
        training_memory_bytes(deep, size, DEFAULTS.batch_size),
    )
    refuse_over_budget(
        needed, memory_budget_bytes(),
        f"Training and mapping ResNet-{max(settings.depths)} on {settings.images} digits",
        "Choose a shallower deep network.",
    )  # fmt: skip


def _run_live(settings: LandscapeSettings) -> Grids:
    """Train (or take from the server's cache) the networks and map their grids now. Always a
    new map (the button says "Recompute"); a session pressing it while another one computes the
    same settings waits for that run and shows its grids."""
    check_memory(settings)

    def compute(progress) -> dict:
        def training(fraction: float, message: str) -> None:
            progress(0.15 * fraction, f"Training: {message}")

        def mapping(fraction: float, message: str) -> None:
            progress(0.15 + 0.85 * fraction, f"Loss landscape, {message}")

        networks = _trained(tuple(settings.depths), training)
        return compute_grids(settings, networks=networks, progress=mapping)

    grids = computed_once(
        shared_results("landscape live runs", 0),  # a run in progress only: nothing kept
        settings,
        compute,
        "Training the networks…",
        waiting_text="Another session is computing these same landscapes…",
        fresh=True,
    )
    first = next(iter(grids.values()))
    return Grids(
        alphas=first.alphas,
        betas=first.betas,
        loss={n: g.loss for n, g in grids.items()},
        accuracy={n: g.accuracy for n, g in grids.items()},
    )


def landscape_section(settings: LandscapeSettings, view: str) -> None:
    """Shipped grids at once for the default settings; a live recompute on request."""
    shipped_settings_, shipped, record = _shipped()
    live = st.session_state.get(LIVE_KEY)
    note = None
    rerun = st.button(
        "Recompute live", icon=":material/play_arrow:", type="primary",
        help="Trains the four networks with the degradation page's recipe (cached for the "
        "server), then evaluates every grid point.",
    )  # fmt: skip
    if rerun:
        grids = _run_live(settings)
        st.session_state[LIVE_KEY] = (settings, grids)
        source = "live run, just now"
    elif live is not None and live[0] == settings:
        grids, source = live[1], "live run earlier in this session"
    elif settings == shipped_settings_:
        grids = shipped
        note = shipped_runs_note(record, degradation_record(), "landscape")
        wall = record.get("wall_seconds", {})
        source = (
            f"precomputed on {record.get('machine', 'the project machine')} "
            f"({record.get('date', '')[:10]}; training {wall.get('training', 0):.0f} s, grids "
            f"{wall.get('grids', 0):.0f} s)"
        )
    else:
        st.info("These settings have no precomputed grids: press **Recompute live** to compute.")
        return
    names = curve_names(settings.depths)
    for depth in settings.depths:
        pair = {f"ResNet-{depth}": f"resnet-{depth}", f"plain-{depth}": f"plain-{depth}"}
        figure = landscape_figure(
            {label: grids.loss[name] for label, name in pair.items()},
            grids.alphas, grids.betas, view="surface" if view == VIEWS[1] else "contour",
            title=f"Depth {depth}: with skip connections (left) and without (right)",
        )  # fmt: skip
        show_chart(figure, key=f"landscape_{depth}_{view}")
    roughness = grids.roughness()
    errors = grids.centre_error()
    for sentence in landscape_reading(
        {n: roughness[n] for n in names}, {n: errors[n] for n in names},
        resolution=len(grids.alphas),
    ):  # fmt: skip
        st.markdown(f"- {sentence}")
    if note is not None:
        st.markdown(f"- {note}")
    st.caption(
        f"Surfaces: {source}. Training loss (mean cross-entropy) on the first "
        f"{settings.images} training digits, at θ + α·d₁ + β·d₂ for a {settings.resolution}×"
        f"{settings.resolution} grid over ±{settings.span}, d₁ and d₂ random Gaussian directions "
        f"(seed {settings.seed}) with each filter scaled to its own norm, BatchNorm and biases "
        "fixed (Li et al. 2018). Colour and height: the loss on a log scale, capped at 10,000; "
        "× marks the points counted as not locally convex. Networks: trained with the "
        f"degradation page's default recipe ({DEFAULTS.epochs} epochs on "
        f"{DEFAULTS.train_images:,} UCI digits, CC BY 4.0; seed {DEFAULTS.seed}) in a run of "
        "their own, each plain net from its ResNet's initial weights."
    )
