"""A signed body read safely: whatever its bytes, the answer is a value or a field problem.

Python's json raises RecursionError on deep nesting and ValueError on an integer past 4,300
digits; PostgreSQL cannot store U+0000 or a non-finite number in jsonb. All of that is
turned into `BodyRefused` here, before anything else looks at the body.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from app.cases.validation import FieldProblem
from app.privacy import mask, mask_account_no

MAX_DEPTH = 16
# What a refused body keeps: enough to see what was sent, bounded whatever was sent.
KEPT_DEPTH = 6
KEPT_ITEMS = 50
KEPT_CHARS = 200
# Personal data in an outcome: masked as app/privacy.py masks it on pages.
ACCOUNT_KEYS = frozenset({"account_no", "card_no"})
PERSONAL_KEYS = frozenset({"holder_name", "name", "id_no", "phone"})
NUL = "\x00"


class BodyRefused(Exception):
    """Rules a signed body breaks; `status` 409 when its instruction is not the sender's."""

    def __init__(self, problems: list[FieldProblem], *, status: int = 422) -> None:
        super().__init__(f"{len(problems)} problem(s)")
        self.problems = problems
        self.status = status


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def read_json(body: bytes) -> Any:
    """The body as JSON (numbers as Decimal, so no amount is rounded on the way in)."""
    try:
        value = json.loads(body, parse_float=Decimal, parse_constant=_no_constant)
    except RecursionError:
        raise BodyRefused(
            [FieldProblem("body", "callback.too_deep", {"max": str(MAX_DEPTH)})]
        ) from None
    except (ValueError, UnicodeDecodeError):
        raise BodyRefused([FieldProblem("body", "callback.not_json")]) from None
    problems = _walk_problems(value)
    if problems:
        raise BodyRefused(problems)
    return value


def _walk_problems(value: Any) -> list[FieldProblem]:
    """Nesting past MAX_DEPTH, and every string (or key) holding U+0000, by path."""
    problems: list[FieldProblem] = []
    stack: list[tuple[Any, str, int]] = [(value, "", 0)]
    while stack:
        item, path, depth = stack.pop()
        if depth > MAX_DEPTH:
            return [FieldProblem(path or "body", "callback.too_deep", {"max": str(MAX_DEPTH)})]
        if isinstance(item, str):
            if NUL in item:
                problems.append(FieldProblem(path or "body", "problem.nul_character"))
        elif isinstance(item, dict):
            for key, sub in item.items():
                where = f"{path}.{key}" if path else str(key)
                if NUL in key:
                    problems.append(
                        FieldProblem(where.replace(NUL, "\\u0000"), "problem.nul_character")
                    )
                else:
                    stack.append((sub, where, depth + 1))
        elif isinstance(item, list):
            stack.extend(
                (sub, f"{path}.{i}" if path else str(i), depth + 1) for i, sub in enumerate(item)
            )
    return sorted(problems, key=lambda p: p.path)


def storable(value: Any, *, masked: bool, key: str = "", depth: int = 0) -> Any:
    """`value` as jsonb can hold it: Decimals as numbers or text, no U+0000.

    `masked`: personal data starred and everything bounded (depth, items, characters).
    """
    if isinstance(value, Decimal):
        number = float(value)
        return number if value == Decimal(repr(number)) else str(value)
    if isinstance(value, str):
        text = value.replace(NUL, "\ufffd")
        if not masked:
            return text
        text = text[:KEPT_CHARS]
        if key in ACCOUNT_KEYS:
            return mask_account_no(text)
        return mask(text, head=1, tail=0) if key in PERSONAL_KEYS and text else text
    if not isinstance(value, dict | list):
        return value
    if masked and depth >= KEPT_DEPTH:
        return "…"
    if isinstance(value, list):
        items = value[:KEPT_ITEMS] if masked else value
        return [storable(v, masked=masked, key=key, depth=depth + 1) for v in items]
    pairs = list(value.items())[:KEPT_ITEMS] if masked else value.items()
    return {
        k.replace(NUL, "\ufffd")[:KEPT_CHARS]: storable(v, masked=masked, key=k, depth=depth + 1)
        for k, v in pairs
    }
