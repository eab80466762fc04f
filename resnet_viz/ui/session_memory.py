"""What one browser session keeps, bounded, and whether it is still there.

A session's ``st.session_state`` lives as long as the session (and, once its tab closed, a while
longer in Streamlit's store for reconnecting sessions), so whatever a page adds to it per image
or per request must have a bound: :func:`remember` keeps the most recent entries of a dict.
:func:`session_alive` lets work outside the script thread (a training thread, a queued job)
notice that the session that asked for it has gone.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, MutableMapping

from streamlit.runtime import Runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx

#: Requests a session remembers per kind of button (the maps' checks, a batch's metrics): each
#: is a small key, so the bound only stops a long session from growing without end; the
#: oldest request is forgotten first (its result comes back with one more click).
MAX_REQUESTS = 64


def remember(recent: MutableMapping, key: Hashable, value: object, limit: int) -> None:
    """Put ``key`` in ``recent`` as its most recent entry and drop the oldest beyond ``limit``
    (dicts keep insertion order)."""
    recent.pop(key, None)
    recent[key] = value
    while len(recent) > limit:
        del recent[next(iter(recent))]


def recalled(recent: MutableMapping, key: Hashable, default=None):
    """``recent[key]``, now its most recent entry, or ``default``."""
    if key not in recent:
        return default
    value = recent.pop(key)
    recent[key] = value
    return value


def session_alive() -> Callable[[], bool]:
    """A check, safe from any thread, that the session running this script is still connected
    (Streamlit's ``Runtime.is_active_session``). Outside a server (AppTest, bare mode) it always
    says yes."""
    ctx = get_script_run_ctx()
    if ctx is None or not Runtime.exists():
        return lambda: True
    runtime, session_id = Runtime.instance(), ctx.session_id
    return lambda: runtime.is_active_session(session_id)
