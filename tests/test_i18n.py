"""Every word a page shows for a status, kind, state or outcome exists in both languages, and
`t` reads the catalogues as the code expects."""

from __future__ import annotations

from enum import StrEnum

import pytest

from app.auth.models import Role, Scope
from app.cases.models import (
    CaseStatus,
    Channel,
    ContactKind,
    FraudType,
    Priority,
    TransferChannel,
)
from app.dashboard.schemas import DeadlineKind
from app.dashboard.trail import CLASSES
from app.dispatch.models import InstructionKind, InstructionState, Outcome
from app.i18n import LANGUAGES, Named, has_message, negotiate, t
from app.i18n import labels as L
from app.institutions.models import BreakerState
from app.pages.admin import FLASHES


@pytest.mark.parametrize(
    ("table", "enum"),
    [
        (L.ROLE_LABEL, Role),
        (L.SCOPE_LABEL, Scope),
        (L.FRAUD_LABEL, FraudType),
        (L.CHANNEL_LABEL, Channel),
        (L.TRANSFER_CHANNEL_LABEL, TransferChannel),
        (L.CONTACT_LABEL, ContactKind),
        (L.PRIORITY_LABEL, Priority),
        (L.CASE_STATUS_LABEL, CaseStatus),
        (L.KIND_LABEL, InstructionKind),
        (L.STATE_LABEL, InstructionState),
        (L.OUTCOME_LABEL, Outcome),
        (L.BREAKER_LABEL, BreakerState),
        (L.DEADLINE_LABEL, DeadlineKind),
    ],
)
def test_each_value_has_a_label_in_both_languages(
    table: dict[str, str], enum: type[StrEnum]
) -> None:
    assert set(table) == {v.value for v in enum}
    for key in table.values():
        assert all(t(key, lang) for lang in LANGUAGES)


@pytest.mark.parametrize(
    ("table", "values"),
    [(L.ADMIN_FLASH, FLASHES), (L.TRAIL_STATE_LABEL, frozenset(CLASSES))],
)
def test_each_named_value_has_its_message(table: dict[str, str], values: frozenset[str]) -> None:
    assert set(table) == values
    assert all(has_message(key) for key in table.values())


def test_t_fills_placeholders_and_names_in_the_message_language() -> None:
    bank = Named(zh="工商银行", en="ICBC")
    assert t("dash.escalated_n", "en", n=3) == "3 escalated"
    assert t("dash.escalated_n", "zh-CN", n=3) == "3 条超时"
    assert bank.zh in t("case.institution_not_party", "zh-CN", name=bank)
    assert bank.en in t("case.institution_not_party", "en", name=bank)


def test_an_unknown_key_is_a_key_error() -> None:
    assert not has_message("no.such.key")
    with pytest.raises(KeyError):
        t("no.such.key", "en")


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "zh-CN"),
        ("en-GB,en;q=0.9", "en"),
        ("fr, en;q=0.5, zh;q=0.8", "zh-CN"),
        ("fr", "zh-CN"),
    ],
)
def test_negotiate_honours_q_values(header: str | None, expected: str) -> None:
    assert negotiate(header, "zh-CN") == expected
