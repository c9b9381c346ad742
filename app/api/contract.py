"""The institution protocol in the OpenAPI document, from the models the code uses.

`webhooks.instruction` is what an institution receives (app/dispatch/wire.py
`InstructionBody`, sent by the workers' adapters); the callback operation's body is the
`CallbackEnvelope` the API parses. Every error answer gets an example of each problem
type it can be (app/problems.py), with its own status and `type`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from app.callbacks.rules import ALLOWED
from app.dispatch.models import Outcome
from app.dispatch.wire import CallbackAnswer, CallbackEnvelope, InstructionAccepted, InstructionBody
from app.errors import PROBLEM_JSON
from app.i18n import t
from app.problems import (
    BAD_CREDENTIALS,
    BY_STATUS,
    INSTITUTION_DISABLED,
    LOGIN_REQUIRED,
    MALFORMED_BODY,
    OUTCOME_DISPUTED,
    OUTCOME_NOT_ALLOWED,
    SIGNATURE_HEADERS_MISSING,
    SIGNATURE_MISMATCH,
    TIMESTAMP_IN_MILLISECONDS,
    TIMESTAMP_MALFORMED,
    TIMESTAMP_OUT_OF_TOLERANCE,
    TOKEN_INVALID,
    TOO_MANY_LOG_INS,
    UNKNOWN_INSTITUTION,
    UNKNOWN_INSTRUCTION,
    ProblemType,
)

CALLBACK = ("post", "/api/v1/callbacks/{institution_code}")
PROTOCOL = "/docs/protocol"

# The problems each status can be, where an operation can answer more than the generic one.
CALLBACK_PROBLEMS: dict[int, list[ProblemType]] = {
    401: [
        SIGNATURE_MISMATCH,
        TIMESTAMP_OUT_OF_TOLERANCE,
        TIMESTAMP_IN_MILLISECONDS,
        TIMESTAMP_MALFORMED,
        SIGNATURE_HEADERS_MISSING,
    ],
    403: [INSTITUTION_DISABLED],
    404: [UNKNOWN_INSTITUTION],
    409: [UNKNOWN_INSTRUCTION, OUTCOME_DISPUTED],
    422: [MALFORMED_BODY, OUTCOME_NOT_ALLOWED],
}
LOG_IN_PROBLEMS: dict[int, list[ProblemType]] = {
    401: [BAD_CREDENTIALS],
    429: [TOO_MANY_LOG_INS],
}
LOGGED_IN_401 = [LOGIN_REQUIRED, TOKEN_INVALID]


def problem_example(kind: ProblemType, *, status: int, path: str) -> dict[str, Any]:
    """An example problem of this type, as the service answers it in English."""
    value: dict[str, Any] = {
        "type": kind.uri,
        "title": t(kind.title, "en"),
        "status": status,
        "detail": kind.summary,
        "instance": path,
    }
    if status == 422:
        value["errors"] = [
            {"field": "data.outcome", "message": "Not one of the allowed values", "type": "enum"}
        ]
    return {"summary": kind.slug, "value": value}


def problem_examples(
    kinds: list[ProblemType], *, status: int, path: str
) -> dict[str, dict[str, Any]]:
    return {kind.slug: problem_example(kind, status=status, path=path) for kind in kinds}


def generic_problems(status: int) -> list[ProblemType]:
    kind = BY_STATUS.get(status)
    return [kind] if kind is not None else []


def add_models(schema: dict[str, Any], *models: type[BaseModel]) -> None:
    """Put pydantic models (and what they nest) under components.schemas."""
    schemas = schema.setdefault("components", {}).setdefault("schemas", {})
    for model in models:
        found = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, nested in found.pop("$defs", {}).items():
            schemas.setdefault(name, nested)
        schemas[model.__name__] = found


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _header(
    name: str, description: str, example: str, schema: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "name": name,
        "in": "header",
        "required": True,
        "description": description,
        "schema": schema or {"type": "string"},
        "example": example,
    }


# What an institution takes as an Idempotency-Key: printable ASCII without spaces, 1-255 long.
IDEMPOTENCY_KEY_SCHEMA = {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"}
IDEMPOTENCY_KEY = _header(
    "Idempotency-Key",
    "The instruction's key: 32 hex characters from us; an institution refuses a missing one, "
    "or one that is not printable ASCII without spaces or is over 255 characters, with 400.",
    "5f0c8a4e2d7b4c1f9e6a3b2c1d0e9f8a",
    IDEMPOTENCY_KEY_SCHEMA,
)


SIGNATURE_HEADERS = [
    _header(
        "webhook-id",
        "Unique per event, the same on every retry of it; at most 128 characters.",
        "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W",
    ),
    _header(
        "webhook-timestamp",
        "When this attempt was signed, in whole Unix **seconds** (not milliseconds); at "
        "most 5 minutes from our clock either way.",
        "1795570863",
    ),
    _header(
        "webhook-signature",
        'Space-separated `v1,<base64 HMAC-SHA256 of "{webhook-id}.{webhook-timestamp}.'
        "{body}\">` with the institution's `whsec_` secret (Standard Webhooks).",
        "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=",
    ),
]


def _outcome(outcome: Outcome, kind: str, **data: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "idempotency_key": "5f0c8a4e2d7b4c1f9e6a3b2c1d0e9f8a",
        "reference": "CCB-000042",
        "kind": kind,
        "outcome": outcome.value,
        "amount_stopped": "0.00",
        "balance": "0.00",
        "mismatch_field": None,
        "effective_at": "2026-11-22T01:41:02.123Z",
        "onward_transfers": [],
        "cashed_out": "0.00",
    } | data
    event = {"type": "instruction.completed", "timestamp": "2026-11-22T01:41:03Z"}
    return {"summary": f"{kind}: {outcome.value}", "value": event | {"data": values}}


ONWARD = {
    "institution": "CMB",
    "account_no": "6225880201234567895",
    "holder_name": "王某",
    "amount": "105400.00",
    "occurred_at": "2026-11-22T01:25:00Z",
    "reference": "T9921",
}
OC = Outcome
CALLBACK_EXAMPLES: dict[str, dict[str, Any]] = {
    "stopped_full": _outcome(
        OC.stopped_full, "stop_payment", amount_stopped="455400.00", balance="500000.00"
    ),
    "stopped_partial": _outcome(
        OC.stopped_partial,
        "stop_payment",
        amount_stopped="350000.00",
        balance="350000.00",
        onward_transfers=[ONWARD],
    ),
    "no_funds": _outcome(OC.no_funds, "stop_payment", onward_transfers=[ONWARD]),
    "mismatch": _outcome(OC.mismatch, "stop_payment", balance=None, mismatch_field="holder_name"),
    "account_not_found": _outcome(OC.account_not_found, "stop_payment", balance=None),
    "rejected": _outcome(OC.rejected, "stop_payment", amount_stopped=None, balance=None),
    "frozen_full": _outcome(
        OC.frozen_full, "freeze", amount_stopped="455400.00", balance="455400.00"
    ),
    "frozen_partial": _outcome(
        OC.frozen_partial, "freeze", amount_stopped="200000.00", balance="200000.00"
    ),
    "released": _outcome(OC.released, "release", amount_stopped="350000.00", balance="350000.00"),
    "answered": _outcome(
        OC.answered, "query", amount_stopped=None, balance="0.00", onward_transfers=[ONWARD]
    ),
    "registered": _outcome(OC.registered, "register", amount_stopped=None, balance=None),
}

ANSWER_EXAMPLES = {
    "applied": {"summary": "applied", "value": {"status": "applied"}},
    "duplicate": {"summary": "duplicate", "value": {"status": "duplicate"}},
    "ignored": {
        "summary": "ignored",
        "value": {"status": "ignored", "reason": "instruction_expired"},
    },
}


def document_callback(schema: dict[str, Any]) -> None:
    """The callback operation: its body, its signature headers, its answers."""
    method, path = CALLBACK
    operation = schema["paths"][path][method]
    operation.setdefault("parameters", []).extend(SIGNATURE_HEADERS)
    operation["requestBody"] = {
        "required": True,
        "description": "The exact bytes signed. Fields not listed are ignored.",
        "content": {
            "application/json": {"schema": _ref(CallbackEnvelope), "examples": CALLBACK_EXAMPLES}
        },
    }
    answered = operation["responses"]["200"]["content"]["application/json"]
    answered["examples"] = ANSWER_EXAMPLES


def document_webhooks(schema: dict[str, Any]) -> None:
    """`webhooks.instruction`: what we POST to an institution, and what we do with each
    answer (the workers' adapters, workers/adapters/simulated.py)."""
    body = {"application/json": {"schema": _ref(InstructionBody)}}

    def answer(description: str, **extra: Any) -> dict[str, Any]:
        return {"description": description, **extra}

    schema["webhooks"] = {
        "instruction": {
            "post": {
                "summary": "An instruction an institution receives",
                "description": (
                    "We POST each instruction (stop-payment, freeze, query, release, register)"
                    " to `{institution base URL}/institutions/{code}/instructions`. Act on a key "
                    "once: the same `Idempotency-Key` with the same body must get the same 202 "
                    "and change nothing. Later, report the outcome to the callback operation "
                    f"(`callback_url`). The whole protocol: {PROTOCOL}."
                ),
                "operationId": "instruction",
                "parameters": [IDEMPOTENCY_KEY],
                "requestBody": {"required": True, "content": body},
                "responses": {
                    "202": answer(
                        "Taken; `reference` is the institution's own. The same key and body "
                        "again: the same 202 and reference, nothing changes. We record the "
                        "reference and wait for the callback.",
                        content={"application/json": {"schema": _ref(InstructionAccepted)}},
                    ),
                    "400": answer(
                        "The Idempotency-Key is missing or malformed. We do not retry: the "
                        "instruction is done with outcome `rejected`."
                    ),
                    "404": answer("Unknown account or path. Done with outcome `rejected`."),
                    "422": answer(
                        "The same key with another body, or a body the institution will never "
                        "take (`register` off the national platform, a `freeze` without "
                        "`document_no`, ...). Done with outcome `rejected`."
                    ),
                    "429": answer(
                        "Rate limited: nothing was taken. We send again with the same key "
                        "after `Retry-After` seconds.",
                        headers={"Retry-After": {"schema": {"type": "integer"}}},
                    ),
                    "5XX": answer(
                        "Nothing was taken (as with a refused connection or no answer in the "
                        "adapter's timeout): we send again later with the same key and body."
                    ),
                },
            }
        }
    }


def describe_outcomes(schema: dict[str, Any]) -> None:
    """`Outcome` says which outcomes each kind of instruction allows (app/callbacks/rules.py)."""
    allowed = "; ".join(
        f"`{kind.value}`: " + ", ".join(f"`{o.value}`" for o in Outcome if o in outcomes)
        for kind, outcomes in ALLOWED.items()
    )
    outcome = schema["components"]["schemas"]["Outcome"]
    outcome["description"] = f"What happened. Each kind of instruction allows its own: {allowed}."


def document_contract(schema: dict[str, Any]) -> None:
    add_models(schema, InstructionBody, InstructionAccepted, CallbackEnvelope, CallbackAnswer)
    describe_outcomes(schema)
    document_callback(schema)
    document_webhooks(schema)


def content_with_examples(
    kinds: list[ProblemType], *, status: int, path: str
) -> dict[str, dict[str, Any]]:
    return {
        PROBLEM_JSON: {
            "schema": {"$ref": "#/components/schemas/Problem"},
            "examples": problem_examples(kinds, status=status, path=path),
        }
    }
