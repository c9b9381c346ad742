"""Account numbers, card numbers, names, amounts and times as an institution writes them."""

from __future__ import annotations

import datetime as dt
import random
from decimal import ROUND_HALF_UP, Decimal

from simulator.registry import luhn_complete

CENT = Decimal("0.01")

# Common surnames; a holder's name is shown masked the way banks report it ("王某").
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"


def money(value: Decimal) -> Decimal:
    """`value` rounded to the cent."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def money_text(value: Decimal) -> str:
    """An amount as the protocol writes it: a string with two decimals."""
    return f"{money(value):.2f}"


def iso(moment: dt.datetime) -> str:
    """A moment as the protocol writes it: UTC, ISO 8601 with milliseconds and a Z."""
    utc = moment.astimezone(dt.UTC)
    return utc.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def normalise_account_no(account_no: str) -> str:
    """The identity of an account number: separators dropped, letters upper-cased."""
    return "".join(ch for ch in account_no if ch not in " -\u3000\t").upper()


def normalise_name(name: str) -> str:
    """A holder name for comparison: every kind of space ignored."""
    return "".join(name.split()).replace("\u3000", "")


def luhn_check_digit(payload: str) -> str:
    """The digit that makes `payload` + digit pass the Luhn check."""
    return luhn_complete(payload)[-1]


def make_card_no(rng: random.Random, prefix: str) -> str:
    """A debit (19 digits) or credit (16 digits) card number: `prefix`, random, check digit."""
    length = rng.choice((16, 19, 19))
    body = prefix + "".join(rng.choice("0123456789") for _ in range(length - len(prefix) - 1))
    return body + luhn_check_digit(body)


def make_payment_account_no(rng: random.Random, code: str) -> str:
    """A payment institution's 16-digit internal account id (Alipay's start with 2088)."""
    lead = "2088" if code == "ALIPAY" else "1" + rng.choice("0123456789")
    return lead + "".join(rng.choice("0123456789") for _ in range(16 - len(lead)))


def make_holder_name(rng: random.Random) -> str:
    return rng.choice(_SURNAMES) + "某"


def split_amount(rng: random.Random, total: Decimal, parts: int) -> list[Decimal]:
    """`total` cut into up to `parts` random positive amounts that sum to it exactly."""
    cents = int(money(total) / CENT)
    parts = max(1, min(parts, cents))
    weights = [rng.uniform(0.2, 1.0) for _ in range(parts)]
    scale = sum(weights)
    shares = [max(1, int(cents * w / scale)) for w in weights[:-1]]
    while sum(shares) >= cents and shares:
        shares.pop()
    shares.append(cents - sum(shares))
    return [Decimal(share) * CENT for share in shares]
