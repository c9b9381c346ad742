"""Every route either is public on purpose or demands a role and a token scope; strangers get
401 everywhere."""

from __future__ import annotations

import re
from collections.abc import Iterator

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from app.auth.models import ROLE_SCOPES, Role, Scope
from app.main import ROUTERS

# Routes that answer without a log-in, and why.
PUBLIC = {
    ("GET", "/healthz"),  # liveness probe
    ("GET", "/readyz"),  # readiness probe
    ("GET", "/login"),  # the log-in form
    ("POST", "/login"),  # checks the password itself
    ("POST", "/api/v1/auth/tokens"),  # checks the password itself
    ("GET", "/docs"),  # API documentation
    ("GET", "/metrics"),  # aggregate figures for the Prometheus scraper, no personal data
    ("POST", "/api/v1/callbacks/{institution_code}"),  # signed by the institution instead
}


def _routes(app: FastAPI) -> Iterator[tuple[str, str, APIRoute]]:
    routes = [*app.routes, *(route for router in ROUTERS for route in router.routes)]
    for route in routes:
        if isinstance(route, APIRoute):
            for method in route.methods:
                yield method, route.path, route


def _required_roles(dependant: Dependant) -> set[str]:
    roles: set[str] = set(getattr(dependant.call, "required_roles", ()))
    for sub in dependant.dependencies:
        roles |= _required_roles(sub)
    return roles


# Guarded routes any valid token may call, whatever its scopes, and why.
ANY_SCOPE = {
    ("GET", "/api/v1/me"),  # who the token acts for
    ("POST", "/logout"),  # the pages' own forms: a session only (CSRF field), never a token
    ("POST", "/language"),
}


def _guards(dependant: Dependant) -> Iterator[object]:
    """Every RequireRole check in the route's dependencies, however deep."""
    if hasattr(dependant.call, "required_roles"):
        yield dependant.call
    for sub in dependant.dependencies:
        yield from _guards(sub)


def _required_scopes(dependant: Dependant) -> set[Scope]:
    return {scope for guard in _guards(dependant)
            if (scope := getattr(guard, "required_scope", None)) is not None}  # fmt: skip


def test_every_route_is_public_on_purpose_or_demands_a_role(app: FastAPI) -> None:
    assert len(list(_routes(app))) >= 10
    unguarded = [
        f"{method} {path}"
        for method, path, route in _routes(app)
        if (method, path) not in PUBLIC and not _required_roles(route.dependant)
    ]
    assert unguarded == []


def test_strangers_get_401_from_every_guarded_route(app: FastAPI, client: TestClient) -> None:
    checked = 0
    for method, path, _route in _routes(app):
        if (method, path) in PUBLIC:
            continue
        concrete = re.sub(r"\{[^}]+\}", "X-1", path)
        response = client.request(
            method, concrete, headers={"accept": "application/json"}, follow_redirects=False
        )
        assert response.status_code == 401, f"{method} {path} answered {response.status_code}"
        assert response.headers["content-type"] == "application/problem+json"
        checked += 1
    assert checked > 0


def test_every_guarded_route_needs_one_scope_that_its_roles_may_hold(app: FastAPI) -> None:
    needs: dict[Scope, set[Role]] = {scope: set() for scope in Scope}
    for method, path, route in _routes(app):
        if (method, path) in PUBLIC:
            continue
        scopes = _required_scopes(route.dependant)
        if (method, path) in ANY_SCOPE:
            assert scopes == set(), f"{method} {path}"
            continue
        # One scope: a token made for this must not also need another one.
        assert len(scopes) == 1, f"{method} {path} needs {scopes or 'no scope'}"
        [scope] = scopes
        for role in map(Role, _required_roles(route.dependant)):
            assert scope in ROLE_SCOPES[role], f"a {role} could never call {method} {path}"
            needs[scope].add(role)
    # And no role may hold a scope that opens nothing to it.
    for role, scopes in ROLE_SCOPES.items():
        for scope in scopes:
            assert role in needs[scope], f"a {role}'s {scope} opens nothing"
