"""Weights into a :func:`~resnet_viz.core.build.build_model` network, strictly checked.

Every source (torchvision files, the bundled checkpoints, uploads) ends here: the state_dict's
keys and shapes must be exactly the network's (module names are torchvision's, so its ImageNet
weights load with ``strict=True``), every value a dense, finite, real tensor. When they are
not, the message lists what differs and names the preset the weights do fit, if any.

This module does not import streamlit.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from functools import cache

import torch

from ..core.build import ResNet, build_model
from ..core.from_weights import LIST_LIMIT
from ..core.presets import PRESETS, spec_label
from ..core.spec import ResNetSpec


def assemble(
    spec: ResNetSpec, state: Mapping[str, object], error: Callable[[str], Exception]
) -> ResNet:
    """``build_model(spec)`` holding ``state``, strictly checked; raises ``error(message)``.

    The network is built on the meta device and the checked tensors are assigned to it
    (``load_state_dict(assign=True)``, cast to the expected dtype), so no random
    initialisation is computed only to be overwritten.
    """
    expected = _expected_shapes(spec)
    state = _with_batch_counters(state, expected)
    problem = describe_mismatch(spec, state, expected)
    if problem:
        raise error(problem)
    for key, value in state.items():
        _check_tensor(key, value, error)
    dtypes = _expected_dtypes(spec)
    tensors = {k: v.to(dtypes[k]) for k, v in state.items()}  # type: ignore[union-attr]
    model = build_model(spec, device="meta")
    model.load_state_dict(tensors, strict=True, assign=True)
    return model.eval()


def _with_batch_counters(
    state: Mapping[str, object], expected: Mapping[str, tuple[int, ...]]
) -> Mapping[str, object]:
    """Add the BatchNorm ``num_batches_tracked`` counters a checkpoint lacks, as 0.

    Checkpoints saved before PyTorch 0.4.1 have no such key, and ``BatchNorm``'s own
    ``_load_from_state_dict`` fills it in the same way; the counter only matters in training
    with ``momentum=None``.
    """
    if any(k.endswith(".num_batches_tracked") for k in state):
        return state  # a checkpoint from PyTorch 0.4.1 or later: missing counters are missing
    suffix = ".num_batches_tracked"
    counters = [
        k
        for k in expected
        if k.endswith(suffix) and f"{k.removesuffix(suffix)}.running_mean" in state
    ]
    return {**state, **{k: torch.tensor(0, dtype=torch.long) for k in counters}}


def _check_tensor(key: str, value: object, error: Callable[[str], Exception]) -> None:
    if not isinstance(value, torch.Tensor):
        raise error(f"{key} holds a {type(value).__name__}, not a tensor.")
    if value.layout != torch.strided or value.is_quantized:
        raise error(f"{key} is a {value.layout} tensor; only plain dense tensors are accepted.")
    if value.is_complex() or value.dtype == torch.bool:
        raise error(f"{key} has dtype {value.dtype}; weights are real numbers.")
    if value.is_floating_point() and not bool(torch.isfinite(value).all()):
        raise error(f"{key} contains NaN or infinite values: these weights are broken.")


@cache
def _expected_shapes(spec: ResNetSpec) -> dict[str, tuple[int, ...]]:
    state = build_model(spec, device="meta").state_dict()
    return {k: tuple(v.shape) for k, v in state.items()}


@cache
def _expected_dtypes(spec: ResNetSpec) -> dict[str, torch.dtype]:
    return {k: v.dtype for k, v in build_model(spec, device="meta").state_dict().items()}


def _shape_text(shape: Sequence[int]) -> str:
    return "x".join(str(s) for s in shape) if len(shape) else "scalar"


def describe_mismatch(
    spec: ResNetSpec,
    state: Mapping[str, object],
    expected: Mapping[str, tuple[int, ...]] | None = None,
) -> str | None:
    """``None`` if ``state``'s keys and shapes are exactly ``build_model(spec)``'s; otherwise a
    message listing (at most :data:`LIST_LIMIT` of each, with counts) the missing keys, the
    unexpected keys and the shape differences, and naming a preset the checkpoint fits."""
    expected = expected if expected is not None else _expected_shapes(spec)
    label = spec_label(spec)
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    shapes = [
        f"{k}: checkpoint {_shape_text(_shape(state[k]))}, {label} expects "
        f"{_shape_text(expected[k])}"
        for k in expected
        if k in state and _shape(state[k]) != expected[k]
    ]
    if not (missing or unexpected or shapes):
        return None
    parts = [f"These weights do not fit {label}."]
    for title, items in (
        ("missing from the checkpoint", missing),
        ("unexpected in the checkpoint", unexpected),
        ("with a different shape", shapes),
    ):
        if items:
            shown = "; ".join(items[:LIST_LIMIT])
            more = f"; and {len(items) - LIST_LIMIT} more" if len(items) > LIST_LIMIT else ""
            parts.append(
                f"{len(items)} {'key' if len(items) == 1 else 'keys'} {title}: {shown}{more}."
            )
    hint = suggest_architecture(state)
    if hint:
        parts.append(f"They do fit {hint}: choose that network and upload again.")
    return " ".join(parts)


def _shape(value: object) -> tuple[int, ...] | None:
    return tuple(value.shape) if isinstance(value, torch.Tensor) else None


def suggest_architecture(state: Mapping[str, object]) -> str | None:
    """The preset whose keys and shapes ``state`` matches exactly, as a label
    (``"ResNet-50"``, or ``"ResNet-18 with 10 classes"`` when only the classifier differs).

    Presets whose blocks per stage differ from the checkpoint's ``layerS.B.`` keys are skipped
    without building them (ResNet-1202's 600 blocks take a second even on the meta device).
    """
    layout = _block_layout(state)
    for p in PRESETS.values():
        if p.spec.layers != layout:
            continue
        expected = dict(_expected_shapes(p.spec))
        if _fits(expected, state):
            return p.label
        fc = _shape(state.get("fc.weight"))
        if fc is not None and len(fc) == 2 and fc[1:] == expected["fc.weight"][1:]:
            expected["fc.weight"], expected["fc.bias"] = fc, fc[:1]
            if _fits(expected, state):
                return f"{p.label} with {fc[0]} classes"
    return None


_BLOCK_KEY = re.compile(r"layer(\d+)\.(\d+)\.")


def _block_layout(state: Mapping[str, object]) -> tuple[int, ...]:
    """Blocks per stage as the keys name them: ``(2, 2, 2, 2)`` for a ResNet-18 state_dict."""
    last: dict[int, int] = {}
    for key in state:
        match = _BLOCK_KEY.match(key) if isinstance(key, str) else None
        if match:
            stage, block = int(match.group(1)), int(match.group(2))
            last[stage] = max(last.get(stage, -1), block)
    return tuple(last[s] + 1 for s in sorted(last))


def _fits(expected: Mapping[str, tuple[int, ...]], state: Mapping[str, object]) -> bool:
    return len(expected) == len(state) and all(
        _shape(state.get(k)) == s for k, s in expected.items()
    )
