"""docker-compose.yml and .env.example cannot be run here (no Docker); check them by reading."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from app.cli import cli
from app.config import Settings

ROOT = Path(__file__).resolve().parent.parent
FIELDS = {name.upper() for name in Settings.model_fields}


def _compose() -> dict:  # type: ignore[type-arg]
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())  # type: ignore[no-any-return]


def test_compose_runs_the_whole_stack_with_health_checks() -> None:
    services = _compose()["services"]
    assert {"postgres", "redis", "api", "worker", "beat", "simulator"} <= set(services)
    for name in ("postgres", "redis", "api", "worker", "simulator"):
        assert "healthcheck" in services[name], name


def test_compose_commands_are_real_stopay_commands() -> None:
    for name, service in _compose()["services"].items():
        command = service.get("command") or []
        text = " ".join(command) if isinstance(command, list) else command
        for sub in re.findall(r"\bstopay (\S+)", text):
            assert sub in cli.commands, f"{name}: no `stopay {sub}`"


def test_compose_and_env_example_name_only_real_settings() -> None:
    named = set()
    for service in _compose()["services"].values():
        named |= set(service.get("environment") or {})
    example = (ROOT / ".env.example").read_text()
    named |= set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", example, re.MULTILINE))
    for variable in named - {"POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB"}:
        assert variable in {"DATABASE_URL", "BROKER_URL"} or (
            variable.startswith("STOPAY_") and variable.removeprefix("STOPAY_") in FIELDS
        ), variable


def test_env_example_documents_every_setting() -> None:
    example = (ROOT / ".env.example").read_text()
    for field in FIELDS - {"DATABASE_URL", "BROKER_URL"}:
        assert f"STOPAY_{field}=" in example, field
    assert "DATABASE_URL=" in example
    assert "BROKER_URL=" in example
