"""U+0000 is refused wherever text arrives, with the field that carried it.

PostgreSQL can store it neither in text nor in JSON, and no person types it: a NUL in a
path, a query string, a form field or anywhere in a JSON body (keys too) is a 422 naming
that field, before the route runs, so nothing is half-written and nothing reaches the
database to fail there.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from starlette.datastructures import UploadFile

NUL = "\x00"
# Routes that read their own raw body with stricter checks of their own, and keep what they
# refuse: an institution's callback is checked, and a refusal stored, by app/callbacks.
OWN_BODY_PREFIXES = ("/api/v1/callbacks/",)
Loc = tuple[str | int, ...]
SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]")


def _kind(text: str) -> str | None:
    """What text holds that PostgreSQL cannot store: a NUL, or a lone surrogate (JSON's
    `\\ud800`, which UTF-8 cannot encode); None when it is storable."""
    if NUL in text:
        return "nul_character"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "lone_surrogate"
    return None


def _shown(key: str) -> str:
    return key.encode("utf-8", "backslashreplace").decode("utf-8")


def _nul_paths(value: Any, loc: Loc) -> Iterator[tuple[Loc, str]]:
    """Where in a parsed JSON value a string (or an object's key) cannot be stored, and why."""
    if isinstance(value, str):
        if kind := _kind(value):
            yield loc, kind
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _nul_paths(item, (*loc, index))
    elif isinstance(value, dict):
        for key, item in value.items():
            if kind := _kind(key):
                yield (*loc, _shown(key)), kind
            else:
                yield from _nul_paths(item, (*loc, key))


def _pairs(kind: str, items: Any) -> Iterator[tuple[Loc, str]]:
    for name, value in items:
        if NUL in name or (isinstance(value, str) and NUL in value):
            yield (kind, name), "nul_character"


async def _body_paths(request: Request) -> list[tuple[Loc, str]]:
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return []  # no body to read (and live streams keep theirs for the disconnect)
    if request.url.path.startswith(OWN_BODY_PREFIXES):
        return []
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        named = [
            (n, v.filename or "") if isinstance(v, UploadFile) else (n, v)
            for n, v in form.multi_items()
        ]
        return list(_pairs("body", named))
    raw = await request.body()
    # JSON spells a NUL `\u0000` and a surrogate `\ud800`; raw ones make the body unreadable
    # (FastAPI says so).
    if b"\\u0000" not in raw and not SURROGATE.search(raw):
        return []
    try:
        parsed = json.loads(raw)
    except (ValueError, RecursionError, ArithmeticError):
        return []  # not JSON, or nested past Python's stack: the route's parser refuses it
    return list(_nul_paths(parsed, ("body",)))


async def refuse_nul(request: Request) -> None:
    """An app-wide dependency: 422 `nul_character` (or `lone_surrogate`) on every field that
    holds one."""
    found = [
        *_pairs("path", request.path_params.items()),
        *_pairs("query", request.query_params.multi_items()),
        *await _body_paths(request),
    ]
    if found:
        raise RequestValidationError(
            [{"type": kind, "loc": loc, "msg": kind} for loc, kind in found]
        )
