"""`stopay flower`, as the flower service runs it: never without a password, and then served."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from app.cli import basic_auth_ok, cli
from tests.conftest import BROKER_URL
from tests.e2e.stack import free_port, wait_for


@pytest.mark.parametrize("value", ["", "operator", "operator:", ":secret", "a:b,c"])
def test_flower_refuses_to_start_without_a_user_and_password(value: str) -> None:
    assert not basic_auth_ok(value)
    answer = CliRunner().invoke(cli, ["flower"], env={"FLOWER_BASIC_AUTH": value})
    assert answer.exit_code == 2
    assert "FLOWER_BASIC_AUTH=user:password" in answer.output


def test_basic_auth_takes_several_users() -> None:
    assert basic_auth_ok("operator:s3cret,duty:an:other")


@pytest.mark.slow
def test_flower_serves_its_health_check_openly_and_everything_else_behind_the_password(
    tmp_path: Path,
) -> None:
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("STOPAY_", "FLOWER_"))},
        "BROKER_URL": BROKER_URL,
        "STOPAY_QUEUE": f"flower-test-{port}",
        "FLOWER_BASIC_AUTH": "operator:s3cret",
    }
    log = tmp_path / "flower.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "flower", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(
            lambda: httpx.get(f"{url}/healthcheck", timeout=2).text == "OK",
            timeout=60,
            what=f"flower; its log: {log}",
        )
        assert httpx.get(f"{url}/", timeout=5).status_code == 401
        assert httpx.get(f"{url}/workers", auth=("operator", "wrong"), timeout=5).status_code == 401
        signed_in = httpx.get(f"{url}/workers", auth=("operator", "s3cret"), timeout=10)
        assert signed_in.status_code == 200
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    lines = log.read_text().splitlines()
    assert lines, "flower logged nothing"
    for line in lines:
        assert json.loads(line)["role"] == "flower", line
