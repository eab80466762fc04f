"""The network and its blocks as Graphviz DOT, with the skip connections drawn.

``network_dot`` draws stem -> stages -> blocks -> head; each residual block is its branch F(x)
followed by a "+" where the shortcut joins. Shortcuts look different by kind: identity (solid
green), projection W_s (thick dashed orange), average pool + projection (dashed pink, ResNet-D),
zero-padding (dotted blue), as in He et al. 2015, Sec. 3.3. Long stages collapse their repeated
identical blocks so ResNet-152 and ResNet-1202 stay readable, or every stage can be drawn as its
first block and its repeated block "× N" (slides). ``block_dot`` draws one block's anatomy with
the shape of every tensor and its squeeze-and-excitation side branch, if any.
Streamlit renders DOT in the browser (``st.graphviz_chart``); nothing here needs Graphviz.
"""

from __future__ import annotations

from ..core.layout import network_layout
from ..core.spec import ResNetSpec
from ..core.summary import BlockRow, LayerRow, Summary
from .formats import format_shape

_EDGE_STYLE = {
    "identity": 'color="#117733", fontcolor="#117733", penwidth=2',
    "projection": 'color="#E69F00", fontcolor="#B07000", penwidth=3, style=dashed',
    "pool-projection": 'color="#CC79A7", fontcolor="#A0497A", penwidth=3, style=dashed',
    "zero-pad": 'color="#0072B2", fontcolor="#0072B2", penwidth=2, style=dotted',
}
_EDGE_LABEL = {
    "identity": "identity",
    "projection": "1×1 conv W_s",
    "pool-projection": "avg-pool, 1×1 conv W_s",
    "zero-pad": "zero-pad",
}


def shortcut_edge(kind: str, labelled: bool = True) -> str:
    """DOT attributes of a shortcut edge of ``kind`` (identity, projection, zero-pad)."""
    label = f', label=" {_EDGE_LABEL[kind]}"' if labelled else ""
    return _EDGE_STYLE[kind] + label


SHORTCUT_LEGEND = {
    "identity": "identity shortcut: x is added unchanged",
    "projection": "projection shortcut W_s: a 1×1 conv (+BN) matches the new shape",
    "pool-projection": "average pool + projection (ResNet-D): 2×2 average pooling, then a "
    "stride-1 1×1 conv (+BN), so no activation is skipped",
    "zero-pad": "zero-padding shortcut (option A): subsample x, pad new channels with zeros",
}
_GRAPH_HEADER = (
    "digraph {\n"
    '  graph [rankdir=TB, nodesep=0.35, ranksep=0.3, fontname="Helvetica", fontsize=12];\n'
    '  node [shape=box, style="rounded,filled", fillcolor="#F4F6FA", color="#5A6B8C", '
    'fontname="Helvetica", fontsize=11];\n'
    '  edge [color="#5A6B8C", fontname="Helvetica", fontsize=10, arrowsize=0.7];\n'
)


def _node_id(name: str) -> str:
    return "n_" + name.replace(".", "_")


def title_node(stage: str) -> str:
    """The id of a stage's title node in :func:`network_dot`."""
    return _node_id(f"{stage}.title")


def _conv_text(row: LayerRow, groups: int = 1) -> str:
    text = f"{row.kernel}×{row.kernel}, {row.output_shape[1]}"
    if row.stride and row.stride > 1:
        text += f", /{row.stride}"
    if groups > 1 and row.kernel == 3:
        text += f", groups {groups}"
    return text


def block_label(spec: ResNetSpec, summary: Summary, block: BlockRow) -> str:
    """The branch as He et al. 2015's Table 1 writes it: one "k×k, channels" line per conv."""
    convs = [
        r
        for r in summary.layers
        if r.stage == block.stage
        and r.block == block.index
        and r.kind == "conv"
        and ".downsample" not in r.name
        and ".se." not in r.name
    ]
    lines = [_conv_text(r, spec.groups) for r in convs]
    if spec.se:
        lines.append("+ SE")
    return "\\n".join(lines)


def _visible_blocks(count: int, keep: int, collapse: bool) -> list[int | None]:
    """Block indices to draw; ``None`` marks the collapsed run of identical blocks."""
    if collapse:
        return [0, 1] if count > 1 else [0]
    if count <= keep + 1:
        return list(range(count))
    return [*range(keep - 1), None, count - 1]


