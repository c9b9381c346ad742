"""The rules from settings, read into one object: every part from its own setting."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from app.config import Settings
from app.flows import Rules
from app.legal.service import LegalRules
from app.trace.service import TraceRules


def _settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg, arg-type]


def test_the_defaults_are_the_legal_and_trace_rules_defaults() -> None:
    rules = Rules.from_settings(_settings())

    assert rules.legal == LegalRules()
    assert rules.trace == TraceRules()
    assert rules.callback_skew == dt.timedelta(minutes=5)


def test_each_part_follows_its_setting() -> None:
    rules = Rules.from_settings(
        _settings(
            stop_payment_hold_h=24,
            freeze_days=90,
            stop_payment_max=3,
            stop_payment_warning_h=2,
            freeze_warning_days=7,
            return_notice_days=10,
            return_working_days=5,
            trace_max_depth=5,
            trace_min_amount=Decimal("50.00"),
            callback_clock_skew_s=60,
        )
    )

    assert (rules.hold, rules.freeze) == (dt.timedelta(hours=24), dt.timedelta(days=90))
    assert rules.legal == LegalRules(
        hold=dt.timedelta(hours=24),
        freeze=dt.timedelta(days=90),
        max_stops=3,
        lapse_warning=dt.timedelta(hours=2),
        freeze_warning=dt.timedelta(days=7),
        notice_days=10,
        return_working_days=5,
    )
    assert rules.trace == TraceRules(max_depth=5, min_amount=Decimal("50.00"))
    assert rules.callback_skew == dt.timedelta(seconds=60)
