"""The app's pages, in one table: file, title, icon, URL path, menu section, the home page's line
about each, and what each imports under its "Loading PyTorch" spinner.

app.py builds its navigation and sidebar menu from :data:`PAGES`, the home page draws its links
from it, the lecture tour names its steps' pages by these entries and the background preload
(ui/preload.py) imports what they list. A page is added here and in pages/; tests/pages/test_site.py
checks that the two agree. Plain data, no Streamlit: tests and the tour read it without a
running app.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Page:
    """One page of the app.

    ``name`` is both the file under pages/ and the URL path: pages/architecture.py is served at
    /architecture (the default page at the root). ``title`` and ``icon`` are the menu's;
    ``home_name`` is what the home page calls the page, where that differs from the title.
    """

    name: str
    title: str
    icon: str
    section: str  # the menu's heading above the page; "" for none
    blurb: str = ""  # the home page's line about the page, after its name
    home_name: str = ""
    preloads: tuple[str, ...] = ()  # the modules the page imports under loading_torch
    default: bool = False  # served at the app's root URL

    @property
    def file(self) -> str:
        """The page's script, relative to app.py (what st.Page and st.page_link take)."""
        return f"pages/{self.name}.py"

    @property
    def url_path(self) -> str:
        """The path Streamlit serves the page at (and reports as ``page.url_path``)."""
        return "" if self.default else self.name

    @property
    def link_label(self) -> str:
        """The home page's link to this page: its name in bold, then the blurb."""
        return f"**{self.home_name or self.title}**: {self.blurb}"


HOME = Page("home", "Home", ":material/home:", "", default=True)
ARCHITECTURE = Page(
    "architecture",
    "Architecture",
    ":material/account_tree:",
    "Explore",
    "build any ResNet, see every stage's shapes, parameters, MACs and receptive field, and the "
    "skip connections drawn.",
    home_name="Architecture explorer",
)
GRADIENTS = Page(
    "gradients",
    "Gradient flow",
    ":material/show_chart:",
    "Explore",
    "per-layer gradient norms of a ResNet and of its plain twin; watch the gradient explode "
    "toward the input without skip connections.",
    preloads=("resnet_viz.ui.gradients",),
)
GRAD_CAM = Page(
    "grad_cam",
    "Grad-CAM",
    ":material/image_search:",
    "Explore",
    "upload an image and see where a ResNet looks when it names a class.",
    preloads=("resnet_viz.ui.grad_cam", "resnet_viz.ui.models", "resnet_viz.ui.batch_view"),
)
DEGRADATION = Page(
    "degradation",
    "Degradation",
    ":material/trending_down:",
    "Teaching lab",
    "train plain and residual networks of two depths side by side and watch the deeper plain "
    "one fall behind.",
    home_name="Degradation, live",
    preloads=("resnet_viz.ui.degradation",),
)
LESION = Page(
    "lesion",
    "Lesion study",
    ":material/content_cut:",
    "Teaching lab",
    "remove one block from a trained ResNet or its plain twin.",
    preloads=("resnet_viz.ui.lesion",),
)
LANDSCAPE = Page(
    "landscape",
    "Loss landscape",
    ":material/landscape:",
    "Teaching lab",
    "the training loss around trained ResNets and plain networks, smooth with skip connections "
    "and chaotic without.",
    preloads=("resnet_viz.ui.landscape",),
)
RECEPTIVE_FIELD = Page(
    "receptive_field",
    "Receptive field",
    ":material/center_focus_strong:",
    "Teaching lab",
    "which pixels a unit really responds to.",
    home_name="Effective receptive field",
    preloads=("resnet_viz.ui.receptive_field",),
)
BLOCK_ANATOMY = Page(
    "block_anatomy",
    "A block opened",
    ":material/view_module:",
    "Teaching lab",
    "x, F(x), the shortcut and the output of one block on your image.",
    preloads=("resnet_viz.ui.block_anatomy", "resnet_viz.ui.models"),
)
TRANSFER = Page(
    "transfer",
    "Train on your images",
    ":material/model_training:",
    "Teaching lab",
    "transfer learning live: a trained ResNet learns your classes in a minute; then its "
    "mistakes, its feature space and its attention before and after.",
    home_name="Train it on your images",
    preloads=("resnet_viz.ui.transfer_data", "resnet_viz.ui.transfer_lab", "resnet_viz.ui.models"),
)

#: Every page, in the menu's order (a section's pages next to each other).
PAGES: tuple[Page, ...] = (
    HOME,
    ARCHITECTURE,
    GRADIENTS,
    GRAD_CAM,
    DEGRADATION,
    LESION,
    LANDSCAPE,
    RECEPTIVE_FIELD,
    BLOCK_ANATOMY,
    TRANSFER,
)


def sections() -> dict[str, tuple[Page, ...]]:
    """The menu: each section's name and its pages, both in :data:`PAGES`' order."""
    grouped: dict[str, list[Page]] = {}
    for page in PAGES:
        grouped.setdefault(page.section, []).append(page)
    return {name: tuple(pages) for name, pages in grouped.items()}


def by_url_path(url_path: str) -> Page:
    """The page served at ``url_path`` ("" for the root); KeyError for none."""
    return {page.url_path: page for page in PAGES}[url_path]


def by_file(file: str) -> Page:
    """The page whose script is ``file`` ("pages/x.py"); KeyError for none."""
    return {page.file: page for page in PAGES}[file]
