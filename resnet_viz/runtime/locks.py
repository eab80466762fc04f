"""One lock per shared model, for work that must not run on it from two threads at once.

Streamlit serves every browser session from its own thread and shares one cached model among
them. Attribution work on that model (Grad-CAM) holds its lock, so concurrent sessions never
interleave on it, never hold several autograd graphs (GPU memory) at once, and do not
oversubscribe the same CPU cores.
"""

from __future__ import annotations

import threading
import weakref

from torch import nn

__all__ = ["model_lock"]

_LOCKS: weakref.WeakKeyDictionary[nn.Module, threading.Lock] = weakref.WeakKeyDictionary()
_LOCKS_GUARD = threading.Lock()


def model_lock(model: nn.Module) -> threading.Lock:
    """The lock that serialises attribution work on ``model`` (created on first use).

    Weakly keyed, so a model dropped from the cache takes its lock with it. The module-level
    guard makes creation atomic: two threads asking at once get the same lock.
    """
    with _LOCKS_GUARD:
        lock = _LOCKS.get(model)
        if lock is None:
            lock = _LOCKS[model] = threading.Lock()
        return lock
