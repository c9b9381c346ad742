"""`stopay conformance` against the simulator: a full pass, and each broken rule found alone."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import httpx
import pytest
from click.testing import CliRunner

from app.cli import cli
from app.conformance.kit import check
from app.conformance.report import CHECKS, Status, exit_code
from tests.conformance.conftest import SECRET_KEY, options, set_profile


def statuses(simulator_url: str, code: str) -> dict[str, Status]:
    results = asyncio.run(check(options(simulator_url, code), secret_key=SECRET_KEY))
    assert [r.name for r in results] == list(CHECKS)
    return {r.name: r.status for r in results}


@pytest.mark.parametrize("code", ["CCB", "ALIPAY", "NFPP"])
def test_the_simulator_passes_every_check(
    simulator: httpx.Client, simulator_url: str, code: str
) -> None:
    set_profile(simulator, code)
    found = statuses(simulator_url, code)
    # The national platform registers cases: no account, so no onward transfer to check.
    expected = dict.fromkeys(CHECKS, Status.passed)
    if code == "NFPP":
        expected["onward-transfers"] = Status.not_observed
    assert found == expected


def test_the_command_prints_the_table_and_exits_zero_on_a_pass(
    simulator: httpx.Client, simulator_url: str
) -> None:
    set_profile(simulator, "CMB")
    result = CliRunner().invoke(cli, _args(simulator_url, "cmb"))
    assert result.exit_code == 0, result.output
    for name in CHECKS:
        assert f"{name} " in result.output
    assert "12 passed, 0 failed, 0 not observed" in result.output


def test_the_command_exits_one_when_a_check_fails(
    simulator: httpx.Client, simulator_url: str
) -> None:
    set_profile(simulator, "CMB", breaks={"unsigned_callbacks": True})
    result = CliRunner().invoke(cli, _args(simulator_url, "CMB"))
    assert result.exit_code == 1, result.output
    row = next(line for line in result.output.splitlines() if line.startswith("callback-signed"))
    assert "FAIL" in row
    assert "Missing required headers" in row
    assert "11 passed, 1 failed, 0 not observed" in result.output


def test_an_unknown_institution_is_a_usage_error(simulator_url: str) -> None:
    result = CliRunner().invoke(cli, _args(simulator_url, "NOPE"))
    assert result.exit_code == 2
    assert "no institution 'NOPE' in the registry" in result.output


def _args(simulator_url: str, code: str) -> list[str]:
    args = ["conformance", "--institution", code, "--url", simulator_url, "--sla-s", "5"]
    return [*args, "--retry-wait-s", "5", "--settle-s", "0.3", "--secret", _secret(code.upper())]


def _secret(code: str) -> str:
    from app.institutions.service import derive_callback_secret

    return derive_callback_secret(secret_key=SECRET_KEY, code=code)


@pytest.mark.parametrize(
    ("broken", "check_name"),
    [
        ("replay_applies_again", "idempotent-replay"),
        ("unsigned_callbacks", "callback-signed"),
        ("retry_changes_body", "callback-retry-same"),
        ("no_retry_after", "rate-limit-retry-after"),
        ("overstates_amount", "callback-body"),
    ],
)
def test_a_broken_rule_fails_exactly_its_check(
    simulator: httpx.Client, simulator_url: str, broken: str, check_name: str
) -> None:
    set_profile(simulator, "ICBC", breaks={broken: True})
    found = statuses(simulator_url, "ICBC")
    assert {name for name, status in found.items() if status is not Status.passed} == {check_name}
    assert found[check_name] is Status.failed


def test_a_bank_names_its_own_test_accounts(simulator: httpx.Client, simulator_url: str) -> None:
    set_profile(simulator, "CCB")
    given = replace(options(simulator_url, "CCB"), accounts=("6217000201234567897",))
    results = asyncio.run(check(given, secret_key=SECRET_KEY))
    assert all(r.status is Status.passed for r in results), results
    ledger = simulator.get("/admin/ledger", params={"entry": "applied"}).json()
    assert {entry["account_no"] for entry in ledger} == {"6217000201234567897"}


def test_no_429_within_the_burst_is_not_observed_and_not_a_failure(
    simulator: httpx.Client, simulator_url: str
) -> None:
    set_profile(simulator, "BOC", rate_limit_per_s=None)
    quick = replace(options(simulator_url, "BOC"), burst=30)
    results = {r.name: r for r in asyncio.run(check(quick, secret_key=SECRET_KEY))}
    verdict = results["rate-limit-retry-after"]
    assert verdict.status is Status.not_observed
    assert "no 429 in 30 requests" in verdict.detail
    assert exit_code(list(results.values())) == 0
