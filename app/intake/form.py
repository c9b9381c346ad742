"""The form's inputs → the intake API's body, the way intake.js builds it in the browser.

Inputs are named by the API's own dotted field paths (`transfers.0.to.account_no`), so an
error the API reports lands on the input of the same name, with or without JavaScript.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from app.cases.models import FraudType
from app.i18n import LANGUAGES, Message, msg, t
from app.i18n.labels import FRAUD_LABEL
from app.intake.parsing import Unreadable, parse_amount, parse_time

TRANSFER_INPUTS = (
    "from.account_no",
    "from.institution",
    "to.account_no",
    "to.institution",
    "to.holder_name",
    "amount",
    "occurred_at",
    "channel",
    "reference",
)
# What a row needs before it counts as entered: defaults (channel) and the paying account
# (copied into each new row) do not.
TRANSFER_TYPED = ("to.account_no", "to.holder_name", "amount", "occurred_at", "reference")
MAX_ROWS = 200
_ROW = re.compile(r"^(transfers|contacts)\.(\d+)\.")


@dataclass
class FormPayload:
    """The body to send, and the inputs the form itself could not read."""

    body: dict[str, Any]
    problems: dict[str, Message] = field(default_factory=dict)
    # The form row of each transfer in the body (blank rows are left out of the body).
    rows: list[int] = field(default_factory=list)
    # Inputs given a stand-in (`fill=True`): the rules behind them still run, but what the
    # API says of the stand-in itself is not the call-taker's error.
    filled: set[str] = field(default_factory=set)

    def input_name(self, path: str) -> str:
        """The input an API error path points at: `transfers.1.amount` may be row 3's."""
        match = re.match(r"^transfers\.(\d+)(\..*)?$", path)
        if match and int(match.group(1)) < len(self.rows):
            return f"transfers.{self.rows[int(match.group(1))]}{match.group(2) or ''}"
        return path


def row_counts(fields: Mapping[str, str]) -> tuple[int, int]:
    """How many transfer and contact rows the inputs hold (at least one of each)."""
    counts = {"transfers": 0, "contacts": 0}
    for name in fields:
        match = _ROW.match(name)
        if match and int(match.group(2)) < MAX_ROWS:
            counts[match.group(1)] = max(counts[match.group(1)], int(match.group(2)) + 1)
    return max(counts["transfers"], 1), max(counts["contacts"], 1)


def fraud_type_code(text: str) -> str | None:
    """A fraud type from its code, its label in either language, or a piece of one label
    (the field is searchable: `客服` or `customer service` is enough)."""
    wanted = text.strip().casefold()
    if not wanted:
        return None
    labels = {
        kind.value: {
            kind.value,
            *(t(FRAUD_LABEL[kind.value], lang).casefold() for lang in LANGUAGES),
        }
        for kind in FraudType
    }
    exact = [code for code, names in labels.items() if wanted in names]
    partial = [code for code, names in labels.items() if any(wanted in name for name in names)]
    found = exact or partial
    return found[0] if len(found) == 1 else None


def _text(fields: Mapping[str, str], name: str) -> str | None:
    value = fields.get(name, "").strip()
    return value or None


def build_payload(
    fields: Mapping[str, str], *, now: dt.datetime, zone: ZoneInfo, fill: bool = False
) -> FormPayload:
    """The CaseCreate body for the inputs; amounts and times parsed, blank rows left out.
    Unreadable inputs are reported in `problems` (and left out of the body, or with `fill`
    given a stand-in, as are the blank ones the API requires)."""
    out = FormPayload(body={})
    body = out.body
    body["received_at"] = _time(fields, "received_at", now, zone, out, fill=fill)
    body["channel"] = _text(fields, "channel") or "phone_call"
    body["victim"] = _victim(fields, out, fill=fill)
    body["fraud_type"] = _fraud_type(fields, out, fill=fill)
    body["narrative"] = fields.get("narrative", "")
    n_transfers, n_contacts = row_counts(fields)
    rows = [(i, _transfer(fields, i, now, zone, out, fill=fill)) for i in range(n_transfers)]
    transfers = [item for _, item in rows if item is not None]
    out.rows = [i for i, item in rows if item is not None]
    receivers = {item["to"]["account_no"] for item in transfers}
    for item in transfers:
        # The paying account is the victim's unless money reached it within the report.
        if item["from"]["holder_name"] is None and item["from"]["account_no"] not in receivers:
            item["from"]["holder_name"] = body["victim"]["name"] or None
    body["transfers"] = transfers
    contacts = [
        {"kind": _text(fields, f"contacts.{i}.kind") or "phone", "value": value}
        for i in range(n_contacts)
        if (value := fields.get(f"contacts.{i}.value", "").strip())
    ]
    body["contacts"] = contacts
    out.body = _compact(body)
    return out


