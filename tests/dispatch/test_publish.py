"""Publishing instruction tasks: the case's priority first, then the money at stake."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import redis

from app.config import Settings
from app.dispatch.broker import make_client
from app.dispatch.publish import FAN_OUT_CHUNK, Item, Lane, Publisher, task_priority
from tests.conftest import BROKER_URL


@pytest.fixture
def queue() -> Iterator[str]:
    if not BROKER_URL.startswith("redis"):
        pytest.skip("reads the queue back from Redis")
    name = f"test-publish-{uuid.uuid4().hex[:8]}"
    yield name
    client = redis.Redis.from_url(BROKER_URL)
    keys = client.keys(f"{name}*")
    if keys:
        client.delete(*keys)


def _messages(name: str) -> list[tuple[int, list[int]]]:
    """(broker priority, instruction ids) of each fan-out message on the queue."""
    client = redis.Redis.from_url(BROKER_URL)
    found = []
    for key in client.keys(f"{name}*"):
        for raw in client.lrange(key, 0, -1):
            message: dict[str, Any] = json.loads(raw)
            ids = json.loads(base64.b64decode(message["body"]))[0][0]
            found.append((int(message["properties"]["priority"]), ids))
    return sorted(found)


def test_the_biggest_amounts_at_stake_go_in_the_message_served_first(
    settings: Settings, queue: str
) -> None:
    small = [Item(100 + n, "high", Lane.banks, Decimal("800.00")) for n in range(FAN_OUT_CHUNK)]
    big = [
        Item(1, "high", Lane.banks, Decimal("12000.00")),
        Item(2, "high", Lane.banks, Decimal("455400.00")),
        Item(3, "high", Lane.banks, Decimal("210000.00")),
    ]
    publisher = Publisher(make_client(settings.model_copy(update={"queue": queue})), BROKER_URL)

    assert publisher.publish([*small[:5], *big, *small[5:]]) == FAN_OUT_CHUNK + 3

    messages = _messages(queue)
    # Redis serves the lowest number first: 455,400 and 210,000 before 12,000 before the rest.
    assert [ids for _, ids in messages[:2]] == [[2, 3], [1]]
    assert sorted(id_ for _, ids in messages[2:] for id_ in ids) == [i[0] for i in small]
    assert [p for p, _ in messages] == [3, 4, 5]  # high's three steps


def test_the_case_priority_outranks_the_money_at_stake() -> None:
    redis_url, amqp_url = "redis://localhost", "amqp://localhost"
    ranks = [
        task_priority(priority, redis_url, Decimal(amount))
        for priority, amount in [
            ("special", "1000000.00"),
            ("special", "500.00"),
            ("high", "1000000.00"),
            ("high", "500.00"),
            ("medium", "1000000.00"),
            ("low", "1000000.00"),
        ]
    ]
    assert ranks == sorted(ranks)
    assert ranks[0] < ranks[1] < ranks[2]
    assert task_priority("low", redis_url, Decimal(0)) == 9  # within Redis's steps
    assert task_priority("special", amqp_url, Decimal("455400.00")) == 9  # RabbitMQ: high first
