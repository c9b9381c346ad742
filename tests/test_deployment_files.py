"""docker-compose.yml and .env.example cannot be run here (no Docker); check them by reading."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml
from flower.options import default_options as flower_options

from app.cli import cli
from app.config import Settings

ROOT = Path(__file__).resolve().parent.parent
FIELDS = {name.upper() for name in Settings.model_fields}
# Flower reads its own options from FLOWER_<OPTION> (flower/command.py).
FLOWER_OPTIONS = {f"FLOWER_{n.upper().replace('-', '_')}" for n in flower_options._options}


def _compose() -> dict:  # type: ignore[type-arg]
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())  # type: ignore[no-any-return]


def test_compose_runs_the_whole_stack_with_health_checks() -> None:
    services = _compose()["services"]
    assert {"postgres", "redis", "api", "worker", "beat", "simulator", "flower"} <= set(services)
    for name in ("postgres", "redis", "api", "worker", "simulator", "flower"):
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
        assert variable in {"DATABASE_URL", "BROKER_URL"} | FLOWER_OPTIONS or (
            variable.startswith("STOPAY_") and variable.removeprefix("STOPAY_") in FIELDS
        ), variable


def test_env_example_documents_every_setting() -> None:
    example = (ROOT / ".env.example").read_text()
    for field in FIELDS - {"DATABASE_URL", "BROKER_URL"}:
        assert f"STOPAY_{field}=" in example, field
    assert "DATABASE_URL=" in example
    assert "BROKER_URL=" in example


def test_flower_is_served_with_a_health_check_and_a_password_from_the_environment() -> None:
    flower = _compose()["services"]["flower"]
    assert flower["command"][:2] == ["stopay", "flower"]
    assert "5555:5555" in flower["ports"]
    assert "/healthcheck" in " ".join(flower["healthcheck"]["test"])
    assert set(flower["depends_on"]) == {"redis"}
    environment = flower["environment"]
    assert (
        environment["BROKER_URL"] == _compose()["services"]["worker"]["environment"]["BROKER_URL"]
    )
    # The password comes from the environment or .env, with no default written here.
    assert re.fullmatch(r"\$\{FLOWER_BASIC_AUTH(:?[-?])?\}", environment["FLOWER_BASIC_AUTH"])
    assert "FLOWER_BASIC_AUTH=" in (ROOT / ".env.example").read_text()


def test_the_image_installs_flower_and_the_default_install_does_not() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert any(d.startswith("flower") for d in project["optional-dependencies"]["monitoring"])
    assert not any(d.startswith("flower") for d in project["dependencies"])
    assert "pip install --no-cache-dir -e '.[monitoring]'" in (ROOT / "Dockerfile").read_text()


@pytest.mark.parametrize("service", ["worker", "worker-payments"])
def test_each_workers_health_check_pings_a_node_its_command_names(service: str) -> None:
    from app.cli import node_name

    worker = _compose()["services"][service]
    command = worker["command"]
    name = command[command.index("--name") + 1]
    test = worker["healthcheck"]["test"][1]
    expected = node_name(f"{name}-1", "$${STOPAY_QUEUE:-stopay}").replace("%h", "$$HOSTNAME")
    assert f"-d {expected} " in test


def test_the_two_worker_lanes_take_banks_and_payment_institutions() -> None:
    services = _compose()["services"]
    lanes = {
        s: services[s]["command"][services[s]["command"].index("--lane") + 1]
        for s in ("worker", "worker-payments")
    }
    assert lanes == {"worker": "banks", "worker-payments": "payments"}
