"""The rules from settings, read once: how long holds run, how far money is followed, how
late a callback may be. Built when the app starts (app/main.py) and when a worker first
asks (`current_rules`); routers get it by the `AppRules` dependency."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache

from app.config import Settings, get_settings
from app.legal.service import LegalRules
from app.trace.service import TraceRules


@dataclass(frozen=True)
class Rules:
    legal: LegalRules
    trace: TraceRules
    callback_skew: dt.timedelta

    @property
    def hold(self) -> dt.timedelta:
        """How long a confirmed stop-payment runs."""
        return self.legal.hold

    @property
    def freeze(self) -> dt.timedelta:
        """How long a confirmed freeze runs."""
        return self.legal.freeze

    @classmethod
    def from_settings(cls, settings: Settings) -> Rules:
        legal = LegalRules(
            hold=dt.timedelta(hours=settings.stop_payment_hold_h),
            freeze=dt.timedelta(days=settings.freeze_days),
            max_stops=settings.stop_payment_max,
            lapse_warning=dt.timedelta(hours=settings.stop_payment_warning_h),
            freeze_warning=dt.timedelta(days=settings.freeze_warning_days),
            notice_days=settings.return_notice_days,
            return_working_days=settings.return_working_days,
        )
        return cls(
            legal=legal,
            trace=TraceRules(settings.trace_max_depth, settings.trace_min_amount),
            callback_skew=dt.timedelta(seconds=settings.callback_clock_skew_s),
        )


@cache
def current_rules() -> Rules:
    """The rules of this process's settings: how the workers read them."""
    return Rules.from_settings(get_settings())
