"""The lecture-hall load tool at the protocol level (bench/lecture_load.py): its Streamlit
client reads a real server's page, and a small class of students gets every answer right."""

import json
import subprocess
import sys

import pytest

from bench.drivers.browser import REPO, streamlit_server
from bench.drivers.streamlit_protocol import StreamlitSession
from resnet_viz.core.presets import PRESETS, preset
from resnet_viz.core.summary import summarize

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with streamlit_server(tmp_path_factory.mktemp("lecture") / "server.log") as running:
        yield running


def test_deep_link_shows_the_preset_parameter_count(server):
    with StreamlitSession(server.url) as session:
        page = session.open("architecture", {"preset": "ResNet-50"})
        # torchvision's resnet50 has 25,557,032 parameters (its weights' documentation).
        assert page.metrics()["Parameters"] == "25,557,032"
        assert session.widget("preset").kind == "selectbox"
        page = session.set_widget("preset", string_value=PRESETS["resnet101"].label)
        shown = int(page.metrics()["Parameters"].replace(",", ""))
        assert shown == summarize(preset("resnet101")).total_params
        assert not page.exceptions


def test_an_unknown_page_is_reported(server):
    with StreamlitSession(server.url) as session:
        assert session.open("no_such_page").page_not_found


def test_twenty_students_get_every_answer_right(tmp_path):
    """20 students, 20 s: the deep link, two preset changes and one Grad-CAM each, each answer
    checked against the library; any wrong answer (another student's network) is a failure.
    A subprocess: Locust's gevent patches the socket module of the process it runs in."""
    out = tmp_path / "figures.json"
    command = [
        sys.executable, "-m", "bench.lecture_load", "--users", "20", "--spawn-rate", "10",
        "--time", "20s", "--script", "quick", "--json", str(out),
    ]  # fmt: skip
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)
    result = json.loads(out.read_text())
    assert result["failures"] == 0, done.stdout + done.stderr
    actions = result["actions"]
    assert actions["architecture: deep link"]["count"] == 20
    assert actions["architecture: preset change"]["count"] == 40
    assert actions["grad_cam: bundled samples"]["count"] == 20
