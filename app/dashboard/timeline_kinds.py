"""What each kind of audit event says on a case's timeline (`KINDS`), from its data.

Every kind the code records with a case id has an entry: tests/dashboard/test_timeline.py
finds the kinds in app/ and workers/ and fails on one missing here. A renderer reads the
event's data defensively (`.get`): events written by older code stay readable.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from app.cases.schemas import EventRead
from app.dashboard.timeline_words import (
    Joined,
    Link,
    Param,
    Sentence,
    Subject,
    accounts_n,
    counted,
    items,
    kind_noun,
    label,
    money,
    number,
    total,
)
from app.dispatch.models import InstructionState
from app.i18n import N_, msg
from app.i18n.labels import CASE_STATUS_LABEL, MISMATCH_FIELD_LABEL, OUTCOME_LABEL

Render = Callable[[EventRead, Subject], Sentence]

# The timeline's filter: an event's group is its kind's first word.
GROUP_LABEL: dict[str, str] = {
    "case": N_("tl.group.case"),
    "instruction": N_("tl.group.instruction"),
    "trace": N_("tl.group.trace"),
    "hold": N_("tl.group.hold"),
    "return": N_("tl.group.return"),
    "escalation": N_("tl.group.escalation"),
    "callback": N_("tl.group.callback"),
    "pii": N_("tl.group.pii"),
    "other": N_("tl.group.other"),
}
RETURN_RULE_LABEL: dict[str, str] = {
    "single_victim": N_("tl.rule.single_victim"),
    "by_time": N_("tl.rule.by_time"),
    "pro_rata": N_("tl.rule.pro_rata"),
}
HOLDING = {"stopped_full", "stopped_partial", "frozen_full", "frozen_partial"}


def other_kind(e: EventRead, s: Subject) -> Sentence:
    return Sentence(N_("tl.other"), {"actor": s.actor(e)}, detail=e.kind)


def _case_created(e: EventRead, s: Subject) -> Sentence:
    d = e.data
    transfers, made = number(d.get("transfers")), len(d.get("instructions") or [])
    params = {
        "actor": s.actor(e),
        "transfers": counted(transfers, N_("tl.n.transfer"), N_("tl.n.transfers")),
        "accounts": accounts_n(number(d.get("accounts"))),
        "instructions": counted(made, N_("tl.n.instruction"), N_("tl.n.instructions")),
    }
    return Sentence(N_("tl.case.created"), params)


def _status_changed(e: EventRead, _s: Subject) -> Sentence:
    params = {
        "from": label(CASE_STATUS_LABEL, e.data.get("from")),
        "to": label(CASE_STATUS_LABEL, e.data.get("to")),
    }
    return Sentence(N_("tl.case.status_changed"), params)


def _instruction(key: str) -> Render:
    def render(e: EventRead, s: Subject) -> Sentence:
        return Sentence(key, {"instruction": s.instruction(e.instruction_id)})

    return render


def _sent(e: EventRead, s: Subject) -> Sentence:
    reference = e.data.get("reference")
    if isinstance(reference, str) and reference:
        return Sentence(
            N_("tl.instruction.sent_ref"),
            {"instruction": s.instruction(e.instruction_id), "reference": reference},
        )
    return Sentence(N_("tl.instruction.sent"), {"instruction": s.instruction(e.instruction_id)})


def _escalated(e: EventRead, s: Subject) -> Sentence:
    params = {
        "instruction": s.instruction(e.instruction_id),
        "attempts": counted(
            number(e.data.get("attempts")), N_("tl.n.attempt"), N_("tl.n.attempts")
        ),
    }
    reason = e.data.get("reason")
    return Sentence(
        N_("tl.instruction.escalated"), params, detail=reason if isinstance(reason, str) else None
    )


def _done(e: EventRead, s: Subject) -> Sentence:
    d, instruction = e.data, s.instruction(e.instruction_id)
    outcome = d.get("outcome")
    if outcome in HOLDING:
        params = {
            "instruction": instruction,
            "outcome": label(OUTCOME_LABEL, outcome),
            "amount": money(d.get("amount_stopped")),
        }
        return Sentence(N_("tl.instruction.done_held"), params)
    if outcome == "mismatch":
        field = label(MISMATCH_FIELD_LABEL, d.get("mismatch_field"))
        return Sentence(N_("tl.instruction.mismatch"), {"instruction": instruction, "field": field})
    error = d.get("error")
    params = {"instruction": instruction, "outcome": label(OUTCOME_LABEL, outcome)}
    return Sentence(
        N_("tl.instruction.done"), params, detail=error if isinstance(error, str) else None
    )


def _expired(e: EventRead, s: Subject) -> Sentence:
    key = (
        N_("tl.instruction.carried_on")
        if e.data.get("carried_on")
        else N_("tl.instruction.ran_out")
    )
    return Sentence(key, {"instruction": s.instruction(e.instruction_id)})


def _resent(e: EventRead, s: Subject) -> Sentence:
    corrected = [
        msg(MISMATCH_FIELD_LABEL[f])
        for f in e.data.get("corrected") or []
        if isinstance(f, str) and f in MISMATCH_FIELD_LABEL
    ]
    params: dict[str, Any] = {"actor": s.actor(e), "instruction": s.instruction(e.instruction_id)}
    if not corrected:
        return Sentence(N_("tl.instruction.resent_same"), params)
    params["fields"] = Joined(tuple(corrected))
    return Sentence(N_("tl.instruction.resent"), params)


def _followed(e: EventRead, s: Subject) -> Sentence:
    created = [i for i in e.data.get("instructions") or [] if isinstance(i, int)]
    params = {
        "instruction": s.instruction(e.instruction_id),
        "level": number(e.data.get("level")),
        "stops": counted(len(created), N_("tl.n.stop"), N_("tl.n.stops")),
    }
    links = [link for i in created if isinstance(link := s.instruction(i), Link)]
    return Sentence(N_("tl.trace.followed"), params, links=links)


def _accounts(s: Subject, found: list[Mapping[str, Any]]) -> list[Link]:
    return [link for x in found if isinstance(link := s.account(x.get("account_id")), Link)]


def _not_followed(key: str) -> Render:
    """Accounts where a branch ends: beyond the depth limit, or below the tracing minimum."""

    def render(e: EventRead, s: Subject) -> Sentence:
        found = items(e.data, "accounts")
        level = min((number(x.get("level")) for x in found), default=0)
        params: dict[str, Param] = {
            "level": level,
            "depth": max(level - 1, 0),
            "accounts": accounts_n(len(found)),
            "amount": total(found),
        }
        return Sentence(key, params, links=_accounts(s, found))

    return render


def _held_by_other_case(e: EventRead, s: Subject) -> Sentence:
    found = items(e.data, "accounts")
    links: list[Link] = []
    for x in found:
        links += _accounts(s, [x])
        case_no = x.get("case_no")
        if isinstance(case_no, str):
            links.append(Link(case_no, f"/dashboard/cases/{case_no}"))
    params = {"accounts": accounts_n(len(found))}
    return Sentence(N_("tl.trace.held_by_other_case"), params, links=links)


def _cashed_out(e: EventRead, s: Subject) -> Sentence:
    params = {"instruction": s.instruction(e.instruction_id), "amount": money(e.data.get("amount"))}
    return Sentence(N_("tl.trace.cashed_out"), params)


def _unknown_institution(e: EventRead, s: Subject) -> Sentence:
    codes = [c for c in e.data.get("institutions") or [] if isinstance(c, str)]
    params = {"instruction": s.instruction(e.instruction_id), "codes": ", ".join(codes) or "—"}
    return Sentence(N_("tl.trace.unknown_institution"), params)


def _query_requested(e: EventRead, s: Subject) -> Sentence:
    params = {
        "actor": s.actor(e),
        "account": s.account(e.data.get("account_id")),
        "instruction": s.instruction(e.instruction_id),
    }
    return Sentence(N_("tl.trace.query_requested"), params)


def _renewal_requested(e: EventRead, s: Subject) -> Sentence:
    d = e.data
    params: dict[str, Any] = {
        "actor": s.actor(e),
        "kind": kind_noun(d.get("kind")),
        "account": s.account_of_instruction(e.instruction_id),
        "expires": s.local(d.get("expires_at")),
    }
    document = d.get("document_no")
    if isinstance(document, str) and document:
        params["document"] = document
        return Sentence(N_("tl.hold.renewal_requested_doc"), params)
    return Sentence(N_("tl.hold.renewal_requested"), params)


def _freeze_requested(e: EventRead, s: Subject) -> Sentence:
    d = e.data
    params = {
        "actor": s.actor(e),
        "amount": money(d.get("amount")),
        "account": s.account_of_instruction(e.instruction_id),
        "document": str(d.get("document_no") or "—"),
    }
    return Sentence(N_("tl.hold.freeze_requested"), params)


def _release_requested(e: EventRead, s: Subject) -> Sentence:
    d = e.data
    params = {
        "actor": s.actor(e),
        "kind": kind_noun(d.get("kind")),
        "account": s.account_of_instruction(e.instruction_id),
        "reason": str(d.get("reason") or "—"),
    }
    return Sentence(N_("tl.hold.release_requested"), params)


def _hold(key: str) -> Render:
    """The legal clock's notes on a hold: running out soon, lapsed."""

    def render(e: EventRead, s: Subject) -> Sentence:
        d = e.data
        hours = d.get("hours_left")
        params = {
            "kind": kind_noun(d.get("kind")),
            "account": s.account_of_instruction(e.instruction_id),
            "expires": s.local(d.get("expires_at")),
            "hours": f"{hours:g}" if isinstance(hours, int | float) else "—",
            "amount": money(d.get("amount")),
        }
        return Sentence(key, params)

    return render


