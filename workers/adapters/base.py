"""The adapter interface: send an instruction; read an institution's outcome report.

The wire format is app/dispatch/wire.py (docs/institution-protocol.md). A real bank whose
API differs gets its own adapter that translates to and from those types.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from app.dispatch.failures import FailureClass
from app.dispatch.transitions import SendOrder


@dataclass(frozen=True)
class Ack:
    """The institution took the instruction; `reference` is its own id for it."""

    reference: str


class RetryableFailure(Exception):
    """Not taken this time (timeout, refused, 5xx, 429); send again later with the same key.
    `failure`: what happened, by class, for the pages to say in words."""

    def __init__(
        self, message: str, *, failure: FailureClass, retry_after_s: float | None = None
    ) -> None:
        super().__init__(message)
        self.failure = failure
        self.retry_after_s = retry_after_s


class PermanentFailure(Exception):
    """The institution will never take this request as it stands.

    `detail` is the institution's own answer. It may quote what we sent (a holder's name), so
    it goes into the instruction's record (`described`), never into a log line.
    """

    failure = FailureClass.refused

    def __init__(self, message: str, *, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail

    @property
    def described(self) -> str:
        return f"{self}: {self.detail}" if self.detail else str(self)


class Adapter(Protocol):
    """Sends run on the worker process's event loop (workers/aio.py)."""

    async def send(self, order: SendOrder, *, callback_url: str) -> Ack: ...

    async def close(self) -> None: ...
