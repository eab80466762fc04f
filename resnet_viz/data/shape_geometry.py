"""The shapes of :mod:`resnet_viz.data.synthetic_shapes`: exact signed-distance functions, their
areas and extents, and the rasteriser that turns them into masks.

Each class is a signed-distance function (negative inside) of a shape with circumradius 1
(``_sdf``), evaluated in the shape's own frame; an object is that shape scaled, rotated and
placed (:func:`sdf_px` works in fractions of the image side, so the same scene can be drawn at
any size). A pixel belongs to the object iff its *centre* lies inside the shape (distance < 0):
masks are exact, not anti-aliased. The distance itself serves the renderer twice: for a
half-pixel anti-aliasing rim outside the mask, and for the zone distractors must keep clear of.

The distance functions for the triangle, the star and the crescent follow Inigo Quilez, "2D
distance functions" (https://iquilezles.org/articles/distfunctions2d/); the areas are worked
out by hand, and a test checks the rasteriser against them.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["CLASSES", "UNIT_AREAS", "extents", "scale_for", "sdf_px", "shape_mask"]

#: The classes, in label order. Every shape is defined with circumradius 1 (all its points lie
#: within distance 1 of its centre, and some reach it):
#:
#: - ``circle``: a filled disc.
#: - ``square``: a filled square (side sqrt(2)); rotated, it also covers "diamond".
#: - ``triangle``: a filled equilateral triangle (side sqrt(3)), centred on its centroid.
#: - ``star``: a filled five-pointed star; inner vertices at radius ``_STAR_INNER``.
#: - ``cross``: a filled plus sign: two perpendicular bars of half-width ``_CROSS_HALF_WIDTH``.
#: - ``ring``: an annulus with inner radius ``_RING_INNER`` (a circle with a hole).
#: - ``crescent``: a disc with an off-centre disc (radius ``_CRESCENT_CUT_R``, centre at
#:   ``_CRESCENT_CUT_OFFSET``) cut out of it: open, unlike the ring.
#:
#: Chosen so that no two differ only in a detail that vanishes at 32x32 (no hexagon vs circle).
CLASSES: tuple[str, ...] = ("circle", "square", "triangle", "star", "cross", "ring", "crescent")

_STAR_INNER = 0.45
_CROSS_HALF_WIDTH = 0.3
_CROSS_HALF_LENGTH = math.sqrt(1.0 - _CROSS_HALF_WIDTH**2)  # the bar corners lie on the unit circle
_RING_INNER = 0.5
_CRESCENT_CUT_R = 0.75
_CRESCENT_CUT_OFFSET = 0.45


def _lens_area(r1: float, r2: float, d: float) -> float:
    """Area of the intersection of two discs of radii r1, r2 whose centres are d apart."""
    a1 = r1 * r1 * math.acos((d * d + r1 * r1 - r2 * r2) / (2 * d * r1))
    a2 = r2 * r2 * math.acos((d * d + r2 * r2 - r1 * r1) / (2 * d * r2))
    k = (-d + r1 + r2) * (d + r1 - r2) * (d - r1 + r2) * (d + r1 + r2)
    return a1 + a2 - 0.5 * math.sqrt(k)


#: Exact area of each class's shape at circumradius 1 (by hand; a test checks the rasteriser
#: against these). Used to give all classes the same area distribution.
UNIT_AREAS: dict[str, float] = {
    "circle": math.pi,
    "square": 2.0,  # side sqrt(2)
    "triangle": 3 * math.sqrt(3) / 4,  # side sqrt(3)
    "star": 5 * _STAR_INNER * math.sin(math.radians(36)),  # 10 triangles (1, inner, 36 deg)
    "cross": 8 * _CROSS_HALF_LENGTH * _CROSS_HALF_WIDTH - 4 * _CROSS_HALF_WIDTH**2,
    "ring": math.pi * (1 - _RING_INNER**2),
    "crescent": math.pi - _lens_area(1.0, _CRESCENT_CUT_R, _CRESCENT_CUT_OFFSET),
}


def _box_sdf(ax: np.ndarray, ay: np.ndarray, hx: float, hy: float) -> np.ndarray:
    """Exact signed distance to an axis-aligned box of half-sizes hx, hy; ax, ay = |u|, |v|."""
    qx = ax - hx
    qy = ay - hy
    outside = np.hypot(np.maximum(qx, 0), np.maximum(qy, 0))
    return outside + np.minimum(np.maximum(qx, qy), 0)


def _sdf(label: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Exact signed distance (negative inside) to class ``label``'s shape with circumradius 1,
    in the shape's own frame (v points up). The sign defines the mask, the distance the
    anti-aliasing rim and the distractors' keep-out zone."""
    name = CLASSES[label]
    if name == "circle":
        return np.hypot(u, v) - 1
    if name == "square":
        h = 1 / math.sqrt(2)
        return _box_sdf(np.abs(u), np.abs(v), h, h)
    if name == "triangle":
        # Inigo Quilez, "2D distance functions", sdEquilateralTriangle (apex up, half-side r).
        k = math.sqrt(3)
        r = k / 2
        px = np.abs(u) - r
        py = v + r / k
        fold = px + k * py > 0
        px, py = np.where(fold, (px - k * py) / 2, px), np.where(fold, (-k * px - py) / 2, py)
        px = px - np.clip(px, -2 * r, 0)
        return -np.hypot(px, py) * np.sign(py)
    if name == "star":
        # Inigo Quilez, sdStar5: fold the plane into one 36-degree wedge, then the distance to
        # the single edge from the tip (0, 1) to the inner vertex.
        k1x, k1y = 0.809016994375, -0.587785252292  # cos 36, -sin 36
        px = np.abs(u)
        py = v
        d = np.maximum(k1x * px + k1y * py, 0) * 2
        px, py = px - d * k1x, py - d * k1y
        d = np.maximum(-k1x * px + k1y * py, 0) * 2
        px, py = px + d * k1x, py - d * k1y
        px = np.abs(px)
        py = py - 1
        bax, bay = _STAR_INNER * -k1y, _STAR_INNER * k1x - 1
        h = np.clip((px * bax + py * bay) / (bax * bax + bay * bay), 0, 1)
        return np.hypot(px - bax * h, py - bay * h) * np.sign(py * bax - px * bay)
    if name == "cross":
        au, av = np.abs(u), np.abs(v)
        bar_h = _box_sdf(au, av, _CROSS_HALF_LENGTH, _CROSS_HALF_WIDTH)
        bar_v = _box_sdf(au, av, _CROSS_HALF_WIDTH, _CROSS_HALF_LENGTH)
        return np.minimum(bar_h, bar_v)
    if name == "ring":
        mid = (1 + _RING_INNER) / 2
        return np.abs(np.hypot(u, v) - mid) - (1 - _RING_INNER) / 2
    if name == "crescent":
        # Inigo Quilez, sdMoon: the disc minus the cut, except near the horns (the two points
        # (a, +-b) where the circles cross), which are the nearest points there.
        d, rb = _CRESCENT_CUT_OFFSET, _CRESCENT_CUT_R
        a = (1 - rb * rb + d * d) / (2 * d)
        b = math.sqrt(1 - a * a)
        av = np.abs(v)
        horn = u * b - av * a > d * np.maximum(b - av, 0)
        body = np.maximum(np.hypot(u, v) - 1, rb - np.hypot(u - d, v))
        return np.where(horn, np.hypot(u - a, av - b), body)
    raise AssertionError(name)


