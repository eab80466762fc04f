"""Synthetic "shapes" images with known object locations, generated offline and in bulk.

Why: the app's demo ResNet is trained on this data so that Grad-CAM works without a download
and can be *measured* (pointing game: does the CAM's peak fall inside the object's mask?); the
degradation experiment (plain vs residual nets trained for a minute or two on a CPU) and the
lesion study use it too. So images are cheap, deterministic, carry an exact per-pixel mask, and
the label can only be read off the object's *shape*:

- every image holds exactly one object of one of ``CLASSES`` on a cluttered background;
- the object's colour, the background and the distractors are drawn independently of the class;
- all classes have the same area distribution: the scale is drawn as an *area-equivalent
  diameter* (the diameter of the circle with the object's area), uniform in 25-45 % of the side,
  and each class is scaled by ``sqrt(pi / unit_area)``; so neither area, colour nor position
  tells the class (``tests/unit/data/test_synthetic_shapes.py`` checks that a classifier on them
  stays at chance). The extent for a given area does differ (a star reaches further than a disc;
  the larger side of the box spans 23-65 % of the image side), but that is shape;
- distractors are short thin line segments (no class is a line), half of them in the object's
  own colour; a segment that would come within ``_GAP`` of the object (2 % of the side, at
  least 1.5 px) is left out entirely, so distractors never touch or change its outline.

Geometry (:mod:`resnet_viz.data.shape_geometry`). Each class is a signed-distance function
(negative inside) of a shape with circumradius 1; the object is that shape scaled, rotated by a
uniform random angle and placed uniformly at random where its rotated extent lies fully inside
the image (a margin of 3 % of the side). A pixel belongs to the object (``mask``) iff its
*centre* lies inside the shape. Mask pixels carry exactly the object's colour (``colors[i]``):
the object occludes everything below it. Anti-aliasing is one-sided: pixels *outside* the mask
whose centre is within half a pixel of the outline blend object and background (coverage
``0.5 - distance``), so edges look smooth while the mask stays exact.

Determinism. Parameters are drawn in blocks of ``_BLOCK`` images, block ``b`` from
``numpy.random.default_rng([seed, b])``; pixel noise from a second stream per block. Hence image
``i`` depends only on ``(i, seed, size, clutter)``: ``make_batch(n, seed=s)`` starts with
``make_batch(k, seed=s)`` for every ``k <= n`` (prefix-stable, so a training set can grow).
Moreover all geometry and colours are drawn in units of the image side, so the same seed gives
the same scene at every ``size`` and every ``clutter`` (``clutter`` only scales the amplitude of
the background texture and the number of segments; masks and labels do not depend on it).

Cost. Everything is vectorised numpy over blocks of ``_BLOCK`` images; the only Python loops
run over classes and distractor slots, so a training set of ten thousand images takes seconds.
Timings, and how quickly a small ResNet learns the classes, are in ``docs/synthetic_shapes.md``
with the commands that reproduce them.
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from .shape_geometry import CLASSES, UNIT_AREAS, extents, scale_for, sdf_px, shape_mask

if TYPE_CHECKING:  # torch is only needed for ShapesBatch.to_tensors
    import torch

__all__ = [
    "CLASSES",
    "MEAN",
    "STD",
    "UNIT_AREAS",
    "ShapesBatch",
    "make_batch",
    "sample_image",
    "shape_mask",
    "write_samples",
]

#: Per-channel mean and standard deviation of ``make_batch`` images scaled to [0, 1], measured
#: on 50,000 images (``make_batch(50_000, size=64, seed=2024)``, default clutter); a test
#: recomputes them on 2,000 fresh images.
#: (At 32 px, 128 px or clutter 0 they move by less than 0.005.)
MEAN: tuple[float, float, float] = (0.4556, 0.4603, 0.4546)
STD: tuple[float, float, float] = (0.1988, 0.2069, 0.1964)

_BLOCK = 256  # images per random-number block; changing it changes every dataset
_EQ_DIAMETER = (0.25, 0.45)  # area-equivalent diameter of the object, fraction of the side
_MARGIN = 0.03  # the object's extent stays this far (fraction of the side) from the border
_MAX_SEGMENTS = 4
_SEG_LENGTH = (0.08, 0.22)
_SEG_WIDTH = (0.015, 0.03)  # at least one pixel is enforced at render time
_GAP = (0.02, 1.5)  # distractors keep max(2 % of the side, 1.5 px) from the object's outline
_MIN_LUMA_CONTRAST = 0.25  # |luma(object) - luma(background base colour)|
_COLOR_TRIES = 16
# Background texture amplitudes at clutter = 1 (colour units in [0, 1]); low contrast on purpose.
_BLOBS = ((4, 0.09), (9, 0.05))  # (control points per side, amplitude) for two octaves
_GRADIENT = 0.08
_NOISE = 0.03

_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


@dataclass(frozen=True)
class ShapesBatch:
    """A batch of synthetic images with ground truth.

    Attributes:
        images: uint8, N x H x W x 3 (RGB).
        labels: int64, N; indices into ``CLASSES``.
        masks: bool, N x H x W; exactly the pixels whose centre lies inside the object (where
            the image equals ``colors[i]``). Never empty.
        boxes: int64, N x 4: ``x0, y0, x1, y1`` in pixel-edge coordinates (x1, y1 exclusive),
            the tight box of the mask: ``masks[i, y0:y1, x0:x1]`` holds every object pixel.
        colors: uint8, N x 3; the object's colour.
    """

    images: np.ndarray
    labels: np.ndarray
    masks: np.ndarray
    boxes: np.ndarray
    colors: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)

    def to_tensors(
        self, mean: Sequence[float] = MEAN, std: Sequence[float] = STD
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``(x, y)``: float32 N x 3 x H x W, ``(image / 255 - mean) / std`` per
        channel, and int64 N labels."""
        import torch

        m = np.asarray(mean, dtype=np.float32).reshape(1, 3, 1, 1)
        s = np.asarray(std, dtype=np.float32).reshape(1, 3, 1, 1)
        x = self.images.transpose(0, 3, 1, 2).astype(np.float32) * np.float32(1 / 255)
        x = (x - m) / s
        return torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(self.labels.copy())


