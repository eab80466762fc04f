"""The loss landscapes the app ships: ResNet-20/56 and their plain twins, trained on the digits.

``python -m resnet_viz.experiments.landscape`` (console script ``resnet-viz-landscape-grids``)
trains the four networks of the degradation page with its recipe
(:func:`resnet_viz.experiments.degradation.train_networks` with
:data:`~resnet_viz.experiments.degradation.DEFAULTS`: 10 epochs of 1,024 UCI digits, SGD with
warm-up and cosine decay, each plain net from its ResNet's initial weights), then computes each
network's :func:`~resnet_viz.analysis.landscape.loss_landscape` on the first 512 training digits
(the curves' evaluation subset) with :data:`SETTINGS`, and writes ``assets/landscape_grids.json``
(about 40 KB). Deterministic on the CPU (one thread, fixed seeds): a rerun on the same kind of
machine gives the same numbers.

The page shows the file at once; its live button reruns exactly this with other settings.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..analysis.landscape import Landscape, loss_landscape
from ..assets import ASSETS_DIR
from ..core.spec import SpecError
from ..data.digits import load_digits
from ..runtime.kernels import machine_description
from .degradation import DEFAULTS, curve_names, train_networks

GRIDS_PATH = ASSETS_DIR / "landscape_grids.json"
GRIDS_FORMAT = "resnet-viz-landscape/1"
#: Significant digits kept in the file.
DIGITS = 6

Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class LandscapeSettings:
    """Everything that determines the shipped grids (besides the training recipe)."""

    depths: tuple[int, ...] = (20, 56)
    resolution: int = 21
    span: float = 1.0
    seed: int = 0
    images: int = DEFAULTS.eval_images


#: The settings of the shipped grids and of the page's default view.
SETTINGS = LandscapeSettings()


def landscape_images(n: int = SETTINGS.images):
    """The first ``n`` training digits: the images every shipped surface is measured on."""
    if not 1 <= n <= DEFAULTS.train_images:
        raise SpecError(f"Use 1 to {DEFAULTS.train_images} training images; got {n}.")
    return load_digits(n)


def compute_grids(
    settings: LandscapeSettings = SETTINGS,
    *,
    networks: dict[str, nn.Module] | None = None,
    progress: Progress | None = None,
) -> dict[str, Landscape]:
    """Each network's landscape, keyed as :func:`~resnet_viz.experiments.degradation.curve_names`.

    ``networks`` are the trained networks (from :func:`train_for`); ``None`` trains them first.
    """
    names = curve_names(settings.depths)
    networks = networks if networks is not None else train_for(settings, progress)
    x, y = landscape_images(settings.images)
    cost = {name: int(name.split("-")[1]) for name in names}
    total, done = sum(cost.values()), 0
    grids = {}
    for name in names:

        def report(fraction: float, message: str, name: str = name, done: int = done) -> None:
            if progress is not None:
                progress((done + fraction * cost[name]) / total, f"{name}: {message}")

        grids[name] = loss_landscape(
            networks[name], x, y, resolution=settings.resolution, span=settings.span,
            seed=settings.seed, progress=report,
        )  # fmt: skip
        done += cost[name]
    return grids


def train_for(settings: LandscapeSettings, progress: Progress | None = None) -> dict:
    """The trained networks of ``settings.depths`` (the degradation recipe, :data:`DEFAULTS`)."""
    recipe = dataclasses.replace(DEFAULTS, depths=tuple(settings.depths))
    networks, _ = train_networks(recipe, progress=progress)
    return networks


def _rounded(values: np.ndarray) -> list:
    return np.vectorize(lambda v: float(f"{v:.{DIGITS}g}"), otypes=[float])(values).tolist()


def record_for(grids: dict[str, Landscape], settings: LandscapeSettings, **extra) -> dict:
    """The JSON record of ``grids`` (see :func:`landscape_record`)."""
    first = next(iter(grids.values()))
    return {
        "format": GRIDS_FORMAT,
        "settings": {**dataclasses.asdict(settings), "depths": list(settings.depths)},
        "recipe": {**dataclasses.asdict(DEFAULTS), "depths": list(settings.depths)},
        "alphas": first.alphas.tolist(),
        "betas": first.betas.tolist(),
        "grids": {
            name: {"loss": _rounded(g.loss), "accuracy": _rounded(g.accuracy)}
            for name, g in grids.items()
        },
        **extra,
    }


def landscape_record(path: Path | str = GRIDS_PATH) -> dict:
    """The shipped grids as stored: ``{"format", "settings", "recipe", "alphas", "betas",
    "grids": {name: {"loss", "accuracy"}}, "date", "machine", "wall_seconds", "torch"}``."""
    data = json.loads(Path(path).read_text())
    if data.get("format") != GRIDS_FORMAT:
        raise ValueError(f"{path} is not a {GRIDS_FORMAT} file")
    return data


def shipped_settings(record: dict) -> LandscapeSettings:
    settings = dict(record["settings"])
    return LandscapeSettings(**{**settings, "depths": tuple(settings["depths"])})


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m resnet_viz.experiments.landscape",
        description="Train ResNet-20/56 and their plain twins on the digits (the degradation "
        "recipe) and write the loss landscapes the app ships.",
    )
    parser.add_argument("--out", type=Path, default=GRIDS_PATH, help="JSON file to write")
    parser.add_argument("--resolution", type=int, default=SETTINGS.resolution)
    args = parser.parse_args(argv)
    settings = dataclasses.replace(SETTINGS, resolution=args.resolution)

    def show(fraction: float, message: str) -> None:
        print(f"{100 * fraction:5.1f} %  {message}", flush=True)

    start = time.perf_counter()
    networks = train_for(settings, show)
    trained = time.perf_counter()
    grids = compute_grids(settings, networks=networks, progress=show)
    done = time.perf_counter()
    record = record_for(
        grids,
        settings,
        date=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        machine=machine_description(),
        threads=1,
        wall_seconds={"training": round(trained - start, 1), "grids": round(done - trained, 1)},
        load_average=[round(v, 2) for v in os.getloadavg()],
        torch=torch.__version__,
    )
    args.out.write_text(json.dumps(record, separators=(",", ":")) + "\n")
    for name, grid in grids.items():
        print(
            f"{name:>10}: centre loss {grid.centre_loss:.4f}, non-convex share "
            f"{100 * grid.roughness:.1f} %"
        )
    print(f"{args.out} ({args.out.stat().st_size:,} bytes); {record['wall_seconds']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
