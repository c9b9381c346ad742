"""The institution contract in the served OpenAPI document, held to the protocol document
(docs/institution-protocol.md) and the problem types to their page (docs/problems.md)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

from app.dispatch.models import Outcome
from app.errors import PROBLEM_JSON
from app.problems import BY_SLUG, TYPES

DOCS = Path(__file__).resolve().parents[1] / "docs"
PROTOCOL = DOCS / "institution-protocol.md"
CALLBACK = "/api/v1/callbacks/{institution_code}"
# The models whose fields the protocol document lists in a table.
MODELS = {
    "InstructionBody",
    "InstructionAccepted",
    "CallbackEnvelope",
    "OutcomeReport",
    "OnwardTransfer",
    "CallbackAnswer",
}


@pytest.fixture
def document(client: TestClient) -> dict[str, Any]:
    return dict(client.get("/openapi.json").json())


def documented_fields(text: str) -> dict[str, dict[str, bool]]:
    """Each `<!-- fields: Model -->` table of the protocol document: field → required.

    The table's first column holds the field in backticks; its "required" column says
    `yes` or `no`.
    """
    tables: dict[str, dict[str, bool]] = {}
    lines = text.splitlines()
    for at, line in enumerate(lines):
        marker = re.fullmatch(r"<!-- fields: (\w+) -->", line.strip())
        if marker is None:
            continue
        header = [cell.strip() for cell in lines[at + 1].strip().strip("|").split("|")]
        required_at = header.index("required")
        rows: dict[str, bool] = {}
        for row in lines[at + 3 :]:
            if not row.startswith("|"):
                break
            cells = [cell.strip() for cell in row.strip().strip("|").split("|")]
            field = cells[0].strip("`")
            assert cells[required_at] in ("yes", "no"), row
            rows[field] = cells[required_at] == "yes"
        tables[marker.group(1)] = rows
    return tables


def test_the_protocol_document_and_the_schemas_agree_on_what_is_required(
    document: dict[str, Any],
) -> None:
    schemas = document["components"]["schemas"]
    tables = documented_fields(PROTOCOL.read_text(encoding="utf-8"))
    assert set(tables) == MODELS
    for model, fields in tables.items():
        schema = schemas[model]
        assert set(fields) == set(schema["properties"]), model
        required = set(schema.get("required", []))
        assert {f for f, needed in fields.items() if needed} == required, model
    # The code needs only these two in an outcome; the document must not say more.
    assert set(schemas["OutcomeReport"]["required"]) == {"idempotency_key", "outcome"}


def test_a_mismatch_between_them_is_caught() -> None:
    text = PROTOCOL.read_text(encoding="utf-8")
    overstated = text.replace(
        "| `reference` | string or null | no | the institution's own reference |",
        "| `reference` | string or null | yes | the institution's own reference |",
    )
    assert overstated != text
    assert documented_fields(overstated)["OutcomeReport"]["reference"] is True


def test_the_instruction_an_institution_receives_is_a_webhook(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.1")
    webhook = document["webhooks"]["instruction"]["post"]
    assert webhook["description"]
    [key] = webhook["parameters"]
    assert (key["name"], key["in"], key["required"]) == ("Idempotency-Key", "header", True)
    body = webhook["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/InstructionBody"}
    answers = webhook["responses"]
    assert set(answers) == {"202", "400", "404", "422", "429", "5XX"}
    assert "Retry-After" in answers["429"]["headers"]
    accepted = answers["202"]["content"]["application/json"]["schema"]
    assert accepted == {"$ref": "#/components/schemas/InstructionAccepted"}
    assert "same 202" in answers["202"]["description"]
    assert "same key with another body" in answers["422"]["description"]
    for answer in answers.values():
        assert re.search(r"\b(we|done)\b", answer["description"], flags=re.IGNORECASE)


def test_the_callback_has_its_body_headers_examples_and_answers(
    document: dict[str, Any],
) -> None:
    operation = document["paths"][CALLBACK]["post"]
    headers = {p["name"]: p for p in operation["parameters"] if p["in"] == "header"}
    assert set(headers) == {"webhook-id", "webhook-timestamp", "webhook-signature"}
    assert all(header["required"] for header in headers.values())
    media = operation["requestBody"]["content"]["application/json"]
    assert media["schema"] == {"$ref": "#/components/schemas/CallbackEnvelope"}
    shown = {example["value"]["data"]["outcome"] for example in media["examples"].values()}
    assert shown == {outcome.value for outcome in Outcome}
    answered = operation["responses"]["200"]["content"]["application/json"]
    assert answered["schema"] == {"$ref": "#/components/schemas/CallbackAnswer"}
    assert set(answered["examples"]) == {"applied", "duplicate", "ignored"}
    statuses = document["components"]["schemas"]["CallbackAnswer"]["properties"]["status"]
    assert set(statuses["enum"]) == {"applied", "duplicate", "ignored"}

    def slugs(status: str) -> set[str]:
        return set(operation["responses"][status]["content"][PROBLEM_JSON]["examples"])

    assert {
        "signature-mismatch",
        "timestamp-out-of-tolerance",
        "timestamp-in-milliseconds",
    } <= slugs("401")
    assert slugs("409") == {"unknown-instruction", "outcome-disputed"}
    assert slugs("422") == {"malformed-body", "outcome-not-allowed"}
    # The service serves the protocol; no description points into the repository.
    assert "/docs/protocol" in operation["description"]
    assert "docs/institution-protocol.md" not in str(document)


def test_every_problem_type_has_its_section_and_the_page_is_in_the_site() -> None:
    page = (DOCS / "problems.md").read_text(encoding="utf-8")
    sections = re.findall(r"^## ([a-z-]+)$", page, flags=re.MULTILINE)
    assert sections == [kind.slug for kind in TYPES]
    for kind in TYPES:
        # Each section starts with the status its type comes with.
        after = page.split(f"## {kind.slug}\n", 1)[1].lstrip()
        assert after.startswith(f"{kind.status}."), kind.slug
    assert set(BY_SLUG) == set(sections)
    site = yaml.safe_load((DOCS.parent / "mkdocs.yml").read_text(encoding="utf-8"))
    assert {"Problem types": "problems.md"} in site["nav"]


def test_the_service_serves_the_protocol(client: TestClient) -> None:
    page = client.get("/docs/protocol")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "<h1" in page.text
    assert "<table>" in page.text
    # Links between the pages lead to where the service serves them.
    assert 'href="/docs/problems"' in page.text
    assert 'href="problems.md"' not in page.text


def test_every_field_of_the_protocol_says_what_it_is(document: dict[str, Any]) -> None:
    """A bank integrates from these descriptions (tests/conformance/test_from_the_docs.py)."""
    schemas = document["components"]["schemas"]
    for model in MODELS:
        for name, field in schemas[model]["properties"].items():
            assert field.get("description"), f"{model}.{name} has no description"
    # Which outcome each kind allows, and what a well-formed Idempotency-Key is.
    allowed = schemas["Outcome"]["description"]
    assert "`register`: `registered`, `rejected`" in allowed
    [key] = document["webhooks"]["instruction"]["post"]["parameters"]
    assert key["schema"]["maxLength"] == 255
    assert key["schema"]["pattern"] == "^[!-~]+$"
