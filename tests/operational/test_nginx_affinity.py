"""deploy/nginx.conf in front of two real `streamlit run app.py` replicas: cookie affinity and
the static cache, checked through the real nginx.

The configuration under test is the repository's file with only its replica addresses, its
listen port and its /tmp paths substituted (bench/drivers/nginx.py). Which replica answered
comes from the file's own ``X-Upstream`` header ($upstream_addr): a browser that arrives without
the cookie gets one, and with it its page, health check, static files and websocket handshake
all reach the replica that served its first page; different cookies spread over both replicas;
a static file's second fetch is answered by nginx's cache with the bytes of the installed
Streamlit package.
"""

import base64
import hashlib
import http.client
import os
import re
import socket
from http.cookies import SimpleCookie
from pathlib import Path

import pytest
import streamlit

from bench.drivers.browser import free_port, streamlit_server
from bench.drivers.load import user_image
from bench.drivers.nginx import AFFINITY_COOKIE, NGINX, nginx_in_front
from bench.drivers.streamlit_protocol import StreamlitSession

STATIC = Path(streamlit.__file__).parent / "static"
COOKIE = AFFINITY_COOKIE
#: RFC 6455 section 1.3: the GUID a server appends to the client's key in its accept header.
WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#: Cookies per spread check: all on one of two replicas by chance has probability 2 * 2**-24.
SPREAD = 24

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(NGINX is None, reason="nginx is not installed (apt-get install nginx)"),
]


@pytest.fixture(scope="module")
def hall(tmp_path_factory):
    """Two replicas and nginx in front: (nginx port, {replica address: port})."""
    logs = tmp_path_factory.mktemp("replicas")
    env = {"RESNET_VIZ_PRELOAD": "0"}  # no background torch import: two replicas on 2 cores
    with (
        streamlit_server(logs / "a.log", env=env) as a,
        streamlit_server(logs / "b.log", env=env) as b,
    ):
        ports = [a.port, b.port]
        listen = free_port()
        with nginx_in_front(ports, listen):
            yield listen, {f"127.0.0.1:{port}" for port in ports}


def get(port: int, path: str, cookie: str | None = None):
    """(status, headers, body) of a GET through nginx, with the affinity cookie if given."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        headers = {"Cookie": f"{COOKIE}={cookie}"} if cookie else {}
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


def affinity_cookie(headers) -> SimpleCookie | None:
    """The ``rvaffinity`` cookie a response sets, parsed; None when it sets none."""
    for value in headers.get_all("Set-Cookie") or []:
        parsed = SimpleCookie(value)
        if COOKIE in parsed:
            return parsed
    return None


def websocket_handshake(port: int, cookie: str, host: str = "127.0.0.1") -> tuple[int, dict]:
    """Open /_stcore/stream as a browser does (Origin = the page's origin, the cookie, the
    "streamlit" subprotocol); the handshake's status and headers (lowercase names). A 101
    must carry the accept value RFC 6455 derives from the key."""
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        "GET /_stcore/stream HTTP/1.1\r\n"
        f"Host: {host}:{port}\r\nOrigin: http://{host}:{port}\r\n"
        "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Protocol: streamlit\r\n"
        f"Cookie: {COOKIE}={cookie}\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(request.encode())
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
    head = answer.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    status = int(head[0].split()[1])
    headers = {}
    for line in head[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if status == 101:
        expected = base64.b64encode(hashlib.sha1((key + WEBSOCKET_GUID).encode()).digest())
        assert headers["sec-websocket-accept"] == expected.decode()
    return status, headers


def page_assets(port: int) -> list[str]:
    """The /static/ files the app's HTML page loads (its script and style bundles)."""
    status, _, body = get(port, "/")
    assert status == 200
    assets = re.findall(r'(?:src|href)="\.?/?(static/[^"]+)"', body.decode())
    assert assets, "the page names no static bundle"
    return ["/" + asset for asset in assets]