def network_dot(summary: Summary, keep: int = 3, *, collapse: bool = False) -> str:
    """The whole network, top to bottom. Stages with more than ``keep + 1`` blocks show their
    first ``keep - 1`` blocks, one node for the identical ones, and the last block. With
    ``collapse``, every stage is its first block and its second block marked "× N" (the
    blocks after the first are identical), as slides draw deep networks."""
    spec = summary.spec
    out = [_GRAPH_HEADER]
    c, h, w = summary.input_size
    out.append(
        f'  input [label="Input\\n{c}×{h}×{w}", shape=parallelogram, fillcolor="#FFFFFF"];\n'
    )
    stem = summary.stages[0]
    stem_lines = [
        _conv_text(r) if r.kind == "conv" else "3×3 max-pool, /2"
        for r in summary.layers
        if r.stage == "stem" and r.kind in ("conv", "maxpool")
    ]
    stem_text = "\\n".join([*stem_lines, f"→ {format_shape(stem.output_shape)}"])
    out.append(f'  stem [label="Stem\\n{stem_text}", fillcolor="#E8E8E8"];\n')
    out.append("  input -> stem;\n")
    previous = "stem"
    blocks_by_stage: dict[str, list[BlockRow]] = {}
    for b in summary.blocks:
        blocks_by_stage.setdefault(b.stage, []).append(b)
    for stage in summary.stages[1:-1]:
        blocks = blocks_by_stage[stage.name]
        out.append(f"  subgraph cluster_{stage.name} {{\n")
        out.append('    style="rounded"; color="#AAAAAA";\n')
        # The stage's title is a node of its own rank, not the cluster's label: Graphviz routes
        # edges around nodes but draws them across a cluster label, so the edges entering the
        # stage (the shortcut among them) would cross it.
        title = title_node(stage.name)
        out.append(
            f'    {title} [label="{stage.label} ({stage.paper_name})\\n{stage.blocks} block'
            f'{"s" if stage.blocks != 1 else ""} → {format_shape(stage.output_shape)}", '
            'shape=plaintext, style="", fontsize=12];\n'
        )
        edges: list[str] = []
        first = True
        for index in _visible_blocks(len(blocks), keep, collapse):
            if index is None:
                hidden = len(blocks) - keep
                node = _node_id(f"{stage.name}.more")
                out.append(
                    f'    {node} [label="⋮  {hidden} more identical blocks  ⋮", '
                    'style="rounded,dashed", fillcolor="#FFFFFF"];\n'
                )
                edges.append(f"  {previous} -> {node};\n")
                previous = node
                continue
            block = blocks[index]
            node = _node_id(block.name)
            convs = block_label(spec, summary, block)
            label = f"block {index + 1}\\n{convs}"
            if collapse and index == 1 and len(blocks) > 2:
                label = f"blocks 2-{len(blocks)}\\n{convs}\\n× {len(blocks) - 1}"
            out.append(f'    {node} [label="{label}"];\n')
            if first:  # the title sits beside the stage's first block
                out.append(f"    {{rank=same; {title}; {node}}}\n")
                first = False
            edges.append(f"  {previous} -> {node};\n")
            if block.shortcut == "none":
                previous = node
                continue
            add = _node_id(block.name + ".add")
            out.append(
                f'    {add} [label="+", shape=circle, width=0.3, fixedsize=true, '
                'fillcolor="#FFFFFF"];\n'
            )
            edges.append(f"  {node} -> {add};\n")
            edges.append(f"  {previous} -> {add} [{shortcut_edge(block.shortcut)}];\n")
            previous = add
        out.append("  }\n")
        out.extend(edges)
    head = summary.stages[-1]
    out.append(
        f'  head [label="Global average pool\\nfc, {spec.num_classes} classes\\n'
        f'→ {format_shape(head.output_shape)}", fillcolor="#E8E8E8"];\n'
    )
    out.append(f"  {previous} -> head;\n")
    out.append("}\n")
    return "".join(out)


_KIND_TEXT = {"bn": "BN", "relu": "ReLU", "add": "+"}


def _tensor_node(name: str, shape: tuple[int, ...]) -> str:
    label = f"{name}\\n{format_shape(shape)}"
    return f'  {name} [label="{label}", shape=ellipse, fillcolor="#FFFFFF"];\n'


