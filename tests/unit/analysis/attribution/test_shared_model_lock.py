"""The shared-model lock is held while the work runs, seen from inside the model.

Every public function that runs hook-based or autograd work on a model the server shares
(:func:`grad_cam` with every method, :func:`grad_cam_strip`, :func:`faithfulness`,
:func:`sanity_check` on its original map, :func:`block_anatomy`) must hold
:func:`resnet_viz.runtime.locks.model_lock` for that model during the whole forward and
backward pass, not only around its setup. The probe below swaps the class of some of the
model's own modules for a subclass whose ``forward`` (and, through a tensor hook, backward)
records whether that model's lock is held: no module hook is registered, the state dict keys
stay the same, so the functions run exactly as on a shared model.

The other analyses that take a model (the lesion study, the loss landscape, the effective
receptive field) work on a private copy and run nothing on the shared model itself.
"""

from __future__ import annotations

import contextlib
import weakref

import pytest
import torch
from torch import nn

from resnet_viz.analysis.anatomy import block_anatomy
from resnet_viz.analysis.attribution import cam as cam_module
from resnet_viz.analysis.attribution.cam import grad_cam, grad_cam_strip
from resnet_viz.analysis.attribution.faithfulness import faithfulness
from resnet_viz.analysis.attribution.methods import CAM_METHODS, GRADIENT_METHODS
from resnet_viz.analysis.attribution.sanity import sanity_check
from resnet_viz.core.build import build_model
from resnet_viz.core.spec import ResNetSpec
from resnet_viz.runtime.locks import model_lock

SPEC = ResNetSpec(layers=(1, 1, 1, 1), widths=(4, 8, 8, 16), num_classes=5)
SIDE = 48


class LockProbe:
    """Records, at every forward and backward of the probed modules, whether the lock of the
    model they belong to is held."""

    def __init__(self, model: nn.Module, names: tuple[str, ...]) -> None:
        self.model = model
        self.seen: list[tuple[str, str, bool]] = []  # (module, "forward"/"backward", held)
        owner = weakref.ref(model)
        probe = self

        def held() -> bool:
            return model_lock(owner()).locked()

        for name in names:
            module = model.get_submodule(name)
            base = type(module)

            def forward(self, *args, _name=name, _base=base, **kwargs):
                probe.seen.append((_name, "forward", held()))
                out = _base.forward(self, *args, **kwargs)
                if isinstance(out, torch.Tensor) and out.requires_grad:
                    out.register_hook(
                        lambda grad, _name=_name: probe.seen.append((_name, "backward", held()))
                    )
                return out

            module.__class__ = type(f"Probed{base.__name__}", (base,), {"forward": forward})

    def reset(self) -> None:
        self.seen.clear()

    def check(self, *, backward: bool = False) -> None:
        """The probe ran (so the check means something) and saw the lock held every time."""
        assert self.seen, "the probed modules never ran"
        assert all(held for _, _, held in self.seen), [s for s in self.seen if not s[2]]
        if backward:
            assert any(kind == "backward" for _, kind, _ in self.seen), self.seen


@pytest.fixture
def probed():
    torch.manual_seed(0)
    model = build_model(SPEC).eval()
    # The first module, a conv in the last block (its backward runs during Grad-CAM's
    # autograd.grad at layer4), and the classifier.
    probe = LockProbe(model, ("conv1", "layer4.0.conv2", "fc"))
    image = torch.randn(1, 3, SIDE, SIDE)
    assert not model_lock(model).locked()
    return model, probe, image


@pytest.mark.parametrize("method", list(CAM_METHODS))
def test_grad_cam_holds_the_lock_for_every_method(probed, method):
    model, probe, image = probed
    grad_cam(model, image, target_layer="layer4", method=method)
    probe.check(backward=method in GRADIENT_METHODS)
    assert not model_lock(model).locked()  # and released afterwards


def test_counter_evidence_and_an_early_layer_hold_the_lock(probed):
    model, probe, image = probed
    grad_cam(model, image, target_layer="layer2", counterfactual=True)
    probe.check()


def test_the_strip_holds_the_lock(probed):
    model, probe, image = probed
    grad_cam_strip(model, image)
    probe.check(backward=True)


def test_faithfulness_holds_the_lock(probed):
    model, probe, image = probed
    heat = torch.rand(SIDE, SIDE).numpy()
    faithfulness(model, image, heat, steps=4, batch_size=3)
    probe.check()


def test_the_sanity_check_holds_the_lock_on_the_shared_model(probed):
    model, probe, image = probed
    sanity_check(model, image, target_layer="layer4")
    probe.check(backward=True)


def test_block_anatomy_holds_the_lock(probed):
    model, probe, image = probed
    block_anatomy(model, image, "layer2.0")
    probe.check()


def test_the_probe_sees_a_lock_released_before_the_work(probed, monkeypatch):
    """The check above can fail: with Grad-CAM's lock taken and released before the work
    (the mutation a review found every other test blind to), the probe sees it free."""
    model, probe, image = probed

    @contextlib.contextmanager
    def released_early(net):
        with model_lock(net):
            pass
        yield

    monkeypatch.setattr(cam_module, "model_lock", released_early)
    grad_cam(model, image, target_layer="layer4")
    assert probe.seen
    assert not any(held for _, _, held in probe.seen)
    with pytest.raises(AssertionError):
        probe.check()
