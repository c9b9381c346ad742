"""`stopay conformance`: run the conformance kit against an institution's endpoint."""

from __future__ import annotations

import asyncio
import sys

import click

from app.config import get_settings


def _listen(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise click.BadParameter("HOST:PORT, e.g. 127.0.0.1:0 or 0.0.0.0:9000")
    return host, int(port)


@click.command("conformance")
@click.option("--institution", "code", required=True, help="The institution's registry code.")
@click.option(
    "--url", required=True, help="Its base URL: we POST {URL}/institutions/CODE/instructions."
)
@click.option(
    "--secret",
    default=None,
    help="Its callback secret (whsec_…); default: the demo secret `stopay seed` derives "
    "from STOPAY_SECRET_KEY.",
)
@click.option(
    "--listen",
    default="127.0.0.1:0",
    show_default=True,
    help="Where the kit takes callbacks (port 0: any free one).",
)
@click.option(
    "--callback-base",
    default=None,
    help="The URL the institution reaches --listen at (behind a tunnel or NAT); default http://HOST:PORT.",
)
@click.option(
    "--account",
    "accounts",
    multiple=True,
    help="A test account number the institution accepts (repeat); default: cards with its BIN.",
)
@click.option(
    "--holder-name",
    default="测试",
    show_default=True,
    help="The holder name sent with every account.",
)
@click.option(
    "--sla-s",
    type=float,
    default=None,
    help="Seconds within which the first callback must come; default: the registry's sla_s.",
)
@click.option(
    "--retry-wait-s",
    type=float,
    default=30.0,
    show_default=True,
    help="Seconds to wait for the retry after our 503.",
)
@click.option(
    "--settle-s",
    type=float,
    default=3.0,
    show_default=True,
    help="Seconds to wait for late callbacks (a second effect) before judging.",
)
@click.option(
    "--burst",
    type=click.IntRange(1, 10_000),
    default=200,
    show_default=True,
    help="Requests at most while looking for a 429.",
)
@click.option(
    "--timeout-s",
    type=float,
    default=10.0,
    show_default=True,
    help="Seconds to wait for each answer.",
)
def conformance(
    code: str,
    url: str,
    secret: str | None,
    listen: str,
    callback_base: str | None,
    accounts: tuple[str, ...],
    holder_name: str,
    sla_s: float | None,
    retry_wait_s: float,
    settle_s: float,
    burst: int,
    timeout_s: float,
) -> None:
    """Check an institution's implementation of the protocol before it goes live: every rule
    of docs/institution-protocol.md as a named check; exit 1 if any fails."""
    from app.conformance.kit import Options, run

    host, port = _listen(listen)
    options = Options(
        code=code.strip().upper(),
        url=url,
        secret=secret,
        listen=(host, port),
        callback_base=callback_base,
        accounts=accounts,
        holder_name=holder_name,
        sla_s=sla_s,
        retry_wait_s=retry_wait_s,
        settle_s=settle_s,
        burst=burst,
        timeout_s=timeout_s,
    )
    try:
        table, code_ = asyncio.run(run(options, secret_key=get_settings().secret_key))
    except LookupError as exc:
        raise click.BadParameter(str(exc), param_hint="--institution") from exc
    click.echo(table)
    sys.exit(code_)
