"""The Celery client the API publishes with, and the broker settings the workers share.

The API sends tasks by name (app/dispatch/publish.py); it never imports the worker package.
The workers build their own Celery app (workers/celery_app.py) on the same settings.
"""

from __future__ import annotations

from typing import Any

from celery import Celery

from app.config import Settings
from app.dispatch.redis_transport import transport_for


def broker_conf(settings: Settings) -> dict[str, Any]:
    """How tasks travel: the same for the API's publisher and the worker processes."""
    return {
        "broker_transport": transport_for(settings.broker_url),
        # Delivery is at-least-once: a task is acknowledged only when it has finished, and a
        # task whose worker died is delivered again. Instructions carry idempotency keys.
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 4,
        "task_ignore_result": True,
        "task_default_queue": settings.queue,
        "broker_connection_retry_on_startup": True,
        "broker_transport_options": {
            "visibility_timeout": 3600,
            # Redis: separate lists per priority, so special and high cases go first.
            "priority_steps": list(range(10)),
            "sep": ":",
            "queue_order_strategy": "priority",
        },
        "task_queue_max_priority": 10,
        "task_default_priority": 6,
        "broker_connection_timeout": 2,
        "timezone": "UTC",
        "enable_utc": True,
        "worker_hijack_root_logger": False,
    }


def make_client(settings: Settings) -> Celery:
    """A Celery app that only publishes: no task modules, no beat schedule."""
    celery = Celery("stopay", broker=settings.broker_url)
    celery.conf.update(broker_conf(settings))
    return celery