def test_a_browser_stays_on_the_replica_of_its_first_page(hall):
    port, replicas = hall
    static = page_assets(port)[0]
    first_replicas = set()
    for _ in range(SPREAD):
        status, headers, _ = get(port, "/")
        assert status == 200
        cookie = affinity_cookie(headers)
        assert cookie is not None, "a browser without the cookie got none"
        morsel = cookie[COOKIE]
        assert re.fullmatch(r"[0-9a-f]{32}", morsel.value)  # $request_id
        assert morsel["path"] == "/"
        assert morsel["httponly"]
        assert morsel["samesite"] == "Lax"
        replica = headers["X-Upstream"]
        assert replica in replicas
        first_replicas.add(replica)

        for path in ("/", "/_stcore/health", "/architecture"):
            status, later, _ = get(port, path, morsel.value)
            assert status == 200, path
            assert later["X-Upstream"] == replica, path
            assert affinity_cookie(later) is None, "the cookie was set again"
        status, later, _ = get(port, static, morsel.value)
        assert status == 200
        # A cached copy is answered by nginx itself (no upstream); a miss goes to the replica.
        assert later["X-Upstream"] in (replica, None), later["X-Cache-Status"]
        status, handshake = websocket_handshake(port, morsel.value)
        assert status == 101
        assert handshake["x-upstream"] == replica
        assert handshake["sec-websocket-protocol"] == "streamlit"
    assert first_replicas == replicas, "new browsers all went to one replica"


def test_different_cookies_spread_over_the_replicas_and_each_keeps_its_own(hall):
    port, replicas = hall
    chosen = {}
    for index in range(SPREAD):
        cookie = f"student-{index}"
        status, headers, _ = get(port, "/_stcore/health", cookie)
        assert status == 200
        chosen[cookie] = headers["X-Upstream"]
    assert set(chosen.values()) == replicas
    for cookie, replica in chosen.items():
        assert get(port, "/_stcore/health", cookie)[1]["X-Upstream"] == replica


def test_the_websocket_accepts_a_hall_address_with_a_port(hall):
    """A browser on http://lecture-hall.example:<port> sends that Origin; Streamlit accepts it
    only when the Host it sees keeps the port (nginx's $http_host, not $host)."""
    port, replicas = hall
    status, handshake = websocket_handshake(port, "any", host="lecture-hall.example")
    assert status == 101
    assert handshake["x-upstream"] in replicas


def test_static_files_are_cached_by_nginx(hall):
    port, replicas = hall
    asset = page_assets(port)[-1]
    on_disk = (STATIC / asset.lstrip("/").split("?")[0]).read_bytes()
    status, first, body = get(port, asset, "cache-check")
    assert status == 200
    assert body == on_disk
    assert first["X-Cache-Status"] == "MISS"
    assert first["X-Upstream"] in replicas
    for cookie in ("cache-check", "another-student"):
        status, again, body = get(port, asset, cookie)
        assert status == 200
        assert body == on_disk
        assert again["X-Cache-Status"] == "HIT"
        assert again["X-Upstream"] is None  # answered by nginx, no replica asked


#: Students uploading through nginx: were their uploads not pinned to their session's replica,
#: all of them would reach it only with probability 2**-UPLOADERS (each PUT on either replica).
UPLOADERS = 6


def test_protocol_level_students_upload_through_nginx_to_their_own_session(hall):
    """bench/drivers/streamlit_protocol.py (the load tool's students) loads the page first and
    sends its cookies with the websocket and the upload, as a browser does: each student's
    upload reaches its session's replica (another would refuse it: 400 Invalid session_id)
    and its page shows its own image only."""
    listen, _ = hall
    for number in range(UPLOADERS):
        with StreamlitSession(f"http://127.0.0.1:{listen}") as student:
            assert COOKIE in student.http.cookies
            student.open("grad_cam")
            name = f"student-{number}.png"
            page = student.upload("images", [(name, user_image(number))])
            assert not page.exceptions
            assert [t for t in page.texts("heading") if t.startswith("student-")] == [name]
