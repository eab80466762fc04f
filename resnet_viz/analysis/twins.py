"""A ResNet and its plain twin: the same layers and, wherever a layer exists in both, the same
initial weights; the twin only lacks the identity paths (and the shortcut projections).

He et al. 2015 (arXiv:1512.03385, Sec. 4.1) compare each ResNet with exactly such a "plain"
network. Comparing two independently initialised networks would mix the effect of the skips
with that of different random weights; copying the residual network's tensors into the twin at
every shared name leaves the skips as the only difference. The gradient study
(:mod:`resnet_viz.analysis.gradients`), the degradation experiment and the lesion study all
start from such a pair.

Reproducibility: the pair is built on the CPU under a seeded, forked generator, so the weights
are the same on every device and the caller's RNG state is left as it was.
"""

from __future__ import annotations

import dataclasses

import torch
from torch import nn

from ..core.build import ResNet, build_model
from ..core.layout import parameter_count
from ..core.spec import ResNetSpec, SpecError

__all__ = [
    "INITS",
    "META_TWIN_ABOVE_PARAMS",
    "build_twins",
    "initialize",
    "make_twins",
    "residual_spec",
]

#: The initialisations on offer (see :func:`initialize`).
INITS: tuple[str, ...] = ("kaiming", "xavier", "orthogonal", "pytorch")


def initialize(model: nn.Module, init: str) -> None:
    """Re-initialise every Conv2d and Linear of ``model`` (BatchNorm stays weight 1, bias 0).

    - ``"kaiming"``: leave :func:`build_model`'s torchvision init alone: Kaiming-normal, fan_out,
      ReLU gain (He et al. 2015, "Delving Deep into Rectifiers", arXiv:1502.01852) for convs;
      PyTorch's default for the fc.
    - ``"xavier"``: Glorot-normal with gain 1 (Glorot & Bengio 2010) for every weight. It
      assumes linear units, so without BatchNorm a ReLU network's signal halves in variance at
      every layer, forward and backward: every gradient of a deep plain net is tiny (the
      textbook vanishing case), although the first/last ratio need not move much, since a
      weight's gradient multiplies a forward activation by a backward signal.
    - ``"orthogonal"``: orthogonal matrices (Saxe et al. 2014, arXiv:1312.6120) on the flattened
      weights, gain sqrt(2) for convs (ReLU), 1 for the fc.
    - ``"pytorch"``: each layer's own ``reset_parameters`` (Kaiming-uniform with a = sqrt(5),
      i.e. variance 1 / (3 fan_in), and uniform biases): what a bare ``nn.Conv2d`` gets.

    Biases (present without BatchNorm) are zeroed, except under ``"pytorch"``.
    """
    if init not in INITS:
        raise SpecError(f"init must be one of {', '.join(INITS)}; got {init!r}.")
    if init == "kaiming":
        return
    relu_gain = nn.init.calculate_gain("relu")
    for module in model.modules():
        if not isinstance(module, (nn.Conv2d, nn.Linear)):
            continue
        if init == "pytorch":
            module.reset_parameters()
            continue
        if init == "xavier":
            nn.init.xavier_normal_(module.weight)
        else:
            gain = relu_gain if isinstance(module, nn.Conv2d) else 1.0
            nn.init.orthogonal_(module.weight, gain=gain)
        if module.bias is not None:
            nn.init.zeros_(module.bias)


def build_twins(
    spec: ResNetSpec,
    *,
    seed: int = 0,
    init: str = "kaiming",
    device: torch.device | str | None = "cpu",
) -> tuple[ResNet, ResNet]:
    """The residual model of ``spec`` (``skip`` forced on) and its plain twin, identical weights
    and BatchNorm buffers at every shared name, in train mode, on ``device``.

    Seeds only the CPU generator, inside ``fork_rng``: the caller's RNG state is unchanged.
    Building happens on the CPU (then ``.to(device)``) so the weights do not depend on the
    device.
    """
    with torch.random.fork_rng(devices=[]):
        torch.default_generator.manual_seed(seed)
        residual, plain = make_twins(residual_spec(spec), init)
    return residual.to(device).train(), plain.to(device).train()


def residual_spec(spec: ResNetSpec) -> ResNetSpec:
    """``spec`` with its skip connections on: the residual member of the pair."""
    return spec if spec.skip else dataclasses.replace(spec, skip=True)


#: Above this many parameters the plain twin is built on the meta device (no random init, which
#: load_state_dict would overwrite anyway) rather than on the CPU: meta construction costs a
#: fixed time per layer (Python meta kernels), a CPU build a time per parameter (random init),
#: so the meta device wins for large networks only (figures: ``docs/gradients.md``).
META_TWIN_ABOVE_PARAMS = 5_000_000


def make_twins(spec: ResNetSpec, init: str) -> tuple[ResNet, ResNet]:
    """Both models of ``spec`` (skips on) on the CPU, under the caller's (already seeded)
    generator: the residual model's initialisation draws from it, the twin then gets a copy of
    the residual's tensors, and its own construction leaves the seeded stream untouched, so the
    caller can go on drawing (a batch, say) from the same stream."""
    residual = build_model(spec)
    initialize(residual, init)
    twin_spec = spec.plain_twin()
    if parameter_count(twin_spec) > META_TWIN_ABOVE_PARAMS:
        plain = build_model(twin_spec, device="meta").to_empty(device="cpu")
    else:
        with torch.random.fork_rng(devices=[]):
            plain = build_model(twin_spec)
    result = plain.load_state_dict(residual.state_dict(), strict=False)
    unexpected = [k for k in result.unexpected_keys if ".downsample." not in k]
    if result.missing_keys or unexpected:  # would be a bug in build.py, not a user error
        raise RuntimeError(
            f"plain twin does not match: missing {result.missing_keys}, unexpected {unexpected}"
        )
    return residual, plain
