"""Answers middleware gives before any route runs: problem+json in the client's language.

No user is known yet, so the language is chosen by the service's rules (app/errors.py,
`choose_language`) from the request alone: the API's clients by Accept-Language, English
when they name none (a machine); pages by the log-in page's language cookie, then the
browser's, then the service's default.
"""

from __future__ import annotations

import contextlib
import json
from http.cookies import CookieError, SimpleCookie
from typing import Any

from starlette.types import Scope, Send

from app.errors import LANGUAGE_COOKIE, choose_language
from app.i18n import N_, Language, t
from app.problems import BAD_REQUEST, BY_STATUS

CLOSE = (b"connection", b"close")
# A page's reader who names no language, where no settings are at hand: the centre's own.
PAGE_LANGUAGE: Language = "zh-CN"


def language_of(scope: Scope) -> Language:
    """The language of an answer given before any route (and so any user) is known."""
    headers = dict(scope.get("headers") or [])
    cookie = SimpleCookie()
    with contextlib.suppress(CookieError):  # an unreadable cookie header names no language
        cookie.load(headers.get(b"cookie", b"").decode("latin-1"))
    chosen = cookie.get(LANGUAGE_COOKIE)
    app = scope.get("app")
    settings = getattr(getattr(app, "state", None), "settings", None)
    return choose_language(
        path=scope.get("path", ""),
        accept_language=headers.get(b"accept-language", b"").decode("latin-1") or None,
        cookie=chosen.value if chosen is not None else None,
        user_language=None,
        default=getattr(settings, "default_language", PAGE_LANGUAGE),
    )


async def overloaded(scope: Scope, send: Send, *, close: bool = False) -> None:
    headers = [(b"retry-after", b"1"), *([CLOSE] if close else [])]
    await send_problem(
        send,
        scope,
        503,
        title_key=N_("problem.unavailable"),
        detail_key=N_("clients.overloaded"),
        headers=headers,
    )


async def send_problem(
    send: Send,
    scope: Scope,
    status: int,
    *,
    title_key: str,
    detail_key: str,
    params: dict[str, Any] | None = None,
    headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    lang = language_of(scope)
    problem = {
        "type": BY_STATUS.get(status, BAD_REQUEST).uri,
        "title": t(title_key, lang),
        "status": status,
        "detail": t(detail_key, lang, **(params or {})),
        "instance": scope.get("path", ""),
    }
    body = json.dumps(problem, ensure_ascii=False).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-language", lang.encode()),
                *(headers or []),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
