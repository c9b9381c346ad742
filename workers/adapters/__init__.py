"""Institution adapters: one small interface, chosen per institution from the registry."""

from workers.adapters.base import Ack, Adapter, PermanentFailure, RetryableFailure
from workers.adapters.registry import adapter_for

__all__ = [
    "Ack",
    "Adapter",
    "PermanentFailure",
    "RetryableFailure",
    "adapter_for",
]
