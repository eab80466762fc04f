"""The Layers tab's torchinfo view: nothing runs until the button is pressed; then torchinfo's
text, the "matches torchinfo" line and its download, for a preset and an opened checkpoint."""

from __future__ import annotations

import io
import re

import torch

from resnet_viz import build_model, preset
from tests.app_support import assert_clean, open_page

DOWNLOAD = "Download torchinfo summary (TXT)"


def download_labels(at) -> list[str]:
    return [b.proto.label for b in at.get("download_button")]


def torchinfo_text(at) -> str | None:
    return next((c.value for c in at.code if "Total params:" in c.value), None)


def run_torchinfo(at):
    at.button(key="torchinfo_run").click().run()
    assert_clean(at)
    return at


def test_the_button_shows_torchinfo_matching_the_page_with_a_download():
    at = open_page("pages/architecture.py", preset="ResNet-18", tab="Layers")
    assert_clean(at)
    assert torchinfo_text(at) is None  # on request only
    assert DOWNLOAD not in download_labels(at)
    run_torchinfo(at)
    text = torchinfo_text(at)
    assert text is not None
    assert "Total params: 11,689,512" in text
    assert "Conv2d" in text
    assert "Mult-Adds" in text
    assert any(
        s.value.startswith("Matches torchinfo: total params 11,689,512 and total mult-adds "
                           "1,814,083,944") for s in at.success
    )  # fmt: skip
    assert DOWNLOAD in download_labels(at)
    at.segmented_control(key="lvl").set_value(2).run()  # a filter change keeps it
    assert torchinfo_text(at) == text
    at.number_input(key="h").set_value(160).run()  # another input: the old text is not shown
    assert torchinfo_text(at) is None
    run_torchinfo(at)
    assert "input_size=(1, 3, 160, 224)" in "".join(c.value for c in at.code)
    assert re.search(r"Conv2d: 1-1 +\[1, 64, 80, 112\]", torchinfo_text(at))
    assert any(s.value.startswith("Matches torchinfo") for s in at.success)


def test_an_opened_checkpoint_gets_its_torchinfo():
    buffer = io.BytesIO()
    torch.save(build_model(preset("resnet20")).state_dict(), buffer)
    at = open_page("pages/architecture.py", mode="checkpoint", tab="Layers")
    at.file_uploader(key="open_ckpt").upload("cifar.pt", buffer.getvalue())
    run_torchinfo(at.run())
    assert "Total params: 269,722" in torchinfo_text(at)
    assert any(s.value.startswith("Matches torchinfo: total params 269,722") for s in at.success)


def test_a_network_too_deep_for_torchinfo_gets_a_message_and_the_tab_stays():
    at = open_page(
        "pages/architecture.py", mode="depth", family="cifar", depth="3608", tab="Layers"
    )
    run_torchinfo(at)
    assert any("torchinfo lists every module one by one" in e.value for e in at.error)
    assert torchinfo_text(at) is None
    assert at.dataframe  # the analytic table is still there
