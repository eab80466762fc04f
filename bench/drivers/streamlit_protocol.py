"""A Streamlit client at the protocol level, without a browser: one object is one student's
session on ``/_stcore/stream``.

Streamlit's browser app and server talk over one websocket in protobuf messages that ship
inside the streamlit package: the browser sends a ``BackMsg`` (``rerun_script`` with a
``ClientState``: the page, the URL's query string and every widget's value), the server answers
with ``ForwardMsg``s (``new_session``, ``session_status_changed``, one ``delta`` per element,
``page_info_changed`` when a bound widget rewrites the URL, ``page_not_found``, and
``script_finished``). This module sends what the browser sends (streamlit 1.67:
``streamlit/web/server/starlette/starlette_websocket.py`` reads the subprotocol header as
``streamlit``, then an XSRF/auth token, then an optional session to resume) and keeps what a
browser would show: the elements of the page by their delta path.

Used by bench/lecture_load.py (Locust users) and tests/operational/test_lecture_load.py. Under
Locust, gevent has patched the socket module, so the blocking websocket-client calls here yield
to the other simulated students.
"""

from __future__ import annotations

import contextlib
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field

import requests
import websocket
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

#: The browser's subprotocol header: the protocol, then a placeholder where an XSRF token goes
#: when the page has none (streamlit's frontend sends the same placeholder).
SUBPROTOCOLS = ["streamlit", "PLACEHOLDER_AUTH_TOKEN"]
#: Runs that end the wait: a whole page, or a fragment (a rerun of one ``st.fragment``).
#: Streamlit's XSRF cookie (streamlit/web/server/starlette/starlette_server_config.py).
XSRF_COOKIE = "_streamlit_xsrf"
DONE = {
    ForwardMsg.ScriptFinishedStatus.FINISHED_SUCCESSFULLY,
    ForwardMsg.ScriptFinishedStatus.FINISHED_FRAGMENT_RUN_SUCCESSFULLY,
}
#: Element types whose text this client reads, and the proto fields that hold it.
TEXT_FIELDS = {
    "markdown": ("body",),
    "text": ("body",),
    "heading": ("body",),
    "caption": ("body",),
    "alert": ("body",),
    "metric": ("label", "body"),
    "code": ("code_text",),
}


class ProtocolError(RuntimeError):
    """The server answered what a browser would show as an error (a page not found, an
    exception box, a compile error) or did not answer in time."""


@dataclass
class Widget:
    """A widget the page drew: its id (what ``widget_states`` names), its key, label and type,
    and the fragment it belongs to (a change reruns only that fragment, as in the browser)."""

    id: str
    kind: str
    label: str
    key: str
    fragment_id: str
    proto: object


@dataclass
class Page:
    """What the last run left on screen: elements by delta path, and what the run reported."""

    elements: dict[tuple, tuple[str, object]] = field(default_factory=dict)
    query_string: str = ""
    page_not_found: str | None = None
    exceptions: list[str] = field(default_factory=list)

    def texts(self, kind: str | None = None) -> list[str]:
        """The text of every text-like element (markdown, metric label and value, ...), in
        page order, optionally of one element type only."""
        out = []
        for _path, (element_type, proto) in sorted(self.elements.items()):
            if kind is not None and element_type != kind:
                continue
            for name in TEXT_FIELDS.get(element_type, ()):
                out.append(getattr(proto, name))
        return out

    def metrics(self) -> dict[str, str]:
        """Each ``st.metric`` on the page: label -> value as shown."""
        return {
            proto.label: proto.body
            for _path, (kind, proto) in sorted(self.elements.items())
            if kind == "metric"
        }

    def captions(self) -> list[str]:
        """The captions of every image on the page (``st.image``)."""
        return [
            image.caption
            for _path, (kind, proto) in sorted(self.elements.items())
            if kind == "imgs"
            for image in proto.imgs
        ]


def _widget_key(widget_id: str) -> str:
    """The user's key inside a Streamlit widget id (``$$ID-<hash>-<key>``), or ''."""
    parts = widget_id.split("-", 2)
    return parts[2] if widget_id.startswith("$$ID-") and len(parts) == 3 else ""


