"""Bank card numbers: the Luhn check digit (ISO/IEC 7812), shared by intake, tests and the
simulator."""

from __future__ import annotations


def luhn_ok(digits: str) -> bool:
    """Whether a string of digits ends in its correct Luhn check digit."""
    # ASCII only: str.isdigit() is also true of "²" and "٣", which int() reads or refuses.
    if not (digits.isascii() and digits.isdigit()):
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def luhn_complete(payload: str) -> str:
    """`payload` with the check digit appended that makes it pass the Luhn check."""
    return next(payload + digit for digit in "0123456789" if luhn_ok(payload + digit))
