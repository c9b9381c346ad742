"""The `stopay` command: run everything, or one process at a time, and admin chores.

One module per group of commands; this one gathers them under `cli`.
"""

from __future__ import annotations

import click

from app.cli.admin import create_token, create_unit, create_user, institution_user
from app.cli.audit import audit
from app.cli.background import basic_auth_ok, beat, flower, node_name, worker
from app.cli.conformance import conformance
from app.cli.database import migrate, seed
from app.cli.serve import api, run, simulator

__all__ = [
    "basic_auth_ok",
    "cli",
    "main",
    "node_name",
]


@click.group()
def cli() -> None:
    """Rapid stop-payment service."""


for command in (
    run,
    api,
    worker,
    beat,
    flower,
    simulator,
    migrate,
    seed,
    create_user,
    create_unit,
    create_token,
    institution_user,
    audit,
    conformance,
):
    cli.add_command(command)


def main() -> None:
    cli()
