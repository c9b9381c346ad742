"""Every kind of problem the API answers, each with a stable `type` URI of its own.

A problem+json's `type` is `/docs/problems/<slug>` (a URI reference the service serves:
docs/problems.md, one section per slug, says what to do). Its `title` is the type's own,
in the reader's language. `app/errors.py` picks the type: the one a detail's message key
names (`callback.bad_signature` is a `signature-mismatch`), else the one its title or status
names. tests/test_problems.py checks that every slug has its section in the docs.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.i18n import N_

TYPE_BASE = "/docs/problems/"


@dataclass(frozen=True)
class ProblemType:
    slug: str
    status: int
    title: str  # its message key
    summary: str  # one line for the OpenAPI document (English, as the document is)

    @property
    def uri(self) -> str:
        return TYPE_BASE + self.slug


def _type(slug: str, status: int, title: str, summary: str) -> ProblemType:
    return ProblemType(slug, status, title, summary)


BAD_REQUEST = _type(
    "bad-request", 400, N_("problem.bad_request"), "The request cannot be read as it was sent"
)
MALFORMED_BODY = _type(
    "malformed-body",
    422,
    N_("problem.malformed_body"),
    "The body is not JSON of the documented shape",
)
LOGIN_REQUIRED = _type(
    "login-required",
    401,
    N_("problem.unauthorized"),
    "No credentials were sent, or the session has ended",
)
TOKEN_INVALID = _type(
    "token-invalid",
    401,
    N_("problem.token_invalid"),
    "The bearer token is unknown, revoked or expired",
)
BAD_CREDENTIALS = _type(
    "bad-credentials", 401, N_("problem.bad_credentials"), "The user name or password is wrong"
)
SIGNATURE_HEADERS_MISSING = _type(
    "signature-headers-missing",
    401,
    N_("problem.signature_headers_missing"),
    "A callback lacks webhook-id, webhook-timestamp or webhook-signature",
)
SIGNATURE_MISMATCH = _type(
    "signature-mismatch",
    401,
    N_("problem.signature_mismatch"),
    "No signature in webhook-signature matches the body with the institution's secret",
)
TIMESTAMP_OUT_OF_TOLERANCE = _type(
    "timestamp-out-of-tolerance",
    401,
    N_("problem.timestamp_out_of_tolerance"),
    "webhook-timestamp is more than 5 minutes from our clock",
)
TIMESTAMP_IN_MILLISECONDS = _type(
    "timestamp-in-milliseconds",
    401,
    N_("problem.timestamp_in_milliseconds"),
    "webhook-timestamp is in milliseconds; it must be Unix seconds",
)
TIMESTAMP_MALFORMED = _type(
    "timestamp-malformed",
    401,
    N_("problem.timestamp_malformed"),
    "webhook-timestamp is not a whole number of Unix seconds",
)
FORBIDDEN = _type(
    "forbidden",
    403,
    N_("problem.forbidden"),
    "Your role, token scope or missing X-CSRF-Token does not allow this",
)
INSTITUTION_DISABLED = _type(
    "institution-disabled",
    403,
    N_("problem.institution_disabled"),
    "The institution is disabled; its callbacks are refused",
)
NOT_FOUND = _type(
    "not-found", 404, N_("problem.not_found"), "No such resource, or not one you may see"
)
UNKNOWN_INSTITUTION = _type(
    "unknown-institution", 404, N_("problem.unknown_institution"), "No institution has this code"
)
METHOD_NOT_ALLOWED = _type(
    "method-not-allowed",
    405,
    N_("problem.method_not_allowed"),
    "The path does not answer this method; Allow lists those it does",
)
REQUEST_TIMEOUT = _type(
    "request-timeout", 408, N_("problem.request_timeout"), "The body arrived too slowly"
)
CONFLICT = _type(
    "conflict", 409, N_("problem.conflict"), "The resource is not in a state that allows this"
)
UNKNOWN_INSTRUCTION = _type(
    "unknown-instruction",
    409,
    N_("problem.unknown_instruction"),
    "The callback names no instruction of this institution",
)
OUTCOME_DISPUTED = _type(
    "outcome-disputed",
    409,
    N_("problem.outcome_disputed"),
    "The instruction is done with another outcome: kept as a disputed outcome, not applied",
)
BODY_TOO_LARGE = _type(
    "body-too-large", 413, N_("problem.body_too_large"), "The body is larger than the service takes"
)
VALIDATION_FAILED = _type(
    "validation-failed", 422, N_("problem.validation"), "Fields break the rules; errors lists each"
)
OUTCOME_NOT_ALLOWED = _type(
    "outcome-not-allowed",
    422,
    N_("problem.outcome_not_allowed"),
    "The callback's outcome cannot be true of its instruction; errors lists each rule broken",
)
IDEMPOTENCY_KEY_REUSED = _type(
    "idempotency-key-reused",
    422,
    N_("problem.idempotency_key_reused"),
    "The Idempotency-Key was used for another request",
)
TOO_MANY_REQUESTS = _type(
    "too-many-requests",
    429,
    N_("problem.too_many_requests"),
    "Too many requests or streams at once; wait Retry-After seconds",
)
TOO_MANY_LOG_INS = _type(
    "too-many-log-ins",
    429,
    N_("problem.too_many_log_ins"),
    "Too many failed log-ins; wait Retry-After seconds",
)
INTERNAL_ERROR = _type(
    "internal-error", 500, N_("problem.internal"), "A fault of ours; nothing you sent was wrong"
)
UNAVAILABLE = _type(
    "unavailable",
    503,
    N_("problem.unavailable"),
    "The database or broker is unreachable, or the service is busy; try again after Retry-After",
)

TYPES: tuple[ProblemType, ...] = (
    BAD_REQUEST,
    MALFORMED_BODY,
    LOGIN_REQUIRED,
    TOKEN_INVALID,
    BAD_CREDENTIALS,
    SIGNATURE_HEADERS_MISSING,
    SIGNATURE_MISMATCH,
    TIMESTAMP_OUT_OF_TOLERANCE,
    TIMESTAMP_IN_MILLISECONDS,
    TIMESTAMP_MALFORMED,
    FORBIDDEN,
    INSTITUTION_DISABLED,
    NOT_FOUND,
    UNKNOWN_INSTITUTION,
    METHOD_NOT_ALLOWED,
    REQUEST_TIMEOUT,
    CONFLICT,
    UNKNOWN_INSTRUCTION,
    OUTCOME_DISPUTED,
    BODY_TOO_LARGE,
    VALIDATION_FAILED,
    OUTCOME_NOT_ALLOWED,
    IDEMPOTENCY_KEY_REUSED,
    TOO_MANY_REQUESTS,
    TOO_MANY_LOG_INS,
    INTERNAL_ERROR,
    UNAVAILABLE,
)
BY_SLUG = {kind.slug: kind for kind in TYPES}

# A detail's message key that names a problem of its own.
BY_DETAIL: dict[str, ProblemType] = {
    "auth.bad_token": TOKEN_INVALID,
    "auth.bad_credentials": BAD_CREDENTIALS,
    "callback.signature_headers_missing": SIGNATURE_HEADERS_MISSING,
    "callback.bad_signature": SIGNATURE_MISMATCH,
    "callback.timestamp_out_of_tolerance": TIMESTAMP_OUT_OF_TOLERANCE,
    "callback.timestamp_in_milliseconds": TIMESTAMP_IN_MILLISECONDS,
    "callback.timestamp_malformed": TIMESTAMP_MALFORMED,
    "callback.institution_disabled": INSTITUTION_DISABLED,
    "callback.unknown_institution": UNKNOWN_INSTITUTION,
    "action.idempotency_mismatch": IDEMPOTENCY_KEY_REUSED,
}
# The generic problem of a title, then of a status.
BY_TITLE: dict[str, ProblemType] = {kind.title: kind for kind in TYPES}
BY_STATUS: dict[int, ProblemType] = {
    400: BAD_REQUEST,
    401: LOGIN_REQUIRED,
    403: FORBIDDEN,
    404: NOT_FOUND,
    405: METHOD_NOT_ALLOWED,
    408: REQUEST_TIMEOUT,
    409: CONFLICT,
    413: BODY_TOO_LARGE,
    422: VALIDATION_FAILED,
    429: TOO_MANY_REQUESTS,
    500: INTERNAL_ERROR,
    503: UNAVAILABLE,
}


def problem_type(status: int, *, title_key: str, detail_key: str | None = None) -> ProblemType:
    """The type of a problem answered with this status, title and detail."""
    if detail_key is not None and detail_key in BY_DETAIL:
        return BY_DETAIL[detail_key]
    found = BY_TITLE.get(title_key)
    if found is not None and found.status == status:
        return found
    return BY_STATUS.get(status, BAD_REQUEST if status < 500 else INTERNAL_ERROR)
