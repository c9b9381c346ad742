"""The institution protocol and the problem types, served by the service itself: a bank's
developer integrates from what the running service serves (with /openapi.json and /docs).

The pages are docs/institution-protocol.md and docs/problems.md, the same files the
documentation site builds, rendered here as HTML. A problem's `type` URI,
`/docs/problems/<slug>`, leads to its section.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path as FilePath
from typing import Annotated

import markdown
from fastapi import APIRouter, Path
from fastapi.responses import HTMLResponse, RedirectResponse

from app.errors import NotFound
from app.i18n import msg
from app.problems import BY_SLUG
from app.web import templates

router = APIRouter(tags=["documentation"])

DOCS_DIR = FilePath(__file__).resolve().parents[2] / "docs"
PAGES = {"protocol": "institution-protocol.md", "problems": "problems.md"}
# Links between the docs site's pages, as the service serves them.
SERVED = {"institution-protocol.md": "/docs/protocol", "problems.md": "/docs/problems"}
LINK = re.compile(r'href="(institution-protocol\.md|problems\.md)(#[^"]*)?"')


@cache
def rendered(page: str) -> tuple[str, str]:
    """The page's title and its HTML (read once: the files change only with a release)."""
    text = (DOCS_DIR / PAGES[page]).read_text(encoding="utf-8")
    title = text.splitlines()[0].lstrip("# ").strip()
    html = markdown.markdown(text, extensions=["tables", "fenced_code", "toc"])
    html = LINK.sub(lambda m: f'href="{SERVED[m.group(1)]}{m.group(2) or ""}"', html)
    return title, html


def _page(page: str) -> HTMLResponse:
    title, body = rendered(page)
    html = templates.get_template("doc.html").render(title=title, body=body)
    return HTMLResponse(html)


@router.get(
    "/docs/protocol",
    response_class=HTMLResponse,
    summary="The institution protocol, as HTML: what an institution receives and sends",
)
def protocol() -> HTMLResponse:
    """What an institution receives, what it sends back, how it signs it and every rule an
    outcome is checked against: the page the documentation site builds, served here."""
    return _page("protocol")


@router.get(
    "/docs/problems",
    response_class=HTMLResponse,
    summary="Every problem type the API answers, and what to do about it",
)
def problems() -> HTMLResponse:
    """One section per problem `type` (docs/problems.md), each with its status and what to
    do."""
    return _page("problems")


@router.get(
    "/docs/problems/{slug}",
    response_class=RedirectResponse,
    status_code=307,
    summary="A problem type's URI: redirects to its section of /docs/problems",
    responses={404: {"description": "No problem type has this slug"}},
)
def problem_type_page(slug: Annotated[str, Path(max_length=64)]) -> RedirectResponse:
    """The `type` of a problem+json answer, dereferenced: its section of the problems page."""
    if slug not in BY_SLUG:
        raise NotFound(msg("problem.unknown_type", slug=slug))
    return RedirectResponse(f"/docs/problems#{slug}", status_code=307)