def _return_confirmed(e: EventRead, s: Subject) -> Sentence:
    d = e.data
    params = {
        "actor": s.actor(e),
        "amount": money(d.get("amount")),
        "account": s.account(d.get("account_id")),
        "rule": label(RETURN_RULE_LABEL, d.get("rule")),
        "date": s.local(d.get("payable_from")),
    }
    return Sentence(N_("tl.return.confirmed"), params)


def _return_completed(e: EventRead, s: Subject) -> Sentence:
    params = {
        "actor": s.actor(e),
        "amount": money(e.data.get("amount")),
        "reference": str(e.data.get("reference") or "—"),
    }
    return Sentence(N_("tl.return.completed"), params)


def _return_overdue(e: EventRead, s: Subject) -> Sentence:
    params = {"amount": money(e.data.get("amount")), "date": s.local(e.data.get("due"))}
    return Sentence(N_("tl.return.overdue"), params)


def _callback_refused(e: EventRead, s: Subject) -> Sentence:
    fields = [f for f in e.data.get("fields") or [] if isinstance(f, str)]
    params = {
        "instruction": s.instruction(e.instruction_id),
        "fields": counted(len(fields), N_("tl.n.field"), N_("tl.n.fields")),
    }
    return Sentence(N_("tl.callback.refused"), params, detail=", ".join(fields) or None)


