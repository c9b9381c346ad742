"""Callbacks signed as a real bank signs them (the standardwebhooks library)."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from standardwebhooks import Webhook

from app.dispatch.models import Instruction
from tests.factories import institution


def signed(
    db: Session,
    code: str,
    data: dict[str, Any],
    *,
    webhook_id: str | None = None,
    at: dt.datetime | None = None,
    secret: str | None = None,
    event_at: object = None,
) -> tuple[bytes, dict[str, str]]:
    """`event_at` is the body's `timestamp`, when the institution's event happened."""
    event: dict[str, Any] = {"type": "instruction.completed", "data": data}
    if event_at is not None:
        event["timestamp"] = event_at
    body = json.dumps(event)
    msg_id = webhook_id or f"msg_{uuid.uuid4().hex}"
    when = at or dt.datetime.now(dt.UTC)
    signature = Webhook(secret or institution(db, code).callback_secret).sign(msg_id, when, body)
    headers = {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(when.timestamp())),
        "webhook-signature": signature,
        "content-type": "application/json",
    }
    return body.encode(), headers


def outcome(instruction: Instruction, **changes: Any) -> dict[str, Any]:
    data = {
        "idempotency_key": instruction.idempotency_key,
        "reference": "SIM-1",
        "kind": instruction.kind,
        "outcome": "stopped_full",
        "amount_stopped": str(instruction.amount_requested),
        "balance": str(instruction.amount_requested),
        "effective_at": dt.datetime.now(dt.UTC).isoformat(),
        "onward_transfers": [],
    }
    data.update(changes)
    if "balance" not in changes:
        # An honest bank holds all it has when that is less than was asked, and finds no
        # funds only on an empty account (docs/institution-protocol.md).
        if str(data["outcome"]).endswith("_partial"):
            data["balance"] = data["amount_stopped"]
        elif data["outcome"] == "no_funds":
            data["balance"] = "0.00"
    return data


def post(client: TestClient, code: str, signed: tuple[bytes, dict[str, str]]) -> Any:
    body, headers = signed
    return client.post(f"/api/v1/callbacks/{code}", content=body, headers=headers)
