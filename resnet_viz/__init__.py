"""resnet-viz: build, measure and explain Residual Networks.

The library behind the Streamlit app; it never imports streamlit (that lives in ``ui/`` and
``pages/``). The public names below are stable: pages, tests and benchmarks use them.

The package tree follows the architecture: ``core`` (a ResNet as data, its block layout, the
module built from it, its analytic summary), ``analysis`` (gradient flow, Grad-CAM, degradation,
lesions), ``data``, ``weights``, ``training``, ``present`` (charts, tables, diagrams, readings),
``runtime`` (devices, heavy-work slots, locks) and ``ui`` (the only Streamlit code).
"""

from .analysis.cam import CAM_METHODS, CamResult, grad_cam
from .analysis.degradation import degradation_curves
from .analysis.faithfulness import Faithfulness, faithfulness
from .analysis.gradients import GradientReport, GradientSnapshot, gradient_norms
from .analysis.lesion import lesion_study
from .analysis.sanity import SanityCheck, sanity_check
from .core.build import build_model
from .core.presets import preset, spec_for_depth
from .core.spec import ResNetSpec, SpecError
from .core.summary import summarize
from .data.images import ImageError, load_image

__all__ = [
    "CAM_METHODS",
    "CamResult",
    "Faithfulness",
    "GradientReport",
    "GradientSnapshot",
    "ImageError",
    "ResNetSpec",
    "SanityCheck",
    "SpecError",
    "build_model",
    "degradation_curves",
    "faithfulness",
    "grad_cam",
    "gradient_norms",
    "lesion_study",
    "load_image",
    "preset",
    "sanity_check",
    "spec_for_depth",
    "summarize",
]
