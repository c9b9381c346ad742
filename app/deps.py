"""The request dependencies of the API and the pages, as Annotated aliases: DbSession,
CurrentUser, RequireRole(...), VisibleCase, LegalNow, FormUser; and the few helpers both
turn a domain's refusal into a problem with."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Annotated, TypeVar

from fastapi import Depends, Form, Path, Request
from psycopg.errors import DeadlockDetected, SerializationFailure
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, SessionTransaction
from starlette.concurrency import run_in_threadpool

from app.auth.models import Role, Scope, User, UserSession
from app.auth.service import csrf_matches, resolve_api_token, resolve_session, touch_token
from app.cases.models import Case
from app.cases.reads import find_case
from app.cases.reveal import NothingToReveal, reveal_value
from app.cases.schemas import PersonalField
from app.config import Settings
from app.dispatch.publish import Publisher, attach_publisher
from app.errors import Forbidden, Invalid, NotFound, Unauthorized, request_language
from app.flows.rules import Rules
from app.i18n import Language, msg, t
from app.legal.clock import legal_now
from app.middleware import NO_STORE, mark_retryable

log = logging.getLogger(__name__)

SESSION_COOKIE = "stopay_session"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


async def get_settings_dep(request: Request) -> Settings:
    # async, though it awaits nothing: a plain def would be run in the thread pool, a hop
    # that costs more than the dependency itself (the same for get_rules).
    settings: Settings = request.app.state.settings
    return settings


async def get_db(request: Request) -> AsyncIterator[Session]:
    """One transaction per request, committed before the response is sent.

    Tasks buffered during the request are published once the commit has succeeded. Reads
    (GET) see one consistent snapshot, and write nothing in it: bookkeeping such as a
    token's last use is written after, in a short transaction of its own (_bookkeeping). A
    read that meets a serialization failure is marked for RetryReads to run again.

    async, with the database work in the thread pool: a session and its transaction begin
    without any I/O, so a write enters with no hop to a thread, and leaves with one.
    """
    session = request.app.state.sessionmaker()
    attach_publisher(session, request.app.state.publisher)
    transaction = session.begin()
    try:
        try:
            if request.method == "GET":
                # One snapshot for the whole answer: a case and its instructions read in
                # separate statements must not straddle a callback's commit.
                await run_in_threadpool(
                    session.connection, execution_options={"isolation_level": "REPEATABLE READ"}
                )
            yield session
        except BaseException:
            try:
                await run_in_threadpool(_end, request, session, transaction, ok=False)
            finally:
                session.close()  # cancelled on the way: closed here (at once if it was done)
            raise
        await run_in_threadpool(_end, request, session, transaction, ok=True)
    except OperationalError as exc:
        if isinstance(exc.orig, RETRYABLE):
            mark_retryable(request.scope)
        raise


def _end(request: Request, session: Session, transaction: SessionTransaction, *, ok: bool) -> None:
    """Commit (then the bookkeeping) or roll back, and give the connection back."""
    try:
        if ok:
            transaction.commit()
            _bookkeeping(request, session)
        else:
            transaction.rollback()
    finally:
        session.close()


RETRYABLE = (SerializationFailure, DeadlockDetected)
T = TypeVar("T")


@dataclass(frozen=True)
class OneHopWriter:
    """Writes for a hot path with no user behind it (an institution's callback), where
    DbSession's two hops to the thread pool (the route, then the commit) cost more CPU than
    the work: the work and its commit in one hop."""

    sessionmaker: Callable[[], Session]
    publisher: Publisher

    async def run(self, work: Callable[[Session], T]) -> T:
        """`work` in a transaction of its own, committed before the answer leaves (rolled
        back if it raises); tasks it buffers are published after the commit, as DbSession's."""
        return await run_in_threadpool(self._run, work)

    def _run(self, work: Callable[[Session], T]) -> T:
        session = self.sessionmaker()
        attach_publisher(session, self.publisher)
        try:
            with session.begin():
                return work(session)
        finally:
            session.close()


async def one_hop_writer(request: Request) -> OneHopWriter:
    return OneHopWriter(request.app.state.sessionmaker, request.app.state.publisher)


OneHop = Annotated[OneHopWriter, Depends(one_hop_writer)]


def _bookkeeping(request: Request, session: Session) -> None:
    """Writes that must never fail nor slow the request they are about."""
    token_id = getattr(request.state, "touch_token", None)
    if token_id is None:
        return
    try:
        with session.begin():
            session.connection(execution_options={"isolation_level": "READ COMMITTED"})
            touch_token(session, token_id=token_id)
    except SQLAlchemyError as exc:
        log.warning("token last use not written: %s", str(exc).splitlines()[0])


def _no_store(request: Request) -> None:
    setattr(request.state, NO_STORE, True)


# On a route whose answer carries a secret (a new token, a callback key): never cached.
NoStore = Depends(_no_store)
AppSettings = Annotated[Settings, Depends(get_settings_dep)]


async def get_rules(request: Request) -> Rules:
    rules: Rules = request.app.state.rules
    return rules


# The reader's language, for a page that formats outside its templates (which get `lang`
# from the renderer). Declare it after the route's user: dependencies run in order, and the
# guard is what records the user's own setting for request_language to read.
Lang = Annotated[Language, Depends(request_language)]


# The rules from settings, read once when the app was made (app/flows/rules.py).
AppRules = Annotated[Rules, Depends(get_rules)]
# scope="function": the commit happens before the answer leaves, so an acknowledged
# write is a committed write.
DbSession = Annotated[Session, Depends(get_db, scope="function")]


@dataclass(frozen=True)
class Principal:
    """Who is calling: the user, and the session when they came with a cookie.

    `scopes` is what their bearer token may do; None for a person in the browser, whose
    role alone decides.
    """

    user: User
    session: UserSession | None

    @property
    def credential_key(self) -> str:
        """Names the token or log-in session (never its value), e.g. to count its streams."""
        return self.credential or f"session:{self.session.id if self.session else ''}"

    @property
    def csrf_token(self) -> str:
        """What our pages put in their forms' hidden field; none for a bearer token."""
        return self.session.csrf_token if self.session else ""

    scopes: frozenset[Scope] | None = None
    credential: str = ""


def get_principal(request: Request, db: DbSession) -> Principal:
    authorization = request.headers.get("authorization", "")
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() == "bearer" and credentials:
        grant = resolve_api_token(db, token=credentials.strip())
        if grant is None:
            raise Unauthorized(msg("auth.bad_token"), headers={"WWW-Authenticate": "Bearer"})
        request.state.language = grant.user.language
        if grant.stale:
            request.state.touch_token = grant.token_id
        return Principal(
            user=grant.user, session=None, scopes=grant.scopes, credential=grant.credential
        )
    cookie = request.cookies.get(SESSION_COOKIE)
    resolved = resolve_session(db, token=cookie) if cookie else None
    if resolved is None:
        raise Unauthorized(msg("auth.missing"), headers={"WWW-Authenticate": "Bearer"})
    user, session = resolved
    request.state.language = user.language
    # A cookie rides along on cross-site requests; API calls made with one must prove
    # they come from our own pages. Form posts check their hidden field (CsrfForm).
    if request.method in UNSAFE_METHODS and request.url.path.startswith("/api/"):
        sent = request.headers.get("x-csrf-token", "")
        if not csrf_matches(sent, session.csrf_token):
            raise Forbidden(t("auth.csrf", user.language))  # type: ignore[arg-type]
    return Principal(user=user, session=session)


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def get_current_user(principal: CurrentPrincipal) -> User:
    return principal.user


CurrentUser = Annotated[User, Depends(get_current_user)]


def RequireRole(  # noqa: N802 - reads as a type
    *roles: Role, scope: Scope | None
) -> Callable[[Principal], User]:
    """A dependency that lets through only users holding one of `roles`.

    A bearer token must carry `scope` too (None: any valid token will do); a person in the
    browser needs only the role. Every route's guard says its scope, so none is forgotten.
    """
    allowed = frozenset(roles)

    def check(principal: CurrentPrincipal) -> User:
        user = principal.user
        if Role(user.role) not in allowed:
            raise Forbidden(msg("auth.role", roles=", ".join(sorted(allowed))))
        if scope is not None and principal.scopes is not None and scope not in principal.scopes:
            # RFC 6750 §3.1: tells the client which scope a token for this would need.
            challenge = f'Bearer error="insufficient_scope", scope="{scope.value}"'
            raise Forbidden(
                msg("auth.scope", scope=scope.value),
                headers={"WWW-Authenticate": challenge},
                extra={"scope": scope.value},
            )
        return user

    check.required_roles = allowed  # type: ignore[attr-defined]
    check.required_scope = scope  # type: ignore[attr-defined]
    return check


ANY_ROLE = (Role.call_taker, Role.supervisor, Role.admin)
# The guards by name, for a route that needs only the check: `dependencies=[Depends(...)]`.
# The aliases below take the same callables, so a route naming both runs the check once.
# Signed in as anyone, an institution's user too (who am I, language, log out).
require_signed_in = RequireRole(*ANY_ROLE, Role.institution, scope=None)
require_any_user = RequireRole(*ANY_ROLE, scope=Scope.cases_read)
require_intake = RequireRole(Role.call_taker, Role.supervisor, scope=Scope.cases_write)
require_supervisor = RequireRole(Role.supervisor, Role.admin, scope=Scope.cases_read)
require_supervisor_action = RequireRole(Role.supervisor, Role.admin, scope=Scope.holds_write)
require_admin = RequireRole(Role.admin, scope=Scope.admin)
# Personal data in clear: a token needs `pii:reveal`, which `cases:read` does not imply.
require_revealer = RequireRole(Role.supervisor, Role.admin, scope=Scope.pii_reveal)

# A partner institution's own user: its own view, and rotating its own callback secret.
require_institution_user = RequireRole(Role.institution, scope=Scope.institution_read)
require_institution_rotate = RequireRole(Role.institution, scope=Scope.institution_rotate)

# Signed in with any role; a token with any scope (who am I, and the pages' own forms).
SignedIn = Annotated[User, Depends(require_signed_in)]
AnyUser = Annotated[User, Depends(require_any_user)]
IntakeUser = Annotated[User, Depends(require_intake)]
# Supervisors read the dashboard and act on the legal clock (SupervisorAction).
Supervisor = Annotated[User, Depends(require_supervisor)]
SupervisorAction = Annotated[User, Depends(require_supervisor_action)]
Admin = Annotated[User, Depends(require_admin)]
Revealer = Annotated[User, Depends(require_revealer)]
InstitutionUser = Annotated[User, Depends(require_institution_user)]
InstitutionRotator = Annotated[User, Depends(require_institution_rotate)]


def get_visible_case(
    db: DbSession,
    user: CurrentUser,
    case_no: Annotated[str, Path(max_length=32, examples=["ZF-20261122-000123"])],
) -> Case:
    """Load-or-404: a case the caller's unit may see (others look exactly like missing ones).

    The route's own guard says which roles and which token scope it needs.
    """
    case = find_case(db, case_no=case_no, user=user)
    if case is None:
        raise NotFound(msg("case.not_found", case_no=case_no))
    return case


VisibleCase = Annotated[Case, Depends(get_visible_case)]


def revealed_value(
    db: DbSession,
    *,
    case: Case,
    field: PersonalField,
    account_id: int | None,
    user: User,
) -> str:
    """`reveal_value`, its refusals as problems: for the API and the dashboard's button."""
    if field == PersonalField.account_no and account_id is None:
        message = msg("reveal.account_required")
        raise Invalid(
            message,
            errors=[{"field": "account_id", "message": message, "type": "reveal.account_required"}],
        )
    try:
        return reveal_value(db, case=case, field=field, account_id=account_id, user=user)
    except NothingToReveal as exc:
        raise NotFound(msg("reveal.nothing", case_no=case.case_no)) from exc


CsrfField = Annotated[str, Form(max_length=100)]


def _csrf_checked(principal: Principal, sent: str) -> User:
    session = principal.session
    if session is None or not csrf_matches(sent, session.csrf_token):
        raise Forbidden(t("auth.csrf", principal.user.language))  # type: ignore[arg-type]
    return principal.user


def csrf_form(principal: CurrentPrincipal, _user: SignedIn, csrf_token: CsrfField = "") -> User:
    """Form posts from our pages carry the session's CSRF token in a hidden field."""
    return _csrf_checked(principal, csrf_token)


def admin_csrf_form(principal: CurrentPrincipal, _admin: Admin, csrf_token: CsrfField = "") -> User:
    """The admin pages' form posts: the admin role first (403), then the CSRF field (403)."""
    return _csrf_checked(principal, csrf_token)


def institution_csrf_form(
    principal: CurrentPrincipal, _user: InstitutionRotator, csrf_token: CsrfField = ""
) -> User:
    """An institution user's form post (rotating its secret): the role, then the CSRF field."""
    return _csrf_checked(principal, csrf_token)


FormUser = Annotated[User, Depends(csrf_form)]
AdminForm = Annotated[User, Depends(admin_csrf_form)]
InstitutionForm = Annotated[User, Depends(institution_csrf_form)]


def _legal_now_dep(db: DbSession, settings: AppSettings) -> dt.datetime:
    return legal_now(db, settings)


LegalNow = Annotated[dt.datetime, Depends(_legal_now_dep)]


def client_address(request: Request) -> str:
    # The peer's address; X-Forwarded-For only when the peer is one of the proxies named in
    # STOPAY_TRUSTED_PROXIES (app/main.py), so a client cannot choose the address that its
    # failures count against, nor the one the audit trail records.
    return request.client.host if request.client else "unknown"
