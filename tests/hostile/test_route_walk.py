"""Every route of the app, every integer, string and boolean it takes, sent what no form
would send: 2^31, 2^63, -1 and 0, text with a NUL, 0 for a boolean.

Signed in as a supervisor and as an admin (a session, with its CSRF token), so the requests
get past the log-in. Nothing may answer 5xx; a value the parameter refuses (and any NUL) is a
4xx, and where it is a 422 from the API it names the field.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest
from fastapi import FastAPI, params
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from httpx import Response
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from app.auth.models import Role
from app.errors import PROBLEM_JSON
from tests.factories import make_case, make_unit, make_user
from tests.intake.conftest import sign_in

INTEGERS = (2**31, 2**63, -1, 0)
TEXT = "x\x00y"
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Target:
    """One value a route takes: where it goes, its kind, and whether a value is refused."""

    where: str  # path, query, form, json
    path: Path
    kind: type
    refuses: Callable[[Any], bool]

    @property
    def field(self) -> str:
        dotted = ".".join(str(p) for p in self.path)
        return f"{self.where}.{dotted}" if self.where in ("path", "query") else dotted


def _kind(annotation: Any) -> type | None:
    """int, str or bool, seen through Optional, Annotated, enums and literals."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _kind(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        kinds = {_kind(a) for a in typing.get_args(annotation) if a is not type(None)}
        return kinds.pop() if len(kinds) == 1 else None
    if origin is typing.Literal:
        return str
    for kind in (bool, int, str):
        if isinstance(annotation, type) and issubclass(annotation, kind):
            return kind
    return None


def _model(annotation: Any) -> tuple[type[BaseModel], bool] | None:
    """The model inside `annotation` (Optional or a list of it), and whether in a list."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        models = [m for a in typing.get_args(annotation) if (m := _model(a))]
        return models[0] if len(models) == 1 else None
    if origin is list:
        inner = _model(typing.get_args(annotation)[0])
        return (inner[0], True) if inner else None
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, False
    return None


def _refused_by_model(model: type[BaseModel], name: str) -> Callable[[Any], bool]:
    def refuses(value: Any) -> bool:
        try:
            model.__pydantic_validator__.validate_assignment(model.model_construct(), name, value)
        except ValidationError:
            return True
        return False

    return refuses


def _json_targets(model: type[BaseModel], path: Path, depth: int = 0) -> Iterator[Target]:
    for name, info in model.model_fields.items():
        key = info.alias or name
        if (kind := _kind(info.annotation)) is not None:
            yield Target("json", (*path, key), kind, _refused_by_model(model, name))
        elif depth < 3 and (inner := _model(info.annotation)):
            sub, in_list = inner
            yield from _json_targets(sub, (*path, key, 0) if in_list else (*path, key), depth + 1)


def _flat(dependant: Dependant) -> Iterator[tuple[str, Any]]:
    for field in dependant.path_params:
        yield "path", field
    for field in dependant.query_params:
        yield "query", field
    for field in dependant.body_params:
        yield ("form" if isinstance(field.field_info, params.Form) else "body"), field
    for sub in dependant.dependencies:
        yield from _flat(sub)


def _targets(route: APIRoute, method: str) -> Iterator[Target]:
    flat = list(_flat(route.dependant))
    if method in UNSAFE and not any(where == "body" for where, _ in flat):
        # A route that reads its body itself (the intake form, callbacks): any form field.
        yield Target("form", ("extra",), str, lambda _value: False)
    for where, field in flat:
        if where == "body":
            yield from _json_targets(field.field_info.annotation, ())
        elif (kind := _kind(field.field_info.annotation)) is not None:
            refuses: Callable[[Any], bool] = lambda v, f=field: bool(f.validate(v)[1])  # noqa: E731
            yield Target(where, (field.alias,), kind, refuses)


def _nested(path: Path, value: Any) -> Any:
    if not path:
        return value
    head, *rest = path
    inner = _nested(tuple(rest), value)
    return [inner] if isinstance(head, int) else {head: inner}


@dataclass
class Walker:
    client: TestClient
    csrf: str
    defaults: dict[str, str]

    def send(self, method: str, route: APIRoute, target: Target, value: Any) -> Response:
        path_values = {name: self.defaults.get(name, "1") for name in route.param_convertors}
        query: dict[str, Any] = {}
        headers = {"X-CSRF-Token": self.csrf} if method in UNSAFE else {}
        form: dict[str, Any] | None = {"csrf_token": self.csrf} if method in UNSAFE else None
        body: Any = None
        if target.where == "path":
            path_values[str(target.path[0])] = str(value)
        elif target.where == "query":
            query[str(target.path[0])] = value
        elif target.where == "form":
            form = {**(form or {}), str(target.path[0]): value}
        else:
            body, form = _nested(target.path, value), None
        url = route.path_format.format(**{k: quote(v, safe="") for k, v in path_values.items()})
        if method == "GET":
            return self.client.get(url, params=query, headers=headers)
        if body is not None:
            return self.client.request(method, url, params=query, json=body, headers=headers)
        return self.client.request(method, url, params=query, data=form, headers=headers)


def _values(target: Target) -> tuple[Any, ...]:
    if target.kind is bool:
        return (0, "yes")
    if target.kind is int:
        return INTEGERS
    return (TEXT,)


def _check(answer: Response, label: str, target: Target, value: Any) -> bool:
    """No 5xx; a refused value is a 4xx; an API 422 names the field. True: it named it."""
    assert answer.status_code < 500, f"{label} {target.field}={value!r}: {answer.text[:300]}"
    wrong = (isinstance(value, str) and "\x00" in value) or target.refuses(value)
    if not wrong:
        return False
    assert answer.status_code >= 400, f"{label} accepted {target.field}={value!r}"
    if answer.headers.get("content-type") != PROBLEM_JSON:
        return False
    fields = [error["field"] for error in answer.json().get("errors", [])]
    if answer.status_code == 422 and fields:
        assert target.field in fields, f"{label} {target.field}={value!r}: {fields}"
        return True
    return False


def _routes(app: FastAPI) -> Iterator[tuple[str, APIRoute]]:
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute):
            for method in sorted(context.methods or ()):
                yield method, context  # type: ignore[misc]


@pytest.mark.parametrize("role", [Role.supervisor, Role.admin])
def test_no_value_of_any_route_makes_a_5xx(
    app: FastAPI, client: TestClient, db: Session, role: Role
) -> None:
    unit = make_unit(db)
    case_no = make_case(db, user=make_user(db, unit=unit))
    other = make_user(db, unit=unit)
    signed_in = sign_in(client, make_user(db, role=role, unit=unit))
    defaults = {
        "case_no": case_no,
        "username": other.username,
        "code": "CCB",
        "institution_code": "CCB",
        "draft_key": "walk",
    }
    walker = Walker(client, signed_in.csrf, defaults)
    sent = named = 0
    for method, route in _routes(app):
        for target in _targets(route, method):
            if target.path == ("csrf_token",) and method not in UNSAFE:
                continue
            for value in _values(target):
                answer = walker.send(method, route, target, value)
                named += _check(answer, f"{method} {route.path_format}", target, value)
                sent += 1
    # Past the log-in: most refusals named their field (not just 401/403).
    assert sent > 200, sent
    assert named > sent // 2, (named, sent)
