"""The simulator's own registry reader agrees with the service's (it imports none of it)."""

from __future__ import annotations

from app.cards import luhn_complete as service_luhn
from app.institutions.service import BinIndex as ServiceBins
from app.institutions.service import derive_callback_secret as service_secret
from app.institutions.service import load_registry as service_registry
from simulator.registry import BinIndex, derive_callback_secret, load_registry, luhn_complete


def test_it_plays_the_institutions_the_service_seeds() -> None:
    ours = {(e.code, e.kind, tuple(e.bin_prefixes)) for e in load_registry()}
    theirs = {(e.code, e.kind.value, tuple(e.bin_prefixes)) for e in service_registry()}

    assert ours == theirs


def test_its_callback_secrets_are_the_ones_the_service_derives() -> None:
    for entry in load_registry():
        mine = derive_callback_secret(secret_key="k", code=entry.code)
        assert mine == service_secret(secret_key="k", code=entry.code)


def test_it_finds_a_card_s_bank_as_the_service_does() -> None:
    ours, theirs = BinIndex(load_registry()), ServiceBins(service_registry())
    prefixes = [p for e in load_registry() for p in e.bin_prefixes]
    for prefix in prefixes:
        card = luhn_complete(prefix.ljust(15, "0"))
        assert card == service_luhn(prefix.ljust(15, "0"))
        assert ours.lookup(card) == theirs.lookup(card)
