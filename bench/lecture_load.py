"""A lecture hall of simulated students on one server, at the protocol level, with Locust.

Each Locust user is one student's Streamlit session spoken over the websocket
(bench/drivers/streamlit_protocol.py: no browser), so hundreds fit on the machine beside the
server. Every answer is checked against the library in this process; a wrong answer (or an
exception box, a page not found, a timeout) is a Locust failure:

* ``architecture``: the deep link ``/architecture?preset=ResNet-50``, then five preset changes;
  each shown parameter count must equal ``summarize(preset(name)).total_params``.
* ``gradients``: the gradient page's default study; its first/last ratios must be the same for
  every student (the study is seeded: a different number is another student's settings).
* ``grad_cam``: the bundled default samples; the class each one names must be the one a direct
  ``grad_cam`` on the demo model names. ``upload``: some students (``UPLOAD_SHARE``) upload
  their own image instead; the page must show their file only, with its class.
* ``home`` and ``lab`` (a teaching-lab page, its controls only: its heavy work is on request).

    python -m bench.lecture_load --users 100 --spawn-rate 10 --time 60s [--script lecture]
    python -m bench.lecture_load --users 300 --replicas 2       # two servers behind nginx
    python -m bench.lecture_load --users 300 --waves 2          # a second class after the first
    python -m bench.lecture_load --users 300 --host https://resnet-viz.example.org

Without ``--host`` it starts its own ``streamlit run app.py`` servers (``--replicas``; two or more
behind the repository's deploy/nginx.conf, as deployed) and reports their CPU seconds per
student and their RSS (peak, per open session, after the students left; with ``--waves``, each
wave's peak and the last one's growth over the first's). Figures: bench/README.md, "Lecture
hall, protocol level".
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import itertools
import json
import os
import random
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import gevent

# Importing locust has gevent patch the socket module (before requests and websocket-client
# load below, in the first-party imports), so each student's blocking reads yield to the others.
from locust import User, between, task
from locust.env import Environment

from bench.drivers.streamlit_protocol import ProtocolError, StreamlitSession
from resnet_viz.core.presets import PRESETS, preset
from resnet_viz.core.summary import summarize

#: The share of students who upload their own image rather than use the bundled samples.
UPLOAD_SHARE = 0.3
#: Five preset changes per student on the architecture page (the issue's lecture script).
PRESET_CHANGES = 5
#: The page a student opens first, as a shared link would.
DEEP_LINK = ("architecture", {"preset": PRESETS["resnet50"].label})
LAB_PAGE = "degradation"
HOME_TITLE = "Residual networks, explained"
#: Distinct uploaded images (each student's file has its own name; images repeat every N).
UPLOAD_IMAGES = 8
_student_numbers = itertools.count()


class WrongAnswerError(AssertionError):
    """The page showed something other than what this student asked for."""


def shown_params(page) -> int:
    """The parameter count the architecture page's metric shows, as a number."""
    return int(page.metrics()["Parameters"].replace(",", ""))


@functools.cache
def expected_params(name: str) -> int:
    return summarize(preset(name)).total_params


def named_classes(page) -> list[str]:
    """The class each Grad-CAM on the page names (its overlay's caption), in page order."""
    marker = " explaining “"
    return [c.split(marker, 1)[1].rstrip("”") for c in page.captions() if marker in c]


@functools.cache
def _demo():
    from resnet_viz.weights import load_demo_model

    return load_demo_model(device="cpu")


def expected_class(data: bytes) -> str:
    """The class a direct ``grad_cam`` on the demo model names for ``data``."""
    from resnet_viz.analysis.attribution.cam import grad_cam
    from resnet_viz.data.images import load_image

    loaded = _demo()
    result = grad_cam(loaded.model, loaded.preprocessing.tensor(load_image(data)))
    return loaded.categories[result.target_class]


