"""The guided lecture tour: eight steps, each a page with its settings in the URL.

The story follows He et al. 2015: deeper plain networks train worse (the degradation problem),
the residual block fixes it, this is what the networks look like, this is why it works (the
gradients, then the loss landscape they descend), this is what a trained one looks at, how far
its units really see, and what one block does to a real image. Each step is plain data so that
a link, a test and the tour bar all read the same thing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlencode

#: The ``tour`` value of the link that leaves the tour: home, lecture mode off.
LEAVE = "end"


@dataclass(frozen=True)
class TourStep:
    """One step: the page file, its URL path and query parameters, and what to say."""

    title: str
    page: str  # the file under pages/, for st.page_link
    url_path: str
    params: dict[str, str] = field(default_factory=dict)
    points: tuple[str, ...] = ()

    def query(self, number: int) -> dict[str, str]:
        """The step's query parameters, with the tour position and lecture mode on."""
        return {**self.params, "tour": str(number), "lecture": "true"}

    def url(self, number: int) -> str:
        return f"/{self.url_path}?{urlencode(self.query(number))}"


STEPS: tuple[TourStep, ...] = (
    TourStep(
        "The degradation problem",
        "pages/degradation.py",
        "degradation",
        {},
        (
            "Plain networks: the 56-layer one ends with higher training error than the 20-layer "
            "one. Not overfitting: this is the training set.",
            "With skip connections the deeper network is at least as good.",
        ),
    ),
    TourStep(
        "The residual block",
        "pages/architecture.py",
        "architecture",
        {"preset": "ResNet-18", "tab": "Diagram"},
        (
            "y = F(x) + x: the block learns a residual; the identity is free.",
            "Where the shape changes, a 1×1 projection W_s (or zero-padding) matches it.",
        ),
    ),
    TourStep(
        "Shapes and parameters",
        "pages/architecture.py",
        "architecture",
        {"preset": "ResNet-152", "tab": "Stages"},
        (
            "Spatial size halves and channels double at every stage.",
            "Bottlenecks keep a 152-layer network at 60 M parameters; stage 3 holds most blocks.",
        ),
    ),
    TourStep(
        "Why it trains: the gradients",
        "pages/gradients.py",
        "gradients",
        {"preset": "ResNet-56 (CIFAR)"},
        (
            "Without skips the gradient explodes toward the input (with BatchNorm).",
            "With skips every block changes its input only a little.",
        ),
    ),
    TourStep(
        "Why it trains: the loss landscape",
        "pages/landscape.py",
        "landscape",
        {},
        (
            "Training loss on a plane through the trained weights (Li et al. 2018).",
            "Plain-56: a chaotic surface. ResNet-56: a smooth bowl that gradient descent finds.",
        ),
    ),
    TourStep(
        "What it looks at: Grad-CAM",
        "pages/grad_cam.py",
        "grad_cam",
        {},
        (
            "The last stage's evidence for the predicted class, upsampled onto the image.",
            "Coarse but semantic: each of its positions sees most of the image.",
        ),
    ),
    TourStep(
        "How far it sees: the effective receptive field",
        "pages/receptive_field.py",
        "receptive_field",
        {},
        (
            "A unit could see its whole theoretical field; its gradient says it mostly does not.",
            "Gaussian-like, a fraction of the theoretical field (Luo et al. 2016).",
        ),
    ),
    TourStep(
        "A residual block, opened",
        "pages/block_anatomy.py",
        "block_anatomy",
        {"an_block": "layer2.0"},
        (
            "x, F(x), the shortcut and ReLU(F(x) + x) from a real forward pass.",
            "‖F(x)‖/‖x‖: most blocks add a correction to their input, not a new picture.",
        ),
    ),
)


def step(number: int) -> TourStep | None:
    """Step ``number`` (1-based), or None outside the tour."""
    return STEPS[number - 1] if 1 <= number <= len(STEPS) else None


def step_on_page(query: Mapping[str, str], url_path: str) -> int | None:
    """The number of the tour step that a run with these query parameters on this page shows,
    or None: no (readable) ``tour`` parameter, or one naming a step of another page (a hand-made
    link; the tour bar of step 4 on the lesion page would describe a chart that is not there)."""
    try:
        number = int(query.get("tour", ""))
    except ValueError:
        return None
    current = step(number)
    return number if current is not None and current.url_path == url_path else None


def leaving(query: Mapping[str, str]) -> bool:
    """Whether this run follows the tour's "leave" link."""
    return query.get("tour") == LEAVE


def lecture_requested(query: Mapping[str, str]) -> bool:
    """Lecture mode as the URL asks for it, before any widget exists: on with ``lecture=true``,
    except on the way out of the tour (the leave link turns it off)."""
    return query.get("lecture") == "true" and not leaving(query)
