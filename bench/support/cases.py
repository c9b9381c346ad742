"""The reports the benchmarks send: intake's flat cases, the fan-out's three-level tree of
157 suspect accounts, and the same tree for follow-the-money, where the report names only
level 1 and the simulated institutions know the rest."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from app.cards import luhn_complete

# One known BIN per bank (from app/institutions/registry.yaml); the payer's bank is first.
BANK_BINS = {
    "ICBC": "622202",
    "CCB": "621700",
    "ABC": "622848",
    "CMB": "622588",
    "BOC": "621661",
    "BOCOM": "622262",
    "PSBC": "621799",
    "CITIC": "622690",
}
# Ten banks and two payment institutions; the victim's card is at ICBC.
INSTITUTIONS = (
    "ICBC",
    "ABC",
    "BOC",
    "CCB",
    "BOCOM",
    "PSBC",
    "CMB",
    "CITIC",
    "SPDB",
    "CIB",
    "ALIPAY",
    "TENPAY",
)
LEVEL_SIZES = (40, 60, 57)  # suspect accounts at levels 1, 2, 3
VICTIM = {"name": "陈女士", "id_no": "11010519491231002X", "phone": "13800138000"}


@dataclass(frozen=True)
class Request:
    """One report, serialised before the timed loop."""

    headers: dict[str, str]
    body: bytes


def card_no(bank: str, serial: int) -> str:
    """A valid 19-digit card number of `bank` (known BIN, right Luhn digit)."""
    return luhn_complete(f"{BANK_BINS[bank]}{serial:012d}")


def intake_case(index: int, transfers: int, now: dt.datetime) -> dict[str, object]:
    """Report `index`: its own victim card, paying `transfers` distinct cards at several banks."""
    banks = list(BANK_BINS)
    victim_card = card_no("ICBC", 900_000_000 + index)
    items = [
        {
            # Spread over the last 30 minutes, oldest first, all before the call.
            "occurred_at": (now - dt.timedelta(minutes=29 - 27 * j / transfers)).isoformat(),
            "amount": f"{1000 + 37 * j}.{j % 100:02d}",
            "from": {"institution": "ICBC", "account_no": victim_card, "holder_name": "陈女士"},
            "to": {
                "account_no": card_no(banks[j % len(banks)], index * 1000 + j),
                "holder_name": "刘某",
            },
            "channel": "mobile_banking",
            "reference": f"MB{index:06d}{j:03d}",
        }
        for j in range(transfers)
    ]
    return {
        "received_at": (now - dt.timedelta(minutes=1)).isoformat(),
        "channel": "phone_call",
        "victim": VICTIM,
        "fraud_type": "impersonate_customer_service",
        "narrative": "自称航空公司客服，称航班取消可办理退款，诱导通过手机银行转账。",
        "transfers": items,
        "contacts": [{"kind": "phone", "value": "+85261234567"}],
    }


def build_requests(count: int, transfers: int, token: str, first: int = 0) -> list[Request]:
    """Intake cases `first` .. `first + count - 1`, each with its own idempotency key."""
    now = dt.datetime.now(dt.UTC)
    base = {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/json",
        "Accept-Language": "en",
    }
    return [
        Request(
            headers={**base, "Idempotency-Key": str(uuid.uuid4())},
            body=json.dumps(intake_case(first + i, transfers, now)).encode(),
        )
        for i in range(count)
    ]


def account_at(code: str, serial: int, holder: str) -> dict[str, Any]:
    """A bank account number (not a card: no known BIN) or a wallet id, unique per serial."""
    if code == "ALIPAY":
        number = f"2088{serial % 10**12:012d}"
    elif code == "TENPAY":
        number = f"139{serial % 10**8:08d}"  # a wallet known by its phone number
    else:
        number = f"81{serial % 10**15:015d}"
    return {"institution": code, "account_no": number, "holder_name": holder}


def suspects(tag: int) -> list[list[dict[str, Any]]]:
    """Accounts per level, spread round-robin over the twelve institutions."""
    levels: list[list[dict[str, Any]]] = []
    index = 0
    for level, size in enumerate(LEVEL_SIZES, start=1):
        accounts = []
        for _ in range(size):
            code = INSTITUTIONS[index % len(INSTITUTIONS)]
            accounts.append(account_at(code, tag * 1000 + index, f"嫌疑人{level}-{index}"))
            index += 1
        levels.append(accounts)
    return levels


def victim_card(tag: int) -> dict[str, Any]:
    return {
        "institution": "ICBC",
        "account_no": card_no("ICBC", 900_000_000 + tag % 10**8),
        "holder_name": "陈女士",
    }


def transfer(
    source: dict[str, Any], target: dict[str, Any], amount: int, at: dt.datetime, ref: str
) -> dict[str, Any]:
    return {
        "occurred_at": at.isoformat(),
        "amount": f"{amount}.00",
        "from": source,
        "to": target,
        "channel": "mobile_banking",
        "reference": ref,
    }


def fanout_case(tag: int, now: dt.datetime) -> dict[str, Any]:
    """Victim -> 40 level-1 -> 60 level-2 -> 57 level-3 accounts: 157 transfers."""
    victim = victim_card(tag)
    level1, level2, level3 = suspects(tag)
    start = now - dt.timedelta(minutes=50)
    items = [
        transfer(victim, acc, 20_000 + 137 * i, start + dt.timedelta(seconds=10 * i), f"L1-{i}")
        for i, acc in enumerate(level1)
    ]
    for depth, (payers, payees) in enumerate(((level1, level2), (level2, level3)), start=2):
        at = start + dt.timedelta(minutes=10 * (depth - 1))
        items += [
            transfer(
                payers[j % len(payers)],
                acc,
                9_000 // depth + 53 * j,
                at + dt.timedelta(seconds=10 * j),
                f"L{depth}-{j}",
            )
            for j, acc in enumerate(payees)
        ]
    return {
        "received_at": (now - dt.timedelta(minutes=1)).isoformat(),
        "channel": "phone_call",
        "victim": VICTIM,
        "fraud_type": "impersonate_customer_service",
        "narrative": "自称客服，诱导转账；资金经三级账户分散转移。",
        "transfers": items,
        "contacts": [{"kind": "phone", "value": "+85261234567"}],
    }


def money(value: Decimal) -> str:
    return f"{value:.2f}"


Flow = tuple[
    dict[int, list[tuple[Decimal, dt.datetime]]],  # per account: what came in, and when
    dict[int, list[dict[str, Any]]],  # per account: what it sent on
]


def _money_flow(
    levels: list[list[dict[str, Any]]], victim: dict[str, Any], start: dt.datetime
) -> tuple[list[dict[str, Any]], Flow]:
    """The victim's transfers to level 1, and the money's way on: each level-1 and level-2
    account keeps half of what came in and sends the rest to its children."""
    incoming: dict[int, list[tuple[Decimal, dt.datetime]]] = {}
    onward: dict[int, list[dict[str, Any]]] = {}
    ids = {id(acc): n for n, acc in enumerate(acc for level in levels for acc in level)}
    transfers = []
    for i, acc in enumerate(levels[0]):
        amount, at = Decimal(40_000 + 137 * i), start + dt.timedelta(seconds=10 * i)
        incoming.setdefault(ids[id(acc)], []).append((amount, at))
        transfers.append(
            {
                "occurred_at": at.isoformat(),
                "amount": money(amount),
                "from": victim,
                "to": acc,
                "channel": "mobile_banking",
                "reference": f"L1-{i}",
            }
        )
    for depth, (payers, payees) in enumerate(((levels[0], levels[1]), (levels[1], levels[2])), 2):
        for j, acc in enumerate(payees):
            payer = payers[j % len(payers)]
            got = incoming[ids[id(payer)]][0][0]
            children = len(range(j % len(payers), len(payees), len(payers)))
            amount = (got / 2 / children).quantize(Decimal("0.01"))
            at = start + dt.timedelta(minutes=5 * (depth - 1), seconds=10 * j)
            incoming.setdefault(ids[id(acc)], []).append((amount, at))
            onward.setdefault(ids[id(payer)], []).append(
                {
                    "institution": acc["institution"],
                    "account_no": acc["account_no"],
                    "holder_name": acc["holder_name"],
                    "amount": money(amount),
                    "at": at.isoformat(),
                    "reference": f"L{depth}-{j}",
                }
            )
    return transfers, (incoming, onward)


def trace_tree(tag: int, now: dt.datetime) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the report: victim -> 40 level-1 accounts; the simulator's scenario for all 157)."""
    levels = suspects(tag)
    start = now - dt.timedelta(minutes=50)
    transfers, (incoming, onward) = _money_flow(levels, victim_card(tag), start)
    accounts = []
    for n, acc in enumerate(acc for level in levels for acc in level):
        got = sum((a for a, _ in incoming[n]), Decimal(0))
        sent = sum((Decimal(o["amount"]) for o in onward.get(n, [])), Decimal(0))
        accounts.append(
            {
                "institution": acc["institution"],
                "account_no": acc["account_no"],
                "holder_name": acc["holder_name"],
                "balance": money(got - sent),
                "incoming": [{"amount": money(a), "at": t.isoformat()} for a, t in incoming[n]],
                "onward": onward.get(n, []),
            }
        )
    report = {
        "received_at": (now - dt.timedelta(minutes=1)).isoformat(),
        "channel": "phone_call",
        "victim": VICTIM,
        "fraud_type": "brushing_rebate",
        "narrative": "刷单返利；资金经三级账户分散转移，受害人只知第一级账户。",
        "transfers": transfers,
        "contacts": [],
    }
    return report, {"description": "bench/trace.py", "accounts": accounts}
