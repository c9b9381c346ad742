"""The money trail of one case as a graph: accounts by level, transfers as edges, each
account coloured by what its latest stop-payment or freeze achieved."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from app.casefile.schemas import CaseRead
from app.dispatch.schemas import InstructionRead

HOLD_KINDS = {"stop_payment", "freeze"}
# Outcome classes, in the order of the legend; the page gives each its colour.
CLASSES = (
    "victim",
    "waiting",
    "sent",
    "stopped",
    "partial",
    "frozen",
    "nothing",
    "escalated",
    "elsewhere",
    "expired",
)
_BY_OUTCOME = {
    "stopped_full": "stopped",
    "stopped_partial": "partial",
    "frozen_full": "frozen",
    "frozen_partial": "frozen",
    "released": "nothing",
    "no_funds": "nothing",
    "mismatch": "nothing",
    "account_not_found": "nothing",
    "rejected": "nothing",
}


@dataclass(frozen=True)
class TrailAccount:
    key: str
    account_id: int
    institution: str
    account_no: str
    holder_name: str | None
    level: int
    status: str
    instruction: InstructionRead | None
    shared_with: list[str]


def status_of(instruction: InstructionRead | None, *, victim: bool, held_elsewhere: bool) -> str:
    if victim:
        return "victim"
    if instruction is None:
        return "elsewhere" if held_elsewhere else "waiting"
    if instruction.state == "escalated":
        return "escalated"
    if instruction.state == "expired":
        return "expired"
    if instruction.state == "pending":
        return "waiting"
    if instruction.state == "sent":
        return "sent"
    return _BY_OUTCOME.get(instruction.outcome or "", "nothing")


def _key(account_id: int) -> str:
    # By id, not number: a victim's masked numbers need not be unique.
    return f"account-{account_id}"


def trail_accounts(case: CaseRead) -> list[TrailAccount]:
    latest: dict[tuple[str, str | None], InstructionRead] = {}
    for i in case.instructions:  # by id: the last one of an account wins
        if i.kind in HOLD_KINDS:
            latest[(i.institution, i.account_no)] = i
    found = []
    for level in case.levels:
        for a in level.accounts:
            instruction = latest.get((a.institution, a.account_no))
            found.append(
                TrailAccount(
                    key=_key(a.account_id),
                    account_id=a.account_id,
                    institution=a.institution,
                    account_no=a.account_no,
                    holder_name=a.holder_name,
                    level=a.level,
                    status=status_of(
                        instruction, victim=a.level == 0, held_elsewhere=a.held_by is not None
                    ),
                    instruction=instruction,
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
