"""Write the degradation curves the app ships (``assets/degradation_curves.json``).

Runs :func:`resnet_viz.analysis.degradation.train_curves` with its
:data:`~resnet_viz.analysis.degradation.DEFAULTS` and stores the curves with what makes them
reproducible: the settings, the torch build, the machine and its CPU kernels
(:func:`~resnet_viz.training.loop.machine_description`) and the kernel-selecting environment
variables in effect (:func:`~resnet_viz.training.loop.kernel_environment`), plus the wall
time and load average for the record. The file format is ``"resnet-viz-degradation/1"``::

    {"format", "settings": asdict(DEFAULTS) with depths as a list,
     "curves": {"plain-20": [...], ...}, "date", "machine", "environment", "threads": 1,
     "wall_seconds", "load_average", "torch"}

Run ``python -m resnet_viz.training.degradation_curves`` (``--out`` to write elsewhere). To
reproduce a record bit for bit, run with the same torch build and the record's
``environment`` variables set on a machine whose description then matches the record's.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import torch

from ..analysis.degradation import CURVES_FORMAT, CURVES_PATH, DEFAULTS, train_curves
from .loop import kernel_environment, machine_description

__all__ = ["main", "write_degradation_curves"]


def write_degradation_curves(path: Path | str = CURVES_PATH, *, quiet: bool = False) -> dict:
    """Run :func:`~resnet_viz.analysis.degradation.train_curves` with
    :data:`~resnet_viz.analysis.degradation.DEFAULTS` and write the record to ``path``."""
    settings = asdict(DEFAULTS)
    kwargs = {k: v for k, v in settings.items() if k not in ("momentum", "weight_decay")}

    def progress(fraction: float, message: str) -> None:
        if not quiet:
            print(f"{100 * fraction:5.1f} %  {message}", flush=True)

    start = time.perf_counter()
    curves = train_curves(**kwargs, progress=progress)
    wall = time.perf_counter() - start
    record = {
        "format": CURVES_FORMAT,
        "settings": {**settings, "depths": list(DEFAULTS.depths)},
        "curves": curves,
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": machine_description(),
        "environment": kernel_environment(),
        "threads": 1,
        "wall_seconds": round(wall, 1),
        "load_average": [round(v, 2) for v in os.getloadavg()],
        "torch": str(torch.__version__),
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=1) + "\n")
    return record


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m resnet_viz.training.degradation_curves",
        description="Train plain-20/56 and ResNet-20/56 on the digits with the default "
        "settings and write the curves the app ships.",
    )
    parser.add_argument("--out", type=Path, default=CURVES_PATH, help="JSON file to write")
    parser.add_argument("--quiet", action="store_true", help="no per-epoch progress lines")
    args = parser.parse_args(argv)
    record = write_degradation_curves(args.out, quiet=args.quiet)
    for name, curve in record["curves"].items():
        print(f"{name:>10}: final training error {100 * curve[-1]:.1f} %")
    print(f"{record['machine']}; {record['wall_seconds']} s, load average {record['load_average']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
