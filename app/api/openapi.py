"""The OpenAPI document, told truthfully: who must log in, and every error as problem+json.

FastAPI documents a 422 `HTTPValidationError` in `application/json` that this API never
sends, and knows nothing of the log-in or the other error answers. `install_openapi`
replaces its generator with one that documents what `app/errors.py` actually answers.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts

from app.api.contract import (
    CALLBACK,
    CALLBACK_PROBLEMS,
    LOG_IN_PROBLEMS,
    LOGGED_IN_401,
    content_with_examples,
    document_contract,
    generic_problems,
)
from app.api.idempotency import claim_action_key
from app.deps import SESSION_COOKIE, get_db, get_principal
from app.errors import PROBLEM_JSON
from app.problems import (
    IDEMPOTENCY_KEY_REUSED,
    MALFORMED_BODY,
    VALIDATION_FAILED,
    ProblemType,
)

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "An RFC 9457 problem: every error this API answers has this shape.",
    "type": "object",
    "required": ["type", "title", "status", "detail", "instance"],
    "properties": {
        "type": {
            "type": "string",
            "format": "uri-reference",
            "description": "The problem's stable type, `/docs/problems/<slug>`: the service "
            "serves a page for each that says what to do. Compare this, not the title.",
        },
        "title": {
            "type": "string",
            "description": "The type's title, in your language (English unless you send "
            "Accept-Language or your user has chosen another).",
        },
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string", "description": "What went wrong this time."},
        "instance": {"type": "string", "description": "The path that was asked for."},
        "errors": {
            "type": "array",
            "description": "One entry per field that was refused (validation problems).",
            "items": {
                "type": "object",
                "required": ["field", "message", "type"],
                "properties": {
                    "field": {
                        "type": "string",
                        "description": "Dotted path into the body, e.g. `transfers.0.amount`.",
                    },
                    "message": {"type": "string"},
                    "type": {"type": "string", "description": "A stable machine-readable code."},
                },
            },
        },
        "scope": {
            "type": "string",
            "description": "403 to a bearer token only: the scope it lacks.",
        },
        "checks": {
            "type": "object",
            "description": "Readiness only: each dependency, `ok` or what failed.",
            "additionalProperties": {"type": "string"},
        },
    },
}

SECURITY_SCHEMES: dict[str, Any] = {
    "bearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "An API token from `POST /api/v1/auth/tokens` or from an admin. "
        "Each operation lists the scope its token needs (`cases:read`, `cases:write`, "
        "`holds:write`, `admin` or `pii:reveal`); none listed: any valid token. `pii:reveal` "
        "is never in a token unless asked for by name.",
    },
    "session": {
        "type": "apiKey",
        "in": "cookie",
        "name": SESSION_COOKIE,
        "description": "The web log-in's cookie. POST, PUT, PATCH and DELETE calls to "
        "`/api/` must also send the session's `X-CSRF-Token` header.",
    },
}


def _problem(description: str, **extra: Any) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM_JSON: {"schema": PROBLEM_REF}}, **extra}


UNAUTHORIZED = _problem(
    "Not logged in, or the token or session is unknown or expired",
    headers={"WWW-Authenticate": {"schema": {"type": "string"}}},
)
FORBIDDEN = _problem(
    "Your role may not do this, your token lacks the scope (`scope` names it), or the "
    "session's X-CSRF-Token is missing"
)
NOT_FOUND = _problem("No such resource, or not one your unit may see")
UNAVAILABLE = _problem(
    "The database is unreachable, or too many requests are in progress: nothing was stored; "
    "try again after Retry-After seconds",
    headers={"Retry-After": {"schema": {"type": "integer"}}},
)
UNREADABLE = _problem("The body could not be read: it is not UTF-8 JSON")
INVALID = _problem("The request was refused; `errors` lists each field and why")


def _calls(dependant: Dependant) -> Iterator[object]:
    yield dependant.call
    for sub in dependant.dependencies:
        yield from _calls(sub)


def _operations_calling(app: FastAPI, dependency: object) -> set[tuple[str, str]]:
    """(method, path) of every route that depends, however deep, on `dependency`."""
    # Included routers are lazy in FastAPI; their routes are reached through route contexts.
    found = set()
    for route in iter_route_contexts(app.routes):
        if isinstance(route.original_route, APIRoute) and dependency in _calls(route.dependant):
            found |= {(method.lower(), str(route.path_format)) for method in route.methods or ()}
    return found


def _scopes(app: FastAPI) -> dict[tuple[str, str], list[str]]:
    """(method, path) → the scope a bearer token needs there (RequireRole's `scope`)."""
    found: dict[tuple[str, str], list[str]] = {}
    for route in iter_route_contexts(app.routes):
        if isinstance(route.original_route, APIRoute):
            scopes = sorted(
                {
                    str(scope)
                    for call in _calls(route.dependant)
                    if (scope := getattr(call, "required_scope", None))
                }
            )
            found |= {
                (method.lower(), str(route.path_format)): scopes for method in route.methods or ()
            }
    return found


def _kinds(status: int, method: str, path: str, *, action: bool, body: bool) -> list[ProblemType]:
    """The problem types an operation's answer with this status can be."""
    special = {CALLBACK: CALLBACK_PROBLEMS, ("post", "/api/v1/auth/tokens"): LOG_IN_PROBLEMS}
    found = special.get((method, path), {}).get(status)
    if found:
        return found
    if status == 401:
        return LOGGED_IN_401
    if status == 422:
        return [VALIDATION_FAILED] + [MALFORMED_BODY] * body + [IDEMPOTENCY_KEY_REUSED] * action
    return generic_problems(status)


def _document_errors(schema: dict[str, Any], app: FastAPI) -> None:
    logged_in = _operations_calling(app, get_principal)
    actions = _operations_calling(app, claim_action_key)
    scopes = _scopes(app)
    # 503: app/errors.py when the database cannot be reached, AdmissionLimit when overloaded.
    uses_database = _operations_calling(app, get_db)
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            responses: dict[str, Any] = operation.setdefault("responses", {})
            if "422" in responses:
                responses["422"] = INVALID
            if "requestBody" in operation and (method, path) != CALLBACK:
                responses["400"] = UNREADABLE
            if any(p["in"] == "path" for p in operation.get("parameters", ())):
                responses["404"] = NOT_FOUND
            if (method, path) in logged_in:
                # Either one will do. OpenAPI 3.1 lets a bearer requirement name roles:
                # here, the scope its token needs.
                operation["security"] = [
                    {"bearer": scopes.get((method, path), [])},
                    {"session": []},
                ]
                responses["401"] = UNAUTHORIZED
                responses["403"] = FORBIDDEN
            if (method, path) in uses_database:
                responses["503"] = UNAVAILABLE
            for status, answer in list(responses.items()):
                # Every error answer is problem+json, with an example of each problem type
                # it can be; routes that name their own 4xx/5xx keep their description.
                if status[0] in "45":
                    kinds = _kinds(
                        int(status),
                        method,
                        path,
                        action=(method, path) in actions,
                        body="requestBody" in operation,
                    )
                    content = content_with_examples(kinds, status=int(status), path=path)
                    responses[status] = {**answer, "content": content}


def build_openapi(app: FastAPI) -> dict[str, Any]:
    schema = get_openapi(
        title=app.title,
        version=app.version,
        openapi_version=app.openapi_version,
        summary=app.summary,
        description=app.description,
        routes=app.routes,
        tags=app.openapi_tags,
        servers=app.servers,
    )
    document_contract(schema)
    _document_errors(schema, app)
    components: dict[str, Any] = schema.setdefault("components", {})
    schemas: dict[str, Any] = components.setdefault("schemas", {})
    schemas["Problem"] = PROBLEM_SCHEMA
    components["securitySchemes"] = SECURITY_SCHEMES
    # FastAPI's own 422 models, unless something else still points at them.
    for name in ("HTTPValidationError", "ValidationError"):
        if f'"#/components/schemas/{name}"' not in json.dumps(schema):
            schemas.pop(name, None)
    return schema


def install_openapi(app: FastAPI) -> None:
    """Serve `build_openapi`'s document at /openapi.json (built once, on first request)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build_openapi(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
