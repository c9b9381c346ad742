"""Admin endpoints for tests, trainers and demos (docs/institution-protocol.md, section 3)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any

import pydantic
from fastapi import APIRouter, Body, HTTPException, Query, Request
from fastapi.responses import JSONResponse

from simulator.deps import SimulatorDep
from simulator.scenarios import parse_scenario
from simulator.schemas import CallbacksIn, LiveIn, OutageIn

router = APIRouter(prefix="/admin", tags=["admin"])


def _errors(exc: pydantic.ValidationError) -> list[dict[str, Any]]:
    """The validation errors as plain JSON."""
    errors: list[dict[str, Any]] = json.loads(exc.json(include_url=False, include_context=False))
    return errors


def _known(simulator: SimulatorDep, code: str) -> str:
    if code not in simulator.registry:
        raise HTTPException(404, f"no institution {code!r} here")
    return code


@router.get("/ledger")
async def ledger(
    simulator: SimulatorDep,
    institution: str | None = None,
    case_no: str | None = None,
    idempotency_key: str | None = None,
    entry: Annotated[str | None, Query(description="received, applied, callback_sent, ...")] = None,
) -> JSONResponse:
    """What the institutions actually did, oldest first; every filter given must match."""
    entries = simulator.ledger.query(
        institution=institution, case_no=case_no, idempotency_key=idempotency_key, entry=entry
    )
    # Straight to JSON: the ledger can be long, and its entries need no validation.
    return JSONResponse([e.to_json() for e in entries])


@router.post("/outage")
async def start_outage(simulator: SimulatorDep, data: OutageIn) -> dict[str, Any]:
    """Put an institution out of action, for `seconds` or (null) until lifted."""
    code = _known(simulator, data.institution)
    outage = simulator.outages.start(code, mode=data.mode, seconds=data.seconds)
    return {"institution": code, **outage.to_json()}


@router.delete("/outage/{code}")
async def lift_outage(simulator: SimulatorDep, code: str) -> dict[str, Any]:
    _known(simulator, code)
    return {"institution": code, "lifted": simulator.outages.lift(code)}


@router.post("/callbacks")
async def callbacks_mode(simulator: SimulatorDep, data: CallbacksIn) -> dict[str, Any]:
    """Make every callback attempt fail (for `seconds`, or until set back), or send normally."""
    simulator.sender.set_mode(failing=data.mode == "fail", seconds=data.seconds)
    return simulator.sender.mode()


@router.post(
    "/scenario",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/yaml": {"schema": {"type": "string"}}, "application/json": {}},
        }
    },
)
async def load_scenario(simulator: SimulatorDep, request: Request) -> dict[str, int]:
    """Load a scenario (YAML or JSON): its accounts are added, or replace the same accounts."""
    try:
        scenario = parse_scenario(
            await request.body(), content_type=request.headers.get("content-type")
        )
        count = simulator.load_scenario(scenario)
    except pydantic.ValidationError as exc:
        raise HTTPException(422, _errors(exc)) from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise HTTPException(422, str(exc)) from exc
    return {"accounts": count}


@router.post("/live")
async def load_live(simulator: SimulatorDep, data: LiveIn) -> dict[str, Any]:
    """Draw live money from a seed and play it from `t0`: the schedule, with the victim's
    transfers to report and what every account does with each sum it gets."""
    try:
        return simulator.load_live(seed=data.seed, parameters=data.parameters, t0=data.t0)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from exc


@router.get("/live")
async def live_state(simulator: SimulatorDep) -> list[dict[str, Any]]:
    """Every live account as it is now: received, free, held, sent on, cashed out."""
    return simulator.live.state(dt.datetime.now(dt.UTC))


@router.post("/profile")
async def change_profile(
    simulator: SimulatorDep, data: Annotated[dict[str, Any], Body()]
) -> dict[str, Any]:
    """Change profile fields at run time.

    `{"institution": "CCB", "processing_ms": [10, 50]}` changes one institution;
    `"institution": null` (or absent) changes the default. A `seed` changes the seed.
    """
    changes = dict(data)
    institution = changes.pop("institution", None)
    seed = changes.pop("seed", None)
    code = None if institution is None else _known(simulator, str(institution))
    if seed is not None and not isinstance(seed, int):
        raise HTTPException(422, "seed must be an integer")
    try:
        profile = simulator.profiles.update(code=code, changes=changes)
    except pydantic.ValidationError as exc:
        raise HTTPException(422, _errors(exc)) from exc
    if seed is not None:
        simulator.profiles.seed = seed
    return {
        "institution": code,
        "seed": simulator.profiles.seed,
        "profile": profile.model_dump(mode="json"),
    }


@router.post("/reset")
async def reset(simulator: SimulatorDep) -> dict[str, str]:
    """Forget the ledger, keys, accounts, outages, admin changes and loaded scenarios."""
    simulator.reset()
    return {"status": "reset"}
