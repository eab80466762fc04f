"""200 Grad-CAM calls in a row in one process (ResNet-50 at 224, CPU).

Run from the repository root:  python bench/soak.py [--calls 200]
Prints RSS before and after (after 10 warm-up calls), hooks left on the model, and whether its
parameters and .grad are untouched. Goal (issue "Lecture load"): growth under 50 MB.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from resnet_viz import build_model, preset
from tests.soak import soak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    model = build_model(preset("resnet50"))
    start = time.perf_counter()
    result = soak(model, side=224, calls=args.calls)
    elapsed = time.perf_counter() - start
    print(
        f"calls={result.calls} rss_before={result.rss_before_mb:.0f}MB "
        f"rss_after={result.rss_after_mb:.0f}MB growth={result.growth_mb:.1f}MB "
        f"hooks_left={result.hooks_after} params_unchanged={result.parameters_unchanged} "
        f"grads_untouched={result.grads_untouched} seconds={elapsed:.0f}"
    )


if __name__ == "__main__":
    main()
