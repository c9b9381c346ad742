"""One asyncio event loop per worker process, on a thread of its own, for institution calls.

Every HTTP call a worker makes to an institution runs on this loop, whichever task thread
asked for it: a call waiting seconds on a slow bank costs a coroutine, not a thread, and a
batch of a case's instructions goes out together from one task (workers/dispatch.py).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_pid = 0


def loop() -> asyncio.AbstractEventLoop:
    """This process's loop, started on first use (a forked child starts its own)."""
    global _loop, _pid
    with _lock:
        if _loop is None or _pid != os.getpid():
            _loop = asyncio.new_event_loop()
            _pid = os.getpid()
            threading.Thread(
                target=_loop.run_forever, name="institution-calls", daemon=True
            ).start()
        return _loop


def submit(coroutine: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
    """Run `coroutine` on the loop; the future is for the calling thread to wait on."""
    return asyncio.run_coroutine_threadsafe(coroutine, loop())


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return submit(coroutine).result()
