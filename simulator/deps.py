"""Route dependencies: the one Simulator of the app.

Every route and dependency of the simulator is `async def`: FastAPI runs plain `def` ones in a
thread pool, which would both slow it down and let threads touch the simulator's state.
"""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Request

from simulator.service import Simulator


async def get_simulator(request: Request) -> Simulator:
    return cast(Simulator, request.app.state.simulator)


SimulatorDep = Annotated[Simulator, Depends(get_simulator)]