def _callback_disputed(e: EventRead, s: Subject) -> Sentence:
    params = {
        "instruction": s.instruction(e.instruction_id),
        "recorded": label(OUTCOME_LABEL, e.data.get("recorded")),
        "reported": label(OUTCOME_LABEL, e.data.get("reported")),
    }
    return Sentence(N_("tl.callback.disputed"), params)


def _revealed(e: EventRead, s: Subject) -> Sentence:
    field = e.data.get("field")
    if field == "account_no":
        params = {"actor": s.actor(e), "account": s.account(e.data.get("account_id"))}
        return Sentence(N_("tl.pii.revealed_account"), params)
    key = N_("tl.pii.revealed_phone") if field == "victim.phone" else N_("tl.pii.revealed_id_no")
    return Sentence(key, {"actor": s.actor(e)})


def _handled(e: EventRead, s: Subject) -> Sentence:
    params = {
        "actor": s.actor(e),
        "instruction": s.instruction(e.instruction_id),
        "note": str(e.data.get("note") or "—"),
    }
    return Sentence(N_("tl.escalation.handled"), params)


_STATES: dict[str, Render] = {
    InstructionState.pending.value: _instruction(N_("tl.instruction.pending")),
    InstructionState.sent.value: _sent,
    InstructionState.escalated.value: _escalated,
    InstructionState.done.value: _done,
    InstructionState.expired.value: _expired,
}
KINDS: dict[str, Render] = {
    "case.created": _case_created,
    "case.status_changed": _status_changed,
    **{f"instruction.{state}": render for state, render in _STATES.items()},
    "instruction.resent": _resent,
    "trace.followed": _followed,
    "trace.depth_limit": _not_followed(N_("tl.trace.depth_limit")),
    "trace.below_minimum": _not_followed(N_("tl.trace.below_minimum")),
    "trace.merged": _not_followed(N_("tl.trace.merged")),
    "trace.merged_after_send": _not_followed(N_("tl.trace.merged_after_send")),
    "trace.held_by_other_case": _held_by_other_case,
    "trace.cashed_out": _cashed_out,
    "trace.unknown_institution": _unknown_institution,
    "trace.query_requested": _query_requested,
    "hold.renewal_requested": _renewal_requested,
    "hold.freeze_requested": _freeze_requested,
    "hold.release_requested": _release_requested,
    "hold.lapse_warning": _hold(N_("tl.hold.lapse_warning")),
    "hold.freeze_renewal_due": _hold(N_("tl.hold.freeze_renewal_due")),
    "hold.lapsed": _hold(N_("tl.hold.lapsed")),
    "return.confirmed": _return_confirmed,
    "return.completed": _return_completed,
    "return.overdue": _return_overdue,
    "callback.refused": _callback_refused,
    "callback.disputed": _callback_disputed,
    "pii.revealed": _revealed,
    "escalation.handled": _handled,
}
