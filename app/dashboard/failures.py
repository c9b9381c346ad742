"""What went wrong with an institution, by class, so a page can say it in the viewer's
language; the raw error (the worker's English, e.g. "BOC: answered 500") stays for the
tooltip and the log.

The worker writes `last_error` as "CODE: what happened" (workers/adapters/simulated.py,
workers/dispatch.py, app/dispatch/transitions.py); each class is recognised by its words.
"""

from __future__ import annotations

import re
from enum import StrEnum


class FailureClass(StrEnum):
    timeout = "timeout"  # no answer in time
    unreachable = "unreachable"  # cannot connect
    server_error = "server_error"  # answered 5xx
    rate_limited = "rate_limited"  # 429
    refused = "refused"  # a 4xx other than 429: the request itself is refused
    bad_answer = "bad_answer"  # an acknowledgement we cannot read
    circuit_open = "circuit_open"  # our breaker stopped calling it
    busy = "busy"  # our cap on calls in flight to it
    no_ack = "no_ack"  # no acknowledgement within its SLA
    other = "other"


PATTERNS = (
    (re.compile(r"no answer in time|timeout|timed out", re.I), FailureClass.timeout),
    (re.compile(r"cannot connect", re.I), FailureClass.unreachable),
    (re.compile(r"answered 5\d\d", re.I), FailureClass.server_error),
    (re.compile(r"rate limited|\b429\b", re.I), FailureClass.rate_limited),
    (re.compile(r"refused with", re.I), FailureClass.refused),
    (re.compile(r"unreadable acknowledgement", re.I), FailureClass.bad_answer),
    (re.compile(r"circuit open", re.I), FailureClass.circuit_open),
    (re.compile(r"concurrency cap", re.I), FailureClass.busy),
    (re.compile(r"no acknowledgement", re.I), FailureClass.no_ack),
)


def failure_class(error: str | None) -> FailureClass | None:
    """The class of a raw `last_error`; None when there was no error."""
    if not error:
        return None
    return next((cls for pattern, cls in PATTERNS if pattern.search(error)), FailureClass.other)
