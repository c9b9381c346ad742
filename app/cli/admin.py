"""Admin chores on the configured database: units, users and API tokens."""

from __future__ import annotations

import click

from app.auth.models import Scope
from app.cli.database import admin_session
from app.config import get_settings


@click.command("create-user")
@click.option("--username", required=True)
@click.option("--display-name", required=True)
@click.option("--role", type=click.Choice(["call_taker", "supervisor", "admin"]), required=True)
@click.option("--unit", "unit_code", required=True, help="Code of an existing unit.")
@click.option("--language", type=click.Choice(["zh-CN", "en"]), default="zh-CN")
@click.password_option()
def create_user(
    username: str, display_name: str, role: str, unit_code: str, language: str, password: str
) -> None:
    """Add a person who can log in."""
    from sqlalchemy import select

    from app.auth.models import Unit, User
    from app.auth.service import hash_password

    with admin_session() as db:
        unit = db.scalar(select(Unit).where(Unit.code == unit_code))
        if unit is None:
            raise click.BadParameter(f"no unit {unit_code!r}", param_hint="--unit")
        db.add(
            User(
                username=username,
                display_name=display_name,
                password_hash=hash_password(password),
                role=role,
                unit_id=unit.id,
                language=language,
            )
        )
    click.echo(f"User {username} created.")


@click.command("create-unit")
@click.option("--code", required=True)
@click.option("--name-zh", required=True)
@click.option("--name-en", required=True)
@click.option(
    "--kind",
    type=click.Choice(["municipal_centre", "district_centre", "police_station"]),
    required=True,
)
@click.option("--parent", default=None, help="Code of the parent unit.")
def create_unit(code: str, name_zh: str, name_en: str, kind: str, parent: str | None) -> None:
    """Add a unit (anti-fraud centre or police station) to the tree."""
    from sqlalchemy import select

    from app.auth.models import Unit

    with admin_session() as db:
        parent_id = None
        if parent is not None:
            parent_id = db.scalar(select(Unit.id).where(Unit.code == parent))
            if parent_id is None:
                raise click.BadParameter(f"no unit {parent!r}", param_hint="--parent")
        db.add(Unit(code=code, name_zh=name_zh, name_en=name_en, kind=kind, parent_id=parent_id))
    click.echo(f"Unit {code} created.")


@click.command("create-token")
@click.option("--username", required=True)
@click.option("--name", default="api client", help="What the token is for.")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    type=click.Choice([scope.value for scope in Scope]),
    help="Repeat for each scope; by default every scope the user's role may hold "
    "but pii:reveal, which must be named.",
)
def create_token(username: str, name: str, scopes: tuple[str, ...]) -> None:
    """Print a new bearer token for an API client acting as USERNAME."""
    from sqlalchemy import select

    from app.auth.models import User
    from app.auth.service import ScopesBeyondRole, create_api_token

    settings = get_settings()
    wanted = [Scope(scope) for scope in scopes] or None
    with admin_session() as db:
        user = db.scalar(select(User).where(User.username == username))
        if user is None:
            raise click.BadParameter(f"no user {username!r}", param_hint="--username")
        try:
            token, _row = create_api_token(
                db, user=user, name=name, scopes=wanted, max_age_s=settings.api_token_max_age_s
            )
        except ScopesBeyondRole as exc:
            raise click.BadParameter(str(exc), param_hint="--scope") from exc
    click.echo(token)


@click.command("institution-user")
@click.argument("code")
@click.argument("username")
@click.option("--display-name", default=None, help="Default: the institution's code and 'desk'.")
@click.option("--unit", "unit_code", default=None, help="The managing unit (default: the root).")
@click.option("--language", type=click.Choice(["zh-CN", "en"]), default="zh-CN")
@click.option(
    "--new-secret/--no-new-secret",
    default=False,
    help="Also issue the institution's first callback secret and print it, once.",
)
@click.password_option()
def institution_user(
    code: str,
    username: str,
    display_name: str | None,
    unit_code: str | None,
    language: str,
    new_secret: bool,
    password: str,
) -> None:
    """Add USERNAME, a user of institution CODE: it sees that institution's own view only."""
    from app.db import utcnow
    from app.portal.users import Refused, create_institution_user, first_secret

    with admin_session() as db:
        try:
            _user, institution = create_institution_user(
                db,
                code=code,
                username=username,
                display_name=display_name or f"{code.upper()} desk",
                password=password,
                unit_code=unit_code,
                language=language,
            )
        except Refused as exc:
            raise click.BadParameter(str(exc)) from exc
        secret = first_secret(db, institution=institution, now=utcnow()) if new_secret else None
    click.echo(f"User {username} of {institution.code} created; it signs in at /institution.")
    if secret is not None:
        # To the terminal only, after the commit: never to a log.
        click.echo("Callback secret (shown once; hand it over in person or sealed):")
        click.echo(secret.secret)
