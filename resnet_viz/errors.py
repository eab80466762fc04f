"""Errors whose message is written for the user, in a module that imports nothing heavy.

Pages catch these and show ``str(error)`` in place of the failed section (anything else is a
bug and goes to the server log). They live apart from the code that raises them so that the
pages that never touch images or weights (home, architecture) can catch them without importing
torch and torchvision. :class:`~resnet_viz.core.spec.SpecError` lives with the spec it guards.
"""

from __future__ import annotations

from pathlib import Path


class ImageError(ValueError):
    """An upload that cannot be used as an image. ``str(error)`` is meant for the student."""


class WeightsError(RuntimeError):
    """Weights that could not be obtained or read; ``str(error)`` is meant for the user."""


class WeightsUnavailable(WeightsError):  # noqa: N818 (the name the page uses)
    """The weights file is not cached and could not be downloaded (usually: no network).

    ``filename``, ``folder`` and ``url`` say where the file comes from and where to put it by
    hand; the page adds what it does instead (show the demo model).
    """

    def __init__(self, message: str, *, filename: str, folder: Path, url: str) -> None:
        super().__init__(message)
        self.filename = filename
        self.folder = folder
        self.url = url


class CheckpointError(ValueError):
    """An uploaded file that is not a usable checkpoint for the chosen network."""