@functools.cache
def default_sample_classes() -> tuple[str, ...]:
    """What the Grad-CAM page must name for its default samples (the first two synthetic
    shapes, resnet_viz/ui/grad_cam.py image_inputs), computed once per process."""
    from resnet_viz.data.samples import bundled_samples

    samples = [s for s in bundled_samples() if s.synthetic][:2]
    return tuple(expected_class(s.read()) for s in samples)


@functools.cache
def upload_image(index: int) -> tuple[bytes, str]:
    """Uploaded image number ``index`` (a synthetic shape, bench/drivers/load.py) and its
    expected class."""
    from bench.drivers.load import user_image

    data = user_image(index)
    return data, expected_class(data)


_gradient_reference: dict[str, str] = {}
_reference_lock = threading.Lock()


class Student(User):
    """One student's session. Subclasses choose the script (``run_script``)."""

    abstract = True
    wait_time = between(1, 3)

    def on_start(self) -> None:
        self.number = next(_student_numbers)
        self.session = StreamlitSession(self.host)

    def on_stop(self) -> None:
        self.session.close()

    @contextlib.contextmanager
    def action(self, name: str):
        """Time one step as a Locust request named ``name``; a raised error is its failure."""
        start = time.perf_counter()
        received = self.session.bytes_received
        error = None
        try:
            yield
        except (WrongAnswerError, ProtocolError, OSError, KeyError, ValueError) as exc:
            error = exc
        self.environment.events.request.fire(
            request_type="WS",
            name=name,
            response_time=(time.perf_counter() - start) * 1000,
            response_length=self.session.bytes_received - received,
            exception=error,
            context={},
        )
        if isinstance(error, OSError):  # the connection is gone: start a new session
            self.session.close()
            self.session = StreamlitSession(self.host)

    def follow_link(self, name: str, query: dict | str = ""):
        """Open a link the lecturer shared, as a new tab does: a new session (within one
        session the app keeps a student's network choice across pages, whatever the URL)."""
        self.session.close()
        self.session = StreamlitSession(self.host)
        return self.session.open(name, query)

    def check(self, page) -> None:
        if page.page_not_found:
            raise WrongAnswerError(f"page not found: {page.page_not_found}")
        if page.exceptions:
            raise WrongAnswerError(f"exception shown: {page.exceptions[0]}")

    # Steps ------------------------------------------------------------------------------------

    def home(self) -> None:
        with self.action("home"):
            page = self.session.open("")
            self.check(page)
            if HOME_TITLE not in page.texts("heading"):
                raise WrongAnswerError("the home page's title is missing")

    def architecture(self, changes: int = PRESET_CHANGES) -> None:
        with self.action("architecture: deep link"):
            page = self.follow_link(*DEEP_LINK)
            self.check(page)
            if shown_params(page) != expected_params("resnet50"):
                raise WrongAnswerError(f"ResNet-50 shows {shown_params(page)} parameters")
        current = "resnet50"
        for _ in range(changes):
            self.wait()
            current = random.choice([n for n in PRESETS if n != current])
            with self.action("architecture: preset change"):
                page = self.session.set_widget("preset", string_value=PRESETS[current].label)
                self.check(page)
                if shown_params(page) != expected_params(current):
                    raise WrongAnswerError(f"{current} shows {shown_params(page)} parameters")

    def gradients(self) -> None:
        with self.action("gradients: default study"):
            page = self.follow_link("gradients")
            self.check(page)
            ratios = {k: v for k, v in page.metrics().items() if k.startswith("First/last")}
            if len(ratios) != 2:
                raise WrongAnswerError(
                    f"the study's ratios are missing: {page.metrics()}; the page says "
                    f"{page.texts('alert')}"
                )
            with _reference_lock:
                for label, value in ratios.items():
                    reference = _gradient_reference.setdefault(label, value)
                    if value != reference:
                        raise WrongAnswerError(
                            f"{label} is {value}, another student saw {reference}"
                        )

    def grad_cam(self) -> None:
        with self.action("grad_cam: bundled samples"):
            page = self.session.open("grad_cam")
            self.check(page)
            if tuple(named_classes(page)) != default_sample_classes():
                raise WrongAnswerError(f"Grad-CAM names {named_classes(page)}")

    def upload(self) -> None:
        data, expected = upload_image(self.number % UPLOAD_IMAGES)
        file_name = f"student-{self.number}.png"
        with self.action("grad_cam: own upload"):
            page = self.session.upload("images", [(file_name, data)])
            self.check(page)
            students = [t for t in page.texts("heading") if t.startswith("student-")]
            if students != [file_name]:
                raise WrongAnswerError(
                    f"student {self.number} sees the images {students} ({named_classes(page)})"
                )
            if named_classes(page) != [expected]:
                raise WrongAnswerError(f"Grad-CAM of {file_name} names {named_classes(page)}")

    def lab(self) -> None:
        with self.action(f"lab: {LAB_PAGE}"):
            page = self.session.open(LAB_PAGE)
            self.check(page)
            if not page.texts("heading"):
                raise WrongAnswerError(f"the {LAB_PAGE} page has no title")


