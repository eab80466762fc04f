"""Sections of the architecture explorer page. Each takes a summary and draws one part."""

from __future__ import annotations

import dataclasses
import functools

import streamlit as st

from ..core.presets import PRESETS, spec_label
from ..core.spec import ResNetSpec, default_input_size
from ..core.summary import SHARED_SUMMARIES, Summary, shared_summary, summarize
from ..errors import UserError
from ..present.codegen import resnet_viz_snippet, timm_snippet, torchvision_snippet
from ..present.compare_table import compare_csv, compare_table_html, metric_delta
from ..present.diagram import SHORTCUT_LEGEND, block_dot, block_formula, network_dot
from ..present.formats import format_bytes, format_count, format_shape, format_si
from ..present.reference import check_reference
from ..present.stage_figure import stage_figure_svg, standalone_svg
from ..present.stage_table import COLUMN_HELP, stage_csv, stage_table_html
from ..present.svg import render_svg, svg_renderer
from .common import heavy_work_in_page
from .graphviz import fresh_graphviz_chart
from .lecture import LECTURE_FONT_SCALE

BIND = "query-params"
_COUNT = st.column_config.NumberColumn(format="localized")
_COLUMNS = {
    "Parameters": _COUNT,
    "MACs": _COUNT,
    **{name: st.column_config.Column(help=text) for name, text in COLUMN_HELP.items()},
}


def headline(summary: Summary) -> None:
    """Depth, parameters, MACs, memory, and the reference check mark."""
    spec = summary.spec
    # One flex row rather than st.columns: four elements fewer to send on every click.
    row = st.container(horizontal=True)
    row.metric(
        "Depth",
        f"{summary.depth} layers",
        help="Weighted layers on the main path, as the paper counts: the stem conv, every conv "
        "of every block and the fc. Shortcut projections are not counted.",
    )
    row.metric(
        "Parameters",
        format_count(summary.total_params),
        help=f"Trainable weights ({format_bytes(summary.weight_bytes)} in float32). "
        "BatchNorm running statistics are buffers, not parameters.",
    )
    row.metric(
        "MACs",
        format_si(summary.total_macs),
        help=f"Exactly {format_count(summary.total_macs)} multiply-accumulates per forward pass "
        f"of batch {summary.batch_size}.",
    )
    row.metric(
        "Activation memory",
        format_bytes(summary.total_activation_bytes),
        help="Every layer's output in float32 for one image: roughly what training keeps for the "
        "backward pass (inference frees most of it as it goes).",
    )
    c, h, w = summary.input_size
    st.caption(
        f"{spec_label(spec)} at {c}×{h}×{w}. One MAC is one multiply-add, so FLOPs = 2 × MACs "
        f"= {format_si(summary.total_flops)}FLOPs; counted for the convolutions and the "
        "classifier, as torchvision counts them."
    )
    check = check_reference(summary)
    if check is not None:
        if check.matched:
            st.success(check.message, icon=":material/check_circle:")
        else:
            st.warning(check.message, icon=":material/warning:")


def stages_section(summary: Summary) -> None:
    """The per-stage table with its CSV, and one figure of where parameters, compute, shapes
    and the receptive field go (plain HTML and SVG: no charting library runs in the browser
    on every click; bench/README.md, "Architecture page latency")."""
    scale = LECTURE_FONT_SCALE if st.session_state.get("lecture") else 1.0
    table, figure = _stage_markup(summary.spec, summary.input_size, summary.batch_size, scale)
    st.markdown(table, unsafe_allow_html=True)
    file_stem = spec_label(summary.spec).replace(" ", "_")
    buttons = st.container(horizontal=True)
    buttons.download_button(
        "Download CSV",
        lambda: stage_csv(summary),  # written on click: no file served on every change
        file_name=f"{file_stem}_stages.csv",
        mime="text/csv",
        icon=":material/download:",
        key="stages_csv",
        on_click="ignore",  # see resnet_viz/ui/grad_cam.py: no rerun, no race
    )
    buttons.download_button(
        "Download figure (SVG)",
        lambda: standalone_svg(summary),
        file_name=f"{file_stem}_stages.svg",
        mime="image/svg+xml",
        icon=":material/download:",
        key="stages_svg",
        on_click="ignore",
    )
    st.markdown(figure, unsafe_allow_html=True)
    st.caption("Hover a bar or a point for its exact value; the table above has every number.")


@functools.lru_cache(maxsize=SHARED_SUMMARIES)
def _stage_markup(
    spec: ResNetSpec, input_size: tuple[int, ...], batch_size: int, text_scale: float
) -> tuple[str, str]:
    """The Stages tab's table and figure markup for a network, written once per network and
    font scale for every session (a pure function of them; ~1 ms a click saved on the server,
    bench/rerun_cpu.py)."""
    if batch_size == 1:
        summary = shared_summary(spec, input_size)
    else:
        summary = summarize(spec, input_size, batch_size)
    figure = stage_figure_svg(summary, text_scale=text_scale)
    return stage_table_html(summary), f'<div style="overflow-x:auto">{figure}</div>'


