"""Why a call to an institution failed, by class.

The adapter that made the call knows what happened; it raises its failure with the class
(workers/adapters/base.py), and the worker stores the class beside the raw error
(`instruction.last_failure`, `last_error`). A page says the class in the viewer's language;
the raw error, the worker's English such as "BOC: answered 500", stays for the tooltip and
the log. Nothing reads a class back out of the English.
"""

from __future__ import annotations

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
    other = "other"  # anything else the institution asked us to try again after (409, 425)