class ArchitectureStudent(Student):
    """The architecture page only: the deep link and five preset changes, 1-3 s apart."""

    @task
    def run_script(self) -> None:
        self.architecture()
        self.wait()


class LectureStudent(Student):
    """The whole lecture: home, architecture (five presets), gradients, Grad-CAM (bundled, or
    some students' own image), a teaching-lab page; 1-3 s of thought between steps."""

    @task
    def run_script(self) -> None:
        self.home()
        self.wait()
        self.architecture()
        self.wait()
        self.gradients()
        self.wait()
        self.grad_cam()
        if random.random() < UPLOAD_SHARE:
            self.wait()
            self.upload()
        self.wait()
        self.lab()
        self.wait()


class QuickStudent(Student):
    """The in-suite run (tests/operational/test_lecture_load.py): the deep link, two preset
    changes and one Grad-CAM, then idle."""

    @task
    def run_script(self) -> None:
        self.architecture(changes=2)
        self.wait()
        self.grad_cam()
        while True:
            self.wait()


SCRIPTS = {"architecture": ArchitectureStudent, "lecture": LectureStudent, "quick": QuickStudent}


# Running ---------------------------------------------------------------------------------------


def warm_up(url: str, script: str) -> None:
    """One student's pass over the pages first, so a cold server's imports and the demo model's
    first load are not counted as the class's latency; and the reference answers computed.
    The Grad-CAM page is opened for every script: a server that has had a visitor imports
    PyTorch once, in the background (resnet_viz/ui/preload.py), and a lecture server started
    before the class has done so before its students arrive; opening a torch page waits for
    that import, so it is not counted as the class's either."""
    with StreamlitSession(url, timeout=300) as session:
        session.open(*DEEP_LINK)
        session.open("grad_cam")
        if script != "architecture":
            for name in ("", "gradients", LAB_PAGE):
                session.open(name)
            default_sample_classes()
        if script == "lecture":
            for index in range(UPLOAD_IMAGES):
                upload_image(index)
    for name in PRESETS:
        expected_params(name)


