"""Admin endpoints (contract section 3), profiles and the `stopay simulator` command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from app.cli import cli
from app.institutions.service import load_registry
from simulator.profiles import DEFAULT_PROFILE_PATH, Breaks, ProfileBook, load_profile_file
from tests.simulator.peer import LEVEL1_CARD, Peer, new_key, only

YAML_SCENARIO = """
# a mule card with a little left
accounts:
  - institution: citic
    account_no: "6226900000000006"
    holder_name: 钱某
    balance: "1500.00"
    incoming:
      - {amount: "5000.00", at: 2026-11-22T08:00:00+08:00}
"""


def test_a_scenario_loads_as_yaml_and_replaces_accounts_as_json(peer: Peer) -> None:
    loaded = peer.http.post(
        "/admin/scenario", content=YAML_SCENARIO, headers={"content-type": "application/yaml"}
    )
    assert loaded.json() == {"accounts": 1}
    stop = {"account_no": "6226900000000006", "holder_name": "钱某", "amount": "5000.00"}
    stop |= {"transaction_time": "2026-11-22T00:01:00Z"}
    assert peer.outcome("CITIC", case_no="ZF-1", **stop)["amount_stopped"] == "1500.00"

    replacement = {
        "accounts": [
            {
                "institution": "CITIC",
                "account_no": "6226900000000006",
                "holder_name": "钱某",
                "balance": "5000.00",
            }
        ]
    }
    response = peer.http.post(
        "/admin/scenario",
        content=json.dumps(replacement),
        headers={"content-type": "application/json"},
    )
    assert response.json() == {"accounts": 1}
    assert peer.outcome("CITIC", case_no="ZF-1", **stop)["outcome"] == "stopped_full"


@pytest.mark.parametrize(
    "body",
    [
        "accounts: [{institution: NOPE, account_no: '1'}]",
        "accounts: [{institution: CCB, account_no: '1', balance: '-1.00'}]",
        "accounts: [{institution: CCB, account_no: '1', incoming: [{amount: 1, at: 2026-11-22}]}]",
        "accounts: [{institution: CCB, account_no: '1', colour: red}]",
        "[1, 2]",
        "accounts: [: :",
    ],
)
def test_a_bad_scenario_is_refused_and_loads_nothing(peer: Peer, body: str) -> None:
    response = peer.http.post("/admin/scenario", content=body)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


def test_reset_forgets_everything_but_the_start_up_scenarios(peer: Peer) -> None:
    key = new_key()
    peer.http.post("/admin/scenario", content=YAML_SCENARIO)
    peer.delivered(peer.instruct("CCB", key=key))
    peer.admin("outage", {"institution": "ABC", "mode": "refuse"})
    peer.admin("callbacks", {"mode": "fail"})
    peer.profile("CITIC", accounts=only("not_found"))

    assert peer.http.post("/admin/reset").json() == {"status": "reset"}

    assert peer.ledger() == []
    # The key is forgotten: another body under it is a new instruction.
    another = peer.instruction("CCB", account_no="110000000001", amount="1.00")
    assert peer.send("CCB", another, key=key).status_code == 202
    assert peer.send("ABC", peer.instruction("ABC")).status_code == 202
    # The loaded scenario is gone: the card is a seeded CITIC account again.
    peer.profile("CITIC", accounts=only("full"))
    seeded = peer.outcome(
        "CITIC", account_no="6226900000000006", holder_name="钱某", amount="5000.00"
    )
    assert seeded["amount_stopped"] == "5000.00"
    # The start-up scenarios are back, fresh: the level-1 card has its 350,000 again.
    level1 = peer.outcome("CCB", case_no="ZF-OTHER", account_no=LEVEL1_CARD)
    assert level1["amount_stopped"] == "350000.00"
    assert peer.receiver.deliveries()  # callbacks work again


def test_institutions_are_listed_with_their_effective_profiles(peer: Peer) -> None:
    peer.profile("TENPAY", processing_ms=[10, 20])
    listed = {i["code"]: i for i in peer.http.get("/institutions").json()}

    assert set(listed) == {e.code for e in load_registry()}
    assert listed["TENPAY"]["profile"]["processing_ms"] == [10, 20]
    assert listed["TENPAY"]["profile"]["ack_ms"] == [0, 5]
    assert listed["CCB"]["kind"] == "bank"
    assert listed["CCB"]["outage"] is None
    assert peer.http.get("/healthz").json() == {"status": "ok"}


def test_profile_changes_are_checked(peer: Peer) -> None:
    changed = peer.profile(None, processing_ms=[1, 2])
    assert changed["profile"]["processing_ms"] == [1, 2]
    assert changed["institution"] is None

    bad = [
        {"institution": "NOPE", "error_rate": 0.1},
        {"institution": "CCB", "error_rate": 1.5},
        {"institution": "CCB", "ack_ms": [5, 1]},
        {"institution": "CCB", "accounts": {"moved": 1.0}},  # the shares no longer sum to 1
        {"institution": "CCB", "colour": "red"},
        {"seed": "abc"},
    ]
    for body in bad:
        assert peer.http.post("/admin/profile", json=body).status_code in (404, 422), body
    listed = {i["code"]: i for i in peer.http.get("/institutions").json()}
    assert listed["CCB"]["profile"]["error_rate"] == 0


def test_the_shipped_profile_file_loads_for_every_institution() -> None:
    codes = [e.code for e in load_registry()]
    book = ProfileBook(load_profile_file(DEFAULT_PROFILE_PATH), codes=codes)
    for code in codes:
        profile = book.effective(code)
        assert 0 < profile.ack_ms[0] <= profile.ack_ms[1] <= 300
        assert profile.error_rate == profile.timeout_rate == 0
        assert profile.breaks == Breaks()  # the protocol is kept
    assert book.effective("ALIPAY").accounts.moved > book.effective("CCB").accounts.moved


def test_the_simulator_command_takes_profile_and_scenarios(tmp_path: Path) -> None:
    help_text = CliRunner().invoke(cli, ["simulator", "--help"]).output
    assert "--profile" in help_text
    assert "--scenario" in help_text

    bad = tmp_path / "bad.yaml"
    bad.write_text("accounts: [{institution: NOPE, account_no: '1'}]", encoding="utf-8")
    result = CliRunner().invoke(cli, ["simulator", "--scenario", str(bad)])
    assert result.exit_code == 2
    assert "NOPE" in result.output
