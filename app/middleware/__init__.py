"""ASGI middleware: security headers on every answer, a bound on request bodies (their
size and how long they take to arrive), admission control, and reads run again after a
serialization failure."""

from app.middleware.admission import AdmissionLimit
from app.middleware.bodies import BodyFirst, BodyLimit
from app.middleware.headers import NO_STORE, SecurityHeaders
from app.middleware.retry import RetryReads, mark_retryable

__all__ = [
    "NO_STORE",
    "AdmissionLimit",
    "BodyFirst",
    "BodyLimit",
    "RetryReads",
    "SecurityHeaders",
    "mark_retryable",
]
