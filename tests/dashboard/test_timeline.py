"""The timeline in words: every kind the code records on a case reads as a sentence in both
languages, with links to the case's accounts and instructions and never a dict, a list or a
key."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from app.casefile.schemas import AccountRead
from app.cases.schemas import EventRead
from app.dashboard.timeline import Line, in_words
from app.dashboard.timeline_kinds import KINDS
from app.dashboard.timeline_words import Subject
from app.dispatch.schemas import InstructionRead
from app.i18n import LANGUAGES, Language
from tests.dashboard.event_kinds import case_event_kinds

AT = dt.datetime(2026, 11, 22, 1, 41, tzinfo=dt.UTC)
EXPIRES = "2026-11-24T01:41:00+00:00"
CCB = "6217000201234567897"
# What each kind's data looks like as the code writes it (see where case_event_kinds finds it).
SAMPLES: dict[str, dict[str, Any]] = {
    "case.created": {"case_no": "X", "priority": "high", "transfers": 2, "accounts": 3,
                     "instructions": [1, 2]},
    "case.status_changed": {"from": "stopping", "to": "partly_stopped"},
    "instruction.pending": {"from": "pending"},
    "instruction.sent": {"from": "pending", "reference": "CCB-8812", "attempt": 1},
    "instruction.escalated": {"from": "pending", "reason": "CCB: answered 500", "attempts": 4},
    "instruction.done": {"from": "sent", "outcome": "stopped_partial", "amount_stopped": "300.00",
                         "mismatch_field": None},
    "instruction.expired": {"expires_at": EXPIRES, "carried_on": True},
    "instruction.resent": {"replaces": 1, "mismatch_field": "holder_name",
                           "corrected": ["holder_name"]},
    "trace.followed": {"level": 2, "instructions": [2]},
    "trace.depth_limit": {"accounts": [{"account_id": 21, "level": 4, "amount": "717.98"}]},
    "trace.below_minimum": {"accounts": [{"account_id": 21, "level": 2, "amount": "99.00"}]},
    "trace.merged": {"accounts": [{"account_id": 21, "level": 2, "amount": "900.00",
                                   "instruction_id": 2}]},
    "trace.merged_after_send": {"accounts": [{"account_id": 21, "level": 2, "amount": "900.00",
                                              "instruction_id": 2}]},
    "trace.held_by_other_case": {"accounts": [{"account_id": 21, "case_no": "20261122-0007",
                                               "instruction_id": 9}]},
    "trace.cashed_out": {"amount": "5000.00"},
    "trace.unknown_institution": {"institutions": ["XYZBANK"]},
    "trace.query_requested": {"account_id": 20, "parent": 1},
    "hold.renewal_requested": {"renews": 1, "kind": "stop_payment", "expires_at": EXPIRES,
                               "document_no": None},
    "hold.freeze_requested": {"converts": 1, "amount": "300.00", "document_no": "冻字2026-8",
                              "scan": False},
    "hold.release_requested": {"releases": 1, "kind": "freeze", "reason": "误报"},
    "hold.lapse_warning": {"kind": "stop_payment", "expires_at": EXPIRES, "hours_left": 5.5,
                           "amount": "300.00"},
    "hold.freeze_renewal_due": {"kind": "freeze", "expires_at": EXPIRES, "hours_left": 300.0,
                                "amount": "300.00"},
    "hold.lapsed": {"kind": "stop_payment", "amount": "300.00", "expires_at": EXPIRES},
    "return.confirmed": {"return_id": 3, "account_id": 20, "amount": "300.00",
                         "rule": "single_victim", "payable_from": "2026-11-25", "batch": "ab"},
    "return.completed": {"return_id": 3, "amount": "300.00", "reference": "BANK-77"},
    "return.overdue": {"return_id": 3, "amount": "300.00", "due": "2026-11-28"},
    "callback.refused": {"refused_callback": 5, "webhook_id": "w-1",
                         "fields": ["amount_stopped", "outcome"]},
    "callback.disputed": {"disputed_outcome": 2, "webhook_id": "w-2",
                          "recorded": "stopped_full", "reported": "no_funds"},
    "pii.revealed": {"field": "account_no", "account_id": 20},
    "escalation.handled": {"note": "已电话通知", "institution": "CCB"},
}  # fmt: skip
# A key or a Python value showing through: snake_case words, dict or list brackets, None.
LEAKS = re.compile(r"[a-z]+_[a-z_]+|[{}\[\]]|\bNone\b|'")


def _instruction(id_: int, kind: str, account_no: str | None) -> InstructionRead:
    return InstructionRead(
        id=id_, kind=kind, state="done", outcome="stopped_full", institution="CCB",
        account_no=account_no, amount_requested=Decimal("300.00"),
        amount_stopped=Decimal("300.00"), balance=None, mismatch_field=None,
        institution_ref=None, attempts=1, last_error=None, created_at=AT,
        first_attempt_at=AT, acked_at=AT, completed_at=AT, effective_at=AT, expires_at=AT,
        escalated_at=None, dispatch_delay_ms=1, ack_ms=1, completion_ms=1,
    )  # fmt: skip


def _account(id_: int, level: int, number: str) -> AccountRead:
    return AccountRead(
        account_id=id_, institution="CCB", account_no=number, holder_name="刘某",
        kind="bank_card", role="suspect", level=level, shared_with=[],
    )  # fmt: skip


SUBJECT = Subject(
    accounts={20: _account(20, 1, CCB), 21: _account(21, 4, "6217000209999990001")},
    instructions={1: _instruction(1, "stop_payment", CCB), 2: _instruction(2, "freeze", CCB)},
    account_of={1: 20, 2: 20},
    zone=ZoneInfo("Asia/Shanghai"),
)


def _event(kind: str, data: dict[str, Any], *, actor: str | None = "王接警") -> EventRead:
    return EventRead(
        occurred_at=AT,
        kind=kind,
        actor_kind="user" if actor else "system",
        actor=actor,
        instruction_id=1,
        data=data,
    )


def _text(line: Line) -> str:
    return "".join(p.text for p in line.parts)


def test_every_kind_the_code_records_on_a_case_has_words() -> None:
    written = case_event_kinds()
    assert {"case.created", "instruction.done", "trace.depth_limit", "hold.lapsed"} <= set(written)
    missing = {kind: where for kind, where in written.items() if kind not in KINDS}
    assert not missing, f"kinds with no words on the timeline: {missing}"
    assert set(SAMPLES) == set(KINDS), "each kind needs a sample of its data here"


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_each_kind_reads_as_a_sentence_in_both_languages(kind: str, lang: Language) -> None:
    for data in (SAMPLES[kind], {}):  # and the data missing: an older event stays readable
        line = in_words(_event(kind, data), SUBJECT, lang)
        words = _text(line) + " ".join(p.text for p in line.links)
        assert words.strip(), kind
        assert not LEAKS.search(words), f"{kind} in {lang}: {words!r}"
        assert line.who == ("" if "王接警" in words else "王接警"), "who acted, said once"
        assert all(p.href and p.href.startswith(("#account-", "#instruction-", "/dashboard/cases/"))
                   for p in [*line.parts, *line.links] if p.href)  # fmt: skip


def test_beyond_the_depth_limit_reads_with_level_depth_count_and_sum() -> None:
    data = {"accounts": [
        {"account_id": 21, "level": 4, "amount": amount}
        for amount in ("717.98", "4000.00", "3274.31", "4000.00")
    ]}  # fmt: skip
    line = in_words(_event("trace.depth_limit", data, actor=None), SUBJECT, "en")
    assert _text(line) == ("Level 4 accounts not followed: beyond depth 3 (4 accounts, ¥11,992.29)")
    assert line.who == "System"
    assert [(p.text, p.href) for p in line.links][0] == ("CCB …0001", "#account-21")
    zh = in_words(_event("trace.depth_limit", data, actor=None), SUBJECT, "zh-CN")
    assert _text(zh) == "第 4 级账户未追踪：超出追踪深度 3 级（4 个账户，¥11,992.29）"
    assert zh.who == "系统"


def test_a_resent_stop_payment_names_who_the_corrected_field_and_links_the_instruction() -> None:
    data = {"replaces": 1, "mismatch_field": "holder_name", "corrected": ["holder_name"]}
    event = _event("instruction.resent", data, actor="wangjj").model_copy(
        update={"actor_name": "王接警", "actor_role": "call_taker"}
    )
    line = in_words(event, SUBJECT, "en")
    assert _text(line) == (
        "Call-taker 王接警 resent CCB stop-payment on …7897 with the holder name corrected"
    )
    assert line.who == ""
    [link] = [p for p in line.parts if p.href]
    assert link.href == "#instruction-1"
    both = {"replaces": 1, "corrected": ["holder_name", "amount"]}
    zh = in_words(event.model_copy(update={"data": both}), SUBJECT, "zh-CN")
    assert _text(zh) == "接警员 王接警 更正户名、金额后重新发送 CCB 止付（尾号 7897）"


def test_an_institution_error_stays_out_of_the_sentence_and_in_the_tooltip() -> None:
    data = {"from": "pending", "reason": "CCB: answered 500", "attempts": 1}
    line = in_words(_event("instruction.escalated", data), SUBJECT, "zh-CN")
    assert "500" not in _text(line)
    assert "1 次" in _text(line)
    assert line.detail == "CCB: answered 500"
    assert line.group == "instruction"


def test_words_are_text_not_markup() -> None:
    """The renderer hands the template text; autoescape makes it safe (no |safe on it)."""
    data = {"releases": 1, "kind": "freeze", "reason": "<script>alert(1)</script>"}
    line = in_words(_event("hold.release_requested", data), SUBJECT, "en")
    assert "<script>alert(1)</script>" in _text(line)