# --------------------------------------------------------------------------- parameters


@dataclass
class _Params:
    """Everything random about a set of images, in units of the image side (size-free)."""

    labels: np.ndarray  # (N,)
    cx: np.ndarray  # (N,) centre, fraction of the side
    cy: np.ndarray
    radius: np.ndarray  # (N,) circumradius, fraction of the side
    angle: np.ndarray  # (N,) radians, counter-clockwise on screen
    color: np.ndarray  # (N, 3) object colour in [0, 1], quantised to 1/255
    base: np.ndarray  # (N, 3) background base colour
    blobs: list[np.ndarray]  # per octave (N, 3, g, g) in [-1, 1]
    grad_dir: np.ndarray  # (N, 2) unit vector
    grad_col: np.ndarray  # (N, 3) in [-1, 1]
    seg_count: np.ndarray  # (N,) 0.._MAX_SEGMENTS
    seg_a: np.ndarray  # (N, M, 2) segment end points
    seg_b: np.ndarray
    seg_width: np.ndarray  # (N, M)
    seg_color: np.ndarray  # (N, M, 3)

    def take(self, sl: slice) -> _Params:
        return _Params(
            **{
                k: ([b[sl] for b in v] if isinstance(v, list) else v[sl])
                for k, v in self.__dict__.items()
            }
        )


