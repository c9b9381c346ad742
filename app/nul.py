"""U+0000 is refused wherever text arrives, with the field that carried it.

PostgreSQL can store it neither in text nor in JSON, and no person types it: a NUL in a
path, a query string, a form field or anywhere in a JSON body (keys too) is a 422 naming
that field, before the route runs, so nothing is half-written and nothing reaches the
database to fail there.
"""

from __future__ import annotations

import json
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


def _nul_paths(value: Any, loc: Loc) -> Iterator[Loc]:
    """Where in a parsed JSON value a string (or an object's key) holds a NUL."""
    if isinstance(value, str):
        if NUL in value:
            yield loc
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _nul_paths(item, (*loc, index))
    elif isinstance(value, dict):
        for key, item in value.items():
            if NUL in key:
                yield (*loc, key)
            yield from _nul_paths(item, (*loc, key))


def _pairs(kind: str, items: Any) -> Iterator[Loc]:
    for name, value in items:
        if NUL in name or (isinstance(value, str) and NUL in value):
            yield (kind, name)


async def _body_paths(request: Request) -> list[Loc]:
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
    # JSON spells a NUL `\u0000`; a raw one makes the body unreadable (FastAPI says so).
    if b"\\u0000" not in raw:
        return []
    try:
        parsed = json.loads(raw)
    except (ValueError, RecursionError):
        return []  # not JSON, or nested past Python's stack: the route's parser refuses it
    return list(_nul_paths(parsed, ("body",)))


async def refuse_nul(request: Request) -> None:
    """An app-wide dependency: 422 `nul_character` on every field that holds a NUL."""
    found = [
        *_pairs("path", request.path_params.items()),
        *_pairs("query", request.query_params.multi_items()),
        *await _body_paths(request),
    ]
    if found:
        raise RequestValidationError(
            [{"type": "nul_character", "loc": loc, "msg": "NUL character"} for loc in found]
        )
