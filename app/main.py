"""The FastAPI application, built by `create_app` (uvicorn runs it with --factory)."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

from fastapi import APIRouter, Depends, FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from app.api.auth import router as auth_api
from app.api.callbacks import router as callbacks_router
from app.api.cases import router as cases_router
from app.api.clock import clock_router
from app.api.dashboard import exports as dashboard_exports
from app.api.dashboard import router as dashboard_router
from app.api.drafts import api as intake_api
from app.api.health import router as health_router
from app.api.idempotency import install_replay
from app.api.institution_admin import router as institutions_admin
from app.api.institutions import router as institutions_router
from app.api.instructions import router as dispatch_router
from app.api.legal import router as legal_router
from app.api.openapi import install_openapi
from app.api.people import router as people_admin
from app.api.portal import router as portal_api
from app.api.served_docs import router as served_docs
from app.api.tokens import router as token_admin
from app.api.trace import router as trace_router
from app.cases.validation import warm_up
from app.config import Settings, get_settings
from app.db import make_engine, make_sessionmaker
from app.dispatch.broker import make_client
from app.dispatch.publish import Publisher
from app.errors import install_error_handlers
from app.flows import Rules
from app.health.requests import RequestTimer, request_latency
from app.middleware import AdmissionLimit, BodyFirst, BodyLimit, RetryReads, SecurityHeaders
from app.nul import refuse_nul
from app.pages.admin import router as people_pages
from app.pages.dashboard import router as dashboard_pages
from app.pages.intake import router as intake_pages
from app.pages.login import router as auth_pages
from app.pages.my_cases import router as my_cases_pages
from app.pages.portal import router as portal_pages
from app.pages.router import router as pages_router
from app.pages.status import router as status_pages
from app.pages.streams import StreamCaps
from app.privacy import redact_access_log

STATIC_DIR = Path(__file__).with_name("static")
SWAGGER_PAGE = (Path(__file__).parent / "templates" / "swagger.html").read_text(encoding="utf-8")

# Every router the app serves; the route-by-role test walks these.
# In this order a request's path is matched against them, 4-30 us each: the hottest path, an
# institution's callback, comes first (it costs some 0.1 ms less than in its place among the
# API's routers, where it was matched after ten of them).
ROUTERS: tuple[APIRouter, ...] = (
    callbacks_router,
    health_router,
    auth_pages,
    auth_api,
    people_admin,
    token_admin,
    people_pages,
    pages_router,
    institutions_router,
    institutions_admin,
    cases_router,
    dispatch_router,
    trace_router,
    legal_router,
    clock_router,
    intake_api,
    intake_pages,
    status_pages,
    my_cases_pages,
    dashboard_router,
    dashboard_exports,
    dashboard_pages,
    served_docs,
    portal_api,
    portal_pages,
)

DESCRIPTION = """
The rapid stop-payment service: call-takers capture a fraud report once, and the service
stops the money at every bank and payment institution it reached.

**Authentication**: people log in at `/login` (session cookie; API calls from pages send
`X-CSRF-Token`). API clients get a bearer token from `POST /api/v1/auth/tokens` (or from an
admin, `POST /api/v1/admin/users/{username}/tokens`) and send `Authorization: Bearer <token>`.
A token carries scopes (`cases:read`, `cases:write`, `holds:write`, `admin`, `pii:reveal`),
within what its user's role allows; each operation's `security` names the scope its token
needs. `pii:reveal` (personal data in clear) is granted only when asked for by name.

**Errors** are RFC 9457 `application/problem+json`; validation errors list each field's path
and message in the caller's language (`Accept-Language: zh-CN` or `en`).
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    settings.check()
    database_url, broker_url = settings.require_urls()
    engine = make_engine(
        database_url, pool_size=settings.db_pool_size, max_overflow=settings.db_max_overflow
    )
    publisher = Publisher(make_client(settings), broker_url)
    app = FastAPI(
        title="Rapid stop-payment service",
        version="1",
        description=DESCRIPTION,
        docs_url=None,
        redoc_url=None,
        lifespan=_lifespan(engine, publisher),
        # Before any route's own work, the log-in included: no text with a NUL gets further.
        dependencies=[Depends(refuse_nul)],
    )
    app.state.settings = settings
    app.state.rules = Rules.from_settings(settings)
    app.state.engine = engine
    app.state.sessionmaker = make_sessionmaker(engine)
    app.state.publisher = publisher

    install_error_handlers(app)
    install_replay(app)
    install_openapi(app)
    redact_access_log()
    app.state.stream_caps = StreamCaps(
        per_user=settings.max_streams_per_user,
        per_credential=settings.max_streams_per_credential,
    )
    _add_middleware(app, settings)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_api_route("/docs", docs, include_in_schema=False)
    for router in ROUTERS:
        app.include_router(router)
    return app


def _freeze_heap() -> None:
    """Put what the start-up loaded (modules, classes, templates: some 130,000 objects) out
    of the garbage collector's sight, once per process: each full collection walked all of
    it, 60-170 ms in the middle of a page that makes many objects (a big case's page;
    BENCHMARKS.md, Dashboard)."""
    if gc.get_freeze_count() == 0:
        gc.collect()
        gc.freeze()


def _lifespan(
    engine: Engine, publisher: Publisher
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        warm_up()
        _freeze_heap()
        yield
        publisher.close()
        engine.dispose()

    return lifespan


def _add_middleware(app: FastAPI, settings: Settings) -> None:
    # Innermost first: a read is run again inside its admission slot; a body is read in
    # full before the request waits for a slot.
    app.add_middleware(RetryReads, retries=settings.read_retries)
    app.add_middleware(
        AdmissionLimit,
        limit=settings.max_concurrent_requests,
        wait_s=settings.admission_wait_s,
    )
    app.add_middleware(
        BodyFirst,
        timeout_s=settings.body_timeout_s,
        per_address=settings.max_pending_bodies_per_address,
        min_rate=settings.body_min_bytes_per_s,
        budget=settings.max_pending_body_bytes,
    )
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeaders)
    # Added last, so outermost: the time a request waited for admission counts too.
    app.state.request_latency = request_latency()
    app.add_middleware(RequestTimer, histogram=app.state.request_latency)
    if settings.trusted_proxies:
        # The client's address from X-Forwarded-For, only when the peer is a trusted proxy
        # (uvicorn itself is run with proxy_headers off: it would trust 127.0.0.1).
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)


def docs() -> HTMLResponse:
    """GET /docs: our own vendored copy of Swagger UI (no CDN at run time), started by a
    script file rather than FastAPI's inline one, so the Content-Security-Policy needs no
    'unsafe-inline'."""
    return HTMLResponse(SWAGGER_PAGE)
