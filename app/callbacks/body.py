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
from app.i18n import N_
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

    def __init__(
        self, problems: list[FieldProblem], *, status: int = 422, value: Any = None
    ) -> None:
        super().__init__(f"{len(problems)} problem(s)")
        self.problems = problems
        self.status = status
        # What the body held, where it parsed: the refusal keeps it (bounded, masked).
        self.value = value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def read_json(body: bytes) -> Any:
    """The body as JSON (numbers as Decimal, so no amount is rounded on the way in)."""
    try:
        value = json.loads(body, parse_float=Decimal, parse_constant=_no_constant)
    except RecursionError:
        # Nested past Python's stack: what is kept is the start of the text, bounded.
        raise BodyRefused(
            [FieldProblem("body", N_("callback.too_deep"), {"max": str(MAX_DEPTH)})],
            value=body[:KEPT_CHARS].decode("utf-8", "replace"),
        ) from None
    except (ValueError, ArithmeticError):
        # ArithmeticError: an exponent past what Decimal holds (`1e9999999999999999999`).
        raise BodyRefused([FieldProblem("body", N_("callback.not_json"))]) from None
    problems = _walk_problems(value)
    if problems:
        raise BodyRefused(problems, value=value)
    return value


def unstorable(text: str) -> bool:
    """Whether text cannot be stored: a U+0000, or a lone surrogate (JSON's `\\ud800`)."""
    if NUL in text:
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _rule(text: str) -> str:
    return "problem.nul_character" if NUL in text else N_("problem.lone_surrogate")


def _shown(path: str) -> str:
    """A path as a reader can see it: NUL and lone surrogates spelled as JSON spells them."""
    if not unstorable(path):
        return path
    return "".join(
        f"\\u{ord(ch):04x}" if ch == NUL or "\ud800" <= ch <= "\udfff" else ch for ch in path
    )


def clean(text: str) -> str:
    """`text` with what PostgreSQL cannot store (NUL, lone surrogates) replaced by U+FFFD."""
    if not unstorable(text):
        return text
    return "".join("\ufffd" if ch == NUL or "\ud800" <= ch <= "\udfff" else ch for ch in text)


def _walk_problems(value: Any) -> list[FieldProblem]:
    """Nesting past MAX_DEPTH, and every string (or key) PostgreSQL cannot store, by path."""
    problems: list[FieldProblem] = []
    stack: list[tuple[Any, str, int]] = [(value, "", 0)]
    while stack:
        item, path, depth = stack.pop()
        if depth > MAX_DEPTH:
            return [FieldProblem(path or "body", N_("callback.too_deep"), {"max": str(MAX_DEPTH)})]
        if isinstance(item, str):
            if unstorable(item):
                problems.append(FieldProblem(_shown(path) or "body", _rule(item)))
        elif isinstance(item, dict):
            for key, sub in item.items():
                where = f"{path}.{key}" if path else str(key)
                if unstorable(key):
                    problems.append(FieldProblem(_shown(where), _rule(key)))
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
        text = clean(value)
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
        clean(k)[:KEPT_CHARS]: storable(v, masked=masked, key=k, depth=depth + 1) for k, v in pairs
    }
