"""Periodic tasks of the audit app."""

from celery import shared_task

from audit.services.retention import retention_apply


@shared_task(name="audit.apply_retention", ignore_result=True)
def apply_retention() -> int:
    return retention_apply().pk
