"""The sample images bundled with the app (``assets/samples``), labelled for the picker.

Photographs (from scikit-image's data module, licences in ``assets/samples/LICENSES.md``) suit
the ImageNet models; the synthetic shapes (``shapes_<class>.png``) suit the demo model, which
was trained on such images.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..assets import ASSETS_DIR

SAMPLES_DIR = ASSETS_DIR / "samples"
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


@dataclass(frozen=True)
class Sample:
    """One bundled image: its file, a label for menus, and whether it is a synthetic shape."""

    path: Path
    label: str
    synthetic: bool

    def read(self) -> bytes:
        return self.path.read_bytes()


def bundled_samples(folder: Path = SAMPLES_DIR) -> list[Sample]:
    """Every sample image in ``folder``, photographs first, then shapes, each sorted by name."""
    samples = []
    for path in sorted(folder.glob("*")):
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            continue
        synthetic = path.stem.startswith("shapes_")
        name = path.stem.removeprefix("shapes_").replace("_", " ")
        label = f"{name} (synthetic shape)" if synthetic else f"{name} (photo)"
        samples.append(Sample(path, label, synthetic))
    return sorted(samples, key=lambda s: (s.synthetic, s.label))
