"""The "which network?" controls, shared by every page that shows a network.

Every widget is bound to a URL query parameter (its key), so a link such as
``/architecture?preset=ResNet-152&h=512&w=512`` reopens exactly that view, and the choice
carries over when the user moves from the architecture page to the gradient page. The widgets
only collect values; :mod:`resnet_viz.ui.choice` turns them into a spec.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import streamlit as st

from ..core.presets import PRESETS, preset_for, spec_label
from ..core.spec import (
    BLOCK_TYPES,
    SHORTCUT_OPTIONS,
    STEM_TYPES,
    ResNetSpec,
    SpecError,
)
from .checkpoint import open_checkpoint_control, opened_checkpoint
from .choice import (
    FAMILIES,
    FAMILY_LABELS,
    MODE_LABELS,
    MODES,
    NUMBER_PARAMS,
    SHORTCUT_LABELS,
    VERSIONS,
    NetworkChoice,
    base_spec,
    canonical_query,
    custom_fields,
    dropped_keys,
    ignored_link_values,
    resolve,
)

DEFAULT = NetworkChoice()
BIND = "query-params"
# Custom-mode widgets, by NetworkChoice field; their keys are the URL parameter names.
_CUSTOM_KEYS = {
    "block": "block",
    "layers": "layers",
    "widths": "widths",
    "stem": "stem",
    "shortcut": "shortcut",
    "version": "version",
    "preact": "preact",
    "groups": "groups",
    "width_per_group": "wpg",
    "batch_norm": "bn",
    "avg_down": "avgdown",
    "se": "se",
}


def preset_label(name: str) -> str:
    return PRESETS[name].label


def _read_choice(**changes: object) -> NetworkChoice:
    """The choice as the widgets last reported it (for callbacks, before widgets redraw)."""
    state = st.session_state
    values = {
        "mode": state.get("mode") or DEFAULT.mode,
        "preset": state.get("preset", DEFAULT.preset),
        "family": state.get("family", DEFAULT.family),
        "depth": state.get("depth", DEFAULT.depth),
    }
    opened = opened_checkpoint()
    values["checkpoint_spec"] = opened.reading.spec if opened else None
    values.update(changes)
    return dataclasses.replace(DEFAULT, **values)


def _start_custom_from_current() -> None:
    """Switching to Custom starts from the network on screen, not from scratch."""
    previous = st.session_state.get("_shown_mode", DEFAULT.mode)
    if st.session_state.get("mode") != "custom" or previous == "custom":
        return
    try:
        spec = base_spec(_read_choice(mode=previous))
    except SpecError:
        return  # keep the custom fields as they are
    for field, value in custom_fields(spec).items():
        st.session_state[_CUSTOM_KEYS[field]] = value


def _number(label: str, key: str, **kw: object) -> int | None:
    """A whole-number control bound to the URL, its bounds from ``NUMBER_PARAMS``."""
    bound = NUMBER_PARAMS[key]
    return st.number_input(
        label, min_value=bound.low, max_value=bound.high, step=1, key=key, bind=BIND, **kw
    )


_LINK_NOTES = "_link_notes"  # session state: the last link's ignored values, and its network


def network_controls(
    defaults: NetworkChoice = DEFAULT,
    show_skip: bool = True,
    *,
    notes_area: st.delta_generator.DeltaGenerator | None = None,
    page_options: Mapping[str, Sequence[str]] | None = None,
) -> NetworkChoice:
    """Draw the controls in the current container; return what they say.

    ``defaults`` are the page's starting values (a value equal to its default stays out of the
    URL). ``show_skip=False`` hides the skip toggle (the gradient page always shows both twins).
    A link's values the controls cannot use are dropped from the URL before they are drawn;
    with ``notes_area`` (a container in the page's main area) a warning there says which, why,
    and what is shown instead, for as long as the network on screen is the one the link
    opened. ``page_options`` are the page's own URL-bound menus (``{"tab": [...]}``).
    """
    # Hand-typed links (mode=depth, preset=resnet50) become what the selectors read; the
    # selectors take their values from the URL as the run starts, so rerun once with it.
    params = st.query_params.to_dict()
    fixes = canonical_query(params)
    if fixes:
        st.query_params.update(fixes)
        st.rerun()
    notes = ignored_link_values(params, defaults, show_skip=show_skip, page_options=page_options)
    dropped = dropped_keys(notes, params)
    pending = st.session_state.get(_LINK_NOTES)
    if pending is not None and pending[1] is None:  # noted on the run that dropped values
        notes = {**pending[0], **notes}
    if notes:
        st.session_state[_LINK_NOTES] = (notes, None)
    if dropped:
        # Drop them as the widgets would, but before a widget reads them: Streamlit's own
        # reading of some (h=inf) raises. The controls read the URL as the run starts: rerun.
        for key in dropped:
            st.query_params.pop(key, None)
        st.rerun()
    choice = _draw_controls(defaults, show_skip)
    if notes:
        st.session_state[_LINK_NOTES] = (notes, choice)
    if notes_area is None:
        st.session_state.pop(_LINK_NOTES, None)
    else:
        _show_link_notes(notes_area, choice)
    return choice


def _show_link_notes(area: st.delta_generator.DeltaGenerator, choice: NetworkChoice) -> None:
    stored = st.session_state.get(_LINK_NOTES)
    if stored is None:
        return
    notes, opened = stored
    if opened != choice:  # the user has chosen another network since
        del st.session_state[_LINK_NOTES]
        return
    text = "This link holds values the app cannot use:\n"
    text += "".join(f"\n- {note}" for note in notes.values())
    try:
        spec, (c, h, w) = resolve(choice)
    except SpecError:
        pass  # the page says what is wrong with the network
    else:
        text += f"\n\nShown instead: {spec_label(spec)} at {c}×{h}×{w}."
    area.warning(text, icon=":material/link_off:")


def _draw_controls(defaults: NetworkChoice, show_skip: bool) -> NetworkChoice:
    mode = st.segmented_control(
        "Choose a network by",
        MODES,
        default=DEFAULT.mode,
        format_func=MODE_LABELS.get,
        key="mode",
        bind=BIND,
        required=True,
        on_change=_start_custom_from_current,
    )
    mode = mode or DEFAULT.mode
    st.session_state["_shown_mode"] = mode
    values: dict[str, object] = {"mode": mode}
    if mode == "preset":
        values["preset"] = st.selectbox(
            "Preset",
            list(PRESETS),
            index=list(PRESETS).index(defaults.preset),
            format_func=preset_label,
            key="preset",
            bind=BIND,
            help="torchvision's ImageNet models and the paper's CIFAR-10 networks.",
        )
    elif mode == "depth":
        values["family"] = st.radio(
            "Family", FAMILIES, index=FAMILIES.index(defaults.family),
            format_func=FAMILY_LABELS.get, key="family", bind=BIND,
        )  # fmt: skip
        values["depth"] = _number(
            "Depth (weighted layers)",
            "depth",
            value=defaults.depth,
            help="ImageNet: 10-48 (even) with basic blocks, 50, 53, 56, ... with bottlenecks. "
            "CIFAR: 6n + 2 (20, 32, 44, 56, 110, 1202, ...).",
        )
    elif mode == "checkpoint":
        opened = open_checkpoint_control()
        values["checkpoint_spec"] = opened.reading.spec if opened else None
    else:
        values.update(_custom_controls())
    if show_skip:
        values["skip"] = st.toggle(
            "Skip connections",
            value=DEFAULT.skip,
            key="skip",
            bind=BIND,
            help="Off gives the paper's plain network: the same layers without identity shortcuts.",
        )
    with st.expander("Input and classes"):
        values["channels"] = _number(
            "Input channels", "channels", value=None, placeholder="network default (3)"
        )
        values["height"] = _number("Height", "h", value=None, placeholder="default")
        values["width"] = _number("Width", "w", value=None, placeholder="default")
        values["classes"] = _number("Classes", "classes", value=None, placeholder="network default")
    return dataclasses.replace(defaults, **values)


def _custom_controls() -> dict[str, object]:
    d = DEFAULT
    values: dict[str, object] = {}
    values["block"] = st.selectbox(
        "Block", BLOCK_TYPES, index=BLOCK_TYPES.index(d.block), key="block", bind=BIND,
        help="basic: two 3x3 convs. bottleneck: 1x1 reduce, 3x3, 1x1 expand (x4).",
    )  # fmt: skip
    values["layers"] = st.text_input(
        "Blocks per stage", value=d.layers, key="layers", bind=BIND,
        help="One number per stage, e.g. 3, 4, 23, 3 for ResNet-101.",
    )  # fmt: skip
    values["widths"] = st.text_input(
        "Widths per stage", value=d.widths, key="widths", bind=BIND,
        help="Channels of each stage's 3x3 convs; a bottleneck stage outputs 4x this.",
    )  # fmt: skip
    values["stem"] = st.selectbox(
        "Stem", STEM_TYPES, index=STEM_TYPES.index(d.stem), key="stem", bind=BIND,
        help="imagenet: 7x7/2 conv + 3x3/2 max-pool. cifar: one 3x3/1 conv. deep: three 3x3 "
        "convs (the first /2) + max-pool, the ResNet-C/D stem of timm's resnet*c, resnet*d.",
    )  # fmt: skip
    values["shortcut"] = st.selectbox(
        "Shortcut option (He et al. 2015, Sec. 3.3)",
        SHORTCUT_OPTIONS,
        index=SHORTCUT_OPTIONS.index(d.shortcut),
        format_func=SHORTCUT_LABELS.get,
        key="shortcut",
        bind=BIND,
    )
    bottleneck = values["block"] == "bottleneck"
    values["version"] = st.radio(
        "Stride placement",
        list(VERSIONS),
        horizontal=True,
        key="version",
        bind=BIND,
        disabled=not bottleneck,
        help="V1.5 (torchvision): stride on the 3x3 conv. V1 (the paper): on the first 1x1.",
    )
    left, right = st.columns(2)
    with left:
        values["groups"] = _number(
            "Groups", "groups", value=d.groups, disabled=not bottleneck,
            help="ResNeXt cardinality (32 in ResNeXt-50 32x4d).",
        )  # fmt: skip
    with right:
        values["width_per_group"] = _number(
            "Width per group", "wpg", value=d.width_per_group, disabled=not bottleneck,
            help="64 is standard; 128 doubles the bottleneck (Wide ResNet-50-2); 4 with 32 "
            "groups is ResNeXt-50 32x4d.",
        )  # fmt: skip
    values["preact"] = st.toggle(
        "Pre-activation (He et al. 2016)", value=d.preact, key="preact", bind=BIND
    )
    values["batch_norm"] = st.toggle("Batch normalisation", value=d.batch_norm, key="bn", bind=BIND)
    values["avg_down"] = st.toggle(
        "Average-pool shortcuts (ResNet-D)", value=d.avg_down, key="avgdown", bind=BIND,
        disabled=values["shortcut"] == "A",
        help="Projection shortcuts average-pool 2x2 before a stride-1 1x1 conv instead of "
        "striding the conv, so no activation is skipped (He et al. 2019, timm's resnet*d).",
    )  # fmt: skip
    values["se"] = st.toggle(
        "Squeeze-and-excitation", value=d.se, key="se", bind=BIND,
        help="An SE unit on every block's branch (Hu et al. 2018): channel gates from the "
        "global mean, reduction 16 (timm's seresnet*).",
    )  # fmt: skip
    return values


def url_params_for(spec: ResNetSpec, input_size: tuple[int, int, int]) -> dict[str, str]:
    """Query parameters that make these controls show ``spec`` at ``input_size`` (for links
    from other pages). Selectbox values go in the URL as their labels, as Streamlit writes
    them."""
    params: dict[str, str] = {}
    exact = preset_for(spec)
    if exact is not None:
        params["preset"] = exact.label
    else:
        params["mode"] = MODE_LABELS["custom"]
        fields = custom_fields(spec)
        fields["shortcut"] = SHORTCUT_LABELS[spec.shortcut]
        for field, value in fields.items():
            text = str(value).lower() if isinstance(value, bool) else str(value)
            params[_CUSTOM_KEYS[field]] = text
        params["classes"] = str(spec.num_classes)
        if spec.in_channels != 3:
            params["channels"] = str(spec.in_channels)
    _, h, w = input_size
    params["h"], params["w"] = str(h), str(w)
    return params
