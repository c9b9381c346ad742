"""Server-rendered pages: one Jinja2 environment over each domain's templates/ folder."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape

from app.errors import request_language
from app.i18n import t

APP_DIR = Path(__file__).parent
TEMPLATE_DIRS = [APP_DIR / "templates", *sorted(APP_DIR.glob("*/templates"))]

_env = Environment(
    loader=ChoiceLoader([FileSystemLoader(str(d)) for d in TEMPLATE_DIRS]),
    autoescape=select_autoescape(default=True),
)
# A fresh Idempotency-Key in each rendered action form: a double click is one action.
_env.globals["fresh_key"] = lambda: uuid.uuid4().hex
templates = Jinja2Templates(env=_env)


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, *, status_code: int = 200
) -> HTMLResponse:
    lang = request_language(request)
    base: dict[str, Any] = {
        "lang": lang,
        "_": lambda key, **kw: t(key, lang, **kw),
    }
    base.update(context or {})
    return templates.TemplateResponse(request, name, base, status_code=status_code)
