"""Server-rendered pages: one Jinja2 environment over each domain's templates/ folder, and
the encoders for the contexts text reaches outside plain HTML (autoescape covers that)."""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from app.errors import request_language
from app.i18n import Message, t
from app.i18n.labels import TEMPLATE_TABLES

APP_DIR = Path(__file__).parent
TEMPLATE_DIRS = [APP_DIR / "templates", *sorted(APP_DIR.glob("*/templates"))]

# Inside <script> the HTML parser ends the element at "</script" whatever JSON thinks, and
# "<!--" changes how it looks for the end; in a single-quoted attribute (hx-vals) a ' ends
# the value and & starts a character reference. JSON may write any of them as \uXXXX: the
# data stays the same and the markup cannot change.
# U+2028/U+2029 are escaped too: they end a line in JavaScript source (pre-ES2019).
_SCRIPT_UNSAFE = str.maketrans({c: f"\\u{ord(c):04x}" for c in "<>&'\u2028\u2029"})
_FILENAME_FALLBACK = re.compile(r"[^A-Za-z0-9._ -]")


def script_json(value: Any) -> Markup:
    """`value` as JSON that is safe inside <script type="application/json"> and in a
    single-quoted HTML attribute; JSON.parse reads it back unchanged. Every page's `tojson`."""
    return Markup(json.dumps(value, ensure_ascii=False).translate(_SCRIPT_UNSAFE))


def content_disposition(filename: str, *, disposition: str = "attachment") -> str:
    """A Content-Disposition header value (RFC 6266): the name in full as RFC 5987
    `filename*`, and an ASCII `filename` without quotes, backslashes or control characters
    for clients that read only that one."""
    ascii_name = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode()
    fallback = _FILENAME_FALLBACK.sub("_", ascii_name).strip(" .") or "download"
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


_env = Environment(
    loader=ChoiceLoader([FileSystemLoader(str(d)) for d in TEMPLATE_DIRS]),
    autoescape=select_autoescape(default=True),
)
# A fresh Idempotency-Key in each rendered action form: a double click is one action.
_env.filters["tojson"] = script_json
# Value → message key tables (ROLE_LABEL, ...): templates write `_(ROLE_LABEL[user.role])`.
_env.globals.update(TEMPLATE_TABLES)
templates = Jinja2Templates(env=_env)


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, *, status_code: int = 200
) -> HTMLResponse:
    """The page `name` in the reader's language: templates get `lang` and `_`, and a Message
    given in `context` (an error beside a form, say) arrives as text in that language."""
    # The one place a page reads the request's language.
    lang = request_language(request)
    base: dict[str, Any] = {
        "lang": lang,
        "_": lambda key, **kw: t(key, lang, **kw),
    }
    for key, value in (context or {}).items():
        base[key] = value.in_language(lang) if isinstance(value, Message) else value
    return templates.TemplateResponse(request, name, base, status_code=status_code)
