"""resnet-viz: build, measure and explain Residual Networks.

The library behind the Streamlit app; it never imports streamlit (that lives in ``ui/`` and
``pages/``). The public names below are stable: pages, tests and benchmarks use them.

The package tree follows the architecture, bottom up (each layer imports only those below it):
``core`` (a ResNet as data, its block layout, the module built from it, its analytic summary);
``runtime`` (devices, memory budget, heavy-work slots, locks, kernels) and ``data``;
``weights``; ``analysis`` (the measurements: gradient flow, attribution, landscapes, receptive
fields, lesions, one block's anatomy); ``training`` (the loop, the demo model); ``experiments``
(what is trained once and shipped); ``present`` (figures, tables, diagrams, readings, by topic);
``ui`` (the only Streamlit code).
"""

from importlib import import_module
from typing import TYPE_CHECKING

#: Each public name and the module that owns it. Imported on first use (PEP 562), so that
#: ``from resnet_viz import summarize`` costs no torch import: the analytic core and the
#: architecture pages never need torch, and importing it takes seconds on a cold server.
_EXPORTS = {
    "CAM_METHODS": ".analysis.attribution.cam",
    "CamResult": ".analysis.attribution.cam",
    "grad_cam": ".analysis.attribution.cam",
    "ATTRIBUTION_METHODS": ".analysis.attribution.pixel",
    "PixelAttribution": ".analysis.attribution.pixel",
    "attribute": ".analysis.attribution.pixel",
    "Faithfulness": ".analysis.attribution.faithfulness",
    "faithfulness": ".analysis.attribution.faithfulness",
    "inverted": ".analysis.attribution.faithfulness",
    "FusedCam": ".analysis.attribution.fused",
    "fused_cam": ".analysis.attribution.fused",
    "LayerFaithfulness": ".analysis.attribution.layer_faithfulness",
    "layer_faithfulness": ".analysis.attribution.layer_faithfulness",
    "Road": ".analysis.attribution.road",
    "lrp": ".analysis.attribution.lrp",
    "LrpResult": ".analysis.attribution.lrp",
    "method_agreement": ".analysis.attribution.agreement",
    "MethodAgreement": ".analysis.attribution.agreement",
    "road": ".analysis.attribution.road",
    "AverageDrop": ".analysis.attribution.confidence",
    "average_drop": ".analysis.attribution.confidence",
    "SanityCheck": ".analysis.attribution.sanity",
    "sanity_check": ".analysis.attribution.sanity",
    "sanity_lesson": ".analysis.attribution.sanity_lesson",
    "degradation_curves": ".experiments.degradation",
    "GradientReport": ".analysis.gradients",
    "GradientSnapshot": ".analysis.gradients",
    "gradient_norms": ".analysis.gradients",
    "lesion_study": ".analysis.lesion",
    "loss_landscape": ".analysis.landscape",
    "effective_receptive_field": ".analysis.receptive_field",
    "block_anatomy": ".analysis.anatomy",
    "Embedding": ".analysis.embedding",
    "embed": ".analysis.embedding",
    "ImageFolder": ".data.image_folder",
    "image_folder": ".data.image_folder",
    "FineTuned": ".training.transfer",
    "fine_tune": ".training.transfer",
    "spec_from_state_dict": ".core.from_weights",
    "build_model": ".core.build",
    "preset": ".core.presets",
    "spec_for_depth": ".core.presets",
    "ResNetSpec": ".core.spec",
    "SpecError": ".core.spec",
    "summarize": ".core.summary",
    "load_image": ".data.images",
    "DatasetError": ".errors",
    "ImageError": ".errors",
    "UserError": ".errors",
    "BudgetError": ".runtime.memory",
}


def __getattr__(name: str) -> object:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'resnet_viz' has no attribute {name!r}")
    value = getattr(import_module(module, __name__), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


if TYPE_CHECKING:  # static checkers and IDEs see the names as ordinary imports
    from .analysis.anatomy import block_anatomy
    from .analysis.attribution.agreement import MethodAgreement, method_agreement
    from .analysis.attribution.cam import CAM_METHODS, CamResult, grad_cam
    from .analysis.attribution.confidence import AverageDrop, average_drop
    from .analysis.attribution.faithfulness import Faithfulness, faithfulness, inverted
    from .analysis.attribution.fused import FusedCam, fused_cam
    from .analysis.attribution.layer_faithfulness import LayerFaithfulness, layer_faithfulness
    from .analysis.attribution.lrp import LrpResult, lrp
    from .analysis.attribution.pixel import ATTRIBUTION_METHODS, PixelAttribution, attribute
    from .analysis.attribution.road import Road, road
    from .analysis.attribution.sanity import SanityCheck, sanity_check
    from .analysis.attribution.sanity_lesson import sanity_lesson
    from .analysis.embedding import Embedding, embed
    from .analysis.gradients import GradientReport, GradientSnapshot, gradient_norms
    from .analysis.landscape import loss_landscape
    from .analysis.lesion import lesion_study
    from .analysis.receptive_field import effective_receptive_field
    from .core.build import build_model
    from .core.from_weights import spec_from_state_dict
    from .core.presets import preset, spec_for_depth
    from .core.spec import ResNetSpec, SpecError
    from .core.summary import summarize
    from .data.image_folder import ImageFolder, image_folder
    from .data.images import load_image
    from .errors import DatasetError, ImageError, UserError
    from .experiments.degradation import degradation_curves
    from .runtime.memory import BudgetError
    from .training.transfer import FineTuned, fine_tune

__all__ = [
    "ATTRIBUTION_METHODS",
    "CAM_METHODS",
    "AverageDrop",
    "BudgetError",
    "CamResult",
    "DatasetError",
    "Embedding",
    "Faithfulness",
    "FineTuned",
    "FusedCam",
    "GradientReport",
    "GradientSnapshot",
    "ImageError",
    "ImageFolder",
    "LayerFaithfulness",
    "LrpResult",
    "MethodAgreement",
    "PixelAttribution",
    "ResNetSpec",
    "Road",
    "SanityCheck",
    "SpecError",
    "UserError",
    "attribute",
    "average_drop",
    "block_anatomy",
    "build_model",
    "degradation_curves",
    "effective_receptive_field",
    "embed",
    "faithfulness",
    "fine_tune",
    "fused_cam",
    "grad_cam",
    "gradient_norms",
    "image_folder",
    "inverted",
    "layer_faithfulness",
    "lesion_study",
    "load_image",
    "loss_landscape",
    "lrp",
    "method_agreement",
    "preset",
    "road",
    "sanity_check",
    "sanity_lesson",
    "spec_for_depth",
    "spec_from_state_dict",
    "summarize",
]
