from __future__ import annotations

import base64
from collections import Counter

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.institutions.models import Institution
from app.institutions.service import (
    BinIndex,
    NameIndex,
    load_registry,
    name_key,
    registry_names,
    seed_institutions,
)
from tests.conftest import TEST_SECRET
from tests.factories import luhn_complete


def test_registry_has_the_platform_the_banks_and_the_payment_institutions() -> None:
    entries = load_registry()
    kinds = Counter(e.kind.value for e in entries)
    assert kinds["national_platform"] == 1
    assert kinds["bank"] >= 16
    assert kinds["payment_institution"] >= 28
    codes = [e.code for e in entries]
    assert len(codes) == len(set(codes))
    assert all(e.name_zh and e.name_en for e in entries)


def test_every_bank_has_bins_and_no_bin_belongs_to_two_banks() -> None:
    banks = [e for e in load_registry() if e.kind == "bank"]
    assert all(bank.bin_prefixes for bank in banks)
    prefixes = [p for bank in banks for p in bank.bin_prefixes]
    assert len(prefixes) == len(set(prefixes))


def test_a_card_number_finds_its_bank_by_bin() -> None:
    entries = load_registry()
    index = BinIndex(entries)
    for bank in (e for e in entries if e.bin_prefixes):
        for prefix in bank.bin_prefixes:
            card = luhn_complete(prefix + "0123456789"[: 18 - len(prefix)])
            assert index.lookup(card) == bank.code
    assert index.lookup("9999 0000 0000 0000") is None
    assert index.lookup("6222 0200 1234 5678 901") == "ICBC"


def test_seeding_twice_changes_nothing_and_keeps_secrets(db: Session) -> None:
    before = {i.code: i.callback_secret for i in db.scalars(select(Institution))}
    assert seed_institutions(db, secret_key="another-key") == (0, 0)
    after = {i.code: i.callback_secret for i in db.scalars(select(Institution))}
    assert after == before
    assert len(before) == len(load_registry())
    for secret in before.values():
        assert secret.startswith("whsec_")
        assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32


def test_seeding_updates_a_changed_entry(db: Session) -> None:
    icbc = db.scalars(select(Institution).where(Institution.code == "ICBC")).one()
    icbc.sla_s = 999
    db.flush()
    assert seed_institutions(db, secret_key=TEST_SECRET) == (0, 1)
    assert icbc.sla_s != 999


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("支付宝", "ALIPAY"),
        ("微信", "TENPAY"),
        ("财付通", "TENPAY"),
        ("微信支付", "TENPAY"),
        ("工行", "ICBC"),
        ("建行", "CCB"),
        ("农行", "ABC"),
        ("中行", "BOC"),
        ("招行", "CMB"),
        ("邮储", "PSBC"),
        ("中国工商银行", "ICBC"),
        ("Bank of China", "BOC"),
        ("bank  of china", "BOC"),
        ("icbc", "ICBC"),
        ("ＩＣＢＣ", "ICBC"),  # full-width, as a Chinese input method types it
        (" 建行 ", "CCB"),
        ("CCB 中国建设银行", "CCB"),  # a code and its name, as the pick-list shows it
        ("某某银行", None),
        ("", None),
    ],
)
def test_an_institution_is_found_by_code_name_or_alias(typed: str, code: str | None) -> None:
    assert registry_names().find(typed) == code


def test_every_name_and_alias_names_one_institution() -> None:
    """An alias shared by two institutions would send a stop-payment to the wrong one."""
    owners: dict[str, set[str]] = {}
    for entry in load_registry():
        for name in (entry.code, entry.name_zh, entry.name_en, *entry.aliases):
            owners.setdefault(name_key(name), set()).add(entry.code)
    shared = {name: codes for name, codes in owners.items() if len(codes) > 1}
    assert shared == {}
    index = NameIndex(load_registry())
    assert all(index.find(alias) == e.code for e in load_registry() for alias in e.aliases)


def test_aliases_live_in_the_registry_not_in_the_database(db: Session) -> None:
    seed_institutions(db, secret_key=TEST_SECRET)
    assert not hasattr(Institution, "aliases")
    assert registry_names().aliases["TENPAY"][:2] == ["微信", "微信支付"]
