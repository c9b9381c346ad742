"""Driving the form by keyboard only, counting every key press."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from playwright.sync_api import Page, expect

from app.cards import luhn_complete
from app.institutions.service import load_registry


@dataclass
class Keyboard:
    """Key presses sent to the page. Each character typed counts as one key (a Chinese
    character typed through an input method takes more; the figure says so)."""

    page: Page
    characters: int = 0
    navigation: int = 0
    log: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return self.characters + self.navigation

    def reset(self) -> None:
        self.characters = self.navigation = 0
        self.log.clear()

    def type(self, text: str) -> None:
        self.page.keyboard.type(text)
        self.characters += len(text)
        self.log.append(text)

    def press(self, key: str, times: int = 1) -> None:
        for _ in range(times):
            self.page.keyboard.press(key)
            self.navigation += 1
            self.log.append(f"<{key}>")

    def tab(self, times: int = 1) -> None:
        self.press("Tab", times)


def bank_cards(count: int, *, seed: int) -> list[tuple[str, str]]:
    """(bank code, valid card number) at `count` different banks of the registry."""
    rng = random.Random(seed)
    banks = [e for e in load_registry() if e.bin_prefixes]
    chosen = rng.sample(banks, count)
    cards = []
    for bank in chosen:
        prefix = bank.bin_prefixes[0]
        body = "".join(rng.choice("0123456789") for _ in range(18 - len(prefix)))
        cards.append((bank.code, luhn_complete(prefix + body)))
    return cards


def break_luhn(card: str) -> str:
    """The same card with a wrong check digit."""
    return card[:-1] + str((int(card[-1]) + 1) % 10)


def log_in(page: Page, keys: Keyboard, *, username: str, password: str) -> None:
    page.goto("/login?next=/intake")
    expect(page.locator("#username")).to_be_focused()
    keys.type(username)
    keys.tab()
    keys.type(password)
    keys.press("Enter")
    page.wait_for_url("**/intake")
    expect(page.locator("[name='victim.name']")).to_be_focused()
