"""Which legal-clock actions the case page offers on an account, and how they are worded:
only what the server would accept now (app/legal/service.py, app/api/legal.py,
app/api/trace.py), and only where it helps.

- Freeze: a suspect's account where a stop-payment holds money (the freeze converts it), or
  where nothing is held and nothing says the account is empty or wrong (never answered, held
  by another case, or its hold ran out or was released). Not where a freeze holds already.
- Renew: a hold in force. A stop-payment is renewed without a document, up to `max_stops`
  that took effect; a freeze needs its new document.
- Release: a hold in force. The one destructive action.
- Query: a suspect's account with no query open and no hold instruction waiting for its
  answer (that answer will say where the money went).
- Propose a return: a freeze that holds money.

Nothing is offered on an account while a stop-payment, freeze or release of it waits for
its answer: the server refuses any of them then (`legal.under_way`).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from app.casefile.schemas import CaseRead
from app.dispatch.schemas import InstructionRead
from app.i18n import N_

HOLD_KINDS = ("stop_payment", "freeze")
UNDER_WAY_KINDS = ("stop_payment", "freeze", "release")
OPEN = ("pending", "sent", "escalated")
HOLDING = ("stopped_full", "stopped_partial", "frozen_full", "frozen_partial")
# After these, a freeze has nothing to hold: the account is empty, unknown or misdescribed.
NOTHING_THERE = ("no_funds", "account_not_found", "mismatch", "rejected")


@dataclass(frozen=True)
class Action:
    """One action of the menu: the form posts to `/api/v1/cases/{case_no}/{path}`."""

    name: str
    label: str  # message key
    path: str | None  # None: the return proposal (its own two-step form)
    field: str | None = None  # the one input the action asks for
    field_label: str | None = None  # its message key
    destructive: bool = False


def in_force(i: InstructionRead, now: dt.datetime) -> bool:
    return (
        i.kind in HOLD_KINDS
        and i.state == "done"
        and i.outcome in HOLDING
        and i.released_at is None
        and i.expires_at is not None
        and i.expires_at > now
    )


def account_actions(
    instructions: Sequence[InstructionRead],
    *,
    suspect: bool,
    now: dt.datetime,
    max_stops: int,
) -> list[Action]:
    """The actions on one account, from this case's instructions on it (oldest first)."""
    if not suspect:
        return []
    mine = sorted(instructions, key=lambda i: i.id)
    if any(i.kind in UNDER_WAY_KINDS and i.state in OPEN for i in mine):
        return []
    held = [i for i in mine if in_force(i, now)]
    current = held[-1] if held else None
    found: list[Action] = []
    if _freezable(mine, current):
        found.append(_freeze(current))
    if current is not None:
        found += _renew(mine, current, max_stops=max_stops)
    if not any(i.kind == "query" and i.state in OPEN for i in mine):
        found.append(Action("query", N_("dash.action.query"), "queries"))
    if current is not None and current.kind == "freeze" and _holds_money(current):
        found.append(Action("propose_return", N_("dash.action.propose_return"), None))
    if current is not None:
        found.append(_release(current))
    return found


def _holds_money(i: InstructionRead) -> bool:
    return i.amount_stopped is not None and i.amount_stopped > Decimal(0)


def _freezable(mine: list[InstructionRead], current: InstructionRead | None) -> bool:
    if current is not None:
        return current.kind == "stop_payment" and _holds_money(current)
    holds = [i for i in mine if i.kind in HOLD_KINDS]
    return not holds or holds[-1].outcome not in NOTHING_THERE


def _freeze(current: InstructionRead | None) -> Action:
    label = N_("dash.action.freeze_stop") if current is not None else N_("dash.action.freeze")
    return Action("freeze", label, "freezes", "document_no", N_("dash.document_no"))


def _renew(
    mine: list[InstructionRead], current: InstructionRead, *, max_stops: int
) -> list[Action]:
    if current.kind == "freeze":
        return [
            Action(
                "renew",
                N_("dash.action.renew_freeze"),
                "renewals",
                "document_no",
                N_("dash.document_no"),
            )
        ]
    took_effect = [i for i in mine if i.kind == "stop_payment" and i.effective_at is not None]
    if len(took_effect) >= max_stops:
        return []
    return [Action("renew", N_("dash.action.renew_stop"), "renewals")]


def _release(current: InstructionRead) -> Action:
    label = (
        N_("dash.action.release_freeze")
        if current.kind == "freeze"
        else N_("dash.action.release_stop")
    )
    return Action("release", label, "releases", "reason", N_("dash.reason"), destructive=True)


def case_actions(case: CaseRead, *, now: dt.datetime, max_stops: int) -> dict[str, list[Action]]:
    """Each account's actions, by the trail row's key (`account-<id>`)."""
    by_account: dict[tuple[str, str | None], list[InstructionRead]] = defaultdict(list)
    for i in case.instructions:
        by_account[(i.institution, i.account_no)].append(i)
    return {
        f"account-{a.account_id}": account_actions(
            by_account[(a.institution, a.account_no)],
            suspect=a.level > 0 and a.role == "suspect",
            now=now,
            max_stops=max_stops,
        )
        for level in case.levels
        for a in level.accounts
    }
