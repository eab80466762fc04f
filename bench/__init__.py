"""Benchmarks of resnet-viz against named floors and peers, and the drivers they share with the
tests (:mod:`bench.drivers`).

Every benchmark is a module with a ``main()``, run from the checkout as ``python -m
bench.<module>`` (the package is not installed with the app); each prints its figures and never
asserts, since timed asserts in tests fail on a busy machine. The recorded figures are in
``bench/README.md``.
"""
