"""Grad-CAM heatmaps as pictures: coloured with a matplotlib colormap, or blended over the image.

A heatmap here is a 2-D array of values in [0, 1], such as ``CamResult.heatmap`` from
:func:`resnet_viz.grad_cam`.
"""

from __future__ import annotations

import functools

import numpy as np
from PIL import Image

__all__ = ["heatmap_image", "overlay"]


def _colormap(name: str):
    """matplotlib's colormap ``name`` (imported lazily: matplotlib takes ~0.3 s to import)."""
    if not isinstance(name, str):
        raise _unknown_colormap(name)
    return _known_colormap(name)


@functools.cache
def _known_colormap(name: str):
    """One colormap object per name for the process: ``matplotlib.colormaps[name]`` hands out a
    fresh copy that builds its lookup table on first use, ~0.3 ms and a quarter of an overlay's
    cost. The copy kept here is only read (called) once built. An unknown name raises, so it
    is not kept."""
    import matplotlib

    if name not in matplotlib.colormaps:
        raise _unknown_colormap(name)
    return matplotlib.colormaps[name]


def _unknown_colormap(name: object) -> ValueError:
    examples = "jet, turbo, viridis, inferno, magma"
    return ValueError(f"Unknown colormap {name!r}; use a matplotlib name such as {examples}.")


def _check_heatmap(heatmap: object) -> np.ndarray:
    array = np.asarray(heatmap, dtype=np.float32)
    if array.ndim != 2 or array.size == 0:
        raise ValueError(f"heatmap must be a 2-D array (H x W); got shape {array.shape}.")
    if not np.isfinite(array).all():
        raise ValueError("heatmap contains NaN or infinite values.")
    low, high = float(array.min()), float(array.max())
    if low < 0 or high > 1:
        raise ValueError(
            f"heatmap values must lie in [0, 1] (grad_cam's heatmap does); got {low:g}..{high:g}."
        )
    return array


def heatmap_image(heatmap: np.ndarray, colormap: str = "jet") -> Image.Image:
    """The heatmap (values in [0, 1]) coloured with a matplotlib colormap, as an RGB image of
    the heatmap's own size."""
    array = _check_heatmap(heatmap)
    rgba = _colormap(colormap)(array, bytes=True)  # uint8 (H, W, 4)
    return Image.fromarray(np.ascontiguousarray(rgba[..., :3]))


def overlay(
    image: Image.Image, heatmap: np.ndarray, *, alpha: float = 0.5, colormap: str = "jet"
) -> Image.Image:
    """Blend the coloured heatmap over ``image``: ``(1 - alpha) * image + alpha * colour``.

    The heatmap is resized to the image with bilinear interpolation when the sizes differ
    (draw on :func:`resnet_viz.data.images.center_crop_for_display`'s crop so that pixels line up
    with what the model saw). Returns a new RGB image of ``image``'s size.

    Raises:
        ValueError: ``alpha`` outside [0, 1], an unknown colormap, or a heatmap that is not a
            2-D array of values in [0, 1].
    """
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not 0 <= alpha <= 1:
        raise ValueError(f"alpha must be a number from 0 to 1; got {alpha!r}.")
    array = _check_heatmap(heatmap)
    cmap = _colormap(colormap)
    rgb = image.convert("RGB")
    if array.shape != (rgb.height, rgb.width):
        resized = Image.fromarray(array).resize(rgb.size, Image.Resampling.BILINEAR)
        array = np.clip(np.asarray(resized, dtype=np.float32), 0.0, 1.0)
    colour = cmap(array, bytes=True)[..., :3].astype(np.float32)  # as heatmap_image colours
    base = np.asarray(rgb, dtype=np.float32)
    blended = (1.0 - alpha) * base + alpha * colour
    return Image.fromarray(np.rint(blended).clip(0, 255).astype(np.uint8))
