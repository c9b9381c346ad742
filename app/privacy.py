"""Personal data shown masked: a victim's resident ID, phone, and own card or account numbers.

One rule (`mask`) for all of them: keep a few characters at each end, star the middle, and
never keep more than two thirds of the value. The length stays visible, so an 18-character
ID still reads as one: `3502**********1234`. Suspects' (mule) accounts are case evidence that
police and banks act on, and are not masked (docs/access.md, "Personal data").
"""

from __future__ import annotations

import logging
import re
from urllib.parse import quote, unquote_plus

import phonenumbers

MASK = "*"
# Query parameters that may carry an account number (GET /api/v1/cases?account_no=...).
_ACCOUNT_IN_QUERY = re.compile(r"([?&]account_no=)([^&#]*)")
# Typed into account numbers for legibility; masked values are shown without them.
SEPARATORS = frozenset(" -\u3000")


def mask(value: str, *, head: int = 4, tail: int = 4) -> str:
    """`value` with all but its first `head` and last `tail` characters starred.

    A value too short for that keeps less, so that at least a third is always starred.
    """
    hidden_min = -(-len(value) // 3)  # a third, rounded up
    while head + tail > len(value) - hidden_min:
        if head >= tail:
            head -= 1
        else:
            tail -= 1
    return value[:head] + MASK * (len(value) - head - tail) + value[len(value) - tail :]


def mask_id_no(id_no: str | None) -> str | None:
    """A resident ID number: the first 4 (the region) and the last 4."""
    return None if id_no is None else mask(id_no)


def mask_account_no(account_no: str) -> str:
    """A card or account number, separators dropped: the first 4 and the last 4."""
    return mask("".join(ch for ch in account_no if ch not in SEPARATORS))


def shown_account_no(account_no: str, *, victim: bool | None) -> str:
    """An account number as staff see it: masked when it is a victim's own, in this case or
    in any other (`app.cases.reads.victim_anywhere`): a card does not lose its owner's
    protection by turning up in another case as a receiving account."""
    return mask_account_no(account_no) if victim else account_no


def mask_name(name: str) -> str:
    """A victim's name on the call-taker's pages: the first character of each word, the rest
    starred, one star at least (`陈女士` → `陈**`, `Chen Wei` → `C*** W**`)."""
    return " ".join(word[0] + MASK * max(len(word) - 1, 1) for word in name.split())


def mask_phone(phone: str | None) -> str | None:
    """A phone number as stored (E.164): the country code, then the national number's first
    3 and last 4 (`+86 138****8000`)."""
    if phone is None:
        return None
    try:
        number = phonenumbers.parse(phone, None)
    except phonenumbers.NumberParseException:
        return mask(phone, head=3, tail=4)
    national = phonenumbers.national_significant_number(number)
    return f"+{number.country_code} {mask(national, head=3, tail=4)}"


def redact_path(path: str) -> str:
    """A request path with any account number in its query string masked."""
    return _ACCOUNT_IN_QUERY.sub(
        lambda m: m.group(1) + quote(mask_account_no(unquote_plus(m.group(2))), safe="*"), path
    )


class AccessLogRedaction(logging.Filter):
    """uvicorn's access log lines, account numbers in query strings masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        # uvicorn.access logs (client address, method, path with query, HTTP version, status).
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            record.args = (args[0], args[1], redact_path(args[2]), args[3], args[4])
        return True


def redact_access_log() -> None:
    """Install AccessLogRedaction on uvicorn's access logger, once per process."""
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, AccessLogRedaction) for f in access.filters):
        access.addFilter(AccessLogRedaction())
