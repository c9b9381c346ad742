"""The role matrix in the docs is the rule: every route of the app, as every caller.

The table "Who may call what" of docs/access.md names each route and, for anonymous callers, each
role and a signing institution, whether it passes the guard. These tests read that table,
check it names exactly the app's routes, and call every route as every caller. Object-level
rules (a unit's cases, a person's drafts) are checked on every route that takes a case number.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.auth.models import ROLE_SCOPES, Role, Scope, Unit, User
from app.auth.service import create_session
from app.deps import SESSION_COOKIE
from app.main import ROUTERS
from tests.callbacks.signing import signed
from tests.casework import instructions, make_case
from tests.factories import bearer, fresh_card_no, make_unit, make_user
from tests.factories import make_case as make_own_case

ACCESS_PAGE = Path(__file__).resolve().parents[1] / "docs" / "access.md"
CALLERS = ("anonymous", "call-taker", "supervisor", "admin", "institution", "institution user")
ROLE_OF = {
    "call-taker": Role.call_taker,
    "supervisor": Role.supervisor,
    "admin": Role.admin,
    # A person (or token) of one partner institution: its own view and nothing else.
    "institution user": Role.institution,
}
Route = tuple[str, str]  # (method, path)


def _matrix() -> tuple[dict[Route, dict[str, bool]], dict[Route, str]]:
    """(route → caller → allowed, route → the token scope it needs: a scope, `any` or `—`)."""
    text = ACCESS_PAGE.read_text(encoding="utf-8")
    section = text.split("## Who may call what", 1)[1].split("\n## ", 1)[0]
    rows: dict[Route, dict[str, bool]] = {}
    scopes: dict[Route, str] = {}
    for line in section.splitlines():
        found = re.match(r"\| `(\w+) (\S+)` \|(.*)\|$", line)
        if found is None:
            continue
        scope, *cells = (cell.strip() for cell in found[3].split("|"))
        assert len(cells) == len(CALLERS), line
        assert set(cells) <= {"yes", "—"}, line
        route = (found[1], found[2])
        rows[route] = dict(zip(CALLERS, (c == "yes" for c in cells), strict=True))
        scopes[route] = scope.strip("`")
    return rows, scopes


MATRIX, SCOPES = _matrix()


def _routes(app: FastAPI) -> Iterator[tuple[str, str, APIRoute]]:
    routes = [*app.routes, *(route for router in ROUTERS for route in router.routes)]
    seen: set[Route] = set()
    for route in routes:
        if isinstance(route, APIRoute):
            for method in route.methods:
                if (method, route.path) not in seen:
                    seen.add((method, route.path))
                    yield method, route.path, route


def _admitted(dependant: Dependant) -> frozenset[Role] | None:
    """The roles every guard on the route lets through; None when it has no guard."""
    found: frozenset[Role] | None = getattr(dependant.call, "required_roles", None)
    for sub in dependant.dependencies:
        inner = _admitted(sub)
        if inner is not None:
            found = inner if found is None else found & inner
    return found


def test_the_matrix_names_every_route_of_the_app_and_no_other(app: FastAPI) -> None:
    assert len(MATRIX) >= 50
    assert {(m, p) for m, p, _ in _routes(app)} == set(MATRIX)


def _guards(dependant: Dependant) -> Iterator[object]:
    """Every RequireRole check in the route's dependencies, however deep."""
    if hasattr(dependant.call, "required_roles"):
        yield dependant.call
    for sub in dependant.dependencies:
        yield from _guards(sub)


def _scope(dependant: Dependant) -> str:
    """The token scope the route needs: one scope, `any` valid token, or `—` (no guard)."""
    guards = list(_guards(dependant))
    found = {str(s) for g in guards if (s := getattr(g, "required_scope", None)) is not None}
    assert len(found) <= 1, found  # a token made for this must not also need another scope
    return found.pop() if found else ("any" if guards else "—")


def test_each_route_needs_the_token_scope_of_the_matrix_and_its_roles_may_hold_it(
    app: FastAPI,
) -> None:
    opens: dict[Scope, set[Role]] = {scope: set() for scope in Scope}
    for method, path, route in _routes(app):
        scope = _scope(route.dependant)
        assert SCOPES[(method, path)] == scope, f"{method} {path}"
        if scope in ("any", "—"):
            continue
        for caller, role in ROLE_OF.items():
            if MATRIX[(method, path)][caller]:
                assert Scope(scope) in ROLE_SCOPES[role], f"a {role} could never call {path}"
                opens[Scope(scope)].add(role)
    # And no role may hold a scope that opens nothing to it.
    for role, held in ROLE_SCOPES.items():
        for scope in held:
            assert role in opens[scope], f"a {role}'s {scope} opens nothing"


def test_each_routes_guard_admits_exactly_the_roles_of_the_matrix(app: FastAPI) -> None:
    for method, path, route in _routes(app):
        row = MATRIX[(method, path)]
        admitted = _admitted(route.dependant)
        if admitted is None:  # public, or signed by an institution instead
            assert not any(row[c] for c in ROLE_OF) or row["anonymous"], f"{method} {path}"
            continue
        expected = {ROLE_OF[c] for c in ROLE_OF if row[c]}
        assert admitted == expected, f"{method} {path}"
        assert not row["anonymous"], f"{method} {path}"
        assert not row["institution"], f"{method} {path}"


