"""How close is gradient_norms to the floor: a bare forward + backward of the same two models?

Run from the checkout: ``python -m bench.gradients_bench`` (``--runs``, ``--threads``,
``--only``). Prints, never asserts (timed asserts fail on a busy machine).
Goal: the computation at most 1.25x the floor, so that instrumenting a training step costs
little more than the step itself.

What each number includes (all wall clock, median of ``--runs`` after one warm-up run of each,
the four measurements interleaved so that drift and neighbouring processes hit them alike):
- floor: a train-mode forward + cross-entropy + backward of the residual model and then of its
  plain twin, models built once outside the timed region (with ``build_twins``, the weights
  gradient_norms uses), on the batch gradient_norms draws for seed 0. No hooks, no norms.
- instrumented passes, same models: gradient_norms' inner loop (``_run``) on the floor's own
  models and batch: the two passes plus the branch-ratio hooks, the per-layer norms and turning
  them into Python floats. The pure cost of what gradient_norms adds to the floor.
- gradient_norms run (fresh models): ``report.run_seconds`` of a real call: the same loop, on
  the call's freshly built models (first touch of their weights and gradient buffers).
- gradient_norms total: the whole call as the page makes it: argument checks, memory guard
  (an analytic summary), RNG fork, building both models and the batch, and the run. Compared
  with floor + naive build, where naive build is what a user would write to get the same two
  models: ``build_model(spec)``, ``build_model(spec.plain_twin())`` and ``load_state_dict``.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Sequence

import torch
import torch.nn.functional as F  # noqa: N812

from resnet_viz import build_model, preset
from resnet_viz.analysis.gradients import _run, gradient_norms
from resnet_viz.analysis.twins import build_twins

CASES = [("resnet56", (3, 32, 32), 16), ("resnet50", (3, 224, 224), 4)]


def floor_pass(models, x, y) -> None:
    for model in models:
        model.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()


def naive_build(spec):
    residual = build_model(spec)
    plain = build_model(spec.plain_twin())
    plain.load_state_dict(residual.state_dict(), strict=False)
    return residual.train(), plain.train()


def same_batch(spec, input_size, batch):
    """The batch gradient_norms draws for seed 0 (its documented recipe), so the floor and the
    call see identical data."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        build_model(spec)
        x = torch.randn(batch, *input_size)
        y = torch.randint(0, spec.num_classes, (batch,))
    return x, y


def bench_case(name, input_size, batch, runs):
    spec = preset(name)
    models = build_twins(spec, seed=0, device="cpu")
    x, y = same_batch(spec, input_size, batch)
    last = {}

    def call():
        last["report"] = gradient_norms(
            spec, input_size=input_size, batch_size=batch, seed=0, device="cpu"
        )

    candidates = {
        "floor": lambda: floor_pass(models, x, y),
        "same": lambda: _run(
            *models, x, y, steps=0, lr=0.0, momentum=0.0, report=lambda *_: None, units=3
        ),
        "total": call,
        "naive": lambda: naive_build(spec),
    }
    times = {key: [] for key in candidates}
    run_times = []
    for fn in candidates.values():  # warm-up: oneDNN picks and caches kernels per shape
        fn()
    for _ in range(runs):  # interleaved, so drift and neighbours hit all alike
        for key, fn in candidates.items():
            start = time.perf_counter()
            fn()
            times[key].append(time.perf_counter() - start)
        run_times.append(last["report"].run_seconds)
    m = {key: statistics.median(values) for key, values in times.items()}
    run = statistics.median(run_times)
    floor = m["floor"]
    print(f"\n{name} {input_size[1]}x{input_size[2]} batch {batch}")
    rows = [
        ("floor: fwd+bwd of both models", floor, ""),
        ("instrumented passes, same models", m["same"], f"{m['same'] / floor:.3f}x floor"),
        ("gradient_norms run (fresh models)", run, f"{run / floor:.3f}x floor"),
        ("naive build of both models", m["naive"], ""),
        (
            "gradient_norms total (incl. build)",
            m["total"],
            f"{m['total'] / (floor + m['naive']):.3f}x (floor + naive build)",
        ),
    ]
    for label, seconds, ratio in rows:
        print(f"  {label:<36}{seconds * 1e3:9.1f} ms   {ratio}".rstrip())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--only", choices=[name for name, _, _ in CASES], help="one case only")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(
        f"torch {torch.__version__}, {args.threads} threads, {platform.processor() or 'cpu'}, "
        f"{os.cpu_count()} CPUs, median of {args.runs} runs after a warm-up, on the CPU"
    )
    # Other processes on the machine distort CPU timings badly (OpenMP threads wait on each
    # other): the load average says whether a run was alone.
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    for name, input_size, batch in CASES:
        if args.only in (None, name):
            bench_case(name, input_size, batch, args.runs)
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