class StreamlitSession:
    """One browser tab's worth of Streamlit session: open, run a page, change widgets.

    ``base_url`` is the app's address (``http://127.0.0.1:8501``); ``timeout`` bounds every wait
    for the server, in seconds.
    """

    def __init__(self, base_url: str, timeout: float = 120.0) -> None:
        parts = urllib.parse.urlsplit(base_url)
        scheme = "wss" if parts.scheme == "https" else "ws"
        self.url = f"{scheme}://{parts.netloc}{parts.path.rstrip('/')}/_stcore/stream"
        self.timeout = timeout
        self.http_url = f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"
        # As a browser does: the page first, then its websocket, with the cookies the page set.
        # Behind deploy/nginx.conf the page's response sets the affinity cookie (rvaffinity),
        # and the websocket and every later request (uploads) must carry it to reach the
        # replica that holds this session.
        self.http = requests.Session()
        self.http.get(f"{self.http_url}/", timeout=timeout).raise_for_status()
        cookies = "; ".join(f"{name}={value}" for name, value in self.http.cookies.items())
        self.ws = websocket.create_connection(
            self.url,
            subprotocols=SUBPROTOCOLS,
            timeout=timeout,
            enable_multithread=False,
            cookie=cookies or None,
        )
        self.session_id = ""
        self.pages: dict[str, str] = {}  # url path -> page_script_hash, from new_session
        self.page_hash = ""
        self.page_name = ""
        self.widget_states: dict[str, WidgetState] = {}
        self.widgets: dict[str, Widget] = {}
        self.page = Page()
        self.bytes_received = 0
        self._xsrf: str | None = None

    def close(self) -> None:
        """Leave as a closed tab does: a close frame, no wait for the server's answer (waiting
        for it, 300 students leaving a loaded server one after another took minutes)."""
        with contextlib.suppress(OSError, websocket.WebSocketException):
            self.ws.send_close()
        self.ws.shutdown()
        self.http.close()

    def __enter__(self) -> StreamlitSession:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # Running ----------------------------------------------------------------------------------

    def open(self, page: str = "", query: str | dict = "") -> Page:
        """Navigate to ``/<page>?<query>`` as a fresh tab would: no widget state, the page by its
        URL path (the server resolves it; ``page_not_found`` if it cannot)."""
        if isinstance(query, dict):
            query = urllib.parse.urlencode(query)
        self.widget_states.clear()
        self.widgets.clear()
        self.page_name = page
        self.page_hash = self.pages.get(page, "")
        self.page = Page(query_string=query)
        return self._rerun(fragment_id="")

    def set_widget(self, key: str, **value) -> Page:
        """Give the widget with user key ``key`` a value, as the browser does when a student
        changes it, and wait for the rerun: ``string_value="ResNet-101"`` for a selectbox
        (its option as shown), ``int_value``, ``double_value``, ``bool_value``,
        ``trigger_value=True`` for a button, ``string_array_value=...`` for a multiselect."""
        widget = self.widget(key)
        state = WidgetState(id=widget.id)
        ((name, val),) = value.items()
        target = getattr(state, name)
        if hasattr(target, "data"):  # an array value: StringArray, DoubleArray, ...
            target.data.extend(val)
        elif hasattr(target, "CopyFrom"):
            target.CopyFrom(val)
        else:
            setattr(state, name, val)
        self.widget_states[widget.id] = state
        self._bind_to_url(widget, name, val)
        try:
            return self._rerun(fragment_id=widget.fragment_id)
        finally:
            if name in {"trigger_value", "string_trigger_value", "json_trigger_value"}:
                del self.widget_states[widget.id]  # a trigger is true for one run only

    def upload(self, key: str, files: list[tuple[str, bytes]]) -> Page:
        """Put ``files`` (name, bytes) in the file uploader with user key ``key`` and rerun, as
        the browser does: ask the session for upload URLs (``file_urls_request``), PUT each
        file there with the XSRF token the server's cookie carries, then send the uploader's
        ``file_uploader_state_value``."""
        widget = self.widget(key)
        message = BackMsg()
        request = message.file_urls_request
        request.request_id = uuid.uuid4().hex
        request.file_names.extend(name for name, _ in files)
        request.session_id = self.session_id
        self.ws.send_binary(message.SerializeToString())
        answer = self._read(
            lambda msg: (
                msg.WhichOneof("type") == "file_urls_response"
                and msg.file_urls_response.response_id == request.request_id
            )
        ).file_urls_response
        if answer.error_msg:
            raise ProtocolError(f"upload refused: {answer.error_msg}")
        token = self._xsrf_token()
        state = WidgetState(id=widget.id)
        for (name, data), urls in zip(files, answer.file_urls, strict=True):
            response = self.http.put(  # the session's cookies: its replica's, the XSRF one
                urllib.parse.urljoin(self.http_url + "/", urls.upload_url.lstrip("/")),
                files={"file": (name, data)},
                headers={"X-Xsrftoken": token},
                timeout=self.timeout,
            )
            if response.status_code != 204:
                raise ProtocolError(f"upload of {name}: HTTP {response.status_code}")
            state.file_uploader_state_value.uploaded_file_info.add(
                name=name, size=len(data), file_id=urls.file_id
            ).file_urls.CopyFrom(urls)
        self.widget_states[widget.id] = state
        return self._rerun(fragment_id=widget.fragment_id)

    def _xsrf_token(self) -> str:
        """The XSRF cookie the server sets on its health endpoint (the browser's page gets the
        same cookie): an upload must send it back as cookie and header."""
        if self._xsrf is None:
            if XSRF_COOKIE not in self.http.cookies:
                self.http.get(f"{self.http_url}/_stcore/health", timeout=self.timeout)
            self._xsrf = self.http.cookies.get(XSRF_COOKIE, "")
        return self._xsrf

    def _bind_to_url(self, widget: Widget, name: str, value) -> None:
        """A widget bound to the URL (``bind="query-params"``) rewrites the query string in the
        browser; the next run's ClientState carries it, so this client's does too."""
        param = getattr(widget.proto, "query_param_key", "")
        if not param or name not in {"string_value", "int_value", "double_value", "bool_value"}:
            return
        query = dict(urllib.parse.parse_qsl(self.page.query_string))
        query[param] = str(value).lower() if name == "bool_value" else str(value)
        self.page.query_string = urllib.parse.urlencode(query)

    def widget(self, key: str) -> Widget:
        """The widget the last run drew with user key ``key`` (ProtocolError if none)."""
        for widget in self.widgets.values():
            if widget.key == key:
                return widget
        raise ProtocolError(f"no widget with key {key!r} on /{self.page_name}")

    def _rerun(self, fragment_id: str) -> Page:
        message = BackMsg()
        state = message.rerun_script
        state.query_string = self.page.query_string
        state.page_script_hash = self.page_hash
        state.page_name = self.page_name
        state.fragment_id = fragment_id
        state.widget_states.widgets.extend(self.widget_states.values())
        self.ws.send_binary(message.SerializeToString())
        return self._read_until_finished()

    def _read_until_finished(self) -> Page:
        self._read(lambda msg: self._finished(msg))
        return self.page

    def _finished(self, msg: ForwardMsg) -> bool:
        if msg.WhichOneof("type") != "script_finished":
            return False
        if msg.script_finished == ForwardMsg.ScriptFinishedStatus.FINISHED_WITH_COMPILE_ERROR:
            raise ProtocolError(f"/{self.page_name}: the script did not compile")
        # FINISHED_EARLY_FOR_RERUN: the script called st.rerun; the next run follows.
        return msg.script_finished in DONE

    def _read(self, stop) -> ForwardMsg:
        """Handle ForwardMsgs until ``stop(msg)`` is true; return that message."""
        deadline = time.monotonic() + self.timeout
        while True:
            if time.monotonic() > deadline:
                raise ProtocolError(f"/{self.page_name}: no answer in {self.timeout} s")
            opcode, data = self.ws.recv_data(control_frame=False)
            if opcode != websocket.ABNF.OPCODE_BINARY:
                continue
            self.bytes_received += len(data)
            msg = ForwardMsg()
            msg.ParseFromString(data)
            kind = msg.WhichOneof("type")
            if kind == "new_session":
                self._new_session(msg)
            elif kind == "delta":
                self._delta(msg)
            elif kind == "navigation":
                # st.navigation (app.py) names the page this run is on and the app's pages.
                self.pages = {p.url_pathname: p.page_script_hash for p in msg.navigation.app_pages}
                self.page_hash = msg.navigation.page_script_hash
            elif kind == "page_info_changed":
                self.page.query_string = msg.page_info_changed.query_string
            elif kind == "page_not_found":
                self.page.page_not_found = msg.page_not_found.page_name or self.page_name
            if stop(msg):
                return msg

    def _new_session(self, msg: ForwardMsg) -> None:
        new = msg.new_session
        if new.initialize.session_id:
            self.session_id = new.initialize.session_id
        # A full run starts: what the last run drew outside a fragment is replaced.
        self.page.elements.clear()

    def _delta(self, msg: ForwardMsg) -> None:
        delta = msg.delta
        if delta.WhichOneof("type") != "new_element":
            return
        element = delta.new_element
        element_type = element.WhichOneof("type")
        proto = getattr(element, element_type)
        path = tuple(msg.metadata.delta_path)
        self.page.elements[path] = (element_type, proto)
        if element_type == "exception":
            self.page.exceptions.append(f"{proto.type}: {proto.message}")
        widget_id = getattr(proto, "id", "")
        if widget_id and isinstance(widget_id, str):
            self.widgets[widget_id] = Widget(
                id=widget_id,
                kind=element_type,
                label=getattr(proto, "label", ""),
                key=_widget_key(widget_id),
                fragment_id=delta.fragment_id,
                proto=proto,
            )
