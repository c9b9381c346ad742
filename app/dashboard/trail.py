"""The money trail of one case as a graph: accounts by level, transfers as edges, each
account coloured by its fate (app/casefile/fates.py)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from app.casefile.fates import AccountFate, Fate
from app.casefile.schemas import CaseRead
from app.dispatch.schemas import InstructionRead

HOLD_KINDS = {"stop_payment", "freeze"}
# The legend, in order: the victim's own accounts, then every fate; the page colours each.
CLASSES = ("victim", *(f.value for f in Fate))


@dataclass(frozen=True)
class TrailAccount:
    key: str
    account_id: int
    institution: str
    account_no: str
    masked: bool
    holder_name: str | None
    level: int
    status: str
    fate: AccountFate | None
    instruction: InstructionRead | None
    shared_with: list[str]


def _key(account_id: int) -> str:
    # By id, not number: a victim's masked numbers need not be unique.
    return f"account-{account_id}"


def trail_accounts(case: CaseRead) -> list[TrailAccount]:
    """Each account of the case by level, with its fate (app/casefile/fates.py) and the
    case's own stop-payment or freeze of it."""
    by_id = {i.id: i for i in case.instructions}
    found = []
    for level in case.levels:
        for a in level.accounts:
            fate = a.fate
            found.append(
                TrailAccount(
                    key=_key(a.account_id),
                    account_id=a.account_id,
                    institution=a.institution,
                    account_no=a.account_no,
                    masked=a.masked,
                    holder_name=a.holder_name,
                    level=a.level,
                    status=fate.fate.value if fate else "victim",
                    fate=fate,
                    instruction=by_id.get(fate.instruction_id or 0) if fate else None,
                    shared_with=a.shared_with,
                )
            )
    return found


def graph(case: CaseRead, accounts: list[TrailAccount]) -> dict[str, Any]:
    """Nodes placed by level (left to right) and edges with amounts, for ECharts."""
    rows: dict[int, int] = {}
    nodes = []
    for a in accounts:
        row = rows[a.level] = rows.get(a.level, -1) + 1
        amount = a.instruction.amount_stopped if a.instruction else None
        nodes.append(
            {
                "id": a.key,
                "name": f"{a.institution} …{a.account_no[-4:]}",
                "level": a.level,
                "x": a.level * 300,
                "y": row * 64,
                "status": a.status,
                "account_no": a.account_no,
                "holder": a.holder_name or "",
                "held": str(amount) if amount is not None else None,
            }
        )
    edges: dict[tuple[str, str], Decimal] = {}
    for t in case.transfers:
        key = (_key(t.from_account_id), _key(t.to_account_id))
        edges[key] = edges.get(key, Decimal(0)) + t.amount
    links = [{"source": s, "target": d, "amount": str(v)} for (s, d), v in edges.items()]
    return {"nodes": nodes, "links": links}
