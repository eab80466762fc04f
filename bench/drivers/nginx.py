"""deploy/nginx.conf run for real in front of local replicas: the test of its cookie affinity
(tests/operational/test_nginx_affinity.py) and the lecture-hall load tool's multi-replica runs
(``python -m bench.lecture_load --replicas 2``) start it the same way.

The configuration is the repository's file with only its replica addresses, its listen port and
its /tmp paths substituted, so what is measured is what is deployed.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CONF = REPO / "deploy" / "nginx.conf"
#: Debian's package installs nginx in /usr/sbin, which is not on every user's PATH.
NGINX = shutil.which("nginx") or next(
    (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None
)
#: The cookie deploy/nginx.conf pins a browser to its replica by.
AFFINITY_COOKIE = "rvaffinity"


def config_for(replicas: list[int], listen: int, prefix: str) -> str:
    """deploy/nginx.conf with ``replicas`` (localhost ports) as its upstream, listening on
    ``listen`` on localhost, its pid, logs, temp and cache folders under ``prefix``."""
    text = CONF.read_text()
    server_line = re.compile(r"^(\s*)server 127\.0\.0\.1:\d+( .*;)$", re.MULTILINE)
    found = server_line.findall(text)
    if len(found) != 3:
        raise ValueError("deploy/nginx.conf's upstream server lines changed shape: update this")
    indent, options = found[0]
    servers = "\n".join(f"{indent}server 127.0.0.1:{port}{options}" for port in replicas)
    text = server_line.sub("", text, count=2)
    text = server_line.sub(servers, text, count=1)
    if text.count("listen 8080;") != 1:
        raise ValueError("deploy/nginx.conf no longer has one 'listen 8080;': update this")
    text = text.replace("listen 8080;", f"listen 127.0.0.1:{listen};")
    return text.replace("/tmp/resnet-viz-nginx", f"{prefix}/nginx")


@contextlib.contextmanager
def nginx_in_front(replicas: list[int], listen: int) -> Iterator[Path]:
    """Run nginx with :func:`config_for` until the block ends; yields its folder (the
    configuration and logs: ``nginx/access.log``). Raises when nginx is not installed, its
    configuration does not pass ``nginx -t``, or it does not listen within 20 s."""
    if NGINX is None:
        raise RuntimeError("nginx is not installed (apt-get install nginx)")
    # nginx started as root runs its workers as nobody: their folders must be reachable.
    prefix = tempfile.mkdtemp(prefix="rv-nginx-")
    os.chmod(prefix, 0o755)
    try:
        conf = Path(prefix, "nginx.conf")
        conf.write_text(config_for(replicas, listen, prefix))
        command = [NGINX, "-e", f"{prefix}/early-error.log", "-c", str(conf)]
        check = subprocess.run([*command, "-t"], capture_output=True, text=True)
        if check.returncode != 0:
            raise RuntimeError(f"nginx -t refused the configuration: {check.stderr}")
        nginx = subprocess.Popen(
            [*command, "-g", "daemon off;"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        try:
            _wait_listening(listen, nginx)
            yield Path(prefix)
        finally:
            nginx.terminate()
            nginx.wait(timeout=20)
    finally:
        shutil.rmtree(prefix, ignore_errors=True)


def _wait_listening(port: int, process: subprocess.Popen, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"nginx exited: {process.stdout.read().decode()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nginx did not listen on {port}")
