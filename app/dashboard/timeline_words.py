"""The pieces a timeline sentence is made of: links to the case's accounts and instructions,
amounts, local times, labels; and the case they point into (`Subject`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from app.casefile.schemas import AccountRead
from app.cases.schemas import EventRead
from app.dispatch.schemas import InstructionRead
from app.i18n import N_, Language, Message, msg
from app.i18n.labels import ROLE_LABEL

# An instruction's kind as a noun inside a sentence (KIND_LABEL's are headings).
KIND_NOUN: dict[str, str] = {
    "stop_payment": N_("tl.kind.stop_payment"),
    "freeze": N_("tl.kind.freeze"),
    "query": N_("tl.kind.query"),
    "release": N_("tl.kind.release"),
    "register": N_("tl.kind.register"),
}


@dataclass(frozen=True)
class Link:
    """A link in a sentence: to an anchor of the case page, or to another case."""

    text: str | Message
    href: str


@dataclass(frozen=True)
class Joined:
    """Labels listed in one parameter ("holder name and amount"), in the reader's language."""

    items: tuple[Message, ...]

    def in_language(self, lang: Language) -> str:
        words = [m.in_language(lang) for m in self.items]
        if lang == "zh-CN":
            return "、".join(words)
        return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


Param = str | int | Message | Link | Joined


@dataclass(frozen=True)
class Sentence:
    """A message key with its parameters; links listed after it; a detail for the tooltip
    (an institution's own words, which are not ours to translate)."""

    key: str
    params: Mapping[str, Param] = field(default_factory=dict)
    links: list[Link] = field(default_factory=list)
    detail: str | None = None


@dataclass(frozen=True)
class Subject:
    """The case an event belongs to: its accounts and instructions by id."""

    accounts: Mapping[int, AccountRead]
    instructions: Mapping[int, InstructionRead]
    account_of: Mapping[int, int]  # instruction id -> account id
    zone: ZoneInfo

    def account(self, account_id: Any) -> Link | str:
        a = self.accounts.get(account_id) if isinstance(account_id, int) else None
        if a is None:
            return "—"
        return Link(f"{a.institution} …{a.account_no[-4:]}", f"#account-{a.account_id}")

    def account_of_instruction(self, instruction_id: Any) -> Link | str:
        if not isinstance(instruction_id, int):
            return "—"
        return self.account(self.account_of.get(instruction_id))

    def instruction(self, instruction_id: Any) -> Link | str:
        i = self.instructions.get(instruction_id) if isinstance(instruction_id, int) else None
        if i is None:
            return "—"
        kind = kind_noun(i.kind)
        href = f"#instruction-{i.id}"
        if i.account_no is None:
            return Link(msg("tl.instruction", institution=i.institution, kind=kind), href)
        text = msg(
            "tl.instruction_on", institution=i.institution, kind=kind, tail=i.account_no[-4:]
        )
        return Link(text, href)

    def institution_of(self, instruction_id: Any) -> str | None:
        i = self.instructions.get(instruction_id) if isinstance(instruction_id, int) else None
        return i.institution if i else None

    def actor(self, event: EventRead) -> str | Message:
        if event.actor_kind == "user":
            name = event.actor_name or event.actor
            if name and event.actor_role in ROLE_LABEL:
                return msg("tl.actor.person", role=msg(ROLE_LABEL[event.actor_role]), name=name)
            return name or msg("tl.actor.user")
        if event.actor_kind == "institution":
            return self.institution_of(event.instruction_id) or msg("tl.actor.institution")
        return msg("tl.actor.system")

    def local(self, value: Any) -> str:
        """A time the event recorded (ISO 8601) in the unit's zone; a date as it is."""
        if not isinstance(value, str):
            return "—"
        try:
            at = dt.datetime.fromisoformat(value)
        except ValueError:
            return "—"
        if len(value) == 10:
            return value
        return at.astimezone(self.zone).strftime("%m-%d %H:%M")


def money(value: Any) -> str:
    """An amount the event recorded (a string of a Decimal), with its currency."""
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return "—"
    if not amount.is_finite():
        return "—"
    return f"¥{amount:,.2f}"


def label(table: Mapping[str, str], value: Any) -> Message | str:
    """A value's label from one of app/i18n/labels.py's tables; a dash when unknown."""
    key = table.get(value) if isinstance(value, str) else None
    return msg(key) if key else "—"


def kind_noun(value: Any) -> Message:
    key = KIND_NOUN.get(value) if isinstance(value, str) else None
    return msg(key or N_("tl.kind.other"))


def items(data: Mapping[str, Any], name: str) -> list[Mapping[str, Any]]:
    """The list of dicts under `name` (accounts a trace event names), or none."""
    found = data.get(name)
    return [x for x in found if isinstance(x, Mapping)] if isinstance(found, list) else []


def total(found: list[Mapping[str, Any]]) -> str:
    amounts = []
    for x in found:
        try:
            amounts.append(Decimal(str(x.get("amount"))))
        except (InvalidOperation, ValueError):
            continue
    return money(sum(amounts, Decimal(0)))


def number(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def counted(count: int, one: str, many: str) -> Message:
    """ "1 account" or "4 accounts": the message for one, or the one with `{count}`."""
    return msg(one) if count == 1 else msg(many, count=count)


def accounts_n(count: int) -> Message:
    return counted(count, N_("tl.n.account"), N_("tl.n.accounts"))
