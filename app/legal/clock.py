"""The legal clock's time: the real time, unless a test or demo froze or shifted it.

Only deadline-keeping reads this clock (lapses, warnings, renewals, returns, what is in
force); institutions' own timestamps and the fan-out's timings stay on the real time.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from app.config import Settings
from app.db import utcnow
from app.legal.models import ClockSetting


def legal_now(db: Session, settings: Settings) -> dt.datetime:
    real = utcnow()
    if not settings.settable_clock:
        return real
    row = db.get(ClockSetting, 1)
    if row is None:
        return real
    return row.frozen_at or real + dt.timedelta(seconds=row.offset_s)


def set_clock(db: Session, *, frozen_at: dt.datetime | None, offset_s: float) -> None:
    row = db.get(ClockSetting, 1) or ClockSetting(id=1)
    row.frozen_at, row.offset_s = frozen_at, offset_s
    db.add(row)


def reset_clock(db: Session) -> None:
    row = db.get(ClockSetting, 1)
    if row is not None:
        db.delete(row)
