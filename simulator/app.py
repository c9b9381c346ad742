"""The simulated institutions: one HTTP peer serving every institution in the registry.

This first version answers health and lists the institutions it plays; instruction handling,
ledgers, signed callbacks and outages follow with the fan-out work.
"""

from __future__ import annotations

from importlib.resources import files
from typing import Any

import yaml
from fastapi import FastAPI

# The same registry the service ships: the simulator plays every institution in it.
REGISTRY = files("app.institutions").joinpath("registry.yaml")


def create_app() -> FastAPI:
    institutions: list[dict[str, Any]] = yaml.safe_load(REGISTRY.read_text("utf-8"))["institutions"]
    app = FastAPI(title="Simulated institutions", version="1")

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/institutions")
    def list_institutions() -> list[dict[str, str]]:
        return [{"code": i["code"], "kind": i["kind"]} for i in institutions]

    return app
