"""Each intake rule rejects what it should, names the field, and accepts the good case."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session

from app.cases.models import AccountKind
from app.cases.schemas import CaseCreate
from app.cases.service import load_directory
from app.cases.validation import CaseInvalid, ResolvedCase, resolve_case
from tests.factories import card_no, case_payload, luhn_complete, transfer_payload

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _resolve(db: Session, payload: dict[str, object]) -> ResolvedCase:
    data = CaseCreate.model_validate(payload)
    return resolve_case(
        data, directory=load_directory(db), now=dt.datetime.now(dt.UTC), zone=SHANGHAI
    )


def _problems(db: Session, payload: dict[str, object]) -> dict[str, str]:
    with pytest.raises(CaseInvalid) as caught:
        _resolve(db, payload)
    return {p.path: p.key for p in caught.value.problems}


def test_a_good_report_resolves(db: Session) -> None:
    plan = _resolve(db, case_payload(transfers=3))
    assert len(plan.transfers) == 3
    assert plan.total_amount == Decimal("3000.00")
    assert sorted(plan.levels.values()) == [0, 1, 1, 1]
    assert plan.victim_phone == "+8613800138000"


def test_the_bin_decides_the_bank_when_none_is_given(db: Session) -> None:
    payload = case_payload()
    payload["transfers"][0]["to"] = {"account_no": card_no("CMB", 42)}
    plan = _resolve(db, payload)
    target = plan.transfers[0].to
    assert target.institution.code == "CMB"
    assert target.kind == AccountKind.bank_card


def test_spaces_and_dashes_in_a_card_number_are_the_same_card(db: Session) -> None:
    number = card_no("CCB", 7)
    spaced = " ".join(number[i : i + 4] for i in range(0, len(number), 4))
    payload = case_payload(transfers=2)
    payload["transfers"][0]["to"]["account_no"] = number
    payload["transfers"][1]["to"]["account_no"] = spaced
    plan = _resolve(db, payload)
    assert len(plan.accounts) == 2  # the victim's card and one receiving card
    assert plan.inflow(plan.transfers[0].to.key) == Decimal("2000.00")


@pytest.mark.parametrize(
    ("to", "key"),
    [
        ({"account_no": "6222020000000000001"}, "case.card_luhn"),
        ({"account_no": luhn_complete("62220212345")}, "case.card_length"),
        ({"institution": "ABC", "account_no": card_no("ICBC", 5)}, "case.card_bin_mismatch"),
        ({"account_no": "9999000011112222"}, "case.institution_required"),
        ({"institution": "NOPE", "account_no": "123"}, "case.institution_unknown"),
        ({"institution": "NFPP", "account_no": "123"}, "case.institution_not_party"),
        ({"institution": "CCB", "account_no": "12AB4567890"}, "case.account_digits"),
        ({"institution": "CCB", "account_no": "1234567"}, "case.account_length"),
        ({"institution": "ALIPAY", "account_no": "  "}, "case.blank"),
    ],
)
def test_account_rules(db: Session, to: dict[str, str], key: str) -> None:
    field = "transfers.0.to.institution" if key.startswith("case.institution") else None
    problems = _problems(db, case_payload(transfers=[transfer_payload(to=to)]))
    assert problems == {field or "transfers.0.to.account_no": key}


def test_a_corporate_bank_account_without_a_card_bin_is_accepted(db: Session) -> None:
    payload = case_payload(
        transfers=[transfer_payload(to={"institution": "CCB", "account_no": "44050100000000123"})]
    )
    assert _resolve(db, payload).transfers[0].to.kind == AccountKind.bank_account


def test_a_payment_account_may_be_a_phone_or_an_email(db: Session) -> None:
    payload = case_payload(
        transfers=[
            transfer_payload(to={"institution": "ALIPAY", "account_no": "138****0000@x.cn"}),
            transfer_payload(to={"institution": "TENPAY", "account_no": "wxid_abc123"}),
        ]
    )
    kinds = {t.to.kind for t in _resolve(db, payload).transfers}
    assert kinds == {AccountKind.payment_account}


def test_from_and_to_the_same_account(db: Session) -> None:
    same = {"institution": "ICBC", "account_no": card_no("ICBC", 900_000)}
    problems = _problems(db, case_payload(transfers=[transfer_payload(to=same)]))
    assert problems == {"transfers.0.to.account_no": "case.same_account"}


def test_victim_id_phone_and_enterprise_name(db: Session) -> None:
    payload = case_payload(
        victim={"name": " ", "id_no": "110105194912310021", "phone": "12345", "is_enterprise": True}
    )
    assert _problems(db, payload) == {
        "victim.name": "case.blank",
        "victim.id_no": "case.id_no",
        "victim.phone": "case.phone",
        "victim.enterprise_name": "case.enterprise_name",
    }


def test_times_in_the_future_or_long_before_the_call(db: Session) -> None:
    now = dt.datetime.now(dt.UTC)
    payload = case_payload(
        received_at=(now + dt.timedelta(hours=1)).isoformat(),
        transfers=[
            transfer_payload(occurred_at=(now + dt.timedelta(minutes=30)).isoformat()),
            transfer_payload(to_serial=2, occurred_at=(now - dt.timedelta(days=400)).isoformat()),
        ],
    )
    assert _problems(db, payload) == {
        "received_at": "case.time_future",
        "transfers.0.occurred_at": "case.time_future",
        "transfers.1.occurred_at": "case.time_too_old",
    }


def test_a_time_without_an_offset_is_the_centres_local_time(db: Session) -> None:
    local = dt.datetime.now(SHANGHAI).replace(tzinfo=None) - dt.timedelta(minutes=5)
    payload = case_payload(transfers=[transfer_payload(occurred_at=local.isoformat())])
    occurred = _resolve(db, payload).transfers[0].occurred_at
    assert occurred.utcoffset() == dt.timedelta(hours=8)


def test_contacts_qq_and_phone(db: Session) -> None:
    payload = case_payload(
        contacts=[
            {"kind": "qq", "value": "12ab"},
            {"kind": "phone", "value": "not a phone"},
            {"kind": "wechat", "value": "scammer_01"},
        ]
    )
    assert _problems(db, payload) == {
        "contacts.0.value": "case.qq",
        "contacts.1.value": "case.phone",
    }


def test_onward_transfers_in_the_report_get_deeper_levels(db: Session) -> None:
    level1 = card_no("CCB", 11)
    level2 = card_no("ABC", 12)
    payload = case_payload(
        transfers=[
            transfer_payload(to={"account_no": level1}),
            transfer_payload(from_={"account_no": level1}, to={"account_no": level2}),
        ]
    )
    plan = _resolve(db, payload)
    assert sorted(plan.levels.values()) == [0, 1, 2]
    assert plan.total_amount == Decimal("1000.00")  # only the victim's own payments


def test_a_report_with_no_paying_account_is_refused(db: Session) -> None:
    a, b = card_no("CCB", 21), card_no("ABC", 22)
    payload = case_payload(
        transfers=[
            transfer_payload(from_={"account_no": a}, to={"account_no": b}),
            transfer_payload(from_={"account_no": b}, to={"account_no": a}),
        ]
    )
    assert _problems(db, payload) == {"transfers.0.from.account_no": "case.no_origin"}
