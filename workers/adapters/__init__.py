"""Institution adapters: one small interface, chosen per institution from the registry."""

from workers.adapters.base import (
    Ack,
    Adapter,
    OnwardTransfer,
    OutcomeReport,
    PermanentFailure,
    RetryableFailure,
    parse_outcome,
)
from workers.adapters.registry import adapter_for

__all__ = [
    "Ack",
    "Adapter",
    "OnwardTransfer",
    "OutcomeReport",
    "PermanentFailure",
    "RetryableFailure",
    "adapter_for",
    "parse_outcome",
]
