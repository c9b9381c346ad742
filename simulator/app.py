"""The simulated institutions: one HTTP peer serving every institution in the registry.

Run it with `stopay simulator` (or `uvicorn --factory simulator.app:create_app`). It implements
the institution side of docs/institution-protocol.md: instructions with idempotency keys,
signed callbacks with retries, a ledger of what it did, outages and scenarios on command.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, Header, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from simulator import admin
from simulator.config import PeerSettings, SimulatorSettings
from simulator.deps import SimulatorDep
from simulator.instructions import problem
from simulator.profiles import load_profile_file, profile_path
from simulator.registry import load_registry
from simulator.scenarios import load_scenario_file
from simulator.service import Simulator

SCENARIOS_ENV = "STOPAY_SIMULATOR_SCENARIOS"  # scenario files to load, os.pathsep-separated


def create_app(
    *,
    settings: PeerSettings | None = None,
    profile: Path | None = None,
    scenarios: Sequence[Path] | None = None,
) -> FastAPI:
    """The simulator app. Unset arguments come from the environment: STOPAY_SECRET_KEY and
    STOPAY_API_URL (simulator/config.py), STOPAY_SIMULATOR_PROFILE (else
    simulator/profiles.yaml), STOPAY_SIMULATOR_SCENARIOS and STOPAY_SIMULATOR_REGISTRY."""
    settings = settings or SimulatorSettings()
    if scenarios is None:
        scenarios = [Path(p) for p in os.environ.get(SCENARIOS_ENV, "").split(os.pathsep) if p]
    simulator = Simulator(
        registry=load_registry(),
        profile_source=load_profile_file(profile_path(profile)),
        secret_key=settings.secret_key,
        public_api_url=settings.public_api_url,
        scenarios=[load_scenario_file(path) for path in scenarios],
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await simulator.start()
        try:
            yield
        finally:
            await simulator.stop()

    app = FastAPI(title="Simulated institutions", version="1", lifespan=lifespan)
    app.state.simulator = simulator
    app.add_exception_handler(StarletteHTTPException, _http_problem)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_problem)  # type: ignore[arg-type]
    app.add_api_route("/healthz", healthz, methods=["GET"])
    app.add_api_route("/institutions", list_institutions, methods=["GET"])
    app.add_api_route(
        "/institutions/{code}/instructions",
        submit_instruction,
        methods=["POST"],
        status_code=202,
        response_model=None,
    )
    app.include_router(admin.router)
    return app


async def healthz() -> dict[str, str]:
    return {"status": "ok"}


async def list_institutions(simulator: SimulatorDep) -> list[dict[str, Any]]:
    """The institutions it plays, with their effective profiles and any outage."""
    return simulator.describe()


async def submit_instruction(
    code: str,
    request: Request,
    simulator: SimulatorDep,
    idempotency_key: Annotated[str | None, Header()] = None,
) -> Response:
    """Take an instruction (docs/institution-protocol.md, section 1): 202 and a reference."""
    answer = simulator.receive(
        code=code, idempotency_key=idempotency_key, body=await request.body()
    )
    if answer.delay_s > 0:
        await asyncio.sleep(answer.delay_s)
    media_type = "application/json" if answer.status_code < 400 else "application/problem+json"
    return JSONResponse(
        answer.content,
        status_code=answer.status_code,
        headers=answer.headers,
        media_type=media_type,
    )


def _problem_response(status: int, body: dict[str, Any]) -> JSONResponse:
    return JSONResponse(
        jsonable_encoder(body), status_code=status, media_type="application/problem+json"
    )


async def _http_problem(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
    title = {404: "Not Found", 405: "Method Not Allowed", 422: "Unprocessable Content"}
    if isinstance(exc.detail, str):
        body = problem(exc.status_code, title.get(exc.status_code, "Error"), exc.detail)
    else:
        body = problem(exc.status_code, title.get(exc.status_code, "Error"), "see errors")
        body["errors"] = exc.detail
    return _problem_response(exc.status_code, body)


async def _validation_problem(_request: Request, exc: RequestValidationError) -> JSONResponse:
    body = problem(422, "Unprocessable Content", "the request is not valid", errors=exc.errors())
    return _problem_response(422, body)