def block_dot(summary: Summary, block_name: str) -> str:
    """One block's anatomy: every layer in execution order with the tensor shape on each edge,
    and its shortcut joining at the "+" (none in a plain network)."""
    block = next(b for b in summary.blocks if b.name == block_name)
    spec = summary.spec
    plan = network_layout(spec).block(int(block.stage.removeprefix("layer")) - 1, block.index)
    prefix = plan.name + "."
    after_add = {prefix + layer.name for layer in plan.after_add}
    preactivation = prefix + plan.branch[1].name if plan.preact else None
    rows = [r for r in summary.layers if r.stage == block.stage and r.block == block.index]
    branch = [r for r in rows if ".downsample" not in r.name and r.kind != "add"]
    shortcut = [r for r in rows if ".downsample" in r.name]
    out = [_GRAPH_HEADER]
    out.append(_tensor_node("x", block.input_shape))
    previous, previous_shape, show_shape = "x", block.input_shape, True
    pre_activated = "x"
    for row in branch:
        node = _node_id(row.name)
        if row.name in after_add and block.shortcut != "none":
            continue  # drawn after the addition below
        if ".se." in row.name:
            if row.name.endswith(".se.fc1"):
                out.append(_se_nodes(previous, row, previous_shape))
                previous, show_shape = "se_gate", False
            continue
        text = (
            _conv_text(row, spec.groups) + " conv" if row.kind == "conv" else _KIND_TEXT[row.kind]
        )
        fill = "#DCE6F5" if row.kind == "conv" else "#F4F6FA"
        out.append(f'  {node} [label="{text}", fillcolor="{fill}"];\n')
        # Label the tensors that change shape: the block's input and every conv's output.
        label = f' [label=" {format_shape(previous_shape)}"]' if show_shape else ""
        out.append(f"  {previous} -> {node}{label};\n")
        previous, previous_shape, show_shape = node, row.output_shape, row.kind == "conv"
        if row.name == preactivation:
            pre_activated = node
    if block.shortcut != "none":
        out.append(
            '  add [label="+", shape=circle, width=0.35, fixedsize=true, fillcolor="#FFFFFF"];\n'
        )
        out.append(f'  {previous} -> add [label=" F(x): {format_shape(previous_shape)}"];\n')
        source = pre_activated if plan.shortcut.reads_preactivated else "x"
        chain, labelled = source, True
        for row in shortcut:  # empty for an identity shortcut
            node = _node_id(row.name)
            if row.kind == "shortcut":
                text = f"subsample /{row.stride}\\nzero-pad to {row.output_shape[1]} channels"
            elif row.kind == "conv":
                text = _conv_text(row) + " conv"
            elif row.kind == "pool":
                text = f"{row.kernel}×{row.kernel} avg-pool, /{row.stride}"
            else:
                text = _KIND_TEXT[row.kind]
            out.append(f'  {node} [label="{text}", fillcolor="#FCEBD0"];\n')
            out.append(f"  {chain} -> {node} [{shortcut_edge(block.shortcut, labelled)}];\n")
            chain, labelled = node, False
        out.append(f"  {chain} -> add [{shortcut_edge(block.shortcut, labelled)}];\n")
        previous = "add"
        if plan.after_add:
            out.append('  relu_out [label="ReLU"];\n  add -> relu_out;\n')
            previous = "relu_out"
    out.append(_tensor_node("y", block.output_shape))
    out.append(f"  {previous} -> y;\n}}\n")
    return "".join(out)


def _se_nodes(previous: str, fc1: LayerRow, shape: tuple[int, ...]) -> str:
    """The squeeze-and-excitation side branch: channel means through two 1x1 convs and a
    sigmoid give one gate per channel, which multiplies the branch (Hu et al. 2018, Fig. 3)."""
    squeezed, channels = fc1.output_shape[1], fc1.input_shape[1]
    text = f"SE: global avg-pool\\n1×1 conv, {squeezed}, ReLU\\n1×1 conv, {channels}, sigmoid"
    return (
        f'  se [label="{text}", fillcolor="#E3F1E3"];\n'
        '  se_gate [label="×", shape=circle, width=0.35, fixedsize=true, fillcolor="#FFFFFF"];\n'
        f'  {previous} -> se [label=" {format_shape(shape)}"];\n'
        f'  se -> se_gate [label=" gates: {channels}×1×1"];\n'
        f"  {previous} -> se_gate;\n"
    )


def block_formula(spec: ResNetSpec, shortcut: str) -> str:
    """The block's equation in LaTeX (He et al. 2015, Eqs. 1-2; He et al. 2016 for pre-act)."""
    f = r"\mathcal{F}(x, \{W_i\})"
    added = {
        "identity": "x",
        "projection": "W_s x",
        "pool-projection": r"W_s\,\mathrm{avgpool}(x)",
        "zero-pad": r"\mathrm{pad}(x)",
    }
    inner = f if shortcut == "none" else f"{f} + {added[shortcut]}"
    return f"y = {inner}" if spec.preact else rf"y = \mathrm{{ReLU}}\left({inner}\right)"


def residual_block_figure() -> str:
    """He et al. 2015, Figure 2: two weight layers, the identity shortcut, the addition."""
    return (
        _GRAPH_HEADER + '  x [label="x", shape=ellipse, fillcolor="#FFFFFF"];\n'
        '  w1 [label="weight layer", fillcolor="#DCE6F5"];\n'
        '  r1 [label="ReLU"];\n'
        '  w2 [label="weight layer", fillcolor="#DCE6F5"];\n'
        '  add [label="+", shape=circle, width=0.35, fixedsize=true, fillcolor="#FFFFFF"];\n'
        '  r2 [label="ReLU"];\n'
        '  y [label="F(x) + x", shape=ellipse, fillcolor="#FFFFFF"];\n'
        "  x -> w1; w1 -> r1; r1 -> w2;\n"
        '  w2 -> add [label=" F(x)"];\n'
        f'  x -> add [{_EDGE_STYLE["identity"]}, label=" x (identity)"];\n'
        "  add -> r2; r2 -> y;\n"
        "}\n"
    )
