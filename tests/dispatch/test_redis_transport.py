"""Our Redis transport: Celery uses it for redis:// brokers, and it delivers and acknowledges."""

from __future__ import annotations

import uuid

from kombu import Connection, Queue

from app.config import Settings
from app.dispatch.redis_transport import Transport, transport_for
from workers.celery_app import make_celery

REDIS = "redis://127.0.0.1:6379/0"


def test_celery_uses_it_for_redis_and_leaves_amqp_alone(settings: Settings) -> None:
    redis_app = make_celery(settings.model_copy(update={"broker_url": REDIS}))
    with redis_app.connection_for_write() as connection:
        assert connection.transport_cls == "app.dispatch.redis_transport:Transport"
        assert isinstance(connection.transport, Transport)
    assert transport_for("amqp://guest:guest@127.0.0.1:5672//") is None


def test_messages_are_delivered_and_acknowledged_with_one_shared_client() -> None:
    queue = Queue(f"stopay-transport-{uuid.uuid4().hex}")
    with Connection(REDIS, transport=transport_for(REDIS)) as connection:
        channel = connection.channel()
        with connection.Producer(channel) as producer:
            for n in range(3):
                producer.publish({"n": n}, routing_key=queue.name, declare=[queue])
        got, tags = [], []
        for _ in range(3):
            message = queue(channel).get(no_ack=False)
            assert message is not None
            got.append(message.payload["n"])
            tags.append(message.delivery_tag)
            message.ack()
        assert sorted(got) == [0, 1, 2]
        client = channel._create_client()
        assert channel._create_client() is client
        # Acknowledged: kombu's record of unacknowledged deliveries no longer holds them.
        assert not any(client.hexists(channel.unacked_key, tag) for tag in tags)
        queue(channel).delete()
