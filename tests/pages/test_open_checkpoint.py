"""Open a checkpoint in the explorer: the network is read from its weights and shown in every
tab, offered to the gradient-flow and Grad-CAM pages; hostile files are refused with a message
and nothing in them runs."""

from __future__ import annotations

import io
import pickle

import timm
import torch

from resnet_viz import build_model, preset
from resnet_viz.ui.checkpoint import SESSION_KEY
from tests.app_support import assert_clean, marker_pickle, metric, open_page


def saved(state_dict: dict) -> bytes:
    buffer = io.BytesIO()
    torch.save(state_dict, buffer)
    return buffer.getvalue()


def open_in_explorer(name: str, data: bytes, **query: str):
    at = open_page("pages/architecture.py", mode="checkpoint", **query)
    at.file_uploader(key="open_ckpt").upload(name, data)
    return at.run()


def test_explorer_shows_a_timm_checkpoint_in_every_tab():
    state = {
        "model": {f"module.{k}": v for k, v in timm.create_model("resnet50d").state_dict().items()}
    }
    at = open_in_explorer("resnet50d.pth", saved(state))
    assert_clean(at)
    assert metric(at, "Parameters") == "25,576,264"
    assert any("Open: resnet50d.pth (ResNet-50-D (timm))" in c.value for c in at.sidebar.caption)
    assert any("V1.5 is assumed" in c.value for c in at.sidebar.caption)
    for tab in ("Layers", "Diagram", "Compare", "Code"):
        at.query_params["tab"] = tab
        at.run()
        assert_clean(at)
        assert metric(at, "Parameters") == "25,576,264", tab


def test_the_opened_network_is_offered_to_the_other_pages():
    at = open_in_explorer("cifar.pt", saved(build_model(preset("resnet20")).state_dict()))
    assert metric(at, "Parameters") == "269,722"
    opened = at.session_state[SESSION_KEY]
    assert opened.reading.spec == preset("resnet20")
    at.switch_page("pages/gradients.py").run()
    assert_clean(at)
    assert at.segmented_control(key="mode").value == "checkpoint"
    at.switch_page("pages/grad_cam.py")
    at.query_params["model"] = "Upload a checkpoint…"
    at.run()
    assert_clean(at)
    assert at.selectbox(key="ckpt_arch").value == "auto"  # the opened checkpoint, read as is
    assert any("Open: cifar.pt" in c.value for c in at.sidebar.caption)


def test_the_hostile_pickle_leaves_its_marker_when_loaded(tmp_path):
    """The payload the tests below upload does run when unpickled, so their "no marker" checks
    can fail."""
    marker = tmp_path / "pwned"
    pickle.loads(marker_pickle(marker))
    assert marker.exists()


def test_hostile_and_foreign_files_are_refused_and_nothing_runs(tmp_path):
    marker = tmp_path / "pwned"
    at = open_in_explorer("model.pt", marker_pickle(marker))
    assert_clean(at)
    errors = [e.value for e in at.error]
    assert any("Nothing in the file was run" in e for e in errors), errors
    assert not marker.exists()
    at = open_in_explorer("vgg.pt", saved({"features.0.weight": torch.ones(8, 3, 3, 3)}))
    assert_clean(at)
    errors = [e.value for e in at.error]
    assert any("expected residual stages" in e for e in errors), errors
    assert any("No checkpoint is open yet" in e for e in errors)  # the page says what to do
    at = open_in_explorer("notes.pt", b"just text")
    assert any("not a PyTorch checkpoint" in e.value for e in at.error)


def test_the_opened_network_is_offered_to_the_block_anatomy_page():
    at = open_in_explorer("cifar.pt", saved(build_model(preset("resnet20")).state_dict()))
    at.switch_page("pages/block_anatomy.py").run()
    choice = at.selectbox(key="an_model")
    assert any("Your checkpoint: cifar.pt" in o for o in choice.options)
    choice.set_value("opened").run()
    assert_clean(at)
    assert any("cifar.pt" in c.value for c in at.sidebar.caption)


def test_a_refused_file_is_read_once_and_its_message_stays(monkeypatch):
    from resnet_viz import weights

    at = open_in_explorer("notes.pt", b"just text")
    calls = []
    original = weights.open_checkpoint_file
    monkeypatch.setattr(weights, "open_checkpoint_file", lambda d: calls.append(d) or original(d))
    at.run()  # a rerun with the same upload: the message again, the file not read again
    assert calls == []
    assert any("not a PyTorch checkpoint" in e.value for e in at.error)
