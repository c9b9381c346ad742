"""The Celery application: broker from settings, task modules by domain, beat schedule."""

from __future__ import annotations

import logging

from celery import Celery
from celery.signals import setup_logging, task_postrun, task_prerun

from app import logs
from app.config import Settings, get_settings
from app.dispatch.broker import broker_conf


def make_celery(settings: Settings) -> Celery:
    celery = Celery(
        "stopay", broker=settings.broker_url, include=["workers.maintenance", "workers.dispatch"]
    )
    celery.conf.update(
        **broker_conf(settings),
        beat_schedule={
            "relay-outbox": {
                "task": "dispatch.relay_outbox",
                "schedule": 1.0,
                "options": {"priority": 0},
            },
            "escalate-overdue": {
                "task": "dispatch.escalate_overdue",
                "schedule": 5.0,
                "options": {"priority": 0},
            },
            "watch-legal-clock": {
                "task": "legal.watch_clock",
                "schedule": settings.legal_clock_interval_s,
                "options": {"priority": 0},
            },
            "seal-audit-trail": {
                "task": "audit.seal",
                "schedule": 2.0,
                "options": {"priority": 0},
            },
            "checkpoint-audit-chain": {
                "task": "audit.checkpoint",
                "schedule": settings.audit_checkpoint_interval_s,
                "options": {"priority": 0},
            },
            "purge-idempotency-keys": {
                "task": "maintenance.purge_idempotency_keys",
                "schedule": 3600.0,
            },
        },
    )
    return celery


# One line per institution call, or two per task (received, succeeded), would drown the
# worker's log and cost it CPU; failures and retries are still logged, and every state change
# is an audit event in the database.
for name in ("httpx", "celery.worker.strategy", "celery.app.trace"):
    logging.getLogger(name).setLevel(logging.WARNING)


@setup_logging.connect
def _leave_logging_alone(**_: object) -> None:
    """With a receiver here Celery does not set up logging: `stopay worker` and `stopay beat`
    did already (app/logs.py). Started some other way, a worker still logs the same way."""
    if not logging.getLogger().handlers:
        logs.configure_logging("worker", get_settings().log_format)


@task_prerun.connect
@task_postrun.connect
def _forget_log_context(**_: object) -> None:
    """A pool thread runs task after task: no line may name the previous task's instruction.

    Cleared before and after, not by the task itself, so Celery's own lines about a task's
    end (a retry, a failure) still name what the task bound."""
    logs.clear()


celery_app = make_celery(get_settings())
