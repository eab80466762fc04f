"""Copyable Python that rebuilds the network on screen."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from ..core.presets import Preset, preset_for
from ..core.spec import ResNetSpec


def _literal(value: object) -> str:
    return f'"{value}"' if isinstance(value, str) else repr(value)


def _spec_expression(spec: ResNetSpec) -> str:
    """``preset("resnet50")`` when it is one, else ``ResNetSpec(...)`` with the non-default
    fields only (defaults are ResNet-18's, see ResNetSpec)."""
    exact = preset_for(spec)
    if exact is not None:
        return f'preset("{exact.name}")'
    twin = preset_for(dataclasses.replace(spec, skip=True))
    if twin is not None:
        return f'dataclasses.replace(preset("{twin.name}"), skip=False)'
    default = ResNetSpec()
    args = [
        f"{field.name}={_literal(getattr(spec, field.name))}"
        for field in dataclasses.fields(ResNetSpec)
        if getattr(spec, field.name) != getattr(default, field.name)
    ]
    if len(args) <= 2:
        return f"ResNetSpec({', '.join(args)})"
    lines = "".join(f"    {arg},\n" for arg in args)
    return f"ResNetSpec(\n{lines})"


def resnet_viz_snippet(spec: ResNetSpec, input_size: tuple[int, int, int]) -> str:
    """Python that rebuilds ``spec`` with resnet_viz and prints its summary at ``input_size``."""
    expression = _spec_expression(spec)
    names = ["ResNetSpec" if expression.startswith("ResNetSpec") else "preset"]
    imports = f"from resnet_viz import {names[0]}, build_model, summarize\n"
    if expression.startswith("dataclasses"):
        imports = "import dataclasses\n\n" + imports
    return (
        f"{imports}\n"
        f"spec = {expression}\n"
        "model = build_model(spec)  # an nn.Module, in eval mode\n"
        f"summary = summarize(spec, input_size={input_size})\n"
        'print(f"{summary.total_params:,} parameters, {summary.total_macs:,} MACs")\n'
    )


def _library_snippet(spec: ResNetSpec, name_of: Callable[[Preset], str | None], code: str):
    """``code`` with the library's name for ``spec`` filled in, when it is such a preset."""
    exact = preset_for(spec)
    name = name_of(exact) if exact is not None else None
    return None if name is None else code.format(name=name)


def torchvision_snippet(spec: ResNetSpec) -> str | None:
    """The torchvision call for a torchvision preset (None for anything else)."""
    return _library_snippet(
        spec,
        lambda p: p.torchvision_builder,
        'import torchvision\n\nmodel = {name}(weights=None)  # or weights="DEFAULT"\n',
    )


def timm_snippet(spec: ResNetSpec) -> str | None:
    """The timm call for a timm preset (None for anything else)."""
    return _library_snippet(
        spec,
        lambda p: p.timm_name,
        'import timm\n\nmodel = timm.create_model("{name}", pretrained=False)  # or True\n',
    )