def run_load(
    url: str,
    users: int,
    spawn_rate: float,
    seconds: float,
    script: str = "architecture",
    server_pids: list[int] | tuple[int, ...] = (),
    warm_urls: Sequence[str] | None = None,
) -> dict:
    """Run ``users`` students of ``script`` against ``url`` for ``seconds``; the per-action
    figures, and the servers' CPU and memory (summed over ``server_pids``, the replicas) when
    their pids are known (local servers). First one student's pass over the pages
    (:func:`warm_up`) on each of ``warm_urls``, by default ``url`` itself (give every replica's
    own URL: through the proxy a student lands on one of them by chance; none for none)."""
    from bench.drivers.load import process_cpu_seconds, server_rss_mb

    def total_rss() -> float:
        return sum(server_rss_mb(pid) for pid in server_pids)

    def total_cpu() -> float:
        return sum(process_cpu_seconds(pid) for pid in server_pids)

    for warm_url in [url] if warm_urls is None else warm_urls:
        warm_up(warm_url, script)
    env = Environment(user_classes=[SCRIPTS[script]], host=url)
    runner = env.create_local_runner()
    rss = {"before": total_rss() if server_pids else None, "peak": 0.0}
    cpu_before = total_cpu() if server_pids else None

    def sample_rss() -> None:
        while server_pids:
            rss["peak"] = max(rss["peak"], total_rss())
            if runner.user_count >= users and "all_open" not in rss:
                rss["all_open"] = total_rss()
            gevent.sleep(1)

    sampler = gevent.spawn(sample_rss)
    own_cpu = process_cpu_seconds(os.getpid())
    started = time.monotonic()
    runner.start(users, spawn_rate=spawn_rate)
    gevent.spawn_later(seconds, runner.quit)
    runner.greenlet.join(timeout=seconds + 120)
    elapsed = time.monotonic() - started
    sampler.kill()
    # The students' side: past ~1 core, the load generator (not the server) is the limit.
    generator_cpu = process_cpu_seconds(os.getpid()) - own_cpu
    result = {
        "users": users,
        "script": script,
        "seconds": elapsed,
        "actions": {},
        "failures": env.stats.total.num_failures,
        "generator_cpu_share": generator_cpu / elapsed,
        "requests": env.stats.total.num_requests,
        "errors": [f"{e.name}: {e.error} (x{e.occurrences})" for e in env.stats.errors.values()],
    }
    # An exception outside an action (a bug of this tool) is a failure too.
    result["errors"] += [
        f"uncaught: {e['msg']} (x{e['count']})" for e in runner.exceptions.values()
    ]
    result["failures"] += sum(e["count"] for e in runner.exceptions.values())
    for (name, _method), entry in sorted(env.stats.entries.items()):
        result["actions"][name] = {
            "count": entry.num_requests,
            "failures": entry.num_failures,
            "p50": entry.get_response_time_percentile(0.5) / 1000,
            "p95": entry.get_response_time_percentile(0.95) / 1000,
            "max": entry.max_response_time / 1000,
        }
    if server_pids:
        cpu = total_cpu() - cpu_before
        time.sleep(2)  # the closed sessions' cleanup
        result.update(
            replicas=len(server_pids),
            server_cpu_s=cpu,
            cpu_s_per_student=cpu / users,
            cpu_s_per_request=cpu / max(result["requests"], 1),
            rss_before_mb=rss["before"],
            rss_peak_mb=rss["peak"],
            rss_all_open_mb=rss.get("all_open"),
            rss_after_mb=total_rss(),
        )
        if rss.get("all_open"):
            result["mb_per_session"] = (rss["all_open"] - rss["before"]) / users
        result["mb_per_student_peak"] = (rss["peak"] - rss["before"]) / users
    return result


def report(result: dict) -> str:
    lines = [
        f"{result['users']} students, {result['script']} script, {result['seconds']:.0f} s: "
        f"{result['requests']} actions, {result['failures']} failures "
        f"({result['requests'] / result['seconds']:.1f} actions/s)",
        f"{'action':32} {'count':>6} {'fail':>5} {'p50 s':>7} {'p95 s':>7} {'max s':>7}",
    ]
    for name, a in result["actions"].items():
        lines.append(
            f"{name:32} {a['count']:6d} {a['failures']:5d} {a['p50']:7.3f} {a['p95']:7.3f} "
            f"{a['max']:7.3f}"
        )
    lines.append(f"load generator: {result['generator_cpu_share']:.0%} of a core")
    if "server_cpu_s" in result:
        lines.append(
            f"server CPU {result['server_cpu_s']:.1f} s: {result['cpu_s_per_student']:.2f} s per "
            f"student, {result['cpu_s_per_request'] * 1000:.1f} ms per action; RSS before "
            f"{result['rss_before_mb']:.0f} MB, all open {result['rss_all_open_mb'] or 0:.0f} MB "
            f"({result.get('mb_per_session', 0):.2f} MB per session), peak "
            f"{result['rss_peak_mb']:.0f} MB ({result['mb_per_student_peak']:.2f} MB per "
            f"student), after {result['rss_after_mb']:.0f} MB"
        )
    lines += [f"  error: {e}" for e in result["errors"][:10]]
    return "\n".join(lines)


