"""One exception family and one renderer: every API error is RFC 9457 problem+json."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.routing import iter_route_contexts
from sqlalchemy.exc import DataError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.i18n import LANGUAGES, N_, Language, Message, negotiate, t
from app.i18n.labels import FIELD_ERROR
from app.problems import MALFORMED_BODY, ProblemType, problem_type

log = logging.getLogger(__name__)
# Query parameters say so in the schema: PostgreSQL text cannot hold U+0000 (see below).
NO_NUL = r"^[^\x00]*$"

PROBLEM_JSON = "application/problem+json"
# Chosen on the log-in page, before anyone is signed in; a user's own setting wins after.
LANGUAGE_COOKIE = "stopay_lang"
# The language of an API answer to a client that names none and has no user's setting.
MACHINE_LANGUAGE: Language = "en"


class AppError(Exception):
    """A failure the client can act on; `title_key` names its i18n title.

    `detail`, and each error's `message`, is a `Message` (`msg("key", **params)`): the one
    handler below puts it in the request's language, so no service needs to know it."""

    status_code = 400
    title_key = N_("problem.bad_request")

    def __init__(
        self,
        detail: str | Message | None = None,
        *,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(str(detail) if detail else self.title_key)
        self.detail = detail
        self.errors = errors
        self.headers = headers
        self.extra = extra or {}


class Unauthorized(AppError):
    status_code = 401
    title_key = N_("problem.unauthorized")


class Forbidden(AppError):
    status_code = 403
    title_key = N_("problem.forbidden")


class NotFound(AppError):
    status_code = 404
    title_key = N_("problem.not_found")


class Conflict(AppError):
    status_code = 409
    title_key = N_("problem.conflict")


class Invalid(AppError):
    status_code = 422
    title_key = N_("problem.validation")


class Unavailable(AppError):
    status_code = 503
    title_key = N_("problem.unavailable")


def request_language(request: Request) -> Language:
    """The language for this answer.

    Read in three places only: the error handler (`problem`), the page renderer
    (app/web.py) and the `Lang` dependency (app/deps.py); everything else carries Messages.
    API clients choose per request with Accept-Language, falling back to the user's setting,
    then English (a client with no user behind it, an institution, is a machine);
    pages follow the signed-in user's setting, then the log-in page's choice, then the browser.
    """
    return choose_language(
        path=request.url.path,
        accept_language=request.headers.get("accept-language"),
        cookie=request.cookies.get(LANGUAGE_COOKIE),
        user_language=getattr(request.state, "language", None),
        default=request.app.state.settings.default_language,
    )


def choose_language(
    *,
    path: str,
    accept_language: str | None,
    cookie: str | None,
    user_language: Language | None,
    default: Language,
) -> Language:
    """The rules above, from the parts of a request (middleware answering before any route,
    app/middleware/answers.py, has no user and passes None)."""
    if path.startswith("/api/"):
        # A machine client (an institution's callback, a script with no user behind it)
        # that names no language reads English, whatever the service's default.
        return negotiate(accept_language, user_language or MACHINE_LANGUAGE)
    if user_language is not None:
        return user_language
    for lang in LANGUAGES:
        if cookie == lang:
            return lang
    return negotiate(accept_language, default)


def problem(
    request: Request,
    *,
    status: int,
    title_key: str,
    detail: str | Message | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
    kind: ProblemType | None = None,
) -> JSONResponse:
    """An RFC 9457 answer; its `type` is `kind`, else the one its detail or title names."""
    lang = request_language(request)
    if kind is None:
        detail_key = detail.key if isinstance(detail, Message) else None
        kind = problem_type(status, title_key=title_key, detail_key=detail_key)
    body: dict[str, Any] = {
        "type": kind.uri,
        "title": t(kind.title, lang),
        "status": status,
        "detail": localised(detail, lang) or t(kind.title, lang),
        "instance": request.url.path,
    }
    if errors is not None:
        body["errors"] = localised(errors, lang)
    body.update(localised(extra or {}, lang))
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def localised(value: Any, lang: Language) -> Any:
    """`value` with every Message in it (at any depth of lists and dicts) put in `lang`."""
    if isinstance(value, Message):
        return value.in_language(lang)
    if isinstance(value, dict):
        return {key: localised(item, lang) for key, item in value.items()}
    if isinstance(value, list):
        return [localised(item, lang) for item in value]
    return value


def _wants_html(request: Request) -> bool:
    """Pages send strangers to the log-in form; API paths and JSON clients get a problem."""
    accept = request.headers.get("accept", "")
    return not request.url.path.startswith("/api/") and "application/json" not in accept


def _unstorable(request: Request, detail_key: str) -> Response:
    return problem(
        request, status=422, title_key=N_("problem.validation"), detail=Message(detail_key)
    )


async def _lone_surrogate(request: Request, exc: Exception) -> Response:
    # psycopg cannot encode a lone surrogate for a text column: nothing was sent, and the
    # request's transaction is rolled back. Any other encoding failure is a bug.
    if "surrogate" not in str(exc):
        raise exc
    return _unstorable(request, N_("problem.lone_surrogate"))


def field_errors(raw: list[Any], lang: Language) -> list[dict[str, Any]]:
    """Pydantic errors as {field, message, type}, the field a dotted path into the body."""
    out = []
    for err in raw:
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body",)]
        ctx = dict(err.get("ctx") or {})
        kind = err.get("type", "")
        key = FIELD_ERROR.get(kind)
        if kind == "nul_character" or (
            kind == "string_pattern_mismatch" and ctx.get("pattern") == NO_NUL
        ):
            message = t("problem.nul_character", lang)
        elif key is not None:
            try:
                message = t(key, lang, **ctx)
            except (KeyError, IndexError):
                message = t("field.invalid", lang)
        elif kind == "value_error" and "error" in ctx and lang == "en":
            message = str(ctx["error"])
        else:
            message = t("field.invalid", lang) if lang == "zh-CN" else str(err.get("msg"))
        out.append({"field": ".".join(loc), "message": message, "type": kind})
    return out


def allowed_methods(request: Request) -> list[str]:
    """Every method some route answers at this path (RFC 9110 §15.5.6: a 405's `Allow`).

    The router names only the first route whose path matched, and GET /cases and
    POST /cases are two routes.
    """
    methods: set[str] = set()
    for route in iter_route_contexts(request.app.routes):
        regex = getattr(route, "path_regex", None)
        if regex is not None and regex.match(request.url.path):
            methods |= route.methods or set()
    return sorted(methods)


def _unavailable(request: Request, detail_key: str, *, retry_after_s: int) -> Response:
    """503: nothing was done, try again after a moment."""
    return problem(
        request,
        status=503,
        title_key=N_("problem.unavailable"),
        detail=Message(detail_key),
        headers={"Retry-After": str(retry_after_s)},
    )


async def _app_error(request: Request, exc: AppError) -> Response:
    if isinstance(exc, Unauthorized) and _wants_html(request):
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
    return problem(
        request,
        status=exc.status_code,
        title_key=exc.title_key,
        detail=exc.detail,
        errors=exc.errors,
        headers=exc.headers,
        extra=exc.extra,
    )


async def _validation(request: Request, exc: RequestValidationError) -> Response:
    lang = request_language(request)
    errors = field_errors(list(exc.errors()), lang)
    detail = t("problem.validation_detail", lang, count=len(errors))
    kinds = {error["type"] for error in errors}
    if kinds == {"nul_character"}:
        detail = t("problem.nul_character", lang)
    return problem(
        request,
        status=422,
        title_key=N_("problem.validation"),
        detail=detail,
        errors=errors,
        kind=MALFORMED_BODY if kinds == {"json_invalid"} else None,
    )


async def _database_down(request: Request, exc: OperationalError) -> Response:
    # The database is unreachable or restarting: nothing was committed, try again.
    log.warning("database unavailable: %s", str(exc).splitlines()[0])
    return _unavailable(request, N_("problem.database_down"), retry_after_s=2)


async def _pool_busy(request: Request, _exc: PoolTimeout) -> Response:
    # No connection came free in the pool's wait: nothing was done, try again.
    log.warning("database pool exhausted on %s", request.url.path)
    return _unavailable(request, N_("clients.pool_busy"), retry_after_s=1)


async def _nul_character(request: Request, exc: DataError) -> Response:
    # PostgreSQL text cannot hold U+0000, so any text a client sends may be refused only
    # here; the transaction has been rolled back. Any other DataError is a value the app
    # should have checked first: a bug, left to the 500 handler.
    # (app/nul.py refuses NUL in what arrives; this catches text from anywhere else, in a
    # text column or, as `\u0000`, in a JSON one.)
    # A lone surrogate (`\ud800`) in JSON text is refused the same way.
    said = str(exc.orig)
    if "surrogate" in said:
        return _unstorable(request, N_("problem.lone_surrogate"))
    if "NUL" not in said and "\\u0000" not in said:
        raise exc
    return _unstorable(request, N_("problem.nul_character"))


async def _unexpected(request: Request, _exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem(request, status=500, title_key=N_("problem.internal"))


async def _http(request: Request, exc: StarletteHTTPException) -> Response:
    headers = getattr(exc, "headers", None)
    if exc.status_code == 405:
        headers = {**(headers or {}), "Allow": ", ".join(allowed_methods(request))}
    title_key = {
        404: N_("problem.not_found"),
        405: N_("problem.method_not_allowed"),
        401: N_("problem.unauthorized"),
        403: N_("problem.forbidden"),
    }.get(exc.status_code, N_("problem.bad_request"))
    return problem(
        request,
        status=exc.status_code,
        title_key=title_key,
        headers=headers,
    )


# Exception class → its handler (Starlette picks the nearest class in the exception's MRO).
HANDLERS: tuple[tuple[type[Exception], Callable[[Request, Any], Awaitable[Response]]], ...] = (
    (AppError, _app_error),
    (RequestValidationError, _validation),
    (OperationalError, _database_down),
    (PoolTimeout, _pool_busy),
    (DataError, _nul_character),
    (UnicodeEncodeError, _lone_surrogate),
    (Exception, _unexpected),
    (StarletteHTTPException, _http),
)


def install_error_handlers(app: FastAPI) -> None:
    for exc_class, handler in HANDLERS:
        app.add_exception_handler(exc_class, handler)