def _vertices(name: str) -> np.ndarray | None:
    """Points whose convex hull contains the shape (circumradius 1), or None for round shapes
    (whose extent is the unit disc)."""
    if name == "square":
        h = 1 / math.sqrt(2)
        return np.array([[h, h], [-h, h], [-h, -h], [h, -h]])
    if name == "triangle":
        a = np.radians([90, 210, 330])
        return np.stack([np.cos(a), np.sin(a)], axis=1)
    if name == "star":
        a = np.radians(90 + 72 * np.arange(5))
        return np.stack([np.cos(a), np.sin(a)], axis=1)
    if name == "cross":
        lo, w = _CROSS_HALF_LENGTH, _CROSS_HALF_WIDTH
        corners = np.array([[lo, w], [w, lo]])  # and their mirror images
        return np.concatenate([corners * [sx, sy] for sx in (1, -1) for sy in (1, -1)])
    return None


_VERTICES = {name: _vertices(name) for name in CLASSES}


def extents(labels: np.ndarray, radius: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """(N, 4) = x_min, x_max, y_min, y_max of each rotated, scaled shape relative to its centre,
    in image coordinates (y down)."""
    ext = np.empty((len(labels), 4))
    ext[:] = np.stack([-radius, radius, -radius, radius], axis=1)
    for c, name in enumerate(CLASSES):
        verts = _VERTICES[name]
        sel = labels == c
        if verts is None or not sel.any():
            continue
        cos, sin = np.cos(angle[sel])[:, None], np.sin(angle[sel])[:, None]
        x = verts[None, :, 0] * cos - verts[None, :, 1] * sin
        y = -(verts[None, :, 0] * sin + verts[None, :, 1] * cos)
        r = radius[sel][:, None]
        ext[sel] = np.stack(
            [(x * r).min(1), (x * r).max(1), (y * r).min(1), (y * r).max(1)], axis=1
        )
    return ext


def scale_for(labels: np.ndarray, eq_diameter: np.ndarray) -> np.ndarray:
    """Circumradius (fraction of the side) giving each object the area of a disc of diameter
    ``eq_diameter``: the same area distribution for every class."""
    unit = np.array([UNIT_AREAS[name] for name in CLASSES])[labels]
    return eq_diameter / 2 * np.sqrt(math.pi / unit)


def sdf_px(
    labels: np.ndarray,
    cx: np.ndarray,
    cy: np.ndarray,
    radius: np.ndarray,
    angle: np.ndarray,
    size: int,
) -> np.ndarray:
    """(N, size, size) float32 signed distance to each shape's outline, in pixels; geometry
    in fractions of the side (pixel j's centre is at (j + 0.5) / size)."""
    coord = (np.arange(size, dtype=np.float32) + 0.5) / size
    out = np.empty((len(labels), size, size), dtype=np.float32)
    for c in range(len(CLASSES)):
        idx = np.flatnonzero(labels == c)
        if idx.size == 0:
            continue
        r = radius[idx].astype(np.float32)[:, None, None]
        cos = np.cos(angle[idx]).astype(np.float32)[:, None, None] / r
        sin = np.sin(angle[idx]).astype(np.float32)[:, None, None] / r
        dx = coord[None, None, :] - cx[idx].astype(np.float32)[:, None, None]  # (n, 1, S)
        up = cy[idx].astype(np.float32)[:, None, None] - coord[None, :, None]  # (n, S, 1)
        # Shape frame: rotate (dx, up) by -angle, divide by the circumradius.
        u = dx * cos + up * sin
        v = up * cos - dx * sin
        out[idx] = _sdf(c, u, v) * (r * size)
    return out


def shape_mask(
    class_name: str,
    size: int,
    *,
    center: tuple[float, float],
    radius: float,
    angle: float = 0.0,
) -> np.ndarray:
    """The bool ``size`` x ``size`` mask of one shape: pixels whose centre lies inside it.

    ``center`` = (x, y) and ``radius`` (the circumradius) are in pixels, ``angle`` in radians
    (counter-clockwise on screen; 0 = upright: triangle and star point up). This is the
    rasteriser :func:`~resnet_viz.data.synthetic_shapes.make_batch` uses; exposed for tests and
    for drawing known shapes."""
    if class_name not in CLASSES:
        raise ValueError(f"unknown class {class_name!r}; expected one of {CLASSES}")
    sdf = sdf_px(
        np.array([CLASSES.index(class_name)]),
        np.array([center[0] / size]),
        np.array([center[1] / size]),
        np.array([radius / size]),
        np.array([angle]),
        size,
    )
    return sdf[0] < 0
