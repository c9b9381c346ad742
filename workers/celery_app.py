"""The Celery application: broker from settings, task modules by domain, beat schedule."""

from __future__ import annotations

from celery import Celery

from app.config import Settings, get_settings


def make_celery(settings: Settings) -> Celery:
    celery = Celery("stopay", broker=settings.broker_url, include=["workers.maintenance"])
    celery.conf.update(
        # Delivery is at-least-once: a task is acknowledged only when it has finished, and a
        # task whose worker died is delivered again. Instructions carry idempotency keys.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=4,
        task_ignore_result=True,
        task_default_queue="stopay",
        broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": 3600},
        timezone="UTC",
        enable_utc=True,
        worker_hijack_root_logger=False,
        beat_schedule={
            "purge-idempotency-keys": {
                "task": "maintenance.purge_idempotency_keys",
                "schedule": 3600.0,
            },
        },
    )
    return celery


celery_app = make_celery(get_settings())
