"""A stored refusal is read in the reader's language at the edge; the service keeps keys."""

from __future__ import annotations

import datetime as dt

from app.callbacks.models import RefusedCallback
from app.callbacks.refusals import reasons, refusal_reasons
from app.callbacks.schemas import refused_read
from app.cases.validation import FieldProblem
from app.i18n import Message, Named


def _stored(*problems: FieldProblem) -> RefusedCallback:
    return RefusedCallback(
        id=7,
        institution_id=1,
        instruction_id=None,
        webhook_id="msg_1",
        received_at=dt.datetime(2026, 12, 1, tzinfo=dt.UTC),
        reasons=reasons(list(problems)),
    )


def test_the_service_reads_reasons_back_as_keys_and_parameters() -> None:
    bank = Named(zh="工商银行", en="ICBC")
    row = _stored(FieldProblem("data.onward.0", "case.institution_not_party", {"name": bank}))
    [reason] = refusal_reasons(row)
    assert reason.field == "data.onward.0"
    assert reason.rule == Message("case.institution_not_party", {"name": bank})


def test_the_edge_puts_each_reason_in_the_readers_language() -> None:
    bank = Named(zh="工商银行", en="ICBC")
    row = _stored(
        FieldProblem("data.onward.0", "case.institution_not_party", {"name": bank}),
        FieldProblem("data.amount_stopped", "callback.amount_over_asked", {"asked": "5.00"}),
    )
    english = refused_read(row, "en")
    chinese = refused_read(row, "zh-CN")
    assert [r.message for r in english.reasons] == [
        "ICBC does not hold accounts",
        "More than the 5.00 the instruction asked for",
    ]
    assert chinese.reasons[0].message == "工商银行不是收付款机构"
    assert [r.rule for r in chinese.reasons] == [
        "case.institution_not_party",
        "callback.amount_over_asked",
    ]
    assert english.webhook_id == "msg_1"


def test_a_rule_the_catalogues_no_longer_hold_reads_as_its_key() -> None:
    row = _stored(
        FieldProblem("data", "callback.gone_rule"),
        FieldProblem("data.amount_stopped", "callback.amount_over_asked", {"balance": "1.00"}),
    )
    read = refused_read(row, "en")
    assert [r.message for r in read.reasons] == ["callback.gone_rule", "callback.amount_over_asked"]
