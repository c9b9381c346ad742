"""The `audit` group: check the tamper-evident trail."""

from __future__ import annotations

import sys

import click

from app.cli.database import admin_session
from app.config import get_settings


@click.group()
def audit() -> None:
    """The tamper-evident audit trail."""


@audit.command("verify")
@click.option("--seal/--no-seal", default=True, help="Seal waiting events first.")
def audit_verify(seal: bool) -> None:
    """Recompute every seal, name events in closed ranges and ids never written, and hold the
    chain against the latest checkpoint; exit 1 if anything does not hold."""
    from app.audit import chain
    from app.audit.keys import Keyring

    settings = get_settings()
    try:
        keys = Keyring.from_settings(settings)
    except (RuntimeError, OSError) as exc:
        raise click.ClickException(f"no audit key: {exc}") from exc
    if seal:
        with admin_session() as db:
            while chain.seal(db, keys=keys, close_after_s=settings.audit_close_after_s):
                pass
    with admin_session() as db:
        verdict = chain.verify(
            db,
            keys=keys,
            checkpoints=settings.audit_checkpoint_path,
            checkpoint_interval_s=settings.audit_checkpoint_interval_s,
        )
    if not settings.audit_checkpoint_path.exists():
        click.echo(
            f"No checkpoint file at {settings.audit_checkpoint_path}: a cut tail would not show."
        )
    for first, last in verdict.holes:
        ids = str(first) if first == last else f"{first}-{last}"
        click.echo(f"Ids never written (rolled back before sealing): {ids}")
    if verdict.broken_at is not None:
        click.echo(
            f"BROKEN at seal {verdict.broken_at}: {verdict.reason} "
            f"({verdict.sealed} links hold before it).",
            err=True,
        )
    for finding in verdict.findings:
        click.echo(f"TAMPERED: {finding}", err=True)
    if not verdict.intact:
        sys.exit(1)
    click.echo(
        f"Intact: {verdict.sealed} events sealed, {verdict.unsealed} not sealed yet; "
        f"ids up to {verdict.closed_upto} closed."
    )