_LEVELS = {1: "1: stages", 2: "2: blocks", 3: "3: every layer"}


def layers_section(summary: Summary) -> None:
    """torchinfo-like drill-down, filterable by level, stage and block."""
    stage_names = {s.name: s.label for s in summary.stages}
    left, middle, right = st.columns(3)
    level = left.segmented_control(
        "Depth level", list(_LEVELS), default=3, format_func=_LEVELS.get, key="lvl", bind=BIND,
        required=True,
    )  # fmt: skip
    stage = middle.selectbox(
        "Stage", ["all", *stage_names], format_func=lambda n: stage_names.get(n, "All stages"),
        key="lstage", bind=BIND,
    )  # fmt: skip
    blocks = next((s.blocks for s in summary.stages if s.name == stage), 0)
    block = right.selectbox(
        "Block",
        ["all", *range(1, blocks + 1)],
        format_func=lambda b: "All blocks" if b == "all" else f"Block {b}",
        key="lblock",
        disabled=blocks == 0,
    )
    from ..present.tables import layer_table  # pandas: only for this tab

    table = layer_table(
        summary,
        level=level or 3,
        stage=None if stage == "all" else stage,
        block=None if block == "all" or blocks == 0 else int(block) - 1,
    )
    st.dataframe(table, hide_index=True, column_config=_COLUMNS, height=420)
    st.caption(f"{len(table):,} rows. Shapes leave out the batch dimension.")
    torchinfo_section(summary)


_TORCHINFO_KEY = "torchinfo_report"  # session state: (network and input, report)


def torchinfo_section(summary: Summary) -> None:
    """The real ``torchinfo.summary`` of this network at this input, on request (a button: it
    builds a model and imports torch, so never on the page's first load), with the analytic
    totals checked against it and the text downloadable."""
    st.markdown("**torchinfo.summary**")
    wanted = (summary.spec, summary.input_size, summary.batch_size)
    if st.button(
        "Run torchinfo",
        key="torchinfo_run",
        icon=":material/play_arrow:",
        help="Builds this network afresh, weightless (PyTorch's meta device), and runs "
        "torchinfo.summary on it at this input size.",
    ):
        from ..analysis.torchinfo_view import torchinfo_report  # imports torch: on request only

        st.session_state.pop(_TORCHINFO_KEY, None)
        try:
            with st.spinner("Running torchinfo.summary…"), heavy_work_in_page():
                report = torchinfo_report(summary.spec, summary.input_size, summary.batch_size)
        except UserError as error:
            st.error(str(error), icon=":material/error:")
            return
        st.session_state[_TORCHINFO_KEY] = (wanted, report)
    shown = st.session_state.get(_TORCHINFO_KEY)
    if shown is None or shown[0] != wanted:
        st.caption(
            "The table above is computed from the spec, without building the network; "
            "torchinfo builds it and runs it, so you can check every number."
        )
        return
    from ..analysis.torchinfo_view import compare_totals
    from ..present.torchinfo_view import torchinfo_call, torchinfo_file_name, totals_verdict

    report = shown[1]
    verdict = totals_verdict(compare_totals(summary, report))
    if verdict.matched:
        st.success(verdict.message, icon=":material/check_circle:")
    else:
        st.warning(verdict.message, icon=":material/warning:")
    st.code(torchinfo_call(report), language="python")
    st.code(report.text, language=None, height=420)
    st.download_button(
        "Download torchinfo summary (TXT)",
        report.text,
        file_name=torchinfo_file_name(spec_label(summary.spec)),
        mime="text/plain",
        icon=":material/download:",
        key="torchinfo_txt",
        on_click="ignore",  # see resnet_viz/ui/grad_cam.py: no rerun, no race
    )


def _block_choice_label(summary: Summary, name: str) -> str:
    stage, index = name.split(".")
    label = next(s.label for s in summary.stages if s.name == stage)
    return f"{label}, block {int(index) + 1} ({name})"


def _diagram_downloads(dot: str, name: str, key: str) -> None:
    """SVG (rendered on click, for slides) and DOT downloads of one diagram."""
    left, right = st.columns(2)
    svg_ready = svg_renderer() is not None
    left.download_button(
        "Download SVG", lambda: render_svg(dot) or b"", file_name=f"{name}.svg",
        mime="image/svg+xml", icon=":material/download:", key=f"{key}_svg",
        on_click="ignore", disabled=not svg_ready,
        help=None if svg_ready else "Needs Graphviz (dot) or graphviz-pure on the server.",
    )  # fmt: skip
    right.download_button(
        "Download DOT", dot, file_name=f"{name}.gv", mime="text/vnd.graphviz",
        icon=":material/download:", key=f"{key}_dot", on_click="ignore",
    )  # fmt: skip


