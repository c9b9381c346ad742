"""The actions menu of an account offers what the server would accept now, worded for the
account's hold; release is the one destructive action."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from app.dashboard.actions import Action, account_actions
from app.dispatch.schemas import InstructionRead
from app.i18n import t

NOW = dt.datetime(2026, 11, 22, 10, 0, tzinfo=dt.UTC)


def _i(id_: int, kind: str, state: str, outcome: str | None = None, **kw: Any) -> InstructionRead:
    held = outcome in {"stopped_full", "stopped_partial", "frozen_full", "frozen_partial"}
    values: dict[str, Any] = {
        "id": id_, "kind": kind, "state": state, "outcome": outcome, "institution": "CCB",
        "account_no": "6217000201234567897", "amount_requested": Decimal("500.00"),
        "amount_stopped": Decimal("500.00") if held else None, "balance": None,
        "mismatch_field": None, "institution_ref": None, "attempts": 1, "last_error": None,
        "created_at": NOW, "first_attempt_at": NOW, "acked_at": None, "completed_at": None,
        "effective_at": NOW - dt.timedelta(hours=1) if held else None,
        "expires_at": NOW + dt.timedelta(hours=47) if held else None, "escalated_at": None,
        "dispatch_delay_ms": None, "ack_ms": None, "completion_ms": None,
    }  # fmt: skip
    return InstructionRead(**(values | kw))


def _menu(*instructions: InstructionRead, suspect: bool = True) -> list[Action]:
    return account_actions(instructions, suspect=suspect, now=NOW, max_stops=2)


def _names(actions: list[Action]) -> list[str]:
    return [a.name for a in actions]


def test_a_stop_payment_holding_money_can_be_frozen_renewed_queried_or_released() -> None:
    actions = _menu(_i(1, "stop_payment", "done", "stopped_full"))
    assert _names(actions) == ["freeze", "renew", "query", "release"]
    freeze, renew, _, release = actions
    assert t(freeze.label, "en") == "Convert the stop-payment to a freeze"
    assert (freeze.field, freeze.path) == ("document_no", "freezes")
    assert t(renew.label, "en") == "Renew the stop-payment"
    assert renew.field is None, "renewing a stop-payment asks for no freeze document"
    assert t(release.label, "zh-CN") == "解除止付"
    assert [a.destructive for a in actions] == [False, False, False, True]


def test_a_freeze_in_force_is_renewed_with_a_document_and_its_money_can_be_returned() -> None:
    actions = _menu(
        _i(1, "stop_payment", "done", "stopped_full"),
        _i(2, "freeze", "done", "frozen_full"),
    )
    assert _names(actions) == ["renew", "query", "propose_return", "release"]
    renew = actions[0]
    assert (renew.field, t(renew.label, "en")) == ("document_no", "Renew the freeze (new document)")
    assert t(actions[-1].label, "en") == "Release the freeze"


def test_nothing_is_offered_while_a_hold_waits_for_its_answer() -> None:
    for state in ("pending", "sent", "escalated"):
        assert _menu(_i(1, "stop_payment", state)) == []
    waiting_release = (_i(1, "stop_payment", "done", "stopped_full"), _i(2, "release", "sent"))
    assert _menu(*waiting_release) == []


def test_an_account_nothing_holds_yet_can_be_frozen_outright_or_queried() -> None:
    assert _names(_menu()) == ["freeze", "query"]
    assert t(_menu()[0].label, "en") == "Freeze"


def test_an_empty_or_unknown_account_is_not_frozen_but_can_be_queried() -> None:
    for outcome in ("no_funds", "account_not_found", "mismatch", "rejected"):
        assert _names(_menu(_i(1, "stop_payment", "done", outcome))) == ["query"], outcome


def test_a_hold_that_ran_out_or_was_released_is_neither_renewed_nor_released() -> None:
    ran_out = _i(1, "stop_payment", "expired", "stopped_full", expires_at=NOW)
    assert _names(_menu(ran_out)) == ["freeze", "query"]
    released = _i(1, "stop_payment", "done", "stopped_full", released_at=NOW)
    assert _names(_menu(released)) == ["freeze", "query"]


def test_a_stop_payment_renewed_up_to_the_limit_is_not_offered_again() -> None:
    first = _i(1, "stop_payment", "expired", "stopped_full", expires_at=NOW)
    second = _i(2, "stop_payment", "done", "stopped_full")
    assert _names(_menu(first, second)) == ["freeze", "query", "release"]


def test_an_open_query_is_not_asked_again() -> None:
    held = _i(1, "stop_payment", "done", "stopped_full")
    assert "query" not in _names(_menu(held, _i(2, "query", "sent")))
    assert "query" in _names(_menu(held, _i(2, "query", "done", "answered")))


def test_the_victims_own_account_has_no_actions() -> None:
    assert _menu(_i(1, "stop_payment", "done", "stopped_full"), suspect=False) == []
