"""A bank integrates from the served docs alone (issue 18, "Done when").

A minimal institution (tests/conformance/docs_bank.py) is built from the OpenAPI document
the service serves, and nothing else of ours; `stopay conformance` is run against it.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from decimal import Decimal
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from app.callbacks.rules import check_outcome
from app.conformance.kit import check
from app.conformance.report import CHECKS, Status
from app.dispatch.models import Instruction
from app.dispatch.wire import parse_outcome
from tests.conformance.conftest import SECRET_KEY, options
from tests.conformance.docs_bank import BankConfig, DocsBank
from tests.conformance.docs_contract import Contract
from tests.simulator.servers import ThreadedServer


@pytest.fixture
def contract(client: TestClient) -> Contract:
    """The protocol as `/openapi.json` states it, read as a bank's developer would."""
    answer = client.get("/openapi.json")
    assert answer.status_code == 200
    return Contract(answer.json())


def new_secret() -> str:
    """A `whsec_` secret, as the centre hands one over."""
    return "whsec_" + base64.b64encode(os.urandom(32)).decode()


def onward_to(contract: Contract) -> tuple[str, str]:
    """Where the money went on: the receiving account of the document's own example."""
    [onward] = contract.examples["stopped_partial"]["data"]["onward_transfers"]
    return onward["institution"], onward["account_no"]


@contextmanager
def served(
    contract: Contract, code: str, *, platform: bool = False
) -> Iterator[tuple[DocsBank, str]]:
    """The bank, and its base URL."""
    config = BankConfig(
        code=code, national_platform=platform, secret=new_secret(), onward_to=onward_to(contract)
    )
    bank = DocsBank(contract, config)
    with ThreadedServer(bank.app) as server:
        yield bank, server.url


def refused_by_the_service(bank: DocsBank, *, since: dt.datetime) -> list[str]:
    """What the service's own rules for an outcome (app/callbacks/rules.py, which the kit
    leaves to the service) would refuse in the outcomes the bank sent: amounts against the
    amount asked and the balance, the outcome for the kind, the time it took effect."""
    assert bank.sent
    now = dt.datetime.now(dt.UTC)
    found = []
    for event in bank.sent:
        report = parse_outcome(event)
        body = bank.instruction(report.idempotency_key)
        asked = Decimal(str(body["amount"])) if body["amount"] is not None else None
        instruction = Instruction(kind=body["kind"], amount_requested=asked, created_at=since)
        problems = check_outcome(instruction, report, now=now, skew=dt.timedelta(seconds=300))
        found += [f"{report.outcome.value} {p.path}: {p.key} {p.params}" for p in problems]
    return found


@pytest.mark.parametrize(("code", "platform"), [("CCB", False), ("NFPP", True)])
def test_an_institution_built_from_the_served_document_passes_the_kit(
    contract: Contract, code: str, platform: bool
) -> None:
    with served(contract, code, platform=platform) as (bank, url):
        given = replace(options(url, code), secret=bank.config.secret)
        started = dt.datetime.now(dt.UTC)
        results = asyncio.run(check(given, secret_key=SECRET_KEY))
        assert bank.problems == []
    assert refused_by_the_service(bank, since=started) == []
    found = {r.name: r.status for r in results}
    expected = dict.fromkeys(CHECKS, Status.passed)
    if platform:
        # A `register` names no account: no money moves on, so no onward transfer is reported.
        expected["onward-transfers"] = Status.not_observed
    assert found == expected, [r for r in results if r.status is not Status.passed]


def test_it_takes_only_what_the_document_s_schemas_take(contract: Contract) -> None:
    """Its checks are the document's schemas, not a pass-through."""
    body: dict[str, Any] = {
        "kind": "stop_payment",
        "case_no": "ZF-20261122-000123",
        "account_no": "6217000201234567897",
        "holder_name": "刘某",
        "amount": "455400.00",
        "transaction_time": "2026-11-22T01:20:00Z",
        "reference": None,
        "document_no": None,
        "callback_url": "http://127.0.0.1:9/api/v1/callbacks/CCB",
    }
    path = contract.path.replace("{code}", "CCB")
    with served(contract, "CCB") as (bank, url), httpx.Client(base_url=url) as http:
        no_offset = body | {"transaction_time": "2026-11-22T01:20:00"}
        refused = http.post(path, json=no_offset, headers={"Idempotency-Key": "k-1"})
        assert refused.status_code == 422
        assert "transaction_time" in refused.json()["detail"]
        taken = http.post(path, json=body, headers={"Idempotency-Key": "k-1"})
        assert taken.status_code == 202
        assert taken.json() == {"reference": "CCB-000001", "status": "accepted"}
        # The same body by value: amounts and times compare as numbers and instants.
        again = body | {"amount": "455400.0", "transaction_time": "2026-11-22T09:20:00+08:00"}
        replay = http.post(path, json=again, headers={"Idempotency-Key": "k-1"})
        assert replay.json() == taken.json()
        assert bank.contract.key.problems("a key")
