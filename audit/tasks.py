"""Periodic tasks of the audit app."""

from celery import shared_task

from audit.services.exports import export_write
from audit.services.retention import retention_apply


@shared_task(name="audit.apply_retention", ignore_result=True)
def apply_retention() -> int:
    return retention_apply().pk


@shared_task(name="audit.write_export", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def write_export(export_id: str) -> None:
    """A large export, started by POST audit/exports (services.exports.export_start)."""
    export_write(export_id=export_id)