def parse_seconds(text: str) -> float:
    units = {"s": 1, "m": 60, "h": 3600}
    return float(text[:-1]) * units[text[-1]] if text[-1] in units else float(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--spawn-rate", type=float, default=10.0)
    parser.add_argument("--time", default="60s", help="how long the students stay: 60s, 2m")
    parser.add_argument("--script", choices=sorted(SCRIPTS), default="architecture")
    parser.add_argument("--host", help="a running app's URL; without it local servers start")
    parser.add_argument(
        "--replicas",
        type=int,
        default=1,
        help="local servers; 2 or more run behind deploy/nginx.conf (cookie affinity)",
    )
    parser.add_argument(
        "--waves",
        type=int,
        default=1,
        help="classes one after another on the same servers (memory: does a wave leave any?)",
    )
    parser.add_argument(
        "--pause",
        default="150s",
        help="between waves: past Streamlit's disconnectedSessionTTL (120 s), so the last "
        "wave's sessions may be released",
    )
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    seconds = parse_seconds(args.time)
    with contextlib.ExitStack() as stack:
        url, pids, replicas = (
            (args.host, [], [args.host]) if args.host else _local_servers(stack, args.replicas)
        )
        waves = []
        for wave in range(args.waves):
            if wave:
                time.sleep(parse_seconds(args.pause))
            result = run_load(
                url,
                args.users,
                args.spawn_rate,
                seconds,
                args.script,
                pids,
                warm_urls=[] if wave else replicas,
            )
            waves.append(result)
            if args.waves > 1:
                print(f"wave {wave + 1}:")
            print(report(result))
    result = waves[0] if len(waves) == 1 else {"waves": waves, **_wave_growth(waves)}
    if len(waves) > 1 and "rss_peak_mb" in waves[0]:
        peaks = ", ".join(f"{wave['rss_peak_mb']:.0f} MB" for wave in waves)
        print(
            f"RSS peak per wave: {peaks}; the last wave's peak "
            f"{result['rss_growth']:+.1%} over the first's"
        )
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    return 1 if any(w["failures"] for w in waves) else 0


def _local_servers(stack: contextlib.ExitStack, replicas: int) -> tuple[str, list[int], list[str]]:
    """Start ``replicas`` ``streamlit run app.py`` servers (and, for two or more, nginx in front
    with the repository's deploy/nginx.conf); the URL the students use, the servers' pids and
    their own URLs."""
    from bench.drivers.browser import free_port, streamlit_server

    folder = Path(tempfile.mkdtemp(prefix="lecture_load_"))
    servers = [
        stack.enter_context(streamlit_server(folder / f"server-{n}.log")) for n in range(replicas)
    ]
    pids = [server.process.pid for server in servers]
    own = [server.url for server in servers]
    if replicas == 1:
        return servers[0].url, pids, own
    from bench.drivers.nginx import nginx_in_front

    listen = free_port()
    ports = [server.port for server in servers]
    stack.enter_context(nginx_in_front(ports, listen))
    return f"http://127.0.0.1:{listen}", pids, own


def _wave_growth(waves: list[dict]) -> dict:
    """How much the last wave's RSS peak exceeds the first's (a fraction), when measured."""
    if "rss_peak_mb" not in waves[0]:
        return {}
    return {"rss_growth": waves[-1]["rss_peak_mb"] / waves[0]["rss_peak_mb"] - 1}


if __name__ == "__main__":
    sys.exit(main())
