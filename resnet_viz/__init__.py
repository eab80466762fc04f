"""resnet-viz: build, measure and explain Residual Networks.

The library behind the Streamlit app; it never imports streamlit (that lives in ``ui/`` and
``pages/``). The public names below are stable: pages, tests and benchmarks use them.
"""

from .build import build_model
from .gradients import GradientReport, GradientSnapshot, gradient_norms
from .spec import ResNetSpec, SpecError, preset, spec_for_depth
from .summary import summarize

__all__ = [
    "GradientReport",
    "GradientSnapshot",
    "ResNetSpec",
    "SpecError",
    "build_model",
    "gradient_norms",
    "preset",
    "spec_for_depth",
    "summarize",
]
