"""200 Grad-CAM calls in a row in one process (ResNet-50 at 224, CPU).

Run from the checkout:  python -m bench.soak [--calls 200]
Prints RSS before and after (after 10 warm-up calls), hooks left on the model, and whether its
parameters and .grad are untouched. Goal: growth under 50 MB, so that a server which serves a
whole lecture's Grad-CAM requests does not grow with them.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence

from bench.drivers.soak import soak
from resnet_viz import build_model, preset


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args(argv)
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
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