def diagram_section(summary: Summary) -> None:
    """The whole network with its skip connections, and one block's anatomy."""
    left, right = st.columns([1, 1], gap="large")
    file_stem = spec_label(summary.spec).replace(" ", "_")
    with left:
        st.markdown("**The network**")
        collapse = st.toggle(
            "Collapse repeated blocks", key="collapse", bind=BIND,
            help="Draw each stage as its first block and the repeated block × N (for slides).",
        )  # fmt: skip
        dot = network_dot(summary, collapse=collapse)
        fresh_graphviz_chart(dot, key="network")
        _diagram_downloads(dot, f"{file_stem}_network", "network")
        kinds = sorted({b.shortcut for b in summary.blocks} - {"none"})
        if kinds:
            st.caption(" · ".join(SHORTCUT_LEGEND[k] for k in kinds))
        else:
            st.caption("Plain network: no skip connections, each block feeds the next.")
    with right:
        names = [b.name for b in summary.blocks]
        default = next((b.name for b in summary.blocks if b.shortcut not in ("identity",)), None)
        chosen = st.selectbox(
            "Block",
            names,
            index=names.index(default) if default in names else 0,
            format_func=lambda n: _block_choice_label(summary, n),
            key="blk",
            bind=BIND,
        )
        block = next(b for b in summary.blocks if b.name == chosen)
        st.latex(block_formula(summary.spec, block.shortcut))
        dot = block_dot(summary, block.name)
        fresh_graphviz_chart(dot, key="block")
        _diagram_downloads(dot, f"{file_stem}_{block.name}", "block")
        st.caption(
            f"{format_count(block.params)} parameters "
            f"({format_count(block.shortcut_params)} in the shortcut), "
            f"{format_si(block.macs)} MACs, receptive field {block.receptive_field} px after it."
        )


def _comparison_spec(spec: ResNetSpec, choice: str) -> ResNetSpec:
    if choice == "twin":
        return dataclasses.replace(spec, skip=not spec.skip)
    return PRESETS[choice].spec


def compare_section(summary: Summary) -> None:
    """A second network side by side: totals and per-stage differences, as an HTML table that
    fits the main column (like the Stages table) and as CSV."""
    spec = summary.spec
    twin = "Its plain twin (no skip connections)" if spec.skip else "Its residual twin"
    choice = st.selectbox(
        "Compare with",
        ["twin", *PRESETS],
        format_func=lambda n: twin if n == "twin" else PRESETS[n].label,
        key="vs",
        bind=BIND,
    )
    other = _comparison_spec(spec, choice)
    same_family = other.stem == spec.stem and other.in_channels == spec.in_channels
    input_size = summary.input_size if same_family else default_input_size(other)
    other_summary = summarize(other, input_size)
    label_a, label_b = spec_label(spec), spec_label(other)
    if label_a == label_b:
        label_b += " (2)"
    cols = st.columns(3)
    for col, title, a, b, fmt in (
        (cols[0], "Parameters", summary.total_params, other_summary.total_params, format_count),
        (cols[1], "MACs", summary.total_macs, other_summary.total_macs, format_si),
        (cols[2], "Depth", summary.depth, other_summary.depth, str),
    ):
        delta, arrow = metric_delta(a, b, fmt, label_a)
        col.metric(f"{title}: {label_b}", fmt(b), delta=delta, delta_color="off", delta_arrow=arrow)
    if input_size != summary.input_size:
        st.caption(f"{label_b} is shown at its own input size, {format_shape((1, *input_size))}.")

    st.markdown(
        compare_table_html(summary, other_summary, label_a, label_b), unsafe_allow_html=True
    )
    st.download_button(
        "Download CSV",
        lambda: compare_csv(summary, other_summary, label_a, label_b),  # written on click
        file_name=f"{label_a}_vs_{label_b}.csv".replace(" ", "_"),
        mime="text/csv",
        icon=":material/download:",
        key="compare_csv",
        on_click="ignore",  # see resnet_viz/ui/grad_cam.py: no rerun, no race
    )


def code_section(summary: Summary) -> None:
    """Copyable code that rebuilds the network on screen."""
    st.markdown("Rebuild this network with resnet-viz:")
    st.code(resnet_viz_snippet(summary.spec, summary.input_size), language="python")
    snippet = torchvision_snippet(summary.spec)
    if snippet:
        st.markdown("The same network in torchvision (identical parameter names and shapes):")
        st.code(snippet, language="python")
    snippet = timm_snippet(summary.spec)
    if snippet:
        st.markdown("The same network in timm (identical parameter names and shapes):")
        st.code(snippet, language="python")
