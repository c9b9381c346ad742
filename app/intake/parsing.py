"""What a call-taker types for an amount or a time, read the way they mean it.

Amounts: `455400`, `455,400`, `455400.00`, `45.54万` (or `45.54w`), `1.2亿`, with or without
`¥` / `元`. Times: `14:05` (today in the centre's zone; yesterday if that is still ahead),
`昨天 23:50`, `20 min ago` / `20分钟前` / `2小时前` / `半小时前`, `now` / `刚才`, or a full
date and time. The same rules run in the browser (app/static/intake.js, `parseAmount` and
`parseTime`); this module is the one the no-JavaScript form post uses, and the tests pin it.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

CENT = Decimal("0.01")
UNITS = {"万": Decimal(10_000), "w": Decimal(10_000), "亿": Decimal(100_000_000)}
# A typed clock time this far ahead of now is taken as today still: clocks and memories
# differ by a few minutes. Further ahead, the victim means yesterday (a call after midnight).
AHEAD_TOLERANCE = dt.timedelta(minutes=5)

_GROUPED = re.compile(r"^\d{1,3}(,\d{3})+(\.\d+)?$")
_PLAIN = re.compile(r"^\d+(\.\d+)?$|^\.\d+$")
_CLOCK = re.compile(r"^(\d{1,2})(?::|点|时)(\d{2})?(?:(?::|分)(\d{2})?)?(?:秒)?$")
_AGO = re.compile(
    r"^(\d+)\s*(?:(m|min|mins|minute|minutes|分钟|分)|(h|hr|hrs|hour|hours|小时|个小时))\s*"
    r"(?:ago|前|之前)?$"
)
NOW_WORDS = {"now", "just now", "现在", "刚才", "刚刚"}
YESTERDAY_WORDS = ("yesterday", "昨天", "昨晚", "昨日")


class Unreadable(ValueError):
    """The text is not an amount (or a time) in any form the form accepts."""


def _normalise(text: str) -> str:
    # NFKC turns full-width digits, colons and commas (typed with a Chinese IME) into ASCII.
    return unicodedata.normalize("NFKC", text).strip().lower()


def parse_amount(text: str) -> Decimal:
    """CNY as typed, to two decimals; raises Unreadable."""
    raw = _normalise(text)
    for noise in ("¥", "cny", "rmb", "元", " "):
        raw = raw.replace(noise, "")
    factor = Decimal(1)
    if raw and raw[-1] in UNITS:
        factor, raw = UNITS[raw[-1]], raw[:-1]
    if _GROUPED.match(raw):
        raw = raw.replace(",", "")
    if not _PLAIN.match(raw):
        raise Unreadable(text)
    try:
        value = Decimal(raw) * factor
    except InvalidOperation as exc:  # pragma: no cover - the pattern admits only numbers
        raise Unreadable(text) from exc
    if value != value.quantize(CENT):
        raise Unreadable(text)  # fractions of a fen: a typo, not an amount
    return value.quantize(CENT)


def parse_time(text: str, *, now: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    """An aware datetime for what was typed, read in the centre's zone; raises Unreadable."""
    raw = _normalise(text)
    # Relative times to the whole minute: seconds would be false precision.
    minute = now.replace(second=0, microsecond=0)
    if raw in NOW_WORDS:
        return minute
    if raw in ("半小时前", "half an hour ago"):
        return minute - dt.timedelta(minutes=30)
    ago = _AGO.match(raw)
    if ago:
        amount = int(ago.group(1))
        unit = dt.timedelta(minutes=1) if ago.group(2) else dt.timedelta(hours=1)
        return minute - amount * unit
    days_back = 0
    for word in YESTERDAY_WORDS:
        if raw.startswith(word):
            raw, days_back = raw.removeprefix(word).strip(), 1
            break
    clock = _CLOCK.match(raw)
    if clock:
        return _today_at(clock, now=now, zone=zone, days_back=days_back)
    if days_back:
        raise Unreadable(text)
    try:
        parsed = dt.datetime.fromisoformat(raw.upper().replace("/", "-"))
    except ValueError as exc:
        raise Unreadable(text) from exc
    return parsed.replace(tzinfo=zone) if parsed.tzinfo is None else parsed


def _today_at(
    clock: re.Match[str], *, now: dt.datetime, zone: ZoneInfo, days_back: int
) -> dt.datetime:
    hour, minute, second = (int(g) if g else 0 for g in clock.groups())
    if hour > 23 or minute > 59 or second > 59:
        raise Unreadable(clock.group(0))
    local_now = now.astimezone(zone)
    day = local_now.date() - dt.timedelta(days=days_back)
    moment = dt.datetime.combine(day, dt.time(hour, minute, second), tzinfo=zone)
    if not days_back and moment > local_now + AHEAD_TOLERANCE:
        moment -= dt.timedelta(days=1)
    return moment


def format_local(value: dt.datetime, zone: ZoneInfo) -> str:
    """How the form shows a time: `2026-11-22 14:05` in the centre's zone."""
    return value.astimezone(zone).strftime("%Y-%m-%d %H:%M")
