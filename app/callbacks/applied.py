"""A first delivery's outcome written in one statement: its inbox row, the instruction done
and the `instruction.done` event (the same row `move` would write), or nothing at all when
the webhook-id is in the inbox already.

A callback used to pay a round trip for each of the three (and the ORM's flush for two of
them); on two cores shared with everything else, round trips are what a callback costs.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from functools import cache
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    Integer,
    Numeric,
    String,
    bindparam,
    exists,
    literal,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql.expression import Executable

from app.audit.models import ActorKind, Event
from app.audit.service import as_audit_writer
from app.callbacks.models import CallbackInbox
from app.dispatch.models import Instruction, InstructionState

# The instruction's columns an outcome sets, with their types (bound as p_<name>).
SET: dict[str, Any] = {
    "outcome": String,
    "amount_stopped": Numeric(18, 2),
    "balance": Numeric(18, 2),
    "mismatch_field": String,
    "institution_ref": String,
    "acked_at": DateTime(timezone=True),
    "completed_at": DateTime(timezone=True),
    "lease_until": DateTime(timezone=True),
    "effective_at": DateTime(timezone=True),
    "expires_at": DateTime(timezone=True),
}
INBOX: dict[str, Any] = {
    "institution_id": Integer,
    "webhook_id": String,
    "webhook_timestamp": DateTime(timezone=True),
    "payload": JSONB,
    "instruction_id": BigInteger,
    "processed_at": DateTime(timezone=True),
    "answer": String,  # what the institution was told (its own view lists it)
}
DONE = InstructionState.done.value


@cache
def _statement() -> Executable:
    """Built once (bound parameters p_*): building a statement of three CTEs costs the API
    more than PostgreSQL spends running it."""
    claimed = (
        pg_insert(CallbackInbox)
        .values({name: bindparam(f"p_{name}", type_=kind) for name, kind in INBOX.items()})
        .on_conflict_do_nothing(
            index_elements=[CallbackInbox.institution_id, CallbackInbox.webhook_id]
        )
        .returning(CallbackInbox.id)
        .cte("claimed")
    )
    moved = (
        update(Instruction)
        .where(
            Instruction.id == bindparam("p_instruction_id", type_=BigInteger),
            exists(select(claimed.c.id)),
        )
        .values(
            state=DONE,
            **{name: bindparam(f"p_{name}", type_=kind) for name, kind in SET.items()},
        )
        .returning(Instruction.id, Instruction.case_id, Instruction.institution_id)
        .cte("moved")
    )
    recorded = (
        pg_insert(Event)
        .from_select(
            ["kind", "actor_kind", "institution_id", "case_id", "instruction_id", "data"],
            select(
                literal(f"instruction.{DONE}"),
                as_audit_writer(ActorKind.institution.value),
                moved.c.institution_id,
                moved.c.case_id,
                moved.c.id,
                bindparam("p_data", type_=JSONB),
            ),
        )
        .returning(Event.id)
        .cte("recorded")
    )
    return select(select(claimed.c.id).scalar_subquery(), select(recorded.c.id).scalar_subquery())


def claim_and_complete(
    db: Session,
    instruction: Instruction,
    *,
    inbox: dict[str, Any],
    values: dict[str, Any],
    data: dict[str, Any],
) -> bool:
    """Claim the webhook-id and complete the locked, open `instruction` with `values`, its
    event carrying `data`; False (nothing written) when the webhook-id was claimed before.

    The instance is brought up to date as if it had been loaded after the write.
    """
    db.flush()  # anything pending of this instruction goes first, as the ORM would order it
    params = {f"p_{name}": value for name, value in {**inbox, **values}.items()}
    params["p_data"] = {"from": instruction.state, **data}
    claimed, recorded = db.connection().execute(_statement(), params).one()
    if claimed is None:
        return False
    assert recorded is not None, "an open instruction, locked, moves"
    for name, value in {**values, "state": DONE}.items():
        set_committed_value(instruction, name, value)
    return True


def money(value: Decimal | None) -> str | None:
    return str(value) if value is not None else None


def inbox_row(
    *,
    institution_id: int,
    webhook_id: str,
    sent_at: dt.datetime,
    payload: Any,
    instruction_id: int,
    now: dt.datetime,
) -> dict[str, Any]:
    """The inbox row of a first delivery (processed now: applied in this same transaction)."""
    return {
        "institution_id": institution_id,
        "webhook_id": webhook_id,
        "webhook_timestamp": sent_at,
        "payload": payload,
        "instruction_id": instruction_id,
        "processed_at": now,
        "answer": "applied",  # the flow says otherwise where it applies nothing
    }