@dataclass(frozen=True)
class Caller:
    """Who calls: the headers they send, and for a signed callback the body that was signed."""

    headers: dict[str, str]
    signed_body: bytes | None = None
    csrf: str = ""

    def body(self, method: str, path: str) -> tuple[bytes | None, str]:
        if method not in {"POST", "PUT", "PATCH"}:
            return None, "application/json"
        if self.signed_body is not None:
            return self.signed_body, "application/json"
        if path.startswith("/api/"):
            return b"{}", "application/json"
        # Our pages' form posts carry the session's CSRF token in a hidden field.
        return f"csrf_token={self.csrf}".encode(), "application/x-www-form-urlencoded"


def _signed_in(db: Session, user: User) -> Caller:
    """A person in the browser: the session cookie, and its CSRF token on every unsafe call."""
    token, session = create_session(db, user=user, max_age_s=3600)
    cookie = {"cookie": f"{SESSION_COOKIE}={token}", "x-csrf-token": session.csrf_token}
    return Caller(cookie, csrf=session.csrf_token)


def _call(client: TestClient, method: str, path: str, caller: Caller) -> tuple[int, str]:
    """(status, content type) of the route's answer to the caller."""
    concrete = re.sub(r"\{[^}]+\}", "X-1", path)
    body, content_type = caller.body(method, concrete)
    headers = {"accept": "application/json", "content-type": content_type, **caller.headers}
    client.cookies.clear()
    answer = client.request(method, concrete, content=body, headers=headers, follow_redirects=False)
    return answer.status_code, answer.headers.get("content-type", "")


def _endless(path: str) -> bool:
    """A live stream with nothing in its path to refuse: it would run until its time is up."""
    return path.endswith("/live") and "{" not in path


def test_every_route_as_every_caller_answers_as_the_matrix_says(
    client: TestClient, db: Session
) -> None:
    unit = make_unit(db)
    bank_body, bank_headers = signed(
        db, "ICBC", {"idempotency_key": "-", "outcome": "stopped_full"}
    )
    callers = {
        "anonymous": Caller({}),
        **{c: _signed_in(db, make_user(db, role=r, unit=unit)) for c, r in ROLE_OF.items()},
        # Signed as ICBC signs a callback: it passes the callback's check and nothing else.
        "institution": Caller(bank_headers, signed_body=bank_body),
    }
    checked = 0
    for (method, path), row in MATRIX.items():
        for caller, allowed in row.items():
            if allowed and _endless(path):
                continue  # its guard is checked above; the page tests read its first event
            status, content_type = _call(
                client, method, path.replace("{institution_code}", "ICBC"), callers[caller]
            )
            if allowed:
                assert status not in (401, 403), f"{caller}: {method} {path} answered {status}"
            else:
                # A role the route's guard does not admit is 403; whoever lacks the kind of
                # credentials the route takes at all (a log-in, a signature) is 401.
                guarded = any(row[c] for c in ROLE_OF)
                refused = 403 if caller in ROLE_OF and guarded else 401
                assert status == refused, f"{caller}: {method} {path} answered {status}"
                assert content_type == "application/problem+json", f"{method} {path}"
            checked += 1
    assert checked > 200


def role_name(role: Role) -> str:
    return next(name for name, r in ROLE_OF.items() if r == role)


@pytest.mark.parametrize("role", [Role.call_taker, Role.supervisor])
def test_another_units_case_is_404_on_every_route_that_takes_a_case_number(
    app: FastAPI, client: TestClient, db: Session, role: Role
) -> None:
    case = make_case(db, (fresh_card_no("CCB"), "45000.00"))
    [stop] = instructions(db, case)
    stranger = _signed_in(db, make_user(db, role=role, unit=make_unit(db)))
    beside = 0
    for method, path, _ in _routes(app):
        if "{case_no}" not in path or not MATRIX[(method, path)][role_name(role)]:
            continue
        concrete = path.replace("{case_no}", case.case_no).replace("{instruction_id}", str(stop.id))
        status, _ = _call(client, method, concrete, stranger)
        assert status == 404, f"{method} {path} answered {status}"
        beside += 1
    assert beside >= 4
    # The same user reads it once it is their unit's: the 404 above was the unit, not the path.
    own = bearer(db, make_user(db, role=role, unit=db.get_one(Unit, case.unit_id)))
    assert client.get(f"/api/v1/cases/{case.case_no}", headers=own).status_code == 200


def test_an_instruction_of_another_units_case_cannot_be_handled_or_resent(
    client: TestClient, db: Session
) -> None:
    theirs = make_case(db, (fresh_card_no("CCB"), "45000.00"))
    [stop] = instructions(db, theirs)
    stop.state = "escalated"
    supervisor = make_user(db, role=Role.supervisor, unit=make_unit(db))
    mine = make_own_case(db, user=supervisor)
    boss = bearer(db, supervisor)
    handled = client.post(
        f"/api/v1/dashboard/escalations/{stop.id}/handled", json={"note": "phoned"}, headers=boss
    )
    assert handled.status_code == 404
    resend = client.post(
        f"/api/v1/cases/{mine}/instructions/{stop.id}/resend",
        json={"holder_name": "张三"},
        headers=boss,
    )
    assert resend.status_code == 404


def test_a_draft_is_its_authors_alone(client: TestClient, db: Session) -> None:
    unit = make_unit(db)
    author = bearer(db, make_user(db, role=Role.call_taker, unit=unit))
    colleague = bearer(db, make_user(db, role=Role.call_taker, unit=unit))
    saved = client.put(
        "/api/v1/drafts/draft-0001", json={"fields": {"victim.name": "王芳"}}, headers=author
    )
    assert saved.status_code == 200, saved.text
    assert client.get("/api/v1/drafts/draft-0001", headers=colleague).status_code == 404
    assert client.get("/api/v1/drafts", headers=colleague).json() == []
    assert client.get("/api/v1/drafts/draft-0001", headers=author).status_code == 200
