"""Answers middleware gives before any route runs: problem+json in both languages."""

from __future__ import annotations

import json

from starlette.types import Send

from app.i18n import t

CLOSE = (b"connection", b"close")


def both(key: str, **params: object) -> str:
    """Answered before any user or language is known: both languages."""
    return f"{t(key, 'zh-CN', **params)} / {t(key, 'en', **params)}"


async def overloaded(path: str, send: Send, *, close: bool = False) -> None:
    headers = [(b"retry-after", b"1"), *([CLOSE] if close else [])]
    await send_problem(
        send,
        path,
        503,
        "服务繁忙 / Service busy",
        "请求过多，本次未保存，请稍后重试。Too many requests at once; nothing was saved. "
        "Try again shortly.",
        headers=headers,
    )


async def send_problem(
    send: Send,
    path: str,
    status: int,
    title: str,
    detail: str,
    headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    # Answered before any user or language is known: both languages.
    problem = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": path,
    }
    body = json.dumps(problem, ensure_ascii=False).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/problem+json"),
                *(headers or []),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