def _victim(fields: Mapping[str, str], out: FormPayload, *, fill: bool) -> dict[str, Any]:
    name = fields.get("victim.name", "").strip()
    if not name and fill:
        name = _stand_in(out, "victim.name", "?")
    phone = _text(fields, "victim.phone")
    # A blank phone is a choice the call-taker confirms ("no phone"), never an oversight.
    if phone is None and fields.get("victim.no_phone", "") not in ("on", "true", "1"):
        out.problems["victim.phone"] = msg("form.phone_confirm")
    return {
        "name": name,
        "id_no": _text(fields, "victim.id_no"),
        "phone": phone,
        "is_enterprise": fields.get("victim.is_enterprise", "") in ("on", "true", "1"),
        "enterprise_name": _text(fields, "victim.enterprise_name"),
    }


def _fraud_type(fields: Mapping[str, str], out: FormPayload, *, fill: bool) -> str | None:
    typed = _text(fields, "fraud_type")
    code = fraud_type_code(typed) if typed else None
    if code is None:
        # Blank is an error too: "other" is a choice, not what an empty field means.
        key = "form.fraud_type_unknown" if typed else "form.fraud_type_required"
        out.problems["fraud_type"] = msg(key)
    if code is None and fill:
        return _stand_in(out, "fraud_type", "other")
    return code


def _stand_in(out: FormPayload, name: str, value: str) -> str:
    out.filled.add(name)
    return value


def _compact(value: Any) -> Any:
    """Leave out what was not entered, so the API reports a missing field as missing."""
    if isinstance(value, dict):
        return {k: _compact(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_compact(v) for v in value]
    return value


def _time(
    fields: Mapping[str, str],
    name: str,
    now: dt.datetime,
    zone: ZoneInfo,
    out: FormPayload,
    *,
    fill: bool = False,
) -> str | None:
    raw = _text(fields, name)
    try:
        if raw is not None:
            return parse_time(raw, now=now, zone=zone).isoformat()
    except Unreadable:
        out.problems[name] = msg("form.time_unreadable")
    return _stand_in(out, name, now.isoformat()) if fill else None


def _transfer(
    fields: Mapping[str, str],
    i: int,
    now: dt.datetime,
    zone: ZoneInfo,
    out: FormPayload,
    *,
    fill: bool,
) -> dict[str, Any] | None:
    prefix = f"transfers.{i}."
    if not any(_text(fields, prefix + name) for name in TRANSFER_TYPED):
        return None
    amount = None
    if (raw := _text(fields, prefix + "amount")) is not None:
        try:
            amount = str(parse_amount(raw))
        except Unreadable:
            out.problems[prefix + "amount"] = msg("form.amount_unreadable")
    if amount is None and fill:
        amount = _stand_in(out, prefix + "amount", "1.00")

    def account(side: str) -> dict[str, Any]:
        # As typed: the intake resolves a code, a name or an alias (`工行`, `支付宝`).
        institution = _text(fields, f"{prefix}{side}.institution")
        return {
            "institution": institution,
            "account_no": fields.get(f"{prefix}{side}.account_no", "").strip(),
            "holder_name": _text(fields, f"{prefix}{side}.holder_name"),
        }

    return {
        "occurred_at": _time(fields, prefix + "occurred_at", now, zone, out, fill=fill),
        "amount": amount,
        "from": account("from"),
        "to": account("to"),
        "channel": _text(fields, prefix + "channel") or "other",
        "reference": _text(fields, prefix + "reference"),
    }
