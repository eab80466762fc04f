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

from . import site

#: The ``tour`` value of the link that leaves the tour: home, lecture mode off.
LEAVE = "end"


@dataclass(frozen=True)
class TourStep:
    """One step: its page (an entry of the page table), query parameters, and what to say."""

    title: str
    target: site.Page
    params: dict[str, str] = field(default_factory=dict)
    points: tuple[str, ...] = ()

    @property
    def page(self) -> str:
        """The page's file, for st.page_link."""
        return self.target.file

    @property
    def url_path(self) -> str:
        return self.target.url_path

    def query(self, number: int) -> dict[str, str]:
        """The step's query parameters, with the tour position and lecture mode on."""
        return {**self.params, "tour": str(number), "lecture": "true"}

    def url(self, number: int) -> str:
        return f"/{self.url_path}?{urlencode(self.query(number))}"


STEPS: tuple[TourStep, ...] = (
    TourStep(
        "The degradation problem",
        site.DEGRADATION,
        {},
        (
            "Compare the training error of the plain networks, shallow against deep, then of "
            "the ResNets. It is the training set's error, so a gap is not overfitting.",
            "He et al. (2015, Figure 1) found the 56-layer plain network worse than the "
            "20-layer one, and skip connections removing the gap; the reading under the chart "
            "says whether these runs show the same.",
        ),
    ),
    TourStep(
        "The residual block",
        site.ARCHITECTURE,
        {"preset": "ResNet-18", "tab": "Diagram"},
        (
            "y = F(x) + x: the block learns a residual; the identity is free.",
            "Where the shape changes, a 1×1 projection W_s (or zero-padding) matches it.",
        ),
    ),
    TourStep(
        "Shapes and parameters",
        site.ARCHITECTURE,
        {"preset": "ResNet-152", "tab": "Stages"},
        (
            "Read the table stage by stage: in the paper's networks each stage after the first "
            "halves the spatial size and doubles the channels, so a layer costs about as much "
            "in every stage (He et al. 2015, Sec. 3.3).",
            # Checked against the summary in tests/pages/test_tour.py.
            "This step's ResNet-152 has 60.2 M parameters and 36 of its 50 bottleneck blocks "
            "in stage 3: the % params and % MACs columns say where they go.",
        ),
    ),
    TourStep(
        "Why it trains: the gradients",
        site.GRADIENTS,
        {"preset": "ResNet-56 (CIFAR)"},
        (
            "Each layer's gradient norm, from the input (left) to the output, for a ResNet and "
            "its plain twin with the same initial weights. On the log axis a steady slope "
            "means the gradient grows or shrinks by the same factor at every layer.",
            "Read the first layer against the last for each network, then change the depth, "
            "BatchNorm or the SGD steps and see which network's line moves.",
        ),
    ),
    TourStep(
        "Why it trains: the loss landscape",
        site.LANDSCAPE,
        {},
        (
            "Training loss on a plane through the trained weights (Li et al. 2018).",
            "Li et al. (2018, Figure 5) found deep plain networks' surfaces chaotic and the "
            "same networks with skips smooth; compare each depth's pair (with skips on the "
            "left), and how rough the reading below finds each surface.",
        ),
    ),
    TourStep(
        "What it looks at: Grad-CAM",
        site.GRAD_CAM,
        {},
        (
            "The heatmap: where the chosen layer's evidence for the named class lies, "
            "upsampled onto the image.",
            "The map has the layer's resolution: a later stage gives a coarser map, and each "
            "of its cells sees more of the image.",
        ),
    ),
    TourStep(
        "How far it sees: the effective receptive field",
        site.RECEPTIVE_FIELD,
        {},
        (
            "The map: how much each input pixel moves one unit (its gradient); the dashed box "
            "is the theoretical field, every pixel that could.",
            "Luo et al. (2016) found the effective field Gaussian-like and a fraction of the "
            "theoretical one; compare the solid box (95 % of the map) with the dashed one.",
        ),
    ),
    TourStep(
        "A residual block, opened",
        site.BLOCK_ANATOMY,
        {"an_block": "layer2.0"},
        (
            "x, F(x), the shortcut and ReLU(F(x) + x) from a real forward pass.",
            "‖F(x)‖/‖x‖ is the size of what the branch adds against what comes in: below 1 a "
            "correction to the input, above 1 more than the input; the chart gives it for "
            "every block.",
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
