"""The institution protocol as a bank's developer reads it from the served `/openapi.json`.

Nothing here comes from our code: the path, the header names, the bodies' fields and every
validator are read from the document (its `webhooks.instruction` and the callback
operation), and the bodies are checked with the document's own JSON Schemas.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

import jsonschema_rs

CALLBACK = "/api/v1/callbacks/{institution_code}"
JSON = "application/json"
# The webhook's description names where an instruction is POSTed.
INSTRUCTION_PATH = re.compile(r"`\{institution base URL\}(/\S+?)`")


class ContractBroken(ValueError):
    """A body the document's schema refuses."""


class Schema:
    """One schema of the document, with its `$ref`s resolved in the document's components."""

    def __init__(self, document: dict[str, Any], schema: dict[str, Any]) -> None:
        self._document = document
        self.schema = resolve(document, schema)
        self._validator = jsonschema_rs.Draft202012Validator(
            {**schema, "components": document["components"]}, validate_formats=True
        )

    def problems(self, value: Any) -> list[str]:
        """What the schema refuses in `value`, each with its path ([] when it is valid)."""
        return [
            f"{'.'.join(str(p) for p in e.instance_path) or '(body)'}: {e.message}"
            for e in self._validator.iter_errors(value)
        ]

    def check(self, value: Any) -> Any:
        """`value`, or ContractBroken naming what the schema refuses in it."""
        found = self.problems(value)
        if found:
            raise ContractBroken("; ".join(found))
        return value

    @property
    def fields(self) -> dict[str, dict[str, Any]]:
        """The properties, each resolved."""
        properties: dict[str, dict[str, Any]] = self.schema["properties"]
        return {name: resolve(self._document, sub) for name, sub in properties.items()}

    def field(self, name: str) -> Schema:
        return Schema(self._document, self.schema["properties"][name])

    def shape(self, values: dict[str, Any]) -> dict[str, Any]:
        """An object of this schema: its fields from `values`, a `const` where it has one."""
        unknown = set(values) - set(self.fields)
        if unknown:
            raise ContractBroken(f"not fields of the schema: {sorted(unknown)}")
        shaped = {
            name: field["const"] if "const" in field else values[name]
            for name, field in self.fields.items()
            if "const" in field or name in values
        }
        return dict(self.check(shaped))


def resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """`schema`, or what its `#/components/...` reference points to."""
    ref = schema.get("$ref")
    if ref is None:
        return schema
    found: Any = document
    for part in ref.removeprefix("#/").split("/"):
        found = found[part]
    return resolve(document, found)


def canonical(value: Any, schema: dict[str, Any]) -> Any:
    """A value as the schema types it, to compare by value: a date-time as an instant, a
    number (sent as a string or a number) as a decimal."""
    options = schema.get("anyOf", [schema])
    if value is None or isinstance(value, bool):
        return value
    try:
        if isinstance(value, str) and any(o.get("format") == "date-time" for o in options):
            return dt.datetime.fromisoformat(value)
        if isinstance(value, int | float | str) and any(o.get("type") == "number" for o in options):
            return Decimal(str(value))
    except (ValueError, ArithmeticError):
        pass  # not what the schema types it as: compared as sent
    return value


class Contract:
    """What the document says an institution receives, answers and sends."""

    def __init__(self, document: dict[str, Any]) -> None:
        webhook = document["webhooks"]["instruction"]["post"]
        found = INSTRUCTION_PATH.search(webhook["description"])
        if found is None:
            raise ContractBroken("the webhook does not say where instructions are sent")
        self.path = found.group(1)
        [key] = [p for p in webhook["parameters"] if p["in"] == "header"]
        self.key_header: str = key["name"]
        self.key = Schema(document, key["schema"])
        self.instruction = Schema(document, webhook["requestBody"]["content"][JSON]["schema"])
        answers = webhook["responses"]
        self.accepted = Schema(document, answers["202"]["content"][JSON]["schema"])
        [self.retry_after] = answers["429"]["headers"]
        callback = document["paths"][CALLBACK]["post"]
        self.signature_headers = {p["name"] for p in callback["parameters"] if p["in"] == "header"}
        media = callback["requestBody"]["content"][JSON]
        self.event = Schema(document, media["schema"])
        self.outcome = self.event.field("data")
        self.onward = Schema(document, self.outcome.fields["onward_transfers"]["items"])
        self.examples: dict[str, Any] = {
            name: example["value"] for name, example in media["examples"].items()
        }

    def same_body(self, one: dict[str, Any], other: dict[str, Any]) -> bool:
        """Equal field by field, by value; fields the schema does not name are ignored."""
        return all(
            canonical(one.get(name), field) == canonical(other.get(name), field)
            for name, field in self.instruction.fields.items()
        )
