"""Onward transfers an institution reports, checked as intake checks a receiving account."""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy.orm import Session

from app.cases.schemas import AccountRef
from app.cases.service import load_directory
from app.cases.validation import LOOKBACK, FieldProblem, resolve_account
from app.i18n import N_
from app.trace.service import Onward


def check_onward(
    db: Session, *, onward: list[Onward], now: dt.datetime, skew: dt.timedelta
) -> tuple[list[Onward], list[FieldProblem]]:
    """The transfers with their institution codes as the directory spells them, and every
    rule broken, by field: a known institution that holds accounts (not the national
    platform), an account number plausible for its kind, a time within the last year."""
    if not onward:
        return [], []
    # Intake's directory, cached per process: a callback does not reload every institution
    # and rebuild the BIN index (a 157-account case posts 158 callbacks).
    directory = load_directory(db)
    problems: list[FieldProblem] = []
    checked: list[Onward] = []
    earliest, latest = now - LOOKBACK, now + skew
    for i, o in enumerate(onward):
        path = f"data.onward_transfers.{i}"
        ref = AccountRef(institution=o.institution, account_no=o.account_no)
        resolved = resolve_account(ref, path, directory, problems)
        if not earliest <= o.occurred_at <= latest:
            problems.append(
                FieldProblem(
                    f"{path}.occurred_at",
                    N_("callback.time_range"),
                    {
                        "earliest": earliest.isoformat(timespec="seconds"),
                        "latest": latest.isoformat(timespec="seconds"),
                    },
                )
            )
        if resolved is not None:
            checked.append(dataclasses.replace(o, institution=resolved.institution.code))
    return checked, problems
