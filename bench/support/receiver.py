"""A callback endpoint on the bench's own event loop, for the clients that stand in for us
(the fan-out's bare client, the race's ideal one): every signed callback the simulator sends
is handed, as its decoded event, to `on_event`, and answered 200 at once."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bench.support.stack import free_port


@asynccontextmanager
async def callback_server(on_event: Callable[[dict[str, Any]], None]) -> AsyncIterator[str]:
    """Serves until the block ends; yields the base URL institutions call back under
    (`{base}/{code}`)."""

    async def receive(request: Request) -> Response:
        on_event(json.loads(await request.body()))
        return Response(status_code=200)

    app = Starlette(routes=[Route("/callbacks/{code}", receive, methods=["POST"])])
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="off"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()  # raises why it did not start
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}/callbacks"
    finally:
        server.should_exit = True
        await task
