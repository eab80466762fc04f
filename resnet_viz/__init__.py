"""resnet-viz: build, measure and explain Residual Networks.

The library behind the Streamlit app; it never imports streamlit (that lives in ``ui/`` and
``pages/``). The public names below are stable: pages, tests and benchmarks use them.
"""

from .build import build_model
from .cam import CamResult, grad_cam
from .gradients import GradientReport, GradientSnapshot, gradient_norms
from .images import ImageError, load_image
from .spec import ResNetSpec, SpecError, preset, spec_for_depth
from .summary import summarize

__all__ = [
    "CamResult",
    "GradientReport",
    "GradientSnapshot",
    "ImageError",
    "ResNetSpec",
    "SpecError",
    "build_model",
    "grad_cam",
    "gradient_norms",
    "load_image",
    "preset",
    "spec_for_depth",
    "summarize",
]
