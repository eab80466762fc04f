"""The network diagram as Graphviz lays it out: no edge crosses a stage's title.

Graphviz routes edges around nodes but not around a cluster's label, so a title drawn as the
cluster label was crossed by the edges entering the stage (the dashed projection shortcut among
them). The layout comes from Graphviz itself (``-Tjson``: every text it draws with its anchor and
width, every edge as Bezier control points); the browser runs the same dot layout (viz.js).
"""

from __future__ import annotations

import json
import subprocess

import pytest

from resnet_viz import preset, summarize
from resnet_viz.present.diagram import network_dot
from resnet_viz.present.svg import svg_renderer

RENDERER = svg_renderer()
pytestmark = pytest.mark.skipif(
    RENDERER is None, reason="needs Graphviz (dot) or graphviz-pure to lay the diagram out"
)


def _layout(dot: str) -> dict:
    done = subprocess.run(
        [RENDERER, "-Tjson"], input=dot.encode(), capture_output=True, check=True, timeout=120
    )
    return json.loads(done.stdout)


def _objects(graph: dict) -> list[dict]:
    """Every subgraph and node Graphviz drew (clusters first), flattened."""
    return list(graph.get("objects", []))


def _title_boxes(graph: dict) -> list[tuple[float, float, float, float]]:
    """(x0, y0, x1, y1) of every line of text that starts a stage title ("Stage 2 ...") and the
    lines drawn with it, wherever Graphviz drew them (a cluster label or a node)."""
    boxes = []
    for obj in _objects(graph):
        texts = [op for op in obj.get("_ldraw_", []) if op["op"] == "T"]
        if not any(op["text"].startswith("Stage ") for op in texts):
            continue
        size = next(op["size"] for op in obj["_ldraw_"] if op["op"] == "F")
        for op in texts:
            x, y = op["pt"]
            left = {"l": x, "c": x - op["width"] / 2, "r": x - op["width"]}[op["align"]]
            # y grows upwards; the baseline is at y, capitals reach ~0.75 of the font size
            boxes.append((left, y - 0.25 * size, left + op["width"], y + 0.8 * size))
    return boxes


def _bezier(points: list[list[float]], steps: int = 24) -> list[tuple[float, float]]:
    """Points along a piecewise cubic Bezier given by its control points (1 + 3k of them)."""
    out = []
    for i in range(0, len(points) - 3, 3):
        (x0, y0), (x1, y1), (x2, y2), (x3, y3) = points[i : i + 4]
        for s in range(steps + 1):
            t = s / steps
            a, b, c, d = (1 - t) ** 3, 3 * t * (1 - t) ** 2, 3 * t**2 * (1 - t), t**3
            out.append((a * x0 + b * x1 + c * x2 + d * x3, a * y0 + b * y1 + c * y2 + d * y3))
    return out


def _edge_paths(graph: dict) -> dict[str, list[tuple[float, float]]]:
    names = {obj["_gvid"]: obj["name"] for obj in _objects(graph) if "_gvid" in obj}
    paths = {}
    for edge in graph.get("edges", []):
        for op in edge.get("_draw_", []):  # invisible edges draw nothing
            if op["op"] == "b":
                key = f"{names.get(edge['tail'])} -> {names.get(edge['head'])}"
                paths[key] = _bezier(op["points"])
    return paths


@pytest.mark.parametrize(
    ("name", "collapse"),
    [("resnet50", False), ("resnet18", False), ("resnet56", False), ("resnet152", True)],
)
def test_no_edge_crosses_a_stage_title(name, collapse):
    graph = _layout(network_dot(summarize(preset(name)), collapse=collapse))
    boxes = _title_boxes(graph)
    stages = len(preset(name).layers)
    assert len(boxes) >= stages  # every stage has a title (one or more lines)
    paths = _edge_paths(graph)
    assert any("downsample" not in k and "add" in k for k in paths)  # shortcuts are drawn
    for edge, path in paths.items():
        for x0, y0, x1, y1 in boxes:
            inside = [(x, y) for x, y in path if x0 <= x <= x1 and y0 <= y <= y1]
            assert not inside, f"{edge} crosses a stage title at {inside[0]}"