def _hsv_to_rgb(h: np.ndarray, s: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Vectorised HSV -> RGB, all in [0, 1]; returns (..., 3)."""
    i = np.floor(h * 6).astype(np.int64) % 6
    f = h * 6 - np.floor(h * 6)
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    table = np.stack(
        [
            np.stack([v, t, p], -1),
            np.stack([q, v, p], -1),
            np.stack([p, v, t], -1),
            np.stack([p, q, v], -1),
            np.stack([t, p, v], -1),
            np.stack([v, p, q], -1),
        ],
        axis=-2,
    )  # (..., 6, 3)
    return np.take_along_axis(table, i[..., None, None], axis=-2)[..., 0, :]


def _contrasting_colors(rng: np.random.Generator, base: np.ndarray, shape: tuple) -> np.ndarray:
    """Saturated random colours of the given leading shape whose luma differs from ``base``'s
    (broadcast over the trailing dims) by at least _MIN_LUMA_CONTRAST. Drawn without regard to
    the class: rejection among _COLOR_TRIES candidates, else the most contrasting one."""
    cand = _hsv_to_rgb(
        rng.random((*shape, _COLOR_TRIES)),
        rng.uniform(0.45, 1.0, (*shape, _COLOR_TRIES)),
        rng.uniform(0.3, 1.0, (*shape, _COLOR_TRIES)),
    )
    base_luma = (base @ _LUMA.astype(np.float64)).reshape(
        base.shape[:1] + (1,) * (len(shape) - 1) + (1,)
    )
    contrast = np.abs(cand @ _LUMA.astype(np.float64) - base_luma)
    ok = contrast >= _MIN_LUMA_CONTRAST
    pick = np.where(ok.any(-1), ok.argmax(-1), contrast.argmax(-1))
    chosen = np.take_along_axis(cand, pick[..., None, None], axis=-2)[..., 0, :]
    return np.round(chosen * 255) / 255


def _draw_block(seed: int, block: int) -> _Params:
    """The parameters of images ``block * _BLOCK ... (block + 1) * _BLOCK - 1``."""
    rng = np.random.default_rng([seed, block])
    n, m = _BLOCK, _MAX_SEGMENTS
    labels = rng.integers(0, len(CLASSES), n)
    radius = scale_for(labels, rng.uniform(*_EQ_DIAMETER, n))
    angle = rng.uniform(0, 2 * math.pi, n)
    ext = extents(labels, radius, angle)
    # Uniform over all centres that keep the rotated shape inside [margin, 1 - margin].
    cx = rng.uniform(_MARGIN - ext[:, 0], 1 - _MARGIN - ext[:, 1])
    cy = rng.uniform(_MARGIN - ext[:, 2], 1 - _MARGIN - ext[:, 3])
    base = _hsv_to_rgb(rng.random(n), rng.uniform(0, 0.5, n), rng.uniform(0.2, 0.85, n))
    color = _contrasting_colors(rng, base, (n,))
    blobs = [rng.uniform(-1, 1, (n, 3, g, g)) for g, _ in _BLOBS]
    phi = rng.uniform(0, 2 * math.pi, n)
    grad_dir = np.stack([np.cos(phi), np.sin(phi)], axis=1)
    grad_col = rng.uniform(-1, 1, (n, 3))
    seg_count = rng.integers(0, m + 1, n)
    mid = rng.uniform(0.05, 0.95, (n, m, 2))
    theta = rng.uniform(0, math.pi, (n, m))
    half = rng.uniform(*_SEG_LENGTH, (n, m)) / 2
    offset = np.stack([np.cos(theta), np.sin(theta)], axis=-1) * half[..., None]
    seg_width = rng.uniform(*_SEG_WIDTH, (n, m))
    own = _contrasting_colors(rng, base, (n, m))
    same = rng.random((n, m)) < 0.5  # half the distractors wear the object's colour
    seg_color = np.where(same[..., None], color[:, None, :], own)
    return _Params(
        labels=labels,
        cx=cx,
        cy=cy,
        radius=radius,
        angle=angle,
        color=color,
        base=base,
        blobs=blobs,
        grad_dir=grad_dir,
        grad_col=grad_col,
        seg_count=seg_count,
        seg_a=mid - offset,
        seg_b=mid + offset,
        seg_width=seg_width,
        seg_color=seg_color,
    )


# --------------------------------------------------------------------------- rendering


def _object_sdf_px(p: _Params, size: int) -> np.ndarray:
    """(N, size, size) float32 signed distance to each object's outline, in pixels."""
    return sdf_px(p.labels, p.cx, p.cy, p.radius, p.angle, size)


def _background_basis(size: int) -> np.ndarray:
    """(size, B) columns whose products span every background: the Gaussian bumps of each blob
    octave (rows normalised per octave so the texture's amplitude does not depend on size),
    then a constant, then the centred coordinate ramp."""
    x = (np.arange(size) + 0.5) / size
    cols = []
    for g, _ in _BLOBS:
        w = np.exp(-0.5 * ((x[:, None] - np.linspace(0, 1, g)[None, :]) * (g - 1) / 0.6) ** 2)
        cols.append(w / w.sum(1, keepdims=True))
    cols += [np.ones((size, 1)), (x - 0.5)[:, None]]
    return np.concatenate(cols, axis=1).astype(np.float32)


def _background_coeffs(p: _Params, clutter: float, noise_offset: float) -> np.ndarray:
    """(N, 3, B, B) so that ``basis @ K[i, c] @ basis.T`` is channel c of background i in
    units of 1/255, plus ``noise_offset`` and the 0.5 that turns truncation into rounding.
    Background = base colour + clutter * (blobs + linear colour gradient)."""
    n = len(p.labels)
    nb = sum(g for g, _ in _BLOBS)
    k = np.zeros((n, 3, nb + 2, nb + 2))
    lo = 0
    for (g, amp), coeffs in zip(_BLOBS, p.blobs, strict=True):
        k[:, :, lo : lo + g, lo : lo + g] = coeffs * (amp * clutter * 255)
        lo += g
    one, ramp = nb, nb + 1
    k[:, :, one, one] = p.base * 255 + 0.5 + noise_offset
    slope = p.grad_col * (2 * _GRADIENT * clutter * 255)  # (N, 3): +-_GRADIENT at the edges
    k[:, :, one, ramp] = slope * p.grad_dir[:, :1]  # varies along x (columns)
    k[:, :, ramp, one] = slope * p.grad_dir[:, 1:]  # varies along y (rows)
    return k.astype(np.float32)


def _render(
    p: _Params,
    size: int,
    clutter: float,
    noise_rng: np.random.Generator,
    images: np.ndarray,
    masks: np.ndarray,
) -> None:
    """Draw ``p`` into ``images`` (uint8 N x S x S x 3) and ``masks`` (bool N x S x S).

    Works in float32 units of 1/255 offset by +0.5, so the final cast (truncation) rounds.
    Segments and the object touch only their own pixels (flat indices into (N*S*S, 3))."""
    n = len(p.labels)
    f32 = np.float32
    sdf = _object_sdf_px(p, size)
    flat_sdf = sdf.reshape(-1)

    # Background: basis @ K @ basis.T (base colour, blobs and gradient at once), then grey pixel
    # noise uniform in +-_NOISE * clutter (its mean is folded into the constant). The second
    # product is one large GEMM straight into channel-last layout, (N*S, 3B) @ kron(basis.T, I3):
    # a batch of N*3 small GEMMs is as fast single-threaded but, at 224 px, much slower and
    # erratic with OpenBLAS's threads (figures: docs/synthetic_shapes.md).
    noise_step = 2 * _NOISE * clutter  # per noise byte, in 1/255 units
    basis = _background_basis(size)
    nb = basis.shape[1]
    left = basis @ _background_coeffs(p, clutter, -127.5 * noise_step)  # (N, 3, S, B)
    left = left.transpose(0, 2, 3, 1).reshape(n * size, nb * 3)
    img = (left @ np.kron(basis.T, np.eye(3, dtype=f32))).reshape(n, size, size, 3)
    if clutter > 0:
        noise = noise_rng.integers(0, 256, (n, size, size, 1), dtype=np.uint8)
        img += noise * f32(noise_step)
    pixels = img.reshape(-1, 3)

    # Distractor segments, slot by slot (later slots on top), each rasterised in a W x W window
    # that holds it; one that would come within the gap of the object is dropped whole.
    gap = max(_GAP[0] * size, _GAP[1])
    half_max = max(_SEG_WIDTH[1] * size, 1.0) / 2
    win = min(size, math.ceil(_SEG_LENGTH[1] * size + 2 * half_max) + 3)
    steps = np.arange(win)
    for k in range(_MAX_SEGMENTS):
        idx = np.flatnonzero(k < p.seg_count * clutter)
        if idx.size == 0:
            continue
        a = (p.seg_a[idx, k] * size).astype(f32)  # (P, 2) pixels, x then y
        b = (p.seg_b[idx, k] * size).astype(f32)
        half = (np.maximum(p.seg_width[idx, k] * size, 1.0) / 2).astype(f32)
        origin = np.floor(np.minimum(a, b) - half[:, None] - 1).astype(np.int64)
        origin = np.clip(origin, 0, size - win)
        xs = origin[:, 0, None] + steps  # (P, W)
        ys = origin[:, 1, None] + steps
        px = (xs.astype(f32) + 0.5 - a[:, 0, None])[:, None, :]  # (P, 1, W)
        py = (ys.astype(f32) + 0.5 - a[:, 1, None])[:, :, None]  # (P, W, 1)
        ab = b - a
        abx, aby = ab[:, 0, None, None], ab[:, 1, None, None]
        h = np.clip((px * abx + py * aby) / (ab * ab).sum(1)[:, None, None], 0, 1)
        alpha = half[:, None, None] + 0.5 - np.hypot(px - abx * h, py - aby * h)
        pi, wy, wx = np.nonzero(alpha > 0)
        flat = (idx[pi] * size + ys[pi, wy]) * size + xs[pi, wx]
        near = np.bincount(pi, weights=flat_sdf[flat] <= gap, minlength=idx.size) > 0
        al = np.minimum(alpha[pi, wy, wx], 1) * ~near[pi]
        col = (p.seg_color[idx[pi], k] * 255 + 0.5).astype(f32)
        patch = pixels[flat]
        pixels[flat] = patch + al[:, None] * (col - patch)

    # The object: exactly its colour inside the mask, a half-pixel anti-aliasing rim outside.
    colors = np.rint(p.color * 255).astype(f32) + f32(0.5)
    np.less(sdf, 0, out=masks)
    inside = np.flatnonzero(masks)  # sorted, so image by image
    pixels[inside] = np.repeat(colors, masks.sum((1, 2)), axis=0)
    rim = np.flatnonzero((flat_sdf >= 0) & (flat_sdf < 0.5))
    patch = pixels[rim]
    cover = f32(0.5) - flat_sdf[rim]
    pixels[rim] = patch + cover[:, None] * (colors[rim // (size * size)] - patch)

    np.clip(img, 0, f32(255.99), out=img)
    np.copyto(images, img, casting="unsafe")  # truncation of value + 0.5 = rounding


def _boxes(masks: np.ndarray) -> np.ndarray:
    """Tight x0, y0, x1, y1 (exclusive) boxes of non-empty masks."""
    rows, cols = masks.any(2), masks.any(1)
    h, w = masks.shape[1:]
    y0, y1 = rows.argmax(1), h - rows[:, ::-1].argmax(1)
    x0, x1 = cols.argmax(1), w - cols[:, ::-1].argmax(1)
    return np.stack([x0, y0, x1, y1], axis=1).astype(np.int64)


def _check(size: int, clutter: float) -> None:
    if not 16 <= size <= 4096:
        raise ValueError(f"size must be in 16..4096, got {size}")
    if not 0.0 <= clutter <= 1.0:
        raise ValueError(f"clutter must be in [0, 1], got {clutter}")


# --------------------------------------------------------------------------- public API


def make_batch(n: int, *, size: int = 64, seed: int = 0, clutter: float = 1.0) -> ShapesBatch:
    """``n`` random images of ``size`` x ``size`` pixels, each with one object (see the module
    docstring for the distributions).

    Deterministic: the same arguments give identical arrays, and the batch is prefix-stable
    (``make_batch(n, seed=s)`` begins with ``make_batch(k, seed=s)`` for ``k <= n``). Use
    different seeds for training and test sets. ``clutter`` in [0, 1] scales the background
    texture and the number of distractor segments; 0 gives a flat background, and the objects
    (labels, masks, boxes, colours) are the same for every ``clutter``.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    _check(size, clutter)
    images = np.empty((n, size, size, 3), dtype=np.uint8)
    masks = np.empty((n, size, size), dtype=bool)
    labels = np.empty(n, dtype=np.int64)
    colors = np.empty((n, 3), dtype=np.uint8)
    for block in range(-(-n // _BLOCK)):
        start = block * _BLOCK
        k = min(_BLOCK, n - start)
        p = _draw_block(seed, block).take(slice(0, k))
        noise_rng = np.random.default_rng([seed, block, 1])
        sl = slice(start, start + k)
        _render(p, size, clutter, noise_rng, images[sl], masks[sl])
        labels[start : start + k] = p.labels
        colors[start : start + k] = np.rint(p.color * 255)
    boxes = _boxes(masks) if n else np.empty((0, 4), dtype=np.int64)
    return ShapesBatch(images=images, labels=labels, masks=masks, boxes=boxes, colors=colors)


def sample_image(
    class_name: str, *, size: int = 224, seed: int = 0
) -> tuple[Image.Image, np.ndarray]:
    """One tidy example of ``class_name`` for the app's bundled samples: the object upright
    (within +-15 degrees), large (area-equivalent diameter 42 % of the side) and near the
    centre, on a mildly cluttered background (clutter 0.6). Returns ``(RGB image, bool mask)``;
    the same arguments give the same image."""
    if class_name not in CLASSES:
        raise ValueError(f"unknown class {class_name!r}; expected one of {CLASSES}")
    _check(size, 0.6)
    rng = np.random.default_rng([seed, CLASSES.index(class_name), 7])
    label = CLASSES.index(class_name)
    p = _draw_block(seed, 0).take(slice(label, label + 1))  # colours differ between classes
    p.labels = np.array([label])
    p.radius = scale_for(p.labels, np.array([0.42]))
    p.angle = rng.uniform(-math.pi / 12, math.pi / 12, 1)
    ext = extents(p.labels, p.radius, p.angle)[0]
    # Centre the rotated extent, then jitter a little.
    p.cx = np.array([0.5 - (ext[0] + ext[1]) / 2]) + rng.uniform(-0.04, 0.04, 1)
    p.cy = np.array([0.5 - (ext[2] + ext[3]) / 2]) + rng.uniform(-0.04, 0.04, 1)
    img = np.empty((1, size, size, 3), dtype=np.uint8)
    mask = np.empty((1, size, size), dtype=bool)
    _render(p, size, 0.6, np.random.default_rng([seed, 0, 1]), img, mask)
    return Image.fromarray(img[0]), mask[0]  # uint8 H x W x 3 is RGB


def write_samples(folder: str | Path, size: int = 224) -> list[Path]:
    """Write ``shapes_<class>.png`` for every class and ``shapes_samples.json`` (file name,
    class, label index, box x0 y0 x1 y1 exclusive, size, seed) into ``folder``; return the
    paths written. The masks are not stored: ``sample_image(class, size=size, seed=0)``
    regenerates them exactly."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written, index = [], []
    for label, name in enumerate(CLASSES):
        image, mask = sample_image(name, size=size, seed=0)
        path = folder / f"shapes_{name}.png"
        image.save(path)
        written.append(path)
        box = _boxes(mask[None])[0].tolist()
        index.append(
            {"file": path.name, "class": name, "label": label, "box": box, "size": size, "seed": 0}
        )
    meta = folder / "shapes_samples.json"
    meta.write_text(json.dumps({"classes": list(CLASSES), "samples": index}, indent=2) + "\n")
    written.append(meta)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m resnet_viz.data.synthetic_shapes",
        description="Write one sample image per shape class plus a JSON index.",
    )
    parser.add_argument("--out", required=True, type=Path, help="output folder")
    parser.add_argument("--size", type=int, default=224, help="image side in pixels")
    args = parser.parse_args(argv)
    for path in write_samples(args.out, size=args.size):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
