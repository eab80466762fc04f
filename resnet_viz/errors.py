"""Errors whose message is written for the user, in a module that imports nothing heavy.

Every such error is a :class:`UserError`: pages catch that one base and show ``str(error)`` in
place of the failed section (anything else is a bug and goes to the server log). They live
apart from the code that raises them so that the pages that never touch images or weights
(home, architecture) can catch them without importing torch and torchvision.
:class:`~resnet_viz.core.spec.SpecError` lives with the spec it guards and
:class:`~resnet_viz.runtime.memory.BudgetError` with the memory budget; both are UserErrors.
This module imports nothing from the package, so every layer, ``core`` included, may use it.
"""

from __future__ import annotations

from pathlib import Path


class UserError(Exception):
    """An error whose ``str(error)`` is meant for the user: what went wrong and what to do.

    Each subclass keeps the built-in base that says what kind of failure it is (``ValueError``
    for bad input, ``RuntimeError`` for weights that could not be obtained), so code that
    catches those still does.
    """


class ImageError(UserError, ValueError):
    """An upload that cannot be used as an image. ``str(error)`` is meant for the student."""


class WeightsError(UserError, RuntimeError):
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


class CheckpointError(UserError, ValueError):
    """An uploaded file that is not a usable checkpoint for the chosen network."""


class DatasetError(UserError, ValueError):
    """A set of training images (a zip of class folders, uploads per class) that cannot be used."""
