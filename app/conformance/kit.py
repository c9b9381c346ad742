"""The kit's entry point: the institution from the registry, the receiver, the run, the table."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from app.cases.validation import Directory
from app.conformance.client import Target, sample_accounts
from app.conformance.receiver import Receiver
from app.conformance.report import CheckResult, exit_code, render_table
from app.conformance.run import Limits, run_checks
from app.institutions.models import Institution, InstitutionKind
from app.institutions.schemas import RegistryEntry
from app.institutions.service import derive_callback_secret, load_registry


@dataclass(frozen=True)
class Options:
    """What `stopay conformance` was asked (see its --help)."""

    code: str
    url: str
    secret: str | None = None
    listen: tuple[str, int] = ("127.0.0.1", 0)
    callback_base: str | None = None
    accounts: Sequence[str] = ()
    holder_name: str = "测试"
    sla_s: float | None = None
    retry_wait_s: float = 30.0
    settle_s: float = 3.0
    burst: int = 200
    timeout_s: float = 10.0


def directory(registry: Sequence[RegistryEntry]) -> Directory:
    """Intake's directory of institutions, built from the registry file (no database)."""
    return Directory(
        [
            Institution(
                id=i,
                code=e.code,
                kind=e.kind,
                name_zh=e.name_zh,
                name_en=e.name_en,
                bin_prefixes=list(e.bin_prefixes),
            )
            for i, e in enumerate(registry, start=1)
        ]
    )


async def check(options: Options, *, secret_key: str) -> list[CheckResult]:
    """Every check's result against the institution `options.code`.

    Raises LookupError when the code is not in the registry.
    """
    registry = load_registry()
    entry = next((e for e in registry if e.code == options.code), None)
    if entry is None:
        raise LookupError(f"no institution {options.code!r} in the registry")
    secret = options.secret or derive_callback_secret(secret_key=secret_key, code=entry.code)
    limits = Limits(
        sla_s=options.sla_s if options.sla_s is not None else float(entry.sla_s),
        retry_wait_s=options.retry_wait_s,
        settle_s=options.settle_s,
        burst=options.burst,
        timeout_s=options.timeout_s,
    )
    kind = InstitutionKind(entry.kind)
    with Receiver(*options.listen) as receiver:
        host, port = receiver.address
        base = (options.callback_base or f"http://{host}:{port}").rstrip("/")
        target = Target(
            code=entry.code,
            kind=kind,
            url=options.url,
            callback_url=f"{base}/callbacks/{entry.code}",
            accounts=list(options.accounts) or sample_accounts(entry.bin_prefixes, kind),
            holder_name=options.holder_name,
        )
        return await run_checks(
            target, receiver, secret=secret, directory=directory(registry), limits=limits
        )


async def run(options: Options, *, secret_key: str) -> tuple[str, int]:
    """The table to print and the exit code."""
    results = await check(options, secret_key=secret_key)
    return render_table(results), exit_code(results)
