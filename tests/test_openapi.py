"""Schemathesis against /openapi.json: no 5xx, every answer as documented, log-in enforced.

The cases are generated from the schema the app serves, and sent to the app in process (ASGI).
Each role's run (call-taker, supervisor, admin, and a stranger with no credentials) commits
into a throw-away database of its own, as the service would, and publishes what it sends to a
Redis database no other test uses, emptied before and after. schemathesis's own loader for fixtures
(`schemathesis.pytest.from_fixture`) fails on pytest 9.2 (it sets `Function._nodeid`, which
is gone), so each operation gets a Hypothesis test built from `APIOperation.as_strategy`,
reported as a subtest.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import redis
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode
from sqlalchemy.orm import Session, sessionmaker

from app.auth.models import ROLE_SCOPES, Role
from app.db import make_engine, make_sessionmaker, transaction
from app.errors import PROBLEM_JSON
from app.main import create_app
from app.problems import BY_SLUG, TYPE_BASE
from tests.conftest import migrated_database, service_settings
from tests.factories import bearer, case_payload, make_unit, make_user
from tests.test_route_roles import MATRIX, ROLE_OF

SETTINGS = settings(
    deadline=None,
    database=None,
    # `explain` traces every line a failing case runs: minutes, not seconds.
    phases=(Phase.explicit, Phase.generate, Phase.target, Phase.shrink),
    # Building a whole case report is slow on a busy machine; that is not what is tested.
    suppress_health_check=[HealthCheck.too_slow],
)
# Requests per operation, most of them valid, since those reach the answers with bodies.
# (20 and 10 made this the suite's longest test: 50 s of a 10-minute CI run.)
EXAMPLES = {GenerationMode.POSITIVE: 12, GenerationMode.NEGATIVE: 6}
# Every try at a token hashes a password (argon2id, slow on purpose), even for unknown users.
AT_MOST = {"POST /api/v1/auth/tokens": 6}
# A body can be schema-valid and still break a rule JSON Schema cannot express: an amount
# sent as text that is not a number of yuan, a card's check digit, an unknown institution,
# times out of order. The service answers 422 naming the field, by design. A request without
# a body must be accepted whenever the schema says it is valid.
RULES_BEYOND_THE_SCHEMA = {
    "positive_data_acceptance": {
        "expected-statuses": ["2xx", "3xx", "401", "403", "404", "409", "422", "429", "5xx"]
    }
}


# These runs' own Redis database: no other test or bench uses 9 (`grep -rn "6379/" tests bench`).
OWN_BROKER = "redis://127.0.0.1:6379/9"


@dataclass(frozen=True)
class Own:
    """The app on a throw-away database, a client of it, and committing sessions."""

    app: FastAPI
    client: TestClient
    sessions: sessionmaker[Session]


@pytest.fixture
def own() -> Iterator[Own]:
    broker = redis.Redis.from_url(OWN_BROKER)
    broker.flushdb()
    try:
        with migrated_database() as url:
            app = create_app(service_settings(url, OWN_BROKER))
            engine = make_engine(url)
            try:
                with TestClient(app, base_url="http://testserver") as client:
                    yield Own(app, client, make_sessionmaker(engine))
            finally:
                engine.dispose()
                app.state.engine.dispose()
    finally:
        broker.flushdb()
        broker.close()


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield f"{method.upper()} {path}", operation


def _load(app: FastAPI, **config: Any) -> schemathesis.BaseSchema:
    # A NUL in any text is refused (422 naming the field) before the log-in and before the
    # schema's own rules (app/nul.py): tests/hostile/test_route_walk.py sends one to every
    # parameter of every route. Here generated text leaves it out, so that a stranger's
    # request still meets the log-in and schema-valid text is still valid.
    config = {"generation": {"allow-x00": False}, **config}
    return schemathesis.openapi.from_asgi(
        "/openapi.json", app, config=schemathesis.Config.from_dict(config)
    )


def _for_each_operation(
    schema: schemathesis.BaseSchema,
    subtests: pytest.Subtests,
    test: Callable[[Case], None],
    *,
    examples: dict[GenerationMode, int] = EXAMPLES,
    known: dict[str, str] | None = None,
) -> list[str]:
    """Run `test` on each operation's generated requests, valid and invalid ones apart.

    `examples` says how many of each. The valid ones include the documented examples, and
    the `known` path parameters (of rows that exist) so that reads reach a real row too.
    """
    labels = []
    for result in schema.get_all_operations():
        operation = result.ok()
        # An operation that takes nothing (not even credentials) has no invalid requests.
        can_be_invalid = any(operation.iter_parameters()) or len(operation.body) > 0
        for mode, count in examples.items():
            if mode == GenerationMode.NEGATIVE and not can_be_invalid:
                continue
            strategies = [operation.as_strategy(mode)]
            if mode == GenerationMode.POSITIVE:
                strategies[:0] = operation.get_strategies_from_examples()
                names = re.findall(r"{(\w+)}", operation.path)
                if names and known and set(names) <= set(known):
                    values = {name: known[name] for name in names}
                    strategies.append(operation.as_strategy(path_parameters=values))
            count = min(count, AT_MOST.get(operation.label, count))
            run = settings(SETTINGS, max_examples=count)(given(case=st.one_of(strategies))(test))
            with subtests.test(f"{operation.label} ({mode.value})"):
                run()
        labels.append(operation.label)
    return labels


def _answers_as_documented(case: Case) -> None:
    # Every check schemathesis has: not a server error, status code, content type, headers
    # and body as documented, valid data accepted, invalid data refused, log-in enforced.
    case.call_and_validate()


@pytest.mark.parametrize("role", [Role.call_taker, Role.supervisor, Role.admin])
def test_every_answer_is_documented(own: Own, subtests: pytest.Subtests, role: Role) -> None:
    # Each role reaches its own operations past the log-in, with every scope it may hold.
    with transaction(own.sessions) as db:
        unit = make_unit(db)
        taker = bearer(db, make_user(db, role=Role.call_taker, unit=unit))
        headers = bearer(db, make_user(db, role=role, unit=unit), scopes=ROLE_SCOPES[role])
    created = own.client.post("/api/v1/cases", json=case_payload(transfers=2), headers=taker)
    assert created.status_code == 201, created.text
    token = headers["Authorization"].removeprefix("Bearer ")
    document = own.client.get("/openapi.json").json()
    with_body = [label for label, operation in _operations(document) if "requestBody" in operation]
    schema = _load(
        own.app,
        auth={"openapi": {"bearer": {"bearer": token}}},
        operations=[{"include-name": with_body, "checks": RULES_BEYOND_THE_SCHEMA}],
    )

    labels = _for_each_operation(
        schema,
        subtests,
        _answers_as_documented,
        known={
            "case_no": created.json()["case_no"],
            "instruction_id": str(created.json()["instructions"][0]["id"]),
            "institution_code": "ICBC",
        },
    )
    assert {"POST /api/v1/cases", "GET /api/v1/cases/{case_no}"} <= set(labels)


def _refused_to_a_stranger(case: Case) -> None:
    response = case.call_and_validate()
    assert response.status_code == 401, f"{case.operation.label} answered {response.status_code}"


def test_strangers_are_refused_everywhere_but_the_public_operations(
    own: Own, subtests: pytest.Subtests
) -> None:
    schema = _load(own.app)
    public = {
        label for label, operation in _operations(schema.raw_schema) if "security" not in operation
    }
    # Open to all in the matrix, or (callbacks) signed by an institution instead of a role.
    public_on_purpose = {
        f"{method} {path}"
        for (method, path), row in MATRIX.items()
        if row["anonymous"] or not any(row[c] for c in ROLE_OF)
    }
    assert {"GET /healthz", "GET /readyz", "POST /api/v1/auth/tokens"} <= public
    assert public <= public_on_purpose
    # Well-formed requests only: a body that is not JSON at all is refused (400/422) before
    # the log-in is looked at, because FastAPI reads the body first; that tells a stranger
    # nothing. Any credentials the schema lets schemathesis make up must fail too.
    labels = _for_each_operation(
        schema.exclude(name=sorted(public)),
        subtests,
        _refused_to_a_stranger,
        examples={GenerationMode.POSITIVE: 10},
    )
    assert len(labels) >= 5
    assert not public & set(labels)


def test_every_operation_is_described_and_documents_its_errors(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    operations = dict(_operations(document))
    assert len(operations) >= 9
    for label, operation in operations.items():
        # FastAPI makes a summary up from the function's name (which starts the operationId)
        # when there is none; a summary or a docstring someone wrote is what counts.
        assert operation.get("summary"), f"{label} has no summary"
        assert len(operation.get("description", "")) >= 20, f"{label} is not described"
        for status, answer in operation["responses"].items():
            if status[0] in "45":
                assert list(answer["content"]) == [PROBLEM_JSON], f"{label} {status}"
                _has_examples_of_its_status(label, int(status), answer["content"][PROBLEM_JSON])
    assert "HTTPValidationError" not in document["components"]["schemas"]

    schemas = document["components"]["schemas"]
    for label in (
        "POST /api/v1/cases",
        "POST /api/v1/cases/validate",
        "POST /api/v1/auth/tokens",
        "POST /api/v1/admin/users/{username}/tokens",
    ):
        media = operations[label]["requestBody"]["content"]["application/json"]
        body_schema = schemas[media["schema"]["$ref"].rsplit("/", 1)[-1]]
        assert media.get("example") or media.get("examples") or body_schema.get("examples"), label
    # A bearer token needs the scope each operation names (app/deps.py RequireRole).
    assert operations["POST /api/v1/cases"]["security"][0] == {"bearer": ["cases:write"]}
    assert operations["GET /api/v1/me"]["security"][0] == {"bearer": []}


def _has_examples_of_its_status(label: str, status: int, media: dict[str, Any]) -> None:
    """An error answer shows an example of each problem type it can be, each with this very
    status and a type whose own status it is (not one generic 400 under every status)."""
    examples = media.get("examples") or {}
    assert examples, f"{label} {status} has no example"
    for name, example in examples.items():
        value = example["value"]
        assert value["status"] == status, f"{label} {status}: {name}"
        slug = value["type"].removeprefix(TYPE_BASE)
        assert value["type"] == TYPE_BASE + slug, value["type"]
        assert BY_SLUG[slug].status == status, f"{label} {status}: {slug}"


def test_text_with_a_nul_character_is_invalid_input(client: TestClient, db: Session) -> None:
    # Found by schemathesis: PostgreSQL text cannot hold U+0000, and each of these was a 500.
    headers = bearer(db, make_user(db, role=Role.call_taker))
    answers = [
        client.get("/api/v1/cases", params={"account_no": "\x00"}, headers=headers),
        client.get("/api/v1/cases/%00", headers=headers),
        client.post("/api/v1/cases", json=case_payload(narrative="\x00"), headers=headers),
        client.post("/api/v1/auth/tokens", json={"username": "\x00", "password": "x"}),
    ]
    for answer in answers:
        assert answer.status_code == 422, answer.request.url
        assert answer.headers["content-type"] == PROBLEM_JSON
        problem = answer.json()
        assert "NUL" in str(problem.get("errors", "")) + problem["detail"], problem
    # Nothing half-written is left in the way of the next report.
    assert client.post("/api/v1/cases", json=case_payload(), headers=headers).status_code == 201


def test_a_method_no_route_answers_is_a_405_that_names_every_one_that_does(
    client: TestClient,
) -> None:
    # RFC 9110 §15.5.6. GET /cases and POST /cases are two routes: the router alone would
    # name only the first.
    document = client.get("/openapi.json").json()
    templates = {
        path: re.compile("^" + re.sub(r"{\w+}", "[^/]+", path) + "$") for path in document["paths"]
    }
    checked = 0
    for path in document["paths"]:
        url = re.sub(r"{\w+}", "1", path)
        matching = [other for other, regex in templates.items() if regex.match(url)]
        allowed = {method.upper() for other in matching for method in document["paths"][other]}
        for method in sorted({"GET", "POST", "PUT", "PATCH", "DELETE"} - allowed)[:1]:
            answer = client.request(method, url)
            assert answer.status_code == 405, (method, url, answer.text)
            assert answer.headers["content-type"] == PROBLEM_JSON
            assert set(answer.headers["allow"].split(", ")) == allowed, (method, url)
            checked += 1
    assert checked >= 20
