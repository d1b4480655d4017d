"""The integration tasks (integration queue): resume a subscription, sweep, purge, the SIEM summary.

A delivery is sent by the outbound mechanism's task (eventbus.outbound.send)."""

import uuid

from celery import Task, shared_task
from celery.exceptions import Retry
from django.conf import settings
from django.db import InterfaceError, OperationalError
from redis.exceptions import RedisError

from identity_project.eventbus import routing
from identity_project.eventbus.retries import backoff
from integration import services

# The database or the circuits' cache unreachable: no fault of the delivery, try again later.
INFRASTRUCTURE_ERRORS = (OperationalError, InterfaceError, RedisError)


def _retry_later(task: Task, exc: Exception) -> Retry:
    """A retry on the integration queue (Celery would route it by the default queue otherwise)."""
    countdown = backoff(
        task.request.retries, factor=settings.WEBHOOK_BACKOFF_FACTOR, maximum=settings.WEBHOOK_BACKOFF_MAX
    )
    return task.retry(exc=exc, countdown=countdown, queue=routing.INTEGRATION)


@shared_task(
    name="integration.resume",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=None,
    ignore_result=True,
)
def resume(task: Task, subscription_id: str) -> None:
    try:
        services.subscription_resume(subscription_id=uuid.UUID(subscription_id))
    except INFRASTRUCTURE_ERRORS as exc:
        raise _retry_later(task, exc) from exc


@shared_task(name="integration.sweep", ignore_result=True)
def sweep() -> int:
    return services.deliveries_sweep()


@shared_task(name="integration.purge_deliveries", ignore_result=True)
def purge_deliveries() -> int:
    return services.deliveries_purge()


@shared_task(name="integration.siem_daily_summary", ignore_result=True)
def siem_daily_summary() -> int:
    return services.siem_daily_summary()
