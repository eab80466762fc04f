"""The lecture-hall load tool at the protocol level (bench/lecture_load.py): its Streamlit
client reads a real server's page, and a small class of students gets every answer right."""

import json
import subprocess
import sys

import pytest

from bench.drivers.browser import REPO, streamlit_server
from bench.drivers.nginx import NGINX
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


@pytest.mark.skipif(NGINX is None, reason="nginx is not installed (apt-get install nginx)")
def test_two_replicas_behind_nginx_and_two_waves(tmp_path):
    """The scale-out path as the README measures it: two servers behind deploy/nginx.conf, two
    classes one after the other; every answer right through the proxy (the Grad-CAM too, on
    whichever replica the student's cookie chose), both replicas' CPU and memory summed, each
    wave's RSS peak and the second's growth over the first's reported."""
    out = tmp_path / "figures.json"
    command = [
        sys.executable, "-m", "bench.lecture_load", "--users", "6", "--spawn-rate", "6",
        "--time", "8s", "--script", "quick", "--replicas", "2", "--waves", "2",
        "--pause", "1s", "--json", str(out),
    ]  # fmt: skip
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)
    result = json.loads(out.read_text())
    waves = result["waves"]
    assert [wave["failures"] for wave in waves] == [0, 0], done.stdout + done.stderr
    assert all(wave["replicas"] == 2 for wave in waves)
    assert all(wave["actions"]["grad_cam: bundled samples"]["count"] >= 1 for wave in waves)
    peaks = [wave["rss_peak_mb"] for wave in waves]
    assert result["rss_growth"] == pytest.approx(peaks[1] / peaks[0] - 1)
